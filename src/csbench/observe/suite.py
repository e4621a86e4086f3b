"""The suite's benchmarks as asv sees them: asv_runner's own discovery of benchmarks/, the
one place the CLI side imports the benchmark modules (targets check their names against it,
the paired engine derives its cases from it)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

from csbench.measure.errors import UsageError
from csbench.measure.paths import project_root


class SuiteError(UsageError):
    """The benchmark modules cannot be imported."""


def discover(benchmark_dir: Path | None = None) -> list[Any]:
    """asv_runner's Benchmark objects of ``benchmark_dir`` (default: benchmarks/), in
    discovery order, discovered once per process (the modules are imported once anyway);
    SuiteError naming the directory when a module cannot be imported."""
    return list(_discover((benchmark_dir or project_root() / "benchmarks").resolve()))


@functools.cache
def _discover(root: Path) -> tuple[Any, ...]:
    from asv_runner.discovery import disc_benchmarks

    sys.path.insert(0, str(root.parent))
    try:
        return tuple(disc_benchmarks(str(root)))
    except Exception as exc:
        raise SuiteError(f"{root}: cannot discover the benchmarks: {exc}") from exc
    finally:
        sys.path.remove(str(root.parent))
