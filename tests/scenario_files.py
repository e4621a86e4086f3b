"""A small load scenario written to a real YAML file, for the tests of the load engine,
its input checks and its signals (not a test module: imported by them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

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
