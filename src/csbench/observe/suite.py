"""The suite's benchmarks as asv sees them: asv_runner's own discovery of benchmarks/, the
one place the CLI side imports the benchmark modules (targets check their names against it;
the paired engine, the profiler and triage take their cases from it)."""

from __future__ import annotations

import functools
import itertools
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from csbench.measure.errors import UsageError
from csbench.measure.pairs import Case
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


def time_cases(benchmark_dir: Path | None = None) -> list[Case]:
    """Every parameter combination of every ``time_`` benchmark, in asv's discovery order."""
    from asv.commands.compare import unroll_result

    cases = []
    for bench in discover(benchmark_dir):
        if bench.type != "time" or not hasattr(bench.func, "__self__"):
            continue
        values = list(itertools.product(*bench._params))  # asv_runner's (pinned) param values
        for name, params in unroll_result(bench.name, bench.params, values):
            cases.append(Case(name, bench.name, params, type(bench.func.__self__)))
    return cases


def select(bench: Iterable[str], cases: list[Case] | None = None) -> list[Case]:
    """The cases whose asv name one of the ``bench`` regexes finds (all if none given)."""
    patterns = [re.compile(b) for b in bench]
    cases = time_cases() if cases is None else cases
    return [c for c in cases if not patterns or any(p.search(c.name) for p in patterns)]


def paired_time_of(benchmark_dir: Path | None = None) -> dict[str, str]:
    """benchmark -> the ``time_`` benchmark that measures its op (itself for a time_ one):
    a track class names it in ``paired_time`` (benchmarks/common.py)."""
    out = {}
    for b in discover(benchmark_dir):
        if b.type == "time":
            out[b.name] = b.name
            continue
        owner = getattr(b.func, "__self__", None)
        target = getattr(b.func, "paired_time", None) or getattr(owner, "paired_time", None)
        if isinstance(target, dict):  # per method: {"track_x": "module.Class.time_x"}
            target = target.get(b.name.rsplit(".", 1)[1])
        if target:
            out[b.name] = target
    return out


def time_case_of(name: str, cases: list[Case] | None = None) -> Case | None:
    """The ``time_`` case measuring the op of benchmark ``name`` (a display name, with its
    params), or None when no ``time_`` benchmark measures it (load scenarios)."""
    from csbench.observe.results import benchmark_of  # asv's: imported when needed

    bench = benchmark_of(name)
    time_of = paired_time_of()
    if bench not in time_of:
        return None
    wanted = time_of[bench] + name[len(bench) :]
    return next((c for c in (time_cases() if cases is None else cases) if c.name == wanted), None)
