"""Bad input to `csbench load`, to the scenario files and to the asv load benchmarks: one
line and exit 2 with nothing written or started; a load larger than the machine's memory
is refused with the figure; a malformed scenario file fails only its own benchmarks while
asv discovers and runs the rest of the suite."""

from __future__ import annotations

import ast
import json
import math
import os
import pickle
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml
from helpers import TINY, write_scenario

from csbench.load import runner as load
from csbench.load.scenarios import Scenario, load_scenarios
from csbench.measure.paths import project_root

BENCHMARKS = project_root() / "benchmarks"
HUGE = 1_000_000_000
SMALL: dict[str, Any] = {  # five users for a second, no memory or CPU criteria
    "users": 5,
    "phases": {"ramp_up": 0.2, "steady": 0.6, "ramp_down": 0.2},
    "criteria": {"p95_ms": 50, "min_throughput": 1, "max_error_rate": 1},
}
ENTRY: dict[str, Any] = {**TINY, **SMALL}
BROKEN = "scenarios:\n  - name: broken\n    model: closed\n"  # description missing


def write(directory: Path, **fields: Any) -> Path:
    return write_scenario(directory, **{**SMALL, **fields})


def files_under(*roots: Path) -> set[Path]:
    return {p for root in roots for p in root.rglob("*")}


