"""The most users a scenario serves within its SLO: doubling, then bisection on a log scale,
each probe a full run of the scenario (csbench.load.runner)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from csbench.load.runner import MIB, SEARCH_DRAIN_SECONDS, LoadReport
from csbench.load.scenarios import Scenario

__all__ = ["SEARCH_DRAIN_SECONDS", "SearchResult", "max_users_within_slo", "within_slo"]

# Criteria that a smaller user count cannot meet by construction: the throughput floor is
# about the scenario's own user count, and total RSS per 1,000 users grows as users shrink
# (the dataset is shared). The search judges memory by what the users add instead.
NOT_SEARCHED = ("min_throughput", "max_rss_mb_per_1000_users")


@dataclass(frozen=True)
class Probe:
    users: int
    passed: bool
    failed: list[str]  # names of the criteria that failed
    p95_ms: float | None
    throughput: float
    error_rate: float
    cpu_machine_percent: float
    marginal_rss_mb_per_1000_users: float


@dataclass(frozen=True)
class SearchResult:
    """The largest user count that met the scenario's SLO among the probes made."""

    scenario: str
    max_users: int  # 0: not even the smallest count passed
    capped: bool  # the limit itself passed: the true maximum may be higher
    probes: list[Probe]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def within_slo(scenario: Scenario, report: LoadReport) -> tuple[bool, list[str]]:
    """The SLO of the search: every criterion but NOT_SEARCHED, and the users' own memory
    (marginal RSS per 1,000 users) under the scenario's memory bound."""
    failed = [c.name for c in report.failed_criteria(exclude=NOT_SEARCHED)]
    bound = scenario.criteria.max_rss_mb_per_1000_users
    if bound is not None and report.marginal_rss_per_1000_users / MIB > bound:
        failed.append("marginal_rss_mb_per_1000_users")
    return not failed, failed


def max_users_within_slo(
    run: Callable[[int], LoadReport],
    scenario: Scenario,
    *,
    start: int,
    limit: int,
    max_probes: int = 8,
    resolution: float = 1.25,
) -> SearchResult:
    """Doubling from ``start`` until the SLO fails (or ``limit``), then bisection until the
    passing and failing counts are within ``resolution`` of each other or ``max_probes``
    runs are spent. ``run(users)`` makes one probe."""
    probes: list[Probe] = []

    def probe(n: int) -> bool:
        report = run(n)
        ok, failed = within_slo(scenario, report)
        probes.append(
            Probe(
                users=n,
                passed=ok,
                failed=failed,
                p95_ms=report.p95_ms,
                throughput=report.throughput,
                error_rate=report.error_rate,
                cpu_machine_percent=report.cpu_machine_percent,
                marginal_rss_mb_per_1000_users=report.marginal_rss_per_1000_users / MIB,
            )
        )
        return ok

    good, bad = 0, None
    n = max(1, min(start, limit))
    while len(probes) < max_probes:
        if probe(n):
            good = n
            if n >= limit:
                break
            n = min(limit, n * 2)
        else:
            bad = n
            break
    while bad is not None and good == 0 and bad > 1 and len(probes) < max_probes:
        n = bad // 2  # nothing passed yet: halve until something does
        if probe(n):
            good = n
        else:
            bad = n
    while bad is not None and good and bad > good * resolution and len(probes) < max_probes:
        n = round(math.sqrt(good * bad))  # bisection on a log scale
        if n in (good, bad):
            break
        if probe(n):
            good = n
        else:
            bad = n
    return SearchResult(scenario.name, good, capped=bad is None and good >= limit, probes=probes)
