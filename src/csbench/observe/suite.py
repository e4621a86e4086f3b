"""The suite's benchmarks as asv sees them: asv_runner's own discovery of benchmarks/, the
one place the CLI side imports the benchmark modules (targets check their names against it,
the paired engine derives its cases from it)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from csbench.measure.errors import UsageError
from csbench.measure.paths import project_root


class SuiteError(UsageError):
    """The benchmark modules cannot be imported."""


def discover(benchmark_dir: Path | None = None) -> list[Any]:
    """asv_runner's Benchmark objects of ``benchmark_dir`` (default: benchmarks/), in
    discovery order; SuiteError naming the directory when a module cannot be imported."""
    from asv_runner.discovery import disc_benchmarks

    root = (benchmark_dir or project_root() / "benchmarks").resolve()
    sys.path.insert(0, str(root.parent))
    try:
        return list(disc_benchmarks(str(root)))
    except Exception as exc:
        raise SuiteError(f"{root}: cannot discover the benchmarks: {exc}") from exc
    finally:
        sys.path.remove(str(root.parent))
