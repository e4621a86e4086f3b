"""The plan's performance targets as data (benchmarks/targets.yaml), judged on asv results.

A target reads one stored asv value (a benchmark and one parameter combination) of one
commit on one machine, converts it to the target's display unit and compares it with the
bound. A value that is missing says why: the benchmark was skipped (the area does not
exist at that commit), failed, or was not run.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from asv.results import Results

from csbench.measure import yamlfile
from csbench.measure.paths import project_root
from csbench.observe import failures, suite, tables
from csbench.observe import results as stored
from csbench.observe.results import combination_name

BENCHMARK_FAILED = "benchmark failed at this commit"
NOT_RUN = "not run"
STATISTICS = ("p50", "p95", "p99", "mean", "throughput", "peak", "share", "count")
DIRECTIONS = ("below", "above")
UNITS = ("ms", "us", "MB/s", "GB", "MB", "%", "users")
ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
BENCHMARK_PATTERN = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*){2,}$")

# (benchmark unit as asv stores it, display unit) -> conversion
CONVERSIONS: dict[tuple[str, str], Callable[[float], float]] = {
    ("seconds", "ms"): lambda v: v * 1e3,
    ("seconds", "us"): lambda v: v * 1e6,
    ("us", "ms"): lambda v: v / 1e3,
    ("ns/B", "MB/s"): lambda v: 1e3 / v,  # 1 byte per ns = 1e9 B/s = 1,000 MB/s
    ("bytes", "GB"): lambda v: v / 1e9,
    ("bytes", "MB"): lambda v: v / 1e6,
}


def default_targets_file() -> Path:
    return project_root() / "benchmarks" / "targets.yaml"


class TargetFileError(ValueError):
    """A malformed targets file; the message names the file, the entry and the key."""


@dataclass(frozen=True)
class Target:
    id: str
    title: str
    benchmark: str
    statistic: str
    bound: float
    direction: str
    unit: str
    source: str
    params: dict[str, Any] = field(default_factory=dict)

    def passes(self, value: float) -> bool:
        return value < self.bound if self.direction == "below" else value > self.bound

    @property
    def bound_text(self) -> str:
        return f"{'<' if self.direction == 'below' else '>'} {self.bound:g} {self.unit}"

    @property
    def display_name(self) -> str:
        """The benchmark with its params as asv prints it (the key of calibrated noise)."""
        params = ", ".join(repr(v) for v in self.params.values())  # as asv stores them
        return f"{self.benchmark}({params})" if self.params else self.benchmark


_REQUIRED: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "title": (str,),
    "benchmark": (str,),
    "statistic": (str,),
    "bound": (int, float),
    "direction": (str,),
    "unit": (str,),
    "source": (str,),
}
_CHOICES = {"statistic": STATISTICS, "direction": DIRECTIONS, "unit": UNITS}


def _entry_error(path: Path, index: int, entry: Any, key: str, problem: str) -> TargetFileError:
    name = f" (id {entry['id']!r})" if isinstance(entry, dict) and "id" in entry else ""
    return TargetFileError(f"{path}: targets[{index}]{name}: key '{key}': {problem}")


def _parse_entry(path: Path, index: int, entry: Any) -> Target:
    if not isinstance(entry, dict):
        raise TargetFileError(f"{path}: targets[{index}]: expected a mapping, got {entry!r}")
    for key, types in _REQUIRED.items():
        if key not in entry:
            raise _entry_error(path, index, entry, key, "missing")
        value = entry[key]
        if not isinstance(value, types) or isinstance(value, bool):
            expected = " or ".join(t.__name__ for t in types)
            raise _entry_error(
                path, index, entry, key, f"expected {expected}, got {type(value).__name__}"
            )
    for key, choices in _CHOICES.items():
        if entry[key] not in choices:
            raise _entry_error(
                path, index, entry, key, f"{entry[key]!r} is not one of {', '.join(choices)}"
            )
    if not ID_PATTERN.match(entry["id"]):
        raise _entry_error(path, index, entry, "id", f"{entry['id']!r} is not kebab-case")
    if not BENCHMARK_PATTERN.match(entry["benchmark"]):
        raise _entry_error(
            path, index, entry, "benchmark", f"{entry['benchmark']!r} is not module.Class.method"
        )
    if not math.isfinite(entry["bound"]):
        raise _entry_error(path, index, entry, "bound", "must be a finite number")
    params = entry.get("params", {})
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise _entry_error(path, index, entry, "params", "expected a mapping of names to values")
    unknown = set(entry) - set(_REQUIRED) - {"params"}
    if unknown:
        raise _entry_error(path, index, entry, sorted(unknown)[0], "unknown key")
    return Target(**{k: entry[k] for k in _REQUIRED}, params=dict(params))


# benchmark name -> (param names, each param's values as asv stores them: repr strings)
Definitions = dict[str, tuple[list[str], list[list[str]]]]


def benchmark_definitions(benchmark_dir: Path | None = None) -> Definitions:
    """Every benchmark the suite defines (csbench.observe.suite); TargetFileError when a
    module cannot be imported."""
    try:
        found = suite.discover(benchmark_dir)
    except suite.SuiteError as exc:
        raise TargetFileError(str(exc)) from exc
    return {b.name: (list(b.param_names), [list(p) for p in b.params]) for b in found}


def _check_defined(path: Path, index: int, target: Target, defined: Definitions) -> None:
    """The target names a benchmark the suite defines and exactly one of its param
    combinations."""
    entry = asdict(target)
    if target.benchmark not in defined:
        near = difflib.get_close_matches(target.benchmark, defined, n=1)
        hint = f" (did you mean {near[0]}?)" if near else ""
        raise _entry_error(
            path, index, entry, "benchmark", f"no benchmark {target.benchmark} is defined{hint}"
        )
    names, values = defined[target.benchmark]
    for name in target.params:
        if name not in names:
            have = ", ".join(names) or "none"
            raise _entry_error(
                path, index, entry, "params", f"{target.benchmark} has no param {name!r} "
                f"(params: {have})"
            )  # fmt: skip
    for name, choices in zip(names, values, strict=True):
        if name not in target.params:
            raise _entry_error(path, index, entry, "params", f"missing {name!r} (one of "
                               f"{', '.join(choices)})")  # fmt: skip
        if not any(_param_matches(c, target.params[name]) for c in choices):
            raise _entry_error(
                path, index, entry, "params", f"{name}: {target.params[name]!r} is not one of "
                f"{', '.join(choices)}"
            )  # fmt: skip


def load_targets(path: Path | None = None, defined: Definitions | None = None) -> list[Target]:
    """Read and validate a targets file (against the benchmarks ``defined``, default: the
    suite's own); raise TargetFileError naming file, entry and key."""
    path = path or default_targets_file()
    try:
        data = yamlfile.load(path)
    except yamlfile.YamlFileError as exc:
        raise TargetFileError(str(exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list):
        raise TargetFileError(f"{path}: key 'targets': expected a list of targets")
    if not data["targets"]:
        raise TargetFileError(f"{path}: key 'targets': empty; a gate with no target passes")
    targets = [_parse_entry(path, i, entry) for i, entry in enumerate(data["targets"])]
    defined = benchmark_definitions() if defined is None else defined
    for i, target in enumerate(targets):
        _check_defined(path, i, target, defined)
    seen: set[str] = set()
    for i, target in enumerate(targets):
        if target.id in seen:
            raise TargetFileError(f"{path}: targets[{i}] (id {target.id!r}): key 'id': duplicate")
        seen.add(target.id)
    return targets


@dataclass(frozen=True)
class CommitResults:
    """The stored asv results of one commit on one machine."""

    machine: str
    commit: str
    date: int | None
    results: dict[str, dict[str, Any]]  # benchmark -> {"result": [...], "params": [...]}
    benchmarks: dict[str, Any]  # results/benchmarks.json
    failures: dict[str, str] = field(default_factory=dict)  # benchmark -> why it failed


class ResultsNotFound(LookupError):
    """No results for the machine or commit asked for, or unreadable ones."""


def machines(results_dir: Path) -> list[str]:
    return stored.machines(results_dir)


def machine_of(results_dir: Path, machine: str | None) -> str:
    """``machine`` if ``results_dir`` holds it, else (None) the only machine there;
    ResultsNotFound naming the ones it holds otherwise."""
    known = machines(results_dir)
    if machine is None:
        if len(known) != 1:
            raise ResultsNotFound(
                f"{results_dir}: name a machine with --machine (have: {', '.join(known) or 'none'})"
            )
        return known[0]
    if machine not in known:
        raise ResultsNotFound(
            f"{results_dir}: no results for machine {machine!r} "
            f"(have: {', '.join(known) or 'none'})"
        )
    return machine


def _result_files(
    results_dir: Path, machine: str | None, allow_empty: bool = False
) -> tuple[str, list[Results]]:
    """The machine (default: the only one in ``results_dir``) and its readable result
    files (each unreadable one is named in a warning line and skipped)."""
    machine = machine_of(results_dir, machine)
    files = stored.read_machine(results_dir, machine)
    if not files and not allow_empty:
        raise ResultsNotFound(f"{results_dir / machine}: no readable result files")
    return machine, files


def _commit_results(
    results_dir: Path, machine: str, files: list[Results], chosen: Results, meta: dict[str, Any]
) -> CommitResults:
    """The results of ``chosen``'s commit, merged over every file of that commit, and why
    its benchmarks failed; a result of an earlier version of its benchmark is left out (it
    measured something else)."""
    merged: dict[str, dict[str, Any]] = {}
    current = stored.versions(meta)
    for data in files:
        if data.commit_hash == chosen.commit_hash:
            merged.update(stored.by_benchmark(data, current))
    why = failures.read(results_dir, machine, chosen.commit_hash)
    return CommitResults(machine, chosen.commit_hash, chosen.date, merged, meta, why)


def _benchmarks_meta(results_dir: Path) -> dict[str, Any]:
    try:
        return stored.benchmarks_meta(results_dir)
    except stored.ResultsError as exc:
        raise ResultsNotFound(str(exc)) from None


def load_commit_results(
    results_dir: Path,
    machine: str | None = None,
    commit: str | None = None,
    resolve: Callable[[str], str] | None = None,
) -> CommitResults:
    """Results of ``commit`` (hash prefix, or any rev ``resolve`` turns into a hash; default:
    the newest commit) on ``machine`` (default: the only machine in ``results_dir``)."""
    meta = _benchmarks_meta(results_dir)
    machine, files = _result_files(results_dir, machine)
    if commit is None:
        chosen = max(files, key=lambda d: d.date or 0)
    else:
        full = (
            commit
            if re.fullmatch(r"[0-9a-f]{4,40}", commit) or resolve is None
            else resolve(commit)
        )
        matches = [d for d in files if d.commit_hash.startswith(full)]
        hashes = {d.commit_hash for d in matches}
        if not hashes:
            raise ResultsNotFound(f"no results for commit {commit} on machine {machine}")
        if len(hashes) > 1:
            raise ResultsNotFound(f"commit {commit} is ambiguous: {', '.join(sorted(hashes))}")
        chosen = matches[0]
    return _commit_results(results_dir, machine, files, chosen, meta)


def all_commit_results(
    results_dir: Path, machine: str | None = None
) -> tuple[str, list[CommitResults]]:
    """The machine and the results of each of its commits, oldest first (by commit date;
    none when it has no result files); each result file is read once."""
    meta = _benchmarks_meta(results_dir)
    machine, files = _result_files(results_dir, machine, allow_empty=True)
    first: dict[str, Results] = {}
    for data in files:
        first.setdefault(data.commit_hash, data)
    ordered = sorted(first.values(), key=lambda d: (d.date or 0, d.commit_hash))
    return machine, [
        _commit_results(results_dir, machine, files, chosen, meta) for chosen in ordered
    ]


@dataclass(frozen=True)
class Verdict:
    target: Target
    status: str  # pass | fail | not measured
    value: float | None = None
    reason: str = ""

    @property
    def not_run(self) -> bool:
        """Its benchmark, or that param combination, was not run (e.g. a --bench selection)."""
        return self.status == "not measured" and self.reason.startswith(NOT_RUN)

    @property
    def unjudged_by_failure(self) -> bool:
        """Not judged because the benchmark failed (not because it was skipped or not run)."""
        return self.status == "not measured" and self.reason.startswith(BENCHMARK_FAILED)

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self.target),
            "status": self.status,
            "value": self.value,
            "reason": self.reason,
        }


