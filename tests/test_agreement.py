"""csbench.observe.agreement on a copy of a stored result of this repository (2307c8d), with the
find_by_id figures set to known values."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest

from csbench.cli.app import main
from csbench.observe import agreement

RESULTS = Path(__file__).parents[1] / "results"
MACHINE = "xeon-2core-24g"
STORED = next((RESULTS / MACHINE).glob("2307c8d7-*.json"))
KEY = ("'find_by_id'", "'small-10000'")


def _results_with(tmp_path: Path, time_s: float | None, p50_us: float | None) -> Path:
    """results/ with only the 2307c8d file, its find_by_id figures replaced."""
    root = tmp_path / "results"
    (root / MACHINE).mkdir(parents=True)
    shutil.copy(RESULTS / "benchmarks.json", root / "benchmarks.json")
    shutil.copy(RESULTS / MACHINE / "machine.json", root / MACHINE / "machine.json")
    data = json.loads(STORED.read_text())
    column = data["result_columns"].index("result")
    for name, value in ((agreement.TIME, time_s), (agreement.P50, p50_us)):
        row = data["results"][name]
        combos = list(itertools.product(*row[data["result_columns"].index("params")]))
        row[column][combos.index(KEY)] = value
    (root / MACHINE / STORED.name).write_text(json.dumps(data))
    return root


def test_ratio_of_busy_clock_mean_to_histogram_median(tmp_path: Path) -> None:
    machine, table = agreement.rows(_results_with(tmp_path, 4.2e-6, 4.0))
    assert machine == MACHINE
    [row] = table
    assert row.commit.startswith("2307c8d7")
    assert row.time_us == pytest.approx(4.2) and row.p50_us == pytest.approx(4.0)
    assert row.ratio == pytest.approx(1.05)
    assert row.agrees(0.10) is True and row.agrees(0.01) is False
    assert row.in_process_pct is not None  # harness.ClockAgreement of the stored run


@pytest.mark.parametrize(("time_s", "code"), [(4.2e-6, 0), (6.0e-6, 1)])
def test_strict_exits_1_when_a_commit_disagrees(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], time_s: float, code: int
) -> None:
    results = _results_with(tmp_path, time_s, 4.0)
    assert main(["agreement", "--results", str(results), "--strict"]) == code
    out = capsys.readouterr().out
    assert f"{1 - code} of 1 commits within ±10%" in out


def test_a_failed_benchmark_is_shown_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = _results_with(tmp_path, None, 4.0)
    assert main(["agreement", "--results", str(results), "--strict"]) == 0
    out = capsys.readouterr().out
    assert "core.Core.time_op: benchmark failed at this commit" in out


def test_unknown_commit_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agreement", "--results", str(RESULTS), "--commit", "deadbeef"]) == 2
    assert "no results for commit deadbeef" in capsys.readouterr().err


def test_every_stored_commit_gets_a_row() -> None:
    machine, table = agreement.rows(RESULTS, MACHINE)
    stored = {
        json.loads(p.read_text())["commit_hash"]
        for p in (RESULTS / machine).glob("*.json")
        if p.name != "machine.json"
    }
    assert {r.commit for r in table} == stored
    dates = [r.date or 0 for r in table]
    assert dates == sorted(dates)
