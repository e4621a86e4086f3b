"""The history's ratio tracks: each commit against one pinned reference commit, paired.

A step between two asv runs of a ``time_`` benchmark must be larger than the drift between
separate processes to show (up to 1.5x on a shared host). Here each benchmark named in
reference.yaml is measured as ``csbench ci --paired`` measures it (csbench.measure.pairs:
a driver on the reference tree and one on the commit under test, alive at once on one CPU,
PAIRS fresh pairs x ROUNDS rounds), and the track is the median pair ratio commit /
reference: a history in which both sides met the same stretches of the host, so that the
steps between commits are the code's. ``csbench run`` builds the reference outside asv;
``csbench ci`` leaves these tracks out (CSBENCH_NO_REFERENCE: it measures the commits
themselves paired).
"""

from __future__ import annotations

import os
import statistics
from typing import Any

from csbench.measure import reference
from csbench.measure.bridge import DriverError
from csbench.measure.pairs import Case, SideError, run_pair
from csbench.measure.tree import target_root

from . import auth, computed, core, files, functions, harness, realtime, wal

MODULES = {m.__name__.rsplit(".", 1)[1]: m for m in
           (auth, computed, core, files, functions, harness, realtime, wal)}  # fmt: skip
PAIRS = 8
ROUNDS = 12
try:
    REFERENCE: reference.Reference | None = reference.load()
    PROBLEM = ""
except reference.ReferenceError as exc:  # one failed benchmark, not a suite that won't import
    REFERENCE, PROBLEM = None, str(exc)


def case(name: str) -> Case:
    """The paired case of a display name in reference.yaml."""
    module, cls, method, params = reference.parse_name(name)
    return Case(name, f"{module}.{cls}.{method}", params, getattr(MODULES[module], cls))


class Reference:
    """Median over PAIRS pairs of (commit / reference) CPU time per op (of the timed calls).

    Every benchmark of reference.yaml is measured in the same pairs (``setup_cache``: each
    pair's two drivers run the cases one after the other, a class's fixtures built once
    per driver), so a commit costs PAIRS pairs of processes, not PAIRS per benchmark."""

    params = list(REFERENCE.benchmarks) if REFERENCE else ["reference.yaml"]
    param_names = ["benchmark"]
    timeout = 3600
    version = f"reference-3-{REFERENCE.commit[:12] if REFERENCE else 'none'}"

    def setup_cache(self) -> dict[str, dict[str, Any]]:
        """Per benchmark: its pair ratios, or why it has none (measured only where setup
        would not skip)."""
        if REFERENCE is None or os.environ.get("CSBENCH_NO_REFERENCE") or not REFERENCE.built:
            return {}
        cases = [case(name) for name in REFERENCE.benchmarks]
        out: dict[str, dict[str, Any]] = {c.name: {"ratios": [], "error": ""} for c in cases}
        for i in range(PAIRS):
            run = run_pair(REFERENCE.tree, target_root(), cases, ROUNDS, head_first=i % 2 == 1)
            for c, got in run.items():
                entry = out[c.name]
                if isinstance(got, SideError):
                    unsupported = got.unsupported and got.side in ("head", "both")
                    entry["error"] = entry["error"] or str(got)
                    entry["unsupported"] = unsupported
                else:
                    entry["ratios"].append(got.ratio("cpu"))
        return out

    setup_cache.timeout = 3600  # type: ignore[attr-defined]

    def setup(self, cache: dict[str, dict[str, Any]], name: str) -> None:
        if REFERENCE is None:
            raise RuntimeError(PROBLEM)
        if os.environ.get("CSBENCH_NO_REFERENCE"):
            raise NotImplementedError("not measured here (CSBENCH_NO_REFERENCE)")
        if not REFERENCE.built:
            raise NotImplementedError(
                f"the reference {REFERENCE.commit[:8]} is not built (csbench run builds it)"
            )
        if cache[name].get("unsupported"):
            raise NotImplementedError(cache[name]["error"])

    def track_ratio(self, cache: dict[str, dict[str, Any]], name: str) -> float:
        entry = cache[name]
        if entry["error"]:  # a pair failed: a benchmark failure, not a ratio of fewer pairs
            raise DriverError(entry["error"])
        return statistics.median(entry["ratios"])

    track_ratio.unit = "ratio"  # type: ignore[attr-defined]
