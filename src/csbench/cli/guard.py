"""`csbench ci | calibrate | thresholds | power`: the pull-request guard, the per-benchmark
noise that sets its thresholds, and its measured detection power."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from csbench.cli.argtypes import non_negative_float, positive_float, positive_int, probability
from csbench.cli.common import Handler, checked_repo, log
from csbench.commits import asvconf, git, hardware
from csbench.guard import settings as paired
from csbench.measure import atomic, procs
from csbench.measure.errors import UsageError
from csbench.observe import calibration


def _cmd_ci(args: argparse.Namespace) -> int:
    from csbench.guard import ci
    from csbench.measure.bun import ensure_tools

    repo = checked_repo(args.repo)
    base, head = git.resolve(repo, args.base), git.resolve(repo, args.head)
    given = calibration.read(Path(args.thresholds)) if args.thresholds else None
    machine = asvconf.ensure_machine(args.machine)
    thresholds = given if args.thresholds else calibration.load(machine)
    ensure_tools()
    if thresholds is None:
        log(
            f"csbench ci: {machine} is not calibrated (csbench calibrate): factor "
            f"{calibration.DEFAULT_FACTOR} for every benchmark"
        )
    with procs.temp_dir("ci") as work:
        result = ci.ci(
            repo, base, head, machine, args.bench, thresholds, Path(work), log,
            paired_settings=_paired_settings(args, thresholds),
        )  # fmt: skip
    text = ci.markdown(result, args.site_url)
    print(text)
    if args.output:
        atomic.write_text(args.output, text + "\n")
    return result.exit_code


def _paired_settings(
    args: argparse.Namespace, thresholds: calibration.Thresholds | None = None
) -> paired.Settings | None:
    """The --paired options, with the per-benchmark thresholds of the machine's paired
    calibration when it was measured with the same pairs, rounds and clock."""
    if not args.paired:
        return None
    settings = paired.Settings(
        args.pairs, args.rounds, args.paired_threshold, args.alpha, args.paired_clock
    )
    cal = thresholds.paired if thresholds else None
    if cal is None:
        if args.command != "calibrate":  # calibrate --paired measures what it lacks
            log(f"csbench: no paired calibration (csbench calibrate --paired): "
                f"{settings.threshold:.0%} for every paired benchmark")  # fmt: skip
        return settings
    used = {"pairs": settings.pairs, "rounds": settings.rounds, "clock": settings.clock}
    if cal.settings != used:
        log(f"csbench: the paired calibration was measured with {cal.settings}, not {used}: "
            f"{settings.threshold:.0%} for every paired benchmark")  # fmt: skip
        return settings
    return replace(settings, calibrated=dict(cal.thresholds))


PAIRED_HELP = "judge every time_ benchmark by paired A/B runs (csbench.guard.paired)"


def _add_paired_options(parser: argparse.ArgumentParser, paired_help: str = PAIRED_HELP) -> None:
    d = paired.Settings()
    parser.add_argument("--paired", action="store_true", help=paired_help)
    parser.add_argument("--pairs", type=positive_int, default=d.pairs, help=f"(default {d.pairs})")
    parser.add_argument(
        "--rounds", type=positive_int, default=d.rounds, help=f"(default {d.rounds})"
    )
    parser.add_argument(
        "--paired-threshold", type=non_negative_float, default=d.threshold,
        help=f"--paired threshold of a benchmark without a paired calibration "
        f"(default {d.threshold})",
    )  # fmt: skip
    parser.add_argument(
        "--alpha", type=probability, default=d.alpha, help=f"sign test level (default {d.alpha})"
    )
    parser.add_argument(
        "--paired-clock", choices=paired.CLOCKS, default=d.clock,
        help="what --paired compares: CPU time of the timed calls, of the whole batch, or "
        f"their wall time (default {d.clock})",
    )  # fmt: skip


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from csbench.guard import calibrate, ci
    from csbench.measure.bun import ensure_tools
    from csbench.observe import tables

    repo = checked_repo(args.repo)
    git.resolve(repo, args.commit)
    ensure_tools()
    machine = asvconf.ensure_machine(args.machine)
    if args.paired:
        return _calibrate_paired(args, repo, machine)
    try:
        thresholds = ci.calibrate_machine(repo, args.commit, machine, args.runs, args.bench, log)
        assert thresholds is not None  # allow_empty is off
    except ci.InfrastructureError as exc:
        log(f"csbench calibrate: {exc}")
        return 3
    thresholds.hardware = hardware.this_host()
    path = Path(args.output) if args.output else calibration.thresholds_file(machine)
    try:  # a finished calibration (up to an hour of runs) is always written somewhere
        old = calibration.read(path) if path.is_file() else None
        saved = calibrate.merge(old, thresholds) if args.merge and old else thresholds
        if old and saved is thresholds:  # the paired calibration is another measurement
            thresholds.paired = old.paired
        calibration.save(saved, path)
    except (ValueError, OSError, calibration.ThresholdsFileError) as exc:
        aside = calibration.save_aside(thresholds, path)
        why = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        log(f"csbench calibrate: {why}; this calibration is in {aside}")
        return 2
    noisy = sorted(thresholds.pair_noise.items(), key=lambda kv: -kv[1])[:10]
    merged = f" (merged: {len(saved.factors)} in the file)" if saved is not thresholds else ""
    count = len(thresholds.factors)
    print(f"{count} benchmarks calibrated over {args.runs} runs -> {path}{merged}")
    rows = [
        (f"{spread:.1%} ({thresholds.factors[name]:.2f})",
         f"{thresholds.noise.get(name, 0.0):.1%} ({thresholds.history_factors[name]:.2f})", name)
        for name, spread in noisy
    ]  # fmt: skip
    header = ("pair noise (ci factor)", "run-to-run noise (history factor)", "the noisiest")
    print(tables.render(header, rows, align=("right", "right", "left")))
    print(calibration.render_families(thresholds, path))
    return 0


def _calibrate_paired(args: argparse.Namespace, repo: str, machine: str) -> int:
    """``calibrate --paired``: paired A/A into the machine's thresholds file (its asv
    calibration kept)."""
    from csbench.guard import calibrate, ci

    settings = _paired_settings(args)
    assert settings is not None
    path = Path(args.output) if args.output else calibration.thresholds_file(machine)
    here = hardware.this_host()

    def save(cal: calibration.PairedCalibration) -> calibration.Thresholds:
        """Into the file's paired section (its asv calibration kept); beside it if the
        file cannot be read or written."""
        fresh = calibration.Thresholds(machine, cal.commit, 0, cal.created, hardware=here)
        try:
            saved = calibration.read(path) if path.is_file() else fresh
            saved.paired = calibrate.merge_paired(saved.paired, cal)
            calibration.save(saved, path)
            return saved
        except (OSError, calibration.ThresholdsFileError) as exc:
            fresh.paired = cal
            aside = calibration.save_aside(fresh, path)
            why = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            raise calibration.ThresholdsFileError(
                f"{why}; this calibration is in {aside}"
            ) from None

    try:
        cal = ci.calibrate_paired(
            repo, args.commit, args.runs, args.bench, settings, log=log, save=save
        )
        saved = save(cal)
    except ci.InfrastructureError as exc:
        log(f"csbench calibrate: {exc}")
        return 3
    except calibration.ThresholdsFileError as exc:
        log(f"csbench calibrate: {exc}")
        return 2
    print(f"{len(cal.spread)} benchmarks calibrated paired over {cal.runs} runs -> {path}")
    assert saved.paired is not None
    print(calibration.render_paired(saved.paired))
    return 0


def _cmd_thresholds(args: argparse.Namespace) -> int:

    machine = args.machine or hardware.default_name(hardware.this_host())
    path = calibration.thresholds_file(machine)
    thresholds = calibration.load(machine)
    if thresholds is None:
        log(f"csbench thresholds: {path} does not exist (csbench calibrate --machine {machine})")
        return 2
    print(calibration.render_families(thresholds, path))
    if thresholds.paired:
        print(calibration.render_paired(thresholds.paired))
    return 0


def _cmd_power(args: argparse.Namespace) -> int:
    from csbench.guard import ci, power
    from csbench.measure.bun import ensure_tools, npm_collection_store

    ensure_tools()
    machine = asvconf.ensure_machine(args.machine)
    preset = power.AREAS[args.area]
    slowdown = power.Slowdown(
        (args.source,) if args.source else preset.sources,
        args.method or preset.method,
        args.slowed or preset.slowed,
        tuple(args.bench) or preset.bench,
    )
    settings = _paired_settings(args, calibration.load(machine))
    with procs.temp_dir("power") as work:
        try:
            if args.commit:
                repo = checked_repo(args.repo)
                package = Path(work) / "tree"
                package.mkdir()
                git.archive_into(repo, git.resolve(repo, args.commit), package)
            else:
                package = Path(args.package) if args.package else npm_collection_store()
            report = power.measure_power(
                package, Path(work), machine, slowdown, args.fraction, args.trials,
                args.aa_trials, args.calibration_runs, log, settings,
            )  # fmt: skip
        except (power.PowerError, ci.InfrastructureError) as exc:
            log(f"csbench power: {exc}")
            return 3
    print(report.to_json() if args.json else report.render())
    return 0 if report.ok else 1


def run_triage(
    repo: str, html_dir: Path, results_dir: Path, machine: str, args: argparse.Namespace
) -> list:
    """Triage the steps of ``machine`` in ``html_dir``'s regressions list into the results'
    triage file; returns the verdicts (csbench.guard.triage)."""
    from csbench.guard import triage
    from csbench.measure.bun import ensure_tools
    from csbench.observe import triaged

    ensure_tools()
    settings = _paired_settings(args, calibration.load(machine))
    assert settings is not None
    steps = [s for s in triaged.listed(html_dir) if s.machine == machine]
    store = triaged.store_path(results_dir, machine)
    log(f"csbench triage: {len(steps)} steps listed for {machine}; verdicts in {store}")
    return triage.triage(repo, steps, settings, store, log=log, force=args.force)


def _cmd_triage(args: argparse.Namespace) -> int:
    from csbench.measure.paths import project_root, work_dir
    from csbench.observe import tables, triaged

    repo = checked_repo(args.repo)
    machine = asvconf.ensure_machine(args.machine)
    html_dir = Path(args.html) if args.html else work_dir() / "html"
    results_dir = Path(args.results) if args.results else project_root() / "results"
    try:
        verdicts = run_triage(repo, html_dir, results_dir, machine, args)
    except triaged.TriageError as exc:
        log(f"csbench triage: {exc}")
        return 2
    print(triaged.summary(verdicts))
    rows = [(v.name, v.head[:8], v.base[:8], v.verdict,
             "-" if v.listed_ratio is None else f"{v.listed_ratio:.3f}",
             "-" if v.ratio is None else f"{v.ratio:.3f}",
             "-" if v.p is None else f"{v.p:.3g}") for v in verdicts]  # fmt: skip
    header = ("listed regression", "head", "base", "verdict", "history", "paired", "p")
    print(
        tables.render(
            header, rows, align=("left", "left", "left", "left", "right", "right", "right")
        )
    )
    return 0


def _first_parent_chains(repo: str | None, branches: list[str] | None) -> list[list[str]] | None:
    """Each branch's first-parent commits, oldest first, from ``repo`` (checked, local);
    None (said in a line) without one."""
    if repo is None:
        log("csbench steps: no local repository (--repo): steps follow commit dates, and "
            "where branches ran side by side a step may join two")  # fmt: skip
        return None
    chains = []
    for branch in branches or asvconf.load_conf()["branches"]:
        try:
            chains.append(git.first_parent(repo, branch, "%H"))
        except git.GitError as exc:
            raise UsageError(f"{repo}: branch {branch}: {exc}") from None
    return chains


def _cmd_steps(args: argparse.Namespace) -> int:
    from csbench.commits.config import configured_repo
    from csbench.guard import triage
    from csbench.measure.bun import ensure_tools
    from csbench.measure.paths import project_root
    from csbench.observe import steps, triaged
    from csbench.observe import targets as tg

    results_dir = Path(args.results) if args.results else project_root() / "results"
    try:
        machine = tg.machine_of(results_dir, args.machine)
    except tg.ResultsNotFound as exc:
        raise UsageError(str(exc)) from None
    configured = configured_repo(args.repo)
    local = checked_repo(configured) if configured and not git.is_url(configured) else None
    chains = _first_parent_chains(local, args.branch)
    found = steps.largest(results_dir, machine, tuple(args.bench) or steps.DEFAULT_BENCH,
                          args.top, chains)  # fmt: skip
    store = triaged.store_path(results_dir, machine)
    try:
        verdicts = steps.stored(found, triaged.read(store))
    except triaged.TriageError as exc:
        raise UsageError(str(exc)) from None
    if args.confirm and found:
        repo = local or checked_repo(args.repo)
        ensure_tools()
        settings = _paired_settings(args, calibration.load(machine))
        assert settings is not None
        log(f"csbench steps: {len(found)} steps, measured paired; verdicts in {store}")
        got = triage.triage(repo, [s.listed(machine) for s in found], settings, store, log=log,
                            force=args.force)  # fmt: skip
        verdicts = dict(zip(found, got, strict=True))
    fmt = "markdown" if args.format == "markdown" else "text"
    before = "on its branch" if chains is not None else "by commit date"
    print(f"The {len(found)} largest steps ({args.top} per benchmark) on {machine}: each "
          f"commit's value over that of the commit measured before it {before}")  # fmt: skip
    print(steps.render(found, verdicts, fmt))
    return 0


def power_areas() -> list[str]:
    """The areas ``csbench power --area`` knows, without importing the guard at start-up."""
    return ["core", "auth", "wal", "realtime", "files", "computed", "functions"]


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    """Add this family's subcommands to ``sub``; returns their handlers by name."""
    cip = sub.add_parser("ci", help="guard a change: benchmark BASE and HEAD, judge regressions")
    cip.add_argument("base", help="base revision (e.g. the target branch)")
    cip.add_argument("head", help="head revision (the change)")
    cip.add_argument("--repo", help="repository (else $CSBENCH_REPO or the config file)")
    cip.add_argument("--machine", help="asv machine name (default: from the hardware)")
    cip.add_argument("--bench", action="append", default=[], help="asv --bench regex (repeat)")
    cip.add_argument("--thresholds", help="thresholds file (default: the machine's calibration)")
    cip.add_argument("--site-url", help="published site, for links in the summary")
    cip.add_argument("--output", help="also write the Markdown summary to this file")
    _add_paired_options(cip)
    cal = sub.add_parser("calibrate", help="A/A runs: per-benchmark noise and thresholds")
    cal.add_argument("--commit", default="HEAD", help="the commit measured (default: HEAD)")
    cal.add_argument("--runs", type=positive_int, default=3, help="A/A runs (default 3)")
    cal.add_argument("--repo", help="repository (else $CSBENCH_REPO or the config file)")
    cal.add_argument("--machine", help="asv machine name (default: from the hardware)")
    cal.add_argument("--bench", action="append", default=[], help="asv --bench regex (repeat)")
    cal.add_argument(
        "--output", help="thresholds file (default: benchmarks/thresholds/MACHINE.json)"
    )
    cal.add_argument(
        "--merge",
        action="store_true",
        help="replace only the measured benchmarks' figures in the existing file (same commit)",
    )
    _add_paired_options(
        cal, "paired A/A of every time_ benchmark (--bench: those it selects): the thresholds "
        "of ci --paired, merged into the file's paired section",
    )  # fmt: skip
    thr = sub.add_parser("thresholds", help="the calibrated thresholds per family, from the file")
    thr.add_argument("--machine", help="asv machine name (default: from the hardware)")
    pwr = sub.add_parser(
        "power", help="detection power: does ci flag an injected slowdown, and not A/A?"
    )
    pwr.add_argument(
        "--area", choices=sorted(power_areas()), default="core",
        help="the area whose method is slowed (csbench.guard.power.AREAS; default core)",
    )  # fmt: skip
    where = pwr.add_mutually_exclusive_group()
    where.add_argument("--package", help="Collection Store tree (default: the npm package)")
    where.add_argument("--commit", help="a commit of the repository instead of the npm package")
    pwr.add_argument("--repo", help="repository of --commit (else $CSBENCH_REPO or the config)")
    pwr.add_argument("--method", help="the method slowed (default: the area's)")
    pwr.add_argument("--source", help="the file that defines it (default: the area's)")
    pwr.add_argument(
        "--fraction", type=positive_float, default=0.10, help="slowdown (default 0.10)"
    )
    pwr.add_argument("--trials", type=positive_int, default=3, help="slow ci runs (default 3)")
    pwr.add_argument(
        "--aa-trials", type=positive_int, help="A/A ci runs (default: as many as --trials)"
    )
    pwr.add_argument("--calibration-runs", type=positive_int, default=3, help="(default 3)")
    pwr.add_argument(
        "--bench", action="append", default=[], help="asv --bench regex (default: the area's)"
    )
    pwr.add_argument("--slowed", help="regex of the benchmarks that must be flagged")
    pwr.add_argument("--machine", help="asv machine name (default: from the hardware)")
    pwr.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_paired_options(pwr)
    tri = sub.add_parser(
        "triage", help="measure again, paired, every regression asv's history lists"
    )
    tri.add_argument("--repo", help="repository (else $CSBENCH_REPO or the config file)")
    tri.add_argument("--machine", help="asv machine name (default: from the hardware)")
    tri.add_argument("--html", help="the published site with asv's list (default: .asv/html)")
    tri.add_argument("--results", help="results directory of the triage file (default: results/)")
    add_triage_options(tri)
    stp = sub.add_parser(
        "steps", help="the history's largest steps per benchmark, confirmed by paired A/B"
    )
    stp.add_argument("--repo", help="repository: its branches order the steps; --confirm "
                     "builds from it (else $CSBENCH_REPO or config)")  # fmt: skip
    stp.add_argument("--branch", action="append",
                     help="branches whose first-parent history orders the steps (default: "
                     "the config's)")  # fmt: skip
    stp.add_argument("--machine", help="asv machine name (default: the only one in results/)")
    stp.add_argument("--results", help="results directory (default: results/)")
    stp.add_argument("--bench", action="append", default=[],
                     help="regex of the benchmarks, with params (default: core ops at "
                     "10,000 documents)")  # fmt: skip
    stp.add_argument("--top", type=positive_int, default=3, help="steps per benchmark (3)")
    stp.add_argument("--confirm", action="store_true",
                     help="measure each step paired: its commit against the one before "
                     "(csbench triage; the verdicts are kept in its file)")  # fmt: skip
    stp.add_argument("--format", choices=("text", "markdown"), default="text")
    add_triage_options(stp)
    return {
        "ci": _cmd_ci,
        "calibrate": _cmd_calibrate,
        "thresholds": _cmd_thresholds,
        "power": _cmd_power,
        "triage": _cmd_triage,
        "steps": _cmd_steps,
    }


def add_triage_options(parser: argparse.ArgumentParser) -> None:
    """--force and the paired options (csbench triage and csbench publish)."""
    parser.add_argument(
        "--force", action="store_true", help="measure again the steps already triaged"
    )
    _add_paired_options(parser, argparse.SUPPRESS)
    parser.set_defaults(paired=True)