def cli_load(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[Path]]:
    """`csbench load` with a fresh temp dir and cache; returns the run and what it wrote to
    the temp dir, the cache and the scenario directory."""
    tmp, cache = tmp_path / "tmp", tmp_path / "cache"
    tmp.mkdir(exist_ok=True)
    cache.mkdir(exist_ok=True)
    scenarios = tmp_path / "scenarios"
    before = files_under(tmp, cache, scenarios)
    env = {**os.environ, "TMPDIR": str(tmp), "CSBENCH_CACHE": str(cache)}
    out = subprocess.run(
        [sys.executable, "-m", "csbench.cli", "load", *args, "--scenarios", str(scenarios)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return out, files_under(tmp, cache, scenarios) - before


def assert_refused(out: subprocess.CompletedProcess[str], written: set[Path], *words: str) -> str:
    assert out.returncode == 2, out.stderr
    assert out.stdout == "" and not written, (out.stdout, written)
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("csbench load: "), out.stderr
    for word in words:
        assert word in out.stderr, out.stderr
    return out.stderr.strip()


BAD_ARGS = {
    "users-zero": (["--users", "0"], "--users must be at least 1, got 0"),
    "users-negative": (["--users", "-3"], "--users must be at least 1, got -3"),
    "duration-nan": (["--duration", "nan"], "--duration must be a finite number of seconds"),
    "duration-inf": (["--duration", "inf"], "got inf"),
    "duration-zero": (["--duration", "0"], "> 0, got 0"),
    "duration-negative": (["--duration", "-5"], "> 0, got -5"),
    "probe-duration-nan": (["--search", "--probe-duration", "nan"], "--probe-duration must"),
    "probe-duration-zero": (["--probe-duration", "0"], "--probe-duration must"),
    "probes-zero": (["--search", "--probes", "0"], "--probes must be at least 1, got 0"),
    "probes-negative": (["--probes", "-1"], "--probes must be at least 1"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARGS))
def test_bad_numbers_are_one_line(tmp_path: Path, case: str) -> None:
    args, message = BAD_ARGS[case]
    write(tmp_path / "scenarios")
    out, written = cli_load(tmp_path, "tiny", "--json", *args)
    assert_refused(out, written, message)


def test_a_load_larger_than_memory_is_refused_with_the_figure(tmp_path: Path) -> None:
    write(tmp_path / "scenarios")
    out, written = cli_load(tmp_path, "tiny", "--json", "--users", str(HUGE))
    line = assert_refused(out, written, "1,000,000,000 users", "more than this machine's")
    sc = load_scenarios(tmp_path / "scenarios" / "tiny.yaml")[0]
    need = load.memory_estimate(sc, HUGE) / load.GIB
    total = psutil.virtual_memory().total / load.GIB
    assert f"needs at least {need:,.1f} GiB" in line and f"{total:,.1f} GiB" in line


@pytest.mark.parametrize("field", ["users", "documents"])
def test_a_scenario_file_larger_than_memory_is_refused(tmp_path: Path, field: str) -> None:
    """From the file itself, before the dataset of 10^9 documents is generated."""
    write(tmp_path / "scenarios", **{field: HUGE})
    out, written = cli_load(tmp_path, "tiny", "--json")
    assert_refused(out, written, "needs at least", "GiB of memory")


def test_the_search_limit_must_fit_too(tmp_path: Path) -> None:
    sc_dir = tmp_path / "scenarios"
    write(sc_dir)
    sc = load_scenarios(sc_dir / "tiny.yaml")[0]
    total = psutil.virtual_memory().total
    per_user = load.memory_estimate(sc, 2) - load.memory_estimate(sc, 1)
    users = (total - load.memory_estimate(sc, 0)) // per_user  # fits; twice as many do not
    assert load.check_memory(sc, users) <= total
    out, written = cli_load(tmp_path, "tiny", "--users", str(users), "--search")
    assert_refused(out, written, f"{2 * users:,} users (--search probes up to 2 x users)")


def test_the_named_scenario_of_a_bad_file_is_one_line(tmp_path: Path) -> None:
    write(tmp_path / "scenarios")
    (tmp_path / "scenarios" / "broken.yaml").write_text(BROKEN)
    out, written = cli_load(tmp_path, "broken", "--json")
    line = assert_refused(out, written, "broken.yaml", "scenario 'broken'", "key 'description'")
    assert line.endswith("missing")
    out, written = cli_load(tmp_path, "nothere")
    assert_refused(out, written, "no scenario 'nothere'", "known: broken, tiny")


def test_a_key_given_twice_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "scenarios")
    path.write_text(path.read_text().replace("users: 5\n", "users: 5\n  users: 1000000000\n"))
    out, written = cli_load(tmp_path, "tiny")
    assert_refused(out, written, f"{path}: key 'users' at line", "repeats the key of line")


def scenario(tmp_path: Path, **fields: Any) -> Scenario:
    return load_scenarios(write(tmp_path, **fields))[0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"users": 0}, "users must be an integer >= 1, got 0"),
        ({"users": -1}, "got -1"),
        ({"duration": math.nan}, "duration must be a finite number"),
        ({"duration": 0.0}, "got 0.0"),
        ({"drain": -1.0}, "drain must be"),
    ],
)
def test_run_scenario_refuses_bad_numbers(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    """Before any driver starts: the target does not even exist."""
    with pytest.raises(ValueError, match=message):
        load.run_scenario(tmp_path / "no-target", scenario(tmp_path), **kwargs)


def test_run_scenario_refuses_a_load_larger_than_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("CSBENCH_CACHE", str(cache))
    with pytest.raises(load.LoadTooLarge, match="needs at least"):
        load.run_scenario(tmp_path / "no-target", scenario(tmp_path, documents=HUGE))
    assert not cache.exists()  # no dataset generated


@pytest.mark.integration
def test_the_estimate_stays_below_what_a_load_takes(tmp_path: Path, npm_target: Path) -> None:
    """The estimate is a floor: a real load of many users takes more than it says."""
    sc = scenario(tmp_path, users=20_000, think_time_ms=5000, documents=10_000)
    report = load.run_scenario(npm_target, sc, duration=1.0)
    assert report.users == 20_000 and report.requests > 0
    assert load.memory_estimate(sc, sc.users) < report.peak_rss_bytes


@pytest.mark.integration
def test_another_scenario_runs_beside_a_bad_file(tmp_path: Path, npm_target: Path) -> None:
    """The bad file is one warning line naming it; the named, valid scenario runs."""
    write(tmp_path / "scenarios")
    (tmp_path / "scenarios" / "broken.yaml").write_text(BROKEN)
    out, _ = cli_load(tmp_path, "tiny", "--json", "--quiet", "--duration", "1")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["report"]["scenario"] == "tiny"
    (warning,) = out.stderr.splitlines()
    assert warning.startswith("csbench load: warning: skipped broken: ")
    assert "broken.yaml: scenario 'broken' (scenarios[0]): key 'description': missing" in warning


def copy_benchmarks(dest: Path, scenarios: dict[str, str] | None = None) -> Path:
    """A copy of benchmarks/ named benchmarks (asv's module name), its scenarios replaced
    by ``scenarios`` (file name -> text) when given."""
    root = dest / "benchmarks"
    shutil.copytree(BENCHMARKS, root, ignore=shutil.ignore_patterns("__pycache__"))
    if scenarios is not None:
        shutil.rmtree(root / "scenarios")
        (root / "scenarios").mkdir()
        for name, text in scenarios.items():
            (root / "scenarios" / name).write_text(text)
    return root


def asv_runner(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """asv's own benchmark runner (what `asv run` starts in the environment)."""
    return subprocess.run(
        [sys.executable, "-m", "asv.benchmark", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def discover(root: Path) -> dict[str, dict[str, Any]]:
    out_file = root.parent / "discovered.json"
    out = asv_runner(root.parent, "discover", str(root), str(out_file))
    assert out.returncode == 0, out.stderr
    return {b["name"]: b for b in json.loads(out_file.read_text())}


@pytest.mark.integration  # asv's benchmark runner in a subprocess
def test_asv_discovers_the_suite_beside_a_malformed_scenario_file(tmp_path: Path) -> None:
    """A file without a readable name stands as its stem; a file with a repeated key keeps
    its scenario's name: the params of every valid file are the same as before."""
    real = discover(copy_benchmarks(tmp_path / "real"))
    root = copy_benchmarks(tmp_path / "bad")
    (root / "scenarios" / "zz-broken.yaml").write_text("scenarios: [\n  - name: x\n   y: [1\n")
    database = root / "scenarios" / "database.yaml"
    database.write_text(database.read_text().replace("users: 500\n", "users: 500\n    users: 5\n"))
    found = discover(root)
    assert set(found) == set(real) and len(found) > 30
    for name, bench in real.items():
        if name.startswith("load."):
            first, *rest = bench["params"]
            assert found[name]["params"] == [[*first, "'zz-broken'"], *rest]
            assert found[name]["version"] == bench["version"]
        else:
            assert found[name] == bench
    assert "'database'" in found["load.LoadScenario.track_p95"]["params"][0]


@pytest.mark.integration  # asv's benchmark runner in a subprocess
def test_asv_fails_only_the_benchmarks_of_a_bad_file(tmp_path: Path) -> None:
    """asv_runner's own setup_cache and run: the bad file's scenario fails naming the file
    and key, a load larger than the machine's memory fails with the figure (no driver is
    started, no target is needed), and the discovery lists both."""
    huge = dict(ENTRY, name="huge", users=HUGE)
    root = copy_benchmarks(
        tmp_path,
        {"broken.yaml": BROKEN, "huge.yaml": yaml.safe_dump({"scenarios": [huge]})},
    )
    found = discover(root)
    names = [ast.literal_eval(p) for p in found["load.LoadScenario.track_p95"]["params"][0]]
    assert names == ["broken", "huge"]
    setup = asv_runner(tmp_path, "setup_cache", str(root), "load.LoadScenario.track_p95", "{}")
    assert setup.returncode == 0, setup.stderr
    cache = pickle.loads((tmp_path / "cache.pickle").read_bytes())
    assert set(cache) == {"huge"} and cache["huge"]["status"] == "error"

    def run(benchmark: str, scenario: str) -> subprocess.CompletedProcess[str]:
        index = names.index(scenario)
        result = tmp_path / "result.json"
        args = (str(root), f"{benchmark}-{index}", "{}", "None", str(result))
        return asv_runner(tmp_path, "run", *args)

    for benchmark in ("load.LoadScenario.track_p95", "load.LoadScenario.track_max_users"):
        failed = run(benchmark, "broken")
        assert failed.returncode != 0
        assert "broken.yaml: scenario 'broken' (scenarios[0]): key 'description': missing" in (
            failed.stderr
        )
        too_large = run(benchmark, "huge")
        assert too_large.returncode != 0
        assert "scenario 'huge' with 1,000,000,000 users" in too_large.stderr
        assert "GiB of memory" in too_large.stderr


def test_a_class_with_no_successful_request_fails_with_how_its_requests_failed() -> None:
    """Not NaN (which asv stores as "skipped" and the targets read as the area missing at the
    commit): the benchmark fails naming the failures by kind and one sample; a class with
    successes gives its p95."""
    sys.path.insert(0, str(BENCHMARKS.parent))
    try:
        from benchmarks import load as bench
    finally:
        sys.path.remove(str(BENCHMARKS.parent))
    failed = load.OpReport(0, {"check": 830, "unfinished": 8}, None, None, None, None,
                           {"check": "upload: stored checksum x\nstack"})  # fmt: skip
    ok = load.OpReport(5, {"check": 1}, 1.0, 2.5, 3.0, 1.2)
    classes = {"files": asdict(failed), "core": asdict(ok)}
    report = {"p95_ms": 2.5, "classes": classes, "ops": {"upload": asdict(failed)}}
    cache = {"production-validation": {"status": "ok", "report": report, "search": {}}}
    latency = bench.LoadLatency()
    assert latency.track_p95(cache, "production-validation", "core") == 2.5
    with pytest.raises(RuntimeError) as info:
        latency.track_p95(cache, "production-validation", "files")
    assert str(info.value) == (
        "scenario production-validation, files operations: no request succeeded in the steady "
        "phase (830 check, 8 unfinished); e.g. upload: stored checksum x"
    )
    report["p95_ms"] = None
    with pytest.raises(RuntimeError, match=r"validation: no request succeeded .*\(830 check, 8"):
        bench.LoadScenario().track_p95(cache, "production-validation")
    report["ops"] = {}
    with pytest.raises(RuntimeError, match="production-validation: no request in the steady"):
        bench.LoadScenario().track_p95(cache, "production-validation")