def _param_matches(stored: str, wanted: Any) -> bool:
    return stored in (repr(wanted), repr(str(wanted)), str(wanted))


def _param_index(wanted: dict[str, Any], names: list[str], params: list[list[str]]) -> int | None:
    if set(wanted) - set(names):
        return None
    for index, combo in enumerate(itertools.product(*params)):
        if all(
            _param_matches(value, wanted[name])
            for name, value in zip(names, combo, strict=True)
            if name in wanted
        ):
            return index
    return None


def measured(
    results: CommitResults, benchmark: str, params: dict[str, Any], unit: str
) -> tuple[float | None, str]:
    """One stored value of ``benchmark`` at ``params``, converted to ``unit``; or None and
    why there is none (not run, failed, skipped, not convertible)."""
    stored = results.results.get(benchmark)
    if stored is None:
        return None, f"{NOT_RUN}: no {benchmark} in results"
    meta = results.benchmarks.get(benchmark, {})
    names = meta.get("param_names", [])
    combos = stored.get("params") or meta.get("params", [])
    index = _param_index(params, names, combos) if params else 0
    if index is None:
        return None, f"{NOT_RUN} with params {params}"
    values = stored["result"]
    value = values[index] if values and index < len(values) else None
    if value is None:
        name = combination_name(benchmark, combos, index)
        why = failures.reason_of(results.failures, name)
        return None, BENCHMARK_FAILED + (f": {failures.first_line(why)}" if why else "")
    if isinstance(value, float) and math.isnan(value):
        return None, "skipped: the area is missing at this commit"
    stored_unit = meta.get("unit", "")
    convert = CONVERSIONS.get((stored_unit, unit), (lambda v: v) if stored_unit == unit else None)
    if convert is None:
        return None, f"cannot convert {stored_unit!r} to {unit}"
    return convert(float(value)), ""


