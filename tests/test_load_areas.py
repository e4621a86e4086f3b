"""Every load op of every area through the real engine at a configured 2025 checkout (skipped
with the reason when no repository is configured): all succeed at 2307c8d; at 16d6348,
before the areas existed, a scenario using them is unsupported."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import scenario

from csbench.load.runner import run_scenario
from csbench.load.scenarios import KNOWN_OPS
from csbench.measure.bridge import Unsupported

# login runs bcrypt at production settings, far slower than any other op: weight 1.
CHEAP = [op for op in KNOWN_OPS if op != "login"]
WEIGHTS = [{"op": "login", "weight": 1}] + [
    {"op": op, "weight": 7 if i < 9 else 6} for i, op in enumerate(CHEAP)
]


def test_every_load_op_succeeds_at_2307c8d(tmp_path: Path, repo_checkout) -> None:
    sc = scenario(
        tmp_path,
        users=50,
        think_time_ms=200,
        operations=WEIGHTS,
        phases={"ramp_up": 0.5, "steady": 4, "ramp_down": 0.5},
        documents=1000,
    )
    report = run_scenario(repo_checkout("2307c8d"), sc)
    errors = {op: (r.errors, r.error_sample) for op, r in report.ops.items() if r.errors}
    assert not errors and report.unfinished == 0
    missing = [op for op in CHEAP if report.ops.get(op) is None or report.ops[op].count == 0]
    assert not missing
    assert set(report.classes) == {"auth", "core", "realtime", "files", "computed", "functions"}


def test_area_scenario_is_unsupported_before_the_areas(tmp_path: Path, repo_checkout) -> None:
    sc = scenario(tmp_path, operations=[{"op": "validate_token", "weight": 100}])
    with pytest.raises(Unsupported, match="validate_token"):
        run_scenario(repo_checkout("16d6348"), sc)
