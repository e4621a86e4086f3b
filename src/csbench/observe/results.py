"""csbench's one reader of stored asv results (``results/MACHINE/*.json``), built on
``asv.results``.

A result file that cannot be read (empty, truncated, not asv's format, another machine's)
is named in one warning line on stderr and skipped: the other commits are read as before.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from asv import util
from asv.commands.compare import unroll_result
from asv.results import Results

Warn = Callable[[str], None]
Sample = tuple[float | None, Any, Any]  # value, stats, samples (as asv compare unrolls them)
SKIP_FILES = ("machine.json", "benchmarks.json")
# csbench's own records beside asv's results, in directories without a machine.json (asv's
# walk is kept out of them: csbench.commits.asvplugin)
PROFILES_DIR = "profiles"  # PROFILES_DIR/MACHINE/COMMIT.json: stored bottleneck reports
FAILURES_DIR = "failures"  # FAILURES_DIR/MACHINE/COMMIT.json: why benchmarks failed
TRIAGE_DIR = "triage"  # TRIAGE_DIR/MACHINE.json: verdicts on the history's listed steps
SIDE_DIRS = (PROFILES_DIR, FAILURES_DIR, TRIAGE_DIR)


class ResultsError(LookupError):
    """No usable results where they were asked for; the message says where and why."""


def warn(message: str) -> None:
    """The default warning: one line on stderr."""
    print(f"csbench: {message}", file=sys.stderr, flush=True)


def machines(results_dir: Path) -> list[str]:
    """The machine names that have a ``machine.json`` in ``results_dir``."""
    return sorted(p.parent.name for p in Path(results_dir).glob("*/machine.json"))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def load_file(path: Path, machine: str | None = None) -> Results:
    """One result file; ResultsError names the file and what is wrong with it."""
    try:
        result = Results.load(str(path), machine_name=machine)
        for key in result.get_all_result_keys():  # the columns asv reads lazily
            params = result.get_result_params(key)
            result.get_result_value(key, params)
            result.get_result_stats(key, params)
        if not isinstance(result.commit_hash, str):
            raise ValueError("commit_hash is not a string")
    except util.UserError as exc:  # asv's message already names the file
        raise ResultsError(_one_line(exc)) from None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ResultsError(f"{path}: not an asv result file: {_one_line(exc)}") from None
    return result


def result_paths(results_dir: Path, machine: str) -> list[Path]:
    """The result files of ``machine``, in file-name order."""
    files = sorted((Path(results_dir) / machine).glob("*.json"))
    return [path for path in files if path.name not in SKIP_FILES]


def read_machine(results_dir: Path, machine: str, on_bad: Warn = warn) -> list[Results]:
    """Every readable result file of ``machine``; each unreadable one is reported to
    ``on_bad`` in one line and skipped."""
    out = []
    for path in result_paths(results_dir, machine):
        try:
            out.append(load_file(path, machine))
        except ResultsError as exc:
            on_bad(f"skipped a bad results file: {exc}")
    return out


def bad_files(results_dir: Path) -> list[tuple[Path, str]]:
    """Every unreadable result file under ``results_dir`` with why (all machines)."""
    bad = []
    for machine in machines(results_dir):
        for path in result_paths(results_dir, machine):
            try:
                load_file(path, machine)
            except ResultsError as exc:
                bad.append((path, str(exc)))
    return bad


def readable_copy(results_dir: Path, dest: Path, bad: list[tuple[Path, str]]) -> None:
    """Fill ``dest`` with links to every file of ``results_dir`` but the ``bad`` ones (for
    ``asv publish``, which reads every result file itself), naming each of those."""
    for _, why in bad:
        warn(f"skipped a bad results file: {why}")
    left_out = {path for path, _ in bad}
    for path in Path(results_dir).rglob("*"):
        if path.is_file() and path not in left_out:
            link = dest / path.relative_to(results_dir)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path.resolve())


def benchmarks_meta(results_dir: Path) -> dict[str, Any]:
    """``results_dir/benchmarks.json`` (asv's discovery: params, units), {} when absent."""
    path = Path(results_dir) / "benchmarks.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: not asv's benchmarks.json: {_one_line(exc)}") from None
    return data


def display_names(meta: dict[str, Any]) -> list[str]:
    """Every benchmark and parameter combination of benchmarks.json (``benchmarks_meta``),
    named as asv prints it: ``name(params)``."""
    out = []
    for key, bench in meta.items():
        if isinstance(bench, dict) and "params" in bench:
            out += _names(key, bench["params"])
    return out


def combination_name(benchmark: str, params: list[list[str]], index: int) -> str:
    """asv's display name of ``benchmark``'s ``index``-th combination of ``params`` (as
    stored: each value as asv prints it)."""
    return _names(benchmark, params)[index]


def _names(benchmark: str, params: list[list[str]]) -> list[str]:
    return [name for name, _ in unroll_result(benchmark, params, None)]


def versions(meta: dict[str, Any]) -> dict[str, str]:
    """benchmark -> its version, from benchmarks.json (``benchmarks_meta``)."""
    return {k: v["version"] for k, v in meta.items() if isinstance(v, dict) and "version" in v}


def current_keys(result: Results, versions: dict[str, str] | None = None) -> list[str]:
    """The benchmarks of ``result``; given the suite's ``versions`` (benchmarks.json), but
    those stored under another version of their benchmark (as asv publish leaves them out
    of the graphs)."""
    out = []
    for key in result.get_all_result_keys():
        current = (versions or {}).get(key)
        if current is None or result.benchmark_version.get(key) in (None, current):
            out.append(key)
    return out


def by_benchmark(
    result: Results, versions: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """benchmark -> {"result": a value per parameter combination, "params": the axes}, of
    the ``current_keys``."""
    out = {}
    for key in current_keys(result, versions):
        params = result.get_result_params(key) or []
        out[key] = {"result": result.get_result_value(key, params), "params": params}
    return out


def unrolled(
    result: Results, versions: dict[str, str] | None = None
) -> Iterator[tuple[str, Sample]]:
    """(display name as asv prints it, (value, stats, samples)) per benchmark and params,
    of the ``current_keys``."""
    for key in current_keys(result, versions):
        params = result.get_result_params(key)
        for name, value, stats, samples in unroll_result(
            key,
            params,
            result.get_result_value(key, params),
            result.get_result_stats(key, params),
            result.get_result_samples(key, params),
        ):
            yield name, (value, stats, samples)


def commit_samples(
    results_dir: Path, machine: str, commit: str, on_bad: Warn = warn
) -> dict[str, Sample]:
    """Every result of ``commit`` (full hash or prefix) on ``machine``, by display name."""
    out: dict[str, Sample] = {}
    for result in read_machine(results_dir, machine, on_bad):
        if result.commit_hash.startswith(commit):
            out.update(unrolled(result))
    return out


def benchmark_of(name: str) -> str:
    """The benchmark part of a display name (without the params)."""
    return name.split("(", 1)[0]


# Series where a higher value is better (asv assumes lower is better everywhere).
HIGHER_IS_BETTER = ("load.LoadScenario.track_max_users",)


def higher_is_better(name: str) -> bool:
    """Whether a higher value of the series ``name`` (display name) is better."""
    return benchmark_of(name) in HIGHER_IS_BETTER
