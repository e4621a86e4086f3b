"""The max-users search (csbench.load.search.max_users_within_slo) on a scenario whose SLO breaks
at a known user count: doubling, then bisection on a log scale, bounded in probes."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from csbench.load.runner import MIB
from csbench.load.scenarios import load_all
from csbench.load.search import max_users_within_slo, within_slo

SCENARIO = {s.name: s for s in load_all()}["database"]


@dataclass
class Outcome:
    """The figures of a LoadReport that the search reads."""

    failed: list[str] = field(default_factory=list)
    marginal_rss_per_1000_users: float = 0.0
    p95_ms: float | None = 1.0
    throughput: float = 100.0
    error_rate: float = 0.0
    cpu_machine_percent: float = 10.0

    def failed_criteria(self, exclude: tuple[str, ...] = ()) -> list[object]:
        @dataclass
        class Check:
            name: str

        return [Check(n) for n in self.failed if n not in exclude]


def breaking_at(limit: int, calls: list[int]):
    def run(users: int) -> Outcome:
        calls.append(users)
        return Outcome(failed=["p95_ms"] if users > limit else [])

    return run


def test_doubles_then_bisects_to_the_resolution() -> None:
    calls: list[int] = []
    result = max_users_within_slo(
        breaking_at(300, calls), SCENARIO, start=50, limit=1000, max_probes=10
    )
    assert calls[:4] == [50, 100, 200, 400]
    assert 300 / 1.25 <= result.max_users <= 300 and not result.capped
    failing = min(p.users for p in result.probes if not p.passed)
    assert failing <= result.max_users * 1.25


def test_nothing_passes_halves_down_to_zero() -> None:
    calls: list[int] = []
    result = max_users_within_slo(breaking_at(0, calls), SCENARIO, start=8, limit=100)
    assert calls == [8, 4, 2, 1] and result.max_users == 0


def test_limit_passing_is_capped_and_probes_are_bounded() -> None:
    result = max_users_within_slo(breaking_at(10**9, []), SCENARIO, start=10, limit=70)
    assert [p.users for p in result.probes] == [10, 20, 40, 70] and result.capped
    calls: list[int] = []
    result = max_users_within_slo(
        breaking_at(300, calls), SCENARIO, start=50, limit=1000, max_probes=3
    )
    assert len(calls) == 3 and result.max_users == 200


@pytest.mark.parametrize(
    ("failed", "marginal_mib", "ok"),
    [
        ([], 10.0, True),
        (["min_throughput", "max_rss_mb_per_1000_users"], 10.0, True),  # not searched
        (["p95_ms[find]"], 10.0, False),
        ([], 5000.0, False),  # what the users add is over the scenario's memory bound
    ],
)
def test_slo_of_the_search(failed: list[str], marginal_mib: float, ok: bool) -> None:
    outcome = Outcome(failed=failed, marginal_rss_per_1000_users=marginal_mib * MIB)
    assert within_slo(SCENARIO, outcome)[0] is ok  # type: ignore[arg-type]
