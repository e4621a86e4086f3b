"""Helpers the test modules share (never imported from a test module): a small load
scenario written to a real YAML file, and the deliberate slowdown the end-to-end tests
inject into the npm package's findById."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from csbench.load.scenarios import Scenario, load_scenarios

TINY: dict[str, Any] = {
    "name": "tiny",
    "description": "test scenario",
    "source": "tests",
    "model": "closed",
    "users": 20,
    "think_time_ms": 50,
    "phases": {"ramp_up": 0.5, "steady": 2.0, "ramp_down": 0.5},
    "tier": "small",
    "documents": 1000,
    "operations": [{"op": "find", "weight": 100, "p95_ms": 50}],
    "criteria": {
        "p95_ms": 50,
        "min_throughput": 1,
        "max_error_rate": 1,
        "max_rss_mb_per_1000_users": 100_000,
        "max_cpu_percent": 100,
    },
}


def write_scenario(directory: Path, **fields: Any) -> Path:
    """``directory``/NAME.yaml holding TINY with ``fields`` changed (None: key left out)."""
    entry = {k: v for k, v in {**TINY, **fields}.items() if v is not None}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{entry['name']}.yaml"
    path.write_text(yaml.safe_dump({"scenarios": [entry]}, sort_keys=False))
    return path


SLOW_FILE = Path("src/async/collection.ts")
SLOW_ANCHOR = "async findById(id: ValueType): Promise<T | undefined> {"
# The injected regression: findById busy-waits 50 µs before doing its real work, many
# times its own cost at 1,000 documents.
SLOWDOWN = "\n    { const until = performance.now() + 0.05; while (performance.now() < until) {} }"


MACHINE = "csbench-e2e"  # the asv machine of the end-to-end tests (in their temporary HOME)


def csbench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``csbench`` command in a subprocess, with a cache of its own under ``tmp_path``."""
    env = dict(os.environ, CSBENCH_CACHE=str(tmp_path / "cache"))
    return subprocess.run(
        [sys.executable, "-m", "csbench.cli", *args], capture_output=True, text=True, env=env
    )


def scenario(tmp_path: Path, **fields: Any) -> Scenario:
    """One scenario written to a real YAML file and loaded through the validator."""
    return load_scenarios(write_scenario(tmp_path, **fields))[0]
