"""``csbench ci`` and ``csbench calibrate``: asv runs into throwaway results directories.

ci BASE HEAD: both commits are built first (csbench.commits.checkout: a commit that cannot be built
is an infrastructure error, reported before any benchmark runs), then asv runs them into
a temporary results directory (the stored history in results/ is never touched) and
csbench.guard.compare judges every benchmark with the machine's calibrated factor.

Exit codes: 0 no regression; 1 a performance regression; 2 a benchmark that ran at BASE
failed at HEAD; 3 a build or infrastructure error. The highest applicable code wins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asv.util import human_value

from csbench.commits import asvconf, git
from csbench.commits.checkout import build_reference, built_commit
from csbench.commits.twin import make_twin
from csbench.guard import calibrate, compare, paired
from csbench.measure import procs
from csbench.measure.build import BuildError
from csbench.measure.errors import UsageError
from csbench.observe import calibration, cpuprofile, failures, suite, tables
from csbench.observe import targets as tg
from csbench.observe.results import benchmark_of

OK, REGRESSION, BENCHMARK_ERROR, INFRASTRUCTURE = 0, 1, 2, 3


class InfrastructureError(RuntimeError):
    """asv could not run, or a commit could not be built: exit code 3."""


@dataclass
class CiResult:
    base: str
    head: str
    machine: str
    changes: list[compare.Change] = field(default_factory=list)
    units: dict[str, str | None] = field(default_factory=dict)
    targets_text: str = ""
    calibrated: bool = False
    paired: paired.Settings | None = None
    paired_count: int = 0
    error: str = ""
    # per paired regression (at most cpuprofile.EXPLAINED): where its op's CPU time went
    explained: dict[str, dict[str, Any]] = field(default_factory=dict)
    # why a benchmark failed at HEAD (a paired case's name, or asv's benchmark name:
    # csbench.observe.failures)
    failures: dict[str, str] = field(default_factory=dict)

    def why(self, change: compare.Change) -> str | None:
        """Why ``change``'s benchmark failed at HEAD, if that is known."""
        return failures.reason_of(self.failures, change.name)

    def of(self, kind: str) -> list[compare.Change]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def exit_code(self) -> int:
        if self.error:
            return INFRASTRUCTURE
        if self.of("failed"):
            return BENCHMARK_ERROR
        return REGRESSION if self.of("regression") else OK


def run_asv_into(
    repo: str,
    commits: list[str],
    machine: str,
    work: Path,
    bench: list[str],
    log: Callable[[str], None] = print,
    allow_empty: bool = False,
    reference: bool = False,
) -> Path | None:
    """asv run of ``commits`` (full hashes) into ``work``/results; returns that directory,
    or None when ``allow_empty`` and ``bench`` selects no benchmark. The reference ratio
    tracks (benchmarks/reference.py) are skipped unless ``reference``.

    asv exits 2 when a benchmark failed, which is a result, not an infrastructure error."""
    config = asvconf.derived_config(
        repo=repo,
        name=f"ci-{work.name}",
        results_dir=str(work / "results"),
        html_dir=str(work / "html"),
    )
    work.mkdir(parents=True, exist_ok=True)
    hashfile = work / "commits.txt"
    hashfile.write_text("".join(f"{c}\n" for c in commits))
    args = ["run", f"HASHFILE:{hashfile}", "--machine", machine]
    if len(commits) > 1:  # rounds alternate between the commits: drift hits both alike
        args.append("--interleave-rounds")
    args += [a for b in bench for a in ("--bench", b)]
    log(f"csbench: asv {' '.join(args)}")
    try:
        env = None if reference else {**os.environ, "CSBENCH_NO_REFERENCE": "1"}
        proc = asvconf.asv(args, config, env=env, capture=True)
    finally:
        config.unlink(missing_ok=True)
    if (
        allow_empty
        and proc.returncode == 1
        and "No benchmarks selected" in proc.stdout + proc.stderr
    ):
        log("csbench: asv selected no benchmark")
        return None
    if proc.returncode not in (0, 2):
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise InfrastructureError(f"asv run exited {proc.returncode}:\n{tail}")
    results = work / "results"
    for commit in commits:
        if not compare.commit_results(results, machine, commit):
            tail = (proc.stdout + proc.stderr)[-3000:]
            raise InfrastructureError(f"asv stored no results for {commit[:8]}:\n{tail}")
    return results


def _units(results: Path) -> dict[str, str | None]:
    meta = results / "benchmarks.json"
    data = json.loads(meta.read_text()) if meta.is_file() else {}
    return {k: v.get("unit") for k, v in data.items() if isinstance(v, dict)}