def evaluate(target: Target, results: CommitResults) -> Verdict:
    """The verdict of one target on one commit's results."""
    value, reason = measured(results, target.benchmark, target.params, target.unit)
    if value is None:
        return Verdict(target, "not measured", reason=reason)
    return Verdict(target, "pass" if target.passes(value) else "fail", value)


def render_text(
    verdicts: list[Verdict], results: CommitResults, fmt: tables.Format = "text"
) -> str:
    """One row per target: measured, bound, verdict (the table alone in HTML)."""
    head = f"Targets at {results.commit[:8]} on {results.machine}"
    rows = [
        (
            v.target.id,
            f"{v.value:.4g} {v.target.unit}" if v.value is not None else "-",
            v.target.bound_text,
            v.status if not v.reason else f"{v.status} ({v.reason})",
        )
        for v in verdicts
    ]
    header = ("target", "measured", "bound", "verdict")
    table = tables.render(header, rows, fmt)
    if fmt == "html":
        return table
    return f"**{head}**\n\n{table}" if fmt == "markdown" else f"{head}\n{table}"


@dataclass(frozen=True)
class Judged:
    """A target's verdict at one commit of the history."""

    commit: str
    date: int | None  # commit date, ms since the epoch
    verdict: Verdict

    @property
    def status(self) -> str:
        return self.verdict.status


