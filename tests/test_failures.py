"""csbench.observe.failures and the asv plugin that records them (csbench.commits.asvplugin):
why a benchmark failed at a commit, kept beside its results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asv import results as asv_results
from asv.results import Results

from csbench.commits import asvplugin
from csbench.measure.paths import project_root
from csbench.observe import failures

COMMIT = "ab" * 20
RESULTS = Path(__file__).parents[1] / "results"
TRACEBACK = f"""Traceback (most recent call last):
  File "{project_root()}/benchmarks/core.py", line 30, in setup
    self.session = session(op, dataset)
                   ^^^^^^^^^^^^^^^^^^^^
KeyError: 'handle'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "{project_root()}/src/csbench/measure/bridge.py", line 200, in request
    raise CheckFailed(message)
csbench.measure.bridge.CheckFailed: run: find_by_id: expected {{"uid":266}}, got null
--- driver stderr tail ---
loading {Path.home()}/cs/src/index.ts
"""


def test_the_reason_is_the_last_exception_without_paths_of_the_machine() -> None:
    why = failures.why(TRACEBACK)
    assert why.startswith("csbench.measure.bridge.CheckFailed: run: find_by_id: expected")
    assert "KeyError" not in why and "File " not in why  # the frames and the earlier one
    assert why.endswith("loading ~/cs/src/index.ts")
    assert failures.first_line(why) == why.splitlines()[0]
    plain = "\n".join(f"line {n}" for n in range(20)) + "\nasv: benchmark timed out (timeout 60s)"
    assert failures.why(plain).splitlines()[-1] == "asv: benchmark timed out (timeout 60s)"
    assert len(failures.why(plain).splitlines()) == failures.LAST_LINES
    assert len(failures.why("x" * 5000)) == failures.MAX_CHARS


def asv_stderr(blocks: dict[tuple[str, ...], str]) -> str:
    """A parameterized benchmark's stderr as asv.runner writes it: per combination with
    output, "For parameters: a, b" and the output, the blocks joined by a blank line."""
    return "\n\n".join(f"For parameters: {', '.join(k)}\n{v}" for k, v in blocks.items())


def test_each_failed_parameter_combination_keeps_its_own_reason() -> None:
    stderr = asv_stderr({
        ("'find_by_id'", "'small-10000'"): TRACEBACK,
        ("'insert'", "'small-10000'"): "asv: skipped: NotImplementedError('no insert')",
        ("'reload'", "'small-10000'"): "Traceback (most recent call last):\n  File x\n"
                                       "RuntimeError: reload: driver exited",
    })  # fmt: skip
    why = failures.why(stderr)
    assert "skipped" not in why and "File " not in why
    find = failures.of_params(why, "'find_by_id', 'small-10000'")
    assert find == failures.why(TRACEBACK)
    reload = failures.of_params(why, "'reload', 'small-10000'")
    assert reload == "RuntimeError: reload: driver exited"
    assert failures.of_params(why, "'insert', 'small-10000'") == why  # not recorded: all of it
    assert failures.of_params("ValueError: no", "'x'") == "ValueError: no"
    many = asv_stderr({(f"'op{i}'",): f"{TRACEBACK}x{i}" for i in range(20)})
    kept = failures.why(many)
    assert kept.count("For parameters: ") == failures.MAX_PARAM_REASONS
    assert kept.endswith(f"({20 - failures.MAX_PARAM_REASONS} more combinations failed)")


def test_a_benchmark_measured_again_replaces_or_clears_its_reason(tmp_path: Path) -> None:
    def record(errcode: dict[str, int], stderr: dict[str, str]) -> dict[str, str]:
        failures.record(tmp_path, "m", COMMIT, errcode, stderr)
        return failures.read(tmp_path, "m", COMMIT)

    first = record({"a.A.time_x": 1, "b.B.time_y": 1, "c.C.time_z": 0}, {"a.A.time_x": TRACEBACK})
    assert set(first) == {"a.A.time_x", "b.B.time_y"}
    assert first["b.B.time_y"] == "exit status 1, no output"
    again = record({"a.A.time_x": 0, "c.C.time_z": 2}, {"c.C.time_z": "ValueError: no"})
    assert again == {"b.B.time_y": first["b.B.time_y"], "c.C.time_z": "ValueError: no"}
    assert record({"b.B.time_y": 0, "c.C.time_z": 0}, {}) == {}
    assert not failures.path_of(tmp_path, "m", COMMIT).exists()  # nothing failed: no file
    failures.path_of(tmp_path, "m", COMMIT).write_text("{")
    (entry,) = failures.read(tmp_path, "m", COMMIT).values()
    assert "not a failures record" in entry


@pytest.mark.usefixtures("asv_restored")
def test_the_plugin_records_failures_when_asv_saves_results(tmp_path: Path) -> None:
    asvplugin.setup()
    asvplugin.setup()  # loaded twice: wrapped once
    assert getattr(Results.save, "csbench", False)
    result = Results({"machine": "m"}, {}, COMMIT, 1_700_000_000_000, "3.11", "env", {})
    result._errcode = {"a.A.time_x": 1}  # what asv's runner sets for a failed benchmark
    result._stderr = {"a.A.time_x": TRACEBACK}
    result.save(str(tmp_path))
    assert list((tmp_path / "m").glob(f"{COMMIT[:8]}-*.json"))  # asv's own file first
    data = json.loads(failures.path_of(tmp_path, "m", COMMIT).read_text())
    assert data["benchmarks"] == {"a.A.time_x": failures.why(TRACEBACK)}


@pytest.mark.usefixtures("asv_restored")
def test_with_the_plugin_asv_walks_the_results_without_csbenchs_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asv warns "Skipping results" for each directory of JSON files without a machine.json
    (csbench's profiles, failures, triage); with the plugin it never walks into them and
    finds the same results."""
    machine_dir = next(p.parent for p in RESULTS.glob("*/machine.json"))
    machine = machine_dir.name
    (tmp_path / machine).mkdir()
    for f in [machine_dir / "machine.json", *sorted(machine_dir.glob("*-*.json"))[:2]]:
        (tmp_path / machine / f.name).write_bytes(f.read_bytes())
    for side in asvplugin.SIDE_DIRS:
        (tmp_path / side / machine).mkdir(parents=True)
        (tmp_path / side / machine / f"{COMMIT}.json").write_text("{}")
    warned: list[str] = []
    monkeypatch.setattr(asv_results.log, "warning", warned.append)

    def walk() -> list[tuple[str, str]]:
        return sorted((r.commit_hash, m) for r in asv_results.iter_results(str(tmp_path))
                      for m in [r.params["machine"]])  # fmt: skip

    plain = walk()
    assert len(warned) == len(asvplugin.SIDE_DIRS) and "Skipping results" in warned[0]
    warned.clear()
    asvplugin.setup()
    assert walk() == plain and len(plain) == 2 and not warned
    assert len(list(asv_results.iter_results_for_machine(str(tmp_path), machine))) == 2
