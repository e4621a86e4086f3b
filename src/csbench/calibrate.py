"""Noise of every benchmark on one machine, from A/A runs, as per-benchmark thresholds.

``csbench calibrate`` measures the same commit ``runs`` times (each asv run into its own
throwaway results directory, so stored history is untouched) and, per benchmark, takes
the spread of its values across the runs: noise = max / min - 1. The factor that
``csbench ci`` (csbench.compare) and ``csbench publish`` (asv's regressions_thresholds)
use is 1 + max(MIN_THRESHOLD, SAFETY x noise): a change must be clearly larger than what
identical code produced on this machine. The file is benchmarks/thresholds/<machine>.json.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from csbench.compare import Sample, benchmark_of
from csbench.paths import project_root

SAFETY = 1.5  # a threshold is this many times the A/A spread ...
MIN_THRESHOLD = 0.05  # ... and never below 5 %
DEFAULT_FACTOR = 2.0  # for a benchmark the calibration did not measure


@dataclass
class Thresholds:
    machine: str
    commit: str
    runs: int
    created: str
    noise: dict[str, float] = field(default_factory=dict)  # display name -> max/min - 1
    factors: dict[str, float] = field(default_factory=dict)  # display name -> factor
    default_factor: float = DEFAULT_FACTOR

    def factor(self, name: str) -> float:
        return self.factors.get(name, self.default_factor)

    def regressions_thresholds(self) -> dict[str, float]:
        """asv.conf.json ``regressions_thresholds``: per benchmark (asv matches names without
        params), the largest relative threshold over its params."""
        out: dict[str, float] = {}
        for name, factor in self.factors.items():
            key = "^" + re.escape(benchmark_of(name)) + "$"
            out[key] = max(out.get(key, 0.0), round(factor - 1.0, 4))
        return out


def thresholds_file(machine: str, root: Path | None = None) -> Path:
    return (root or project_root() / "benchmarks" / "thresholds") / f"{machine}.json"


def noise(runs: list[dict[str, Sample]]) -> dict[str, float]:
    """max / min - 1 of each benchmark measured (a number, > 0) in every run."""
    out: dict[str, float] = {}
    for name in sorted(set.intersection(*(set(r) for r in runs)) if runs else ()):
        values = [r[name][0] for r in runs]
        if all(v is not None and not math.isnan(v) and v > 0 for v in values):
            out[name] = max(values) / min(values) - 1.0  # type: ignore[type-var, operator]
    return out


def thresholds(machine: str, commit: str, runs: list[dict[str, Sample]]) -> Thresholds:
    spread = noise(runs)
    factors = {n: round(1.0 + max(MIN_THRESHOLD, SAFETY * s), 4) for n, s in spread.items()}
    default = max([DEFAULT_FACTOR, *factors.values()])
    return Thresholds(
        machine=machine,
        commit=commit,
        runs=len(runs),
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        noise={n: round(s, 4) for n, s in spread.items()},
        factors=factors,
        default_factor=default,
    )


def save(t: Thresholds, path: Path) -> Path:
    """Write atomically (a half-written thresholds file is never left behind)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(t), indent=1, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def load(machine: str, root: Path | None = None) -> Thresholds | None:
    """The machine's calibrated thresholds, or None if it was never calibrated."""
    path = thresholds_file(machine, root)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return Thresholds(**data)
