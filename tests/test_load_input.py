"""Bad input to `csbench load` and to the scenario files: one line and exit 2 with nothing
written or started; a load larger than the machine's memory is refused with the figure."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from csbench import load
from csbench.scenarios import Scenario, load_scenarios

HUGE = 1_000_000_000
ENTRY: dict[str, Any] = {
    "name": "tiny",
    "description": "test scenario",
    "source": "tests/test_load_input.py",
    "model": "closed",
    "users": 5,
    "think_time_ms": 50,
    "phases": {"ramp_up": 0.2, "steady": 0.6, "ramp_down": 0.2},
    "tier": "small",
    "documents": 1000,
    "operations": [{"op": "find", "weight": 100}],
    "criteria": {"p95_ms": 50, "min_throughput": 1, "max_error_rate": 1},
}


def write(directory: Path, **fields: Any) -> Path:
    entry = {**ENTRY, **fields}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{entry['name']}.yaml"
    path.write_text(yaml.safe_dump({"scenarios": [entry]}, sort_keys=False))
    return path


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