def ci(
    repo: str,
    base_rev: str,
    head_rev: str,
    machine: str,
    bench: list[str],
    thresholds: calibration.Thresholds | None,
    work: Path,
    log: Callable[[str], None] = print,
    builds: Path | None = None,
    paired_settings: paired.Settings | None = None,
) -> CiResult:
    """Build and benchmark BASE and HEAD in ``work`` (a scratch directory the caller
    removes) and compare them; a commit's fault is in the result, never raised. The
    pre-built trees go to ``builds`` (default ``work``/builds), where they are reused.

    With ``paired_settings`` every ``time_`` benchmark is measured and judged by
    csbench.guard.paired on those trees, and asv runs the rest (tracks and load)."""
    result = CiResult(base=base_rev, head=head_rev, machine=machine, paired=paired_settings)
    try:
        base, head = git.resolve(repo, base_rev), git.resolve(repo, head_rev)
        result.base, result.head = base, head
        trees = []
        for commit in (base, head):  # a build failure is named before asv starts
            log(f"csbench: building {commit[:8]}")
            trees.append(built_commit(repo, commit, root=builds or work / "builds"))
        asv_bench = bench
        if paired_settings is not None:
            every = suite.time_cases()
            cases = suite.select(bench, every)
            measured = paired.measure(trees[0], trees[1], cases, paired_settings, log)
            result.changes = [m.change(paired_settings) for m in measured]
            result.failures.update({
                m.case.name: failures.scrub(str(m.error.errors["head"]))
                for m in measured if m.error is not None and "head" in m.error.errors
            })  # fmt: skip
            result.paired_count = len(cases)
            _explain(result, trees, cases, log)
            result.units.update({c.benchmark: "seconds" for c in cases})
            asv_bench = paired.asv_patterns(bench, every)
        results = (
            run_asv_into(
                repo, [base, head], machine, work, asv_bench, log, allow_empty=bool(result.changes)
            )
            if paired_settings is None or paired.asv_selects(asv_bench)
            else None  # every selected benchmark was paired: asv has nothing to run
        )
    except (BuildError, InfrastructureError, UsageError) as exc:
        result.error = str(exc)
        return result
    result.calibrated = thresholds is not None
    if results is None:
        return result
    result.changes += compare.compare(
        compare.commit_results(results, machine, base),
        compare.commit_results(results, machine, head),
        thresholds.factors if thresholds else {},
        thresholds.default_factor if thresholds else calibration.DEFAULT_FACTOR,
    )
    result.units.update(_units(results))
    result.failures.update(failures.read(results, machine, head))
    try:
        commit = tg.load_commit_results(results, machine, head)
        verdicts = [tg.evaluate(t, commit) for t in tg.load_targets()]
        ran = [v for v in verdicts if not v.not_run]
        unrun = [v.target.id for v in verdicts if v.not_run]
        text = tg.render_text(ran, commit, "markdown") if ran else ""
        if unrun:
            text += f"\n\nNot run by this selection: {', '.join(unrun)}."
        result.targets_text = text.strip()
    except (tg.ResultsNotFound, tg.TargetFileError) as exc:
        result.targets_text = f"targets not evaluated: {exc}"
    return result


def _explain(
    result: CiResult, trees: list[Path], cases: list[paired.Case], log: Callable[[str], None]
) -> None:
    """Profile the op of each paired regression (the largest ratios first) at BASE and at
    HEAD (csbench.observe.cpuprofile): which functions' share of the op's CPU time grew."""
    by_name = {c.name: c for c in cases}
    flagged = sorted((c for c in result.of("regression") if c.name in by_name),
                     key=lambda c: -(c.ratio or 0))  # fmt: skip
    result.explained = cpuprofile.explain_each(
        trees[0], trees[1], [by_name[c.name] for c in flagged], log
    )


def _value(v: float | None, unit: str | None) -> str:
    if v is None:
        return "failed"
    if v != v:
        return "n/a"
    return human_value(v, unit or "unit") if unit in ("seconds", "bytes") else f"{v:.4g} {unit}"


# Kinds of change with a value (or a failure) at both commits: what was compared.
COMPARED = ("regression", "failed", "improvement", "same", "still-failed", "fixed")
FLAGGED = (
    ("regression", "Regressions"),
    ("failed", "New failures"),
    ("improvement", "Improvements"),
    ("fixed", "Fixed at HEAD"),
)