def history(target: Target, per_commit: list[CommitResults]) -> list[Judged]:
    """The target judged at every commit of ``per_commit`` (all_commit_results: oldest
    first)."""
    return [Judged(r.commit, r.date, evaluate(target, r)) for r in per_commit]


class _HasStatus(Protocol):
    @property
    def status(self) -> str: ...


S = TypeVar("S", bound=_HasStatus)


def first_break(points: Sequence[S]) -> S | None:
    """The first failing commit after the last passing one before it (or the first failing
    commit, if it never passed before)."""
    broke = None
    for p in points:
        if p.status == "fail" and (broke is None):
            broke = p
        elif p.status == "pass":
            broke = None
    return broke


def render_history(
    target_list: list[Target],
    per_commit: list[CommitResults],
    machine: str,
    fmt: tables.Format = "text",
) -> str:
    """Per target: its value and verdict at each commit that measured it, oldest first,
    where it last broke, and how many commits did not measure it."""
    out = [f"Targets per commit on {machine}: {len(per_commit)} commits, oldest first"]
    for t in target_list:
        judged = history(t, per_commit)
        shown = [j for j in judged if j.verdict.value is not None]
        broke = first_break(judged)
        told = [
            f"{t.id}: {t.bound_text}",
            f"{len(shown)} of {len(judged)} commits measured it",
            f"failing since {broke.commit[:8]}"
            if broke
            else "passing at the newest commit that judged it"
            if shown
            else "never judged",
        ]
        out += ["", f"### {', '.join(told)}" if fmt == "markdown" else ", ".join(told)]
        if fmt == "markdown":
            out.append("")
        rows = [
            (j.commit[:8], tables.day(j.date), f"{j.verdict.value:.4g} {t.unit}", j.status)
            for j in shown
        ]
        if rows:
            out.append(tables.render(("commit", "date", "value", "verdict"), rows, fmt))
    return "\n".join(out)


