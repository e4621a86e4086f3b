"""`csbench ci | calibrate | thresholds | power`: the pull-request guard, the per-benchmark
noise that sets its thresholds, and its measured detection power."""

from __future__ import annotations

import argparse
from pathlib import Path

from csbench.cli.argtypes import non_negative_float, positive_float, positive_int, probability
from csbench.cli.common import Handler, checked_repo, log
from csbench.commits import asvconf, git, hardware
from csbench.guard import settings as paired
from csbench.measure import atomic, procs
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
            paired_settings=_paired_settings(args),
        )  # fmt: skip
    text = ci.markdown(result, args.site_url)
    print(text)
    if args.output:
        atomic.write_text(args.output, text + "\n")
    return result.exit_code


def _paired_settings(args: argparse.Namespace) -> paired.Settings | None:
    if not args.paired:
        return None
    return paired.Settings(
        args.pairs, args.rounds, args.paired_threshold, args.alpha, args.paired_clock
    )


def _add_paired_options(parser: argparse.ArgumentParser) -> None:
    d = paired.Settings()
    parser.add_argument(
        "--paired", action="store_true",
        help="judge the core ops (core.Core.time_op) by paired A/B runs (csbench.guard.paired)",
    )  # fmt: skip
    parser.add_argument("--pairs", type=positive_int, default=d.pairs, help=f"(default {d.pairs})")
    parser.add_argument(
        "--rounds", type=positive_int, default=d.rounds, help=f"(default {d.rounds})"
    )
    parser.add_argument(
        "--paired-threshold", type=non_negative_float, default=d.threshold,
        help=f"smallest change flagged by --paired (default {d.threshold})",
    )  # fmt: skip
    parser.add_argument(
        "--alpha", type=probability, default=d.alpha, help=f"sign test level (default {d.alpha})"
    )
    parser.add_argument(
        "--paired-clock", choices=paired.CLOCKS, default=d.clock,
        help=f"what --paired compares: batch CPU time or the busy clock (default {d.clock})",
    )  # fmt: skip


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from csbench.guard import calibrate, ci
    from csbench.measure.bun import ensure_tools
    from csbench.observe import tables

    repo = checked_repo(args.repo)
    git.resolve(repo, args.commit)
    ensure_tools()
    machine = asvconf.ensure_machine(args.machine)
    try:
        thresholds = ci.calibrate_machine(repo, args.commit, machine, args.runs, args.bench, log)
        assert thresholds is not None  # allow_empty is off
    except ci.InfrastructureError as exc:
        log(f"csbench calibrate: {exc}")
        return 3
    thresholds.hardware = hardware.this_host()
    path = Path(args.output) if args.output else calibration.thresholds_file(machine)
    try:  # a finished calibration (up to an hour of runs) is always written somewhere
        merging = args.merge and path.is_file()
        saved = calibrate.merge(calibration.read(path), thresholds) if merging else thresholds
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


def _cmd_thresholds(args: argparse.Namespace) -> int:

    machine = args.machine or hardware.default_name(hardware.this_host())
    path = calibration.thresholds_file(machine)
    thresholds = calibration.load(machine)
    if thresholds is None:
        log(f"csbench thresholds: {path} does not exist (csbench calibrate --machine {machine})")
        return 2
    print(calibration.render_families(thresholds, path))
    return 0


def _cmd_power(args: argparse.Namespace) -> int:
    from csbench.guard import ci, power
    from csbench.measure.bun import ensure_tools, npm_collection_store

    ensure_tools()
    machine = asvconf.ensure_machine(args.machine)
    package = Path(args.package) if args.package else npm_collection_store()
    with procs.temp_dir("power") as work:
        try:
            report = power.measure_power(
                package, Path(work), machine, args.method, args.fraction, args.trials,
                args.calibration_runs, args.bench or None, args.slowed, log,
                _paired_settings(args),
            )  # fmt: skip
        except (power.PowerError, ci.InfrastructureError) as exc:
            log(f"csbench power: {exc}")
            return 3
    print(report.to_json() if args.json else report.render())
    return 0 if report.ok else 1


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
    thr = sub.add_parser("thresholds", help="the calibrated thresholds per family, from the file")
    thr.add_argument("--machine", help="asv machine name (default: from the hardware)")
    pwr = sub.add_parser(
        "power", help="detection power: does ci flag an injected slowdown, and not A/A?"
    )
    pwr.add_argument("--package", help="Collection Store package (default: the npm one)")
    pwr.add_argument("--method", default="findBy", help="the method slowed (default findBy)")
    pwr.add_argument(
        "--fraction", type=positive_float, default=0.10, help="slowdown (default 0.10)"
    )
    pwr.add_argument(
        "--trials", type=positive_int, default=3, help="A/A and slow ci runs (default 3)"
    )
    pwr.add_argument("--calibration-runs", type=positive_int, default=3, help="(default 3)")
    pwr.add_argument(
        "--bench", action="append", default=[], help="asv --bench regex (default: power.BENCH)"
    )
    pwr.add_argument(
        "--slowed", default="find_by_indexed", help="regex of the benchmarks that must be flagged"
    )
    pwr.add_argument("--machine", help="asv machine name (default: from the hardware)")
    pwr.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_paired_options(pwr)
    return {
        "ci": _cmd_ci,
        "calibrate": _cmd_calibrate,
        "thresholds": _cmd_thresholds,
        "power": _cmd_power,
    }
