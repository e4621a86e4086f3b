"""`csbench publish | builds | ci | calibrate | power`: the site, the build report, the guard
and its measured detection power."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from csbench import asvconf, atomic, git, hardware, procs
from csbench import paired_settings as paired
from csbench.argtypes import non_negative_float, positive_float, positive_int, probability
from csbench.config import configured_repo
from csbench.errors import UsageError
from csbench.paths import project_root

Handler = Callable[[argparse.Namespace], int]


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _checked_repo(explicit: str | None) -> str:
    """The configured repository, checked (csbench.git.check_repo); UsageError if none."""
    repo = configured_repo(explicit)
    if not repo:
        raise UsageError("name a repository (--repo, $CSBENCH_REPO or the config file)")
    return git.check_repo(repo)


def _cmd_ci(args: argparse.Namespace) -> int:
    from csbench import calibrate, ci
    from csbench.bun import ensure_tools

    repo = _checked_repo(args.repo)
    base, head = git.resolve(repo, args.base), git.resolve(repo, args.head)
    given = calibrate.read(Path(args.thresholds)) if args.thresholds else None
    machine = asvconf.ensure_machine(args.machine)
    thresholds = given if args.thresholds else calibrate.load(machine)
    ensure_tools()
    if thresholds is None:
        _log(
            f"csbench ci: {machine} is not calibrated (csbench calibrate): factor "
            f"{calibrate.DEFAULT_FACTOR} for every benchmark"
        )
    with procs.temp_dir("ci") as work:
        result = ci.ci(
            repo, base, head, machine, args.bench, thresholds, Path(work), _log,
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
        help="judge the core ops (core.Core.time_op) by paired A/B runs (csbench.paired)",
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
    from csbench import calibrate, ci
    from csbench.bun import ensure_tools

    repo = _checked_repo(args.repo)
    git.resolve(repo, args.commit)
    ensure_tools()
    machine = asvconf.ensure_machine(args.machine)
    try:
        thresholds = ci.calibrate_machine(repo, args.commit, machine, args.runs, args.bench, _log)
        assert thresholds is not None  # allow_empty is off
    except ci.InfrastructureError as exc:
        _log(f"csbench calibrate: {exc}")
        return 3
    thresholds.hardware = hardware.this_host()
    path = Path(args.output) if args.output else calibrate.thresholds_file(machine)
    try:  # a finished calibration (up to an hour of runs) is always written somewhere
        merging = args.merge and path.is_file()
        saved = calibrate.merge(calibrate.read(path), thresholds) if merging else thresholds
        calibrate.save(saved, path)
    except (ValueError, OSError, calibrate.ThresholdsFileError) as exc:
        aside = calibrate.save_aside(thresholds, path)
        why = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
        _log(f"csbench calibrate: {why}; this calibration is in {aside}")
        return 2
    noisy = sorted(thresholds.pair_noise.items(), key=lambda kv: -kv[1])[:10]
    merged = f" (merged: {len(saved.factors)} in the file)" if saved is not thresholds else ""
    count = len(thresholds.factors)
    print(f"{count} benchmarks calibrated over {args.runs} runs -> {path}{merged}")
    print("   pair noise (ci factor)   run-to-run noise (history factor)   the noisiest:")
    for name, spread in noisy:
        run_to_run = thresholds.noise.get(name, 0.0)
        print(
            f"  {spread * 100:6.1f} % ({thresholds.factors[name]:.2f})"
            f"  {run_to_run * 100:6.1f} % ({thresholds.history_factors[name]:.2f})  {name}"
        )
    print("smallest change told from noise, per family (ci threshold: min / median / max):")
    for family, (low, mid, high) in calibrate.by_family(thresholds.factors).items():
        print(f"  {family:10} {low:6.1%} {mid:6.1%} {high:6.1%}")
    return 0


def _cmd_thresholds(args: argparse.Namespace) -> int:
    from csbench import calibrate

    machine = args.machine or hardware.default_name(hardware.this_host())
    path = calibrate.thresholds_file(machine)
    thresholds = calibrate.load(machine)
    if thresholds is None:
        _log(f"csbench thresholds: {path} does not exist (csbench calibrate --machine {machine})")
        return 2
    print(calibrate.render_families(thresholds, path))
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    from csbench import results as stored

    conf = asvconf.load_conf()
    results = Path(args.results) if args.results else project_root() / conf["results_dir"]
    html_dir = Path(args.html) if args.html else project_root() / conf["html_dir"]
    with procs.temp_dir("publish") as scratch:
        if stored.bad_files(results):  # asv would read them too: publish the others
            view = Path(scratch) / "results"
            stored.readable_copy(results, view)
            results = view
        return _publish(args, results, html_dir)


def _publish(args: argparse.Namespace, results: Path, html_dir: Path) -> int:
    from csbench import site
    from csbench import targets as tg

    overrides: dict[str, object] = {
        "results_dir": str(results.resolve()),
        "html_dir": str(html_dir.resolve()),
    }
    if args.branch:
        overrides["branches"] = args.branch
    thresholds = site.regressions_thresholds(tg.machines(results))
    if thresholds:
        overrides["regressions_thresholds"] = thresholds
    config = asvconf.derived_config(configured_repo(args.repo), name="publish", **overrides)
    proc = asvconf.asv(["publish"], config)
    if proc.returncode != 0:
        return proc.returncode
    try:
        site.finish(html_dir, results)
    except site.SiteError as exc:
        print(f"csbench publish: {exc}", file=sys.stderr)
        return 1
    print(f"csbench publish: {html_dir} (serve: python -m http.server -d {html_dir})")
    if args.check:
        pages = ("index.html", "index.html#/summarylist", "index.html#/regressions", "targets.html")
        report = site.check_site(html_dir, Path(args.check), pages)
        bad = {
            p: r["errors"] + r["external"]
            for p, r in report.items()
            if r["errors"] or r["external"]
        }
        for page, problems in bad.items():
            print(f"csbench publish: {page}: {problems[:5]}", file=sys.stderr)
        print(f"csbench publish: {len(pages)} pages checked offline, screenshot {args.check}")
        return 1 if bad else 0
    return 0


def _cmd_builds(args: argparse.Namespace) -> int:
    from csbench import builds
    from csbench.bun import ensure_tools

    repo = _checked_repo(args.repo)
    ensure_tools()
    branches = args.branch or asvconf.load_conf()["branches"]
    path = Path(args.output) if args.output else project_root() / "results" / builds.REPORT_NAME
    records = builds.build_report(repo, branches, path, args.limit, _log, args.retry_failed)
    built = sum(r.status == "built" for r in records.values())
    print(f"{path}: {len(records)} commits, {built} built, {len(records) - built} failed")
    return 0


def _cmd_power(args: argparse.Namespace) -> int:
    from csbench import ci, power
    from csbench.bun import ensure_tools, npm_collection_store

    ensure_tools()
    machine = asvconf.ensure_machine(args.machine)
    package = Path(args.package) if args.package else npm_collection_store()
    with procs.temp_dir("power") as work:
        try:
            report = power.measure_power(
                package, Path(work), machine, args.method, args.fraction, args.trials,
                args.calibration_runs, args.bench or None, args.slowed, _log,
                _paired_settings(args),
            )  # fmt: skip
        except (power.PowerError, ci.InfrastructureError) as exc:
            _log(f"csbench power: {exc}")
            return 3
    print(report.to_json() if args.json else report.render())
    return 0 if report.ok else 1


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    """Add this module's subcommands to ``sub``; returns their handlers by name."""
    pub = sub.add_parser("publish", help="asv publish, offline assets, and the targets page")
    pub.add_argument("--repo", help="repository (else $CSBENCH_REPO, config, or upstream)")
    pub.add_argument("--results", help="asv results directory (default: results/)")
    pub.add_argument("--html", help="site directory (default: asv.conf.json's html_dir)")
    pub.add_argument("--branch", action="append", help="branches to show (default: the config's)")
    pub.add_argument(
        "--check",
        metavar="PNG",
        help="then load the site in headless Chromium, "
        "network off, and save a screenshot of the targets page",
    )
    bld = sub.add_parser("builds", help="try to build every first-parent commit; the report")
    bld.add_argument("--repo", help="repository (else $CSBENCH_REPO or the config file)")
    bld.add_argument("--branch", action="append", help="branches (default: the config's)")
    bld.add_argument("--limit", type=positive_int, help="build at most this many new commits")
    bld.add_argument(
        "--retry-failed", action="store_true", help="build again the commits recorded as failed"
    )
    bld.add_argument("--output", help="report file (default: results/build-report.jsonl)")
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
        "power": _cmd_power,
        "publish": _cmd_publish,
        "builds": _cmd_builds,
        "ci": _cmd_ci,
        "calibrate": _cmd_calibrate,
        "thresholds": _cmd_thresholds,
    }