def history_json(target_list: list[Target], per_commit: list[CommitResults], machine: str) -> str:
    def point(j: Judged) -> dict[str, Any]:
        v = j.verdict
        return {"commit": j.commit, "date": j.date, "value": v.value, "status": v.status,
                "reason": v.reason}  # fmt: skip

    series = {t.id: [point(j) for j in history(t, per_commit)] for t in target_list}
    return json.dumps({"machine": machine, "targets": series}, indent=2)


def render_json(verdicts: list[Verdict], results: CommitResults) -> str:
    return json.dumps(
        {
            "machine": results.machine,
            "commit": results.commit,
            "targets": [v.as_dict() for v in verdicts],
        },
        indent=2,
    )


def render_against(
    verdicts: list[Verdict],
    others: list[Verdict],
    results: CommitResults,
    other_dir: Path,
    noise: dict[str, float] | None,
    thresholds: dict[str, float] | None = None,
) -> str:
    """Two runs of one commit side by side: each target's ratio between them against the
    benchmark's calibrated run-to-run noise (the spread the calibration runs showed) and
    history threshold (factor - 1, what the site would call a change); csbench.guard.calibrate."""
    head = (
        f"Targets at {results.commit[:8]} on {results.machine}: stored results against "
        f"{other_dir}" + ("" if noise is not None else " (machine not calibrated: no noise)")
    )
    header = ("target", "this run", "other run", "ratio", "noise", "threshold", "verdict")
    rows = []
    for v, o in zip(verdicts, others, strict=True):
        shown = [f"{x.value:.4g} {x.target.unit}" if x.value is not None else "-" for x in (v, o)]
        ratio = o.value / v.value if v.value and o.value is not None else None
        spread = (noise or {}).get(v.target.display_name)
        limit = (thresholds or {}).get(v.target.display_name)
        change = max(ratio, 1 / ratio) - 1 if ratio else None
        verdict = (
            "-"
            if change is None or spread is None
            else "within noise"
            if change <= spread + 1e-9
            else "within threshold"
            if limit is not None and change <= limit + 1e-9
            else "outside"
        )
        rows.append(
            (
                v.target.id,
                *shown,
                f"{ratio:.3f}" if ratio is not None else "-",
                f"{spread:.1%}" if spread is not None else "-",
                f"{limit:.1%}" if limit is not None else "-",
                verdict,
            )
        )
    return f"{head}\n{tables.render(header, rows)}"
