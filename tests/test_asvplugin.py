"""csbench's asv plugin on asv publish's regressions list (csbench.commits.asvplugin): a
series where higher is better is listed when it falls, not when it rises."""

from __future__ import annotations

from typing import Any

import pytest
from asv.graph import Graph
from asv.plugins.regressions import Regressions

from csbench.commits import asvplugin
from csbench.observe.results import benchmark_of

MAX_USERS = "load.LoadScenario.track_max_users('database')"
LATENCY = "load.LoadScenario.track_p95('database')"
HASHES = {r: f"{r:02d}" * 20 for r in range(10)}


class Commits:
    """asv's repository interface as its regressions list uses it: every step spans two
    commits here."""

    def get_range_spec(self, a: str, b: str) -> str:
        return f"{a}..{b}"

    def get_hashes_from_range(self, spec: str) -> list[str]:
        return spec.split("..")


def listed(name: str, levels: tuple[float, float]) -> list[list[Any]]:
    """asv's regressions entries for a series at ``levels[0]`` over revisions 0-4 and
    ``levels[1]`` over 5-9 (asv.step_detect's steps: left, right, level, minimum, error)."""
    steps = [(0, 5, levels[0], levels[0], 0.0), (5, 10, levels[1], levels[1], 0.0)]
    graph = Graph(benchmark_of(name), {"machine": "m"})
    out: list[list[Any]] = []
    Regressions._process_regression(out, HASHES, Commits(), {"machine": {"m"}},
                                    (0, name, steps, 0.05), graph)  # fmt: skip
    return out


@pytest.fixture
def plugin(asv_restored: None) -> None:
    asvplugin.setup()
    asvplugin.setup()  # loaded twice: wrapped once


@pytest.mark.usefixtures("asv_restored")
def test_asv_alone_lists_a_gain_in_max_users() -> None:
    """What the plugin corrects: asv lists every upward step."""
    assert listed(MAX_USERS, (0.0, 1000.0))


@pytest.mark.usefixtures("plugin")
def test_max_users_is_listed_when_it_falls_in_users() -> None:
    assert listed(MAX_USERS, (0.0, 1000.0)) == []
    assert listed(MAX_USERS, (1000.0, 2000.0)) == []
    [entry] = listed(MAX_USERS, (2000.0, 1000.0))
    assert entry[0] == MAX_USERS and entry[4:] == [1000.0, 2000.0, [(4, 5, 2000.0, 1000.0)]]
    [entry] = listed(MAX_USERS, (1000.0, 0.0))  # no level met the SLO any more
    assert entry[4:] == [0.0, 1000.0, [(4, 5, 1000.0, 0.0)]]
    assert listed(MAX_USERS, (1000.0, 980.0)) == []  # within the 5 % threshold


@pytest.mark.usefixtures("plugin")
def test_other_series_are_listed_as_asv_lists_them() -> None:
    [entry] = listed(LATENCY, (1.0, 2.0))
    assert entry[4:] == [2.0, 1.0, [(4, 5, 1.0, 2.0)]]
    assert listed(LATENCY, (2.0, 1.0)) == []