def markdown(result: CiResult, site_url: str | None = None) -> str:
    """A summary fit for a pull-request comment: every benchmark judged, the flagged ones on
    top, the rest in a collapsed table; then the targets at HEAD."""
    verdict = {
        OK: "no performance regression",
        REGRESSION: "performance regression",
        BENCHMARK_ERROR: "benchmark error",
        INFRASTRUCTURE: "build or infrastructure error",
    }[result.exit_code]
    lines = [
        f"## csbench: {result.base[:8]} → {result.head[:8]} on {result.machine}",
        "",
        f"**{verdict}** (exit {result.exit_code})",
    ]
    if result.error:
        return "\n".join([*lines, "", "```", result.error.strip()[-3000:], "```"])
    compared = [c for c in result.changes if c.kind in COMPARED]
    how = "calibrated per-benchmark factors" if result.calibrated else "uncalibrated factor"
    if result.paired is not None:
        rest = f", {how} for the rest" if len(compared) > result.paired_count else ""
        how = f"{result.paired.describe()} for the {result.paired_count} time benchmarks{rest}"
    elsewhere = {k: len(result.of(k)) for k in ("skipped", "new", "gone") if result.of(k)}
    lines += [
        "",
        f"{len(compared)} benchmarks compared with {how}; "
        f"{len(result.of('regression'))} regressions, {len(result.of('improvement'))} "
        f"improvements, {len(result.of('failed'))} new failures, "
        f"{len(result.of('still-failed'))} failing at both."
        + (
            " Not compared: " + ", ".join(f"{n} {k}" for k, n in elsewhere.items()) + "."
            if elsewhere
            else ""
        ),
    ]

    def table(changes: list[compare.Change]) -> str:
        rows = []
        for c in changes:
            bench = benchmark_of(c.name)
            unit = result.units.get(bench)
            name = f"[`{c.name}`]({site_url.rstrip('/')}/#{bench})" if site_url else f"`{c.name}`"
            ratio = f"{c.ratio:.3f}" if c.ratio is not None else "-"
            rows.append((name, _value(c.base, unit), _value(c.head, unit), ratio,
                         f"±{c.factor - 1:.1%}"))  # fmt: skip
        header = ("benchmark", "base", "head", "ratio", "threshold")
        return tables.render(header, rows, "markdown")

    for kind, title in FLAGGED:
        if result.of(kind):
            lines += ["", f"### {title}", "", table(result.of(kind))]
        whys = [
            (c.name, why) for c in result.of(kind) if kind == "failed" and (why := result.why(c))
        ]
        for name, why in whys:
            lines += ["", f"<details><summary>Why <code>{name}</code> failed at HEAD</summary>",
                      "", "```", why, "```", "", "</details>"]  # fmt: skip
    for name, explained in result.explained.items():
        lines += [
            "",
            f"<details><summary>Where the time went: <code>{name}</code></summary>",
            "",
            cpuprofile.render_explanation(explained, "markdown"),
            "",
            "</details>",
        ]
    rest = [c for c in compared if c.kind in ("same", "still-failed")]
    if rest:
        lines += [
            "",
            f"<details><summary>{len(rest)} benchmarks within their thresholds "
            f"({len(result.of('still-failed'))} failing at both)</summary>",
            "",
            table(sorted(rest, key=lambda c: (c.kind != "still-failed", c.name))),
            "",
            "</details>",
        ]
    if result.targets_text:
        lines += ["", "### Targets at HEAD", "", result.targets_text]
    return "\n".join(lines)


def calibrate_machine(
    repo: str,
    rev: str,
    machine: str,
    runs: int,
    bench: list[str],
    log: Callable[[str], None] = print,
    allow_empty: bool = False,
    reference: bool = True,
) -> calibration.Thresholds | None:
    """``runs`` A/A asv runs of ``rev`` and its twin (csbench.commits.twin), interleaved as in
    ``ci``, into throwaway directories, turned into thresholds; None when ``allow_empty``
    and ``bench`` selects no benchmark. The history's reference ratio tracks are built
    and calibrated too unless not ``reference``."""
    pairs: list[calibrate.Pair] = []
    if reference:
        build_reference(repo, log)
    with procs.temp_dir("calibrate") as scratch:
        try:
            twin_repo, commit, twin = make_twin(repo, rev, Path(scratch))
        except (RuntimeError, UsageError) as exc:  # git failed, an unknown revision
            raise InfrastructureError(str(exc)) from exc
        for i in range(runs):
            log(f"csbench: calibration run {i + 1} of {runs}: {commit[:8]} and its twin")
            work = Path(scratch) / f"run-{i}"
            results = run_asv_into(
                str(twin_repo), [commit, twin], machine, work, bench, log, allow_empty, reference
            )
            if results is None:
                return None
            pairs.append(
                (
                    compare.commit_results(results, machine, commit),
                    compare.commit_results(results, machine, twin),
                )
            )
    return calibrate.thresholds(machine, commit, pairs)


def calibrate_paired(
    repo: str,
    rev: str,
    runs: int,
    bench: list[str],
    settings: paired.Settings,
    builds: Path | None = None,
    log: Callable[[str], None] = print,
    save: Callable[[calibration.PairedCalibration], None] | None = None,
) -> calibration.PairedCalibration:
    """``runs`` paired A/A measurements of ``rev``'s built tree (reused from the cache, or
    under ``builds``) against itself, of every ``time_`` benchmark ``bench`` selects, as
    ``ci --paired`` measures; ``save`` gets the calibration so far after every run (an
    interrupted calibration keeps its finished runs)."""
    try:
        commit = git.resolve(repo, rev)
        log(f"csbench: building {commit[:8]}")
        tree = built_commit(repo, commit, root=builds)
    except (BuildError, UsageError) as exc:
        raise InfrastructureError(str(exc)) from exc
    cases = suite.select(bench)
    ratios: dict[str, list[float]] = {c.name: [] for c in cases}
    for i in range(runs):
        log(f"csbench: paired calibration run {i + 1} of {runs}: {commit[:8]} against itself")
        for m in paired.measure(tree, tree, cases, settings, log):
            if m.error is None:
                ratios[m.case.name] += m.ratios
        done = calibrate.paired_calibration(commit, i + 1, settings, ratios)
        if save is not None and i + 1 < runs:
            save(done)
    return done
