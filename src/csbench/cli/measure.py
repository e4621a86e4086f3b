"""`csbench setup | probe | machine | load | crosscheck | profile | leaks`: the pinned tools,
what a tree offers, how the host moves figures, one load scenario outside asv, the tracks
beside a plain loop, where an op's time goes, and whether it keeps memory."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from csbench.cli.argtypes import positive_float, positive_int
from csbench.cli.common import Handler, add_tree_options, checked_repo, failed
from csbench.measure.errors import UsageError

if TYPE_CHECKING:
    from csbench.load.scenarios import Scenario
    from csbench.measure.pairs import Case


def _cmd_setup(args: argparse.Namespace) -> int:
    from csbench.measure.bun import ensure_tools, npm_collection_store
    from csbench.observe import site

    bun = ensure_tools()
    print(f"bun: {bun}\nnpm Collection Store: {npm_collection_store()}")
    print(f"site assets and playwright-core: {site.ensure_assets()}")
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    from csbench.measure.bridge import Driver, DriverError

    if not Path(args.target).is_dir():
        raise UsageError(f"{args.target}: no such directory")
    drv = Driver(args.target)
    try:
        print(json.dumps(drv.probe(), indent=2))
    except DriverError as exc:  # Unsupported: no Collection Store there
        raise UsageError(str(exc).splitlines()[0]) from None
    finally:
        drv.close()
    return 0


def _cmd_machine(args: argparse.Namespace) -> int:
    from csbench.measure.bridge import DriverError
    from csbench.measure.bun import ensure_tools, npm_collection_store
    from csbench.measure.coreops import DATASETS
    from csbench.observe import machine

    if args.dataset not in DATASETS:
        print(f"csbench machine: unknown dataset {args.dataset!r} (have: "
              f"{', '.join(DATASETS)})", file=sys.stderr)  # fmt: skip
        return 2
    ensure_tools()
    target = Path(args.target) if args.target else npm_collection_store()
    try:
        report = machine.measure(target, args.seconds, args.op, args.dataset)
    except DriverError as exc:
        print(f"csbench machine: {exc}", file=sys.stderr)
        return 2
    print(report.to_json() if args.json else machine.render(report))
    return 0


def _cmd_crosscheck(args: argparse.Namespace) -> int:
    from csbench.measure.bridge import DriverError
    from csbench.measure.build import BuildError
    from csbench.observe import crosscheck

    try:
        target = _load_target(args)
        checks = crosscheck.crosscheck(target, args.runs)
    except (BuildError, ValueError, DriverError) as exc:
        return failed("crosscheck", exc)
    print(crosscheck.to_json(checks) if args.json else crosscheck.render(checks))
    return 0 if all(c.agrees for c in checks) else 1


def _cmd_profile(args: argparse.Namespace) -> int:
    from csbench.measure.bridge import DriverError
    from csbench.measure.build import BuildError
    from csbench.observe import cpuprofile

    cases = _selected_cases(args.bench)
    try:
        target = _load_target(args).resolve()
        against = _against_target(args) if args.against else None
        out = Path(args.output)
        for case in cases:
            run = cpuprofile.measure(target, case, args.seconds, args.interval_us)
            written = list(cpuprofile.write(run, out).values())
            report = (
                cpuprofile.to_json(run, args.top) if args.json else cpuprofile.render(run, args.top)
            )
            if against is not None:
                base = cpuprofile.measure(against, case, args.seconds, args.interval_us)
                written += cpuprofile.write(base, out, ".base").values()
                if not args.json:
                    report += "\n" + cpuprofile.render_explanation(
                        cpuprofile.explanation(base, run, args.top)
                    )
            print(report)
            if not args.json:
                print("written: " + ", ".join(map(str, written)), flush=True)
    except (BuildError, ValueError, DriverError) as exc:
        return failed("profile", exc)
    return 0


def _cmd_leaks(args: argparse.Namespace) -> int:
    from csbench.measure.bridge import DriverError
    from csbench.measure.build import BuildError
    from csbench.observe import leaks

    cases = _selected_cases(args.bench)
    try:
        target = _load_target(args).resolve()
        runs = []
        for case in cases:
            print(f"csbench leaks: {case.name}", file=sys.stderr, flush=True)
            runs.append(leaks.measure(target, case, args.ops))
    except (BuildError, ValueError, DriverError) as exc:
        return failed("leaks", exc)
    print(leaks.to_json(runs) if args.json else leaks.render(runs))
    return 1 if args.strict and any(r.retained for r in runs) else 0


def _selected_cases(bench: list[str]) -> list[Case]:
    """The time_ cases the ``bench`` regexes select; UsageError if none."""
    from csbench.observe import suite

    cases = suite.select(bench)
    if not cases:
        example = r"core\.Core\.time_op\('find_by_id', 'small-10000'\)"
        wanted = " or ".join(map(repr, bench))
        raise UsageError(f"no time_ benchmark matches {wanted} (e.g. {example!r})")
    return cases


def _built(repo_arg: str | None, rev: str) -> Path:
    """``rev`` of the configured repository, built (csbench.commits.checkout)."""
    from csbench.commits import git
    from csbench.commits.checkout import built_commit

    repo = checked_repo(repo_arg)
    return built_commit(repo, git.resolve(repo, rev))


def _against_target(args: argparse.Namespace) -> Path:
    """profile --against: a Collection Store tree, or a commit of the repository, built."""
    if Path(args.against).is_dir():
        return Path(args.against).resolve()
    return _built(args.repo, args.against).resolve()


def _load_target(args: argparse.Namespace) -> Path:
    """The tree --checkout names, the built --commit, or the npm Collection Store."""
    if args.checkout:
        return Path(args.checkout)
    if args.commit:
        return _built(args.repo, args.commit)
    from csbench.measure.bun import ensure_tools, npm_collection_store

    ensure_tools()
    return npm_collection_store()


def _check_numbers(args: argparse.Namespace) -> None:
    """UsageError unless the counts are >= 1 and the durations finite and > 0."""
    for flag, count in (("--users", args.users), ("--probes", args.probes)):
        if count is not None and count < 1:
            raise UsageError(f"{flag} must be at least 1, got {count}")
    for flag, seconds in (("--duration", args.duration), ("--probe-duration", args.probe_duration)):
        if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
            raise UsageError(f"{flag} must be a finite number of seconds > 0, got {seconds:g}")


def _scenario(args: argparse.Namespace) -> tuple[Scenario, list[str]]:
    """The named scenario of the directory and one warning per bad file elsewhere in it;
    the named scenario's own bad file is the error."""
    from csbench.load import scenarios

    catalog = scenarios.read_directory(args.scenarios)
    if catalog.problem:
        raise UsageError(catalog.problem)
    error = catalog.error_of(args.scenario)
    if error:
        raise UsageError(error)
    if args.scenario not in catalog.scenarios:
        known = ", ".join(catalog.names)
        raise UsageError(f"no scenario {args.scenario!r} in {catalog.directory} (known: {known})")
    warnings = [f"skipped {', '.join(b.names)}: {b.error}" for b in catalog.bad_files]
    return catalog.scenarios[args.scenario], warnings


def _cmd_load(args: argparse.Namespace) -> int:
    from csbench.load import runner as load
    from csbench.load.search import max_users_within_slo
    from csbench.measure.bridge import DriverError, Unsupported
    from csbench.measure.build import BuildError
    from csbench.observe import load_report

    _check_numbers(args)
    scenario, warnings = _scenario(args)
    users = scenario.users if args.users is None else args.users
    load.check_memory(scenario, users)
    if args.search:
        load.check_memory(scenario, 2 * users, why=" (--search probes up to 2 x users)")
    try:
        target = _load_target(args)
    except (BuildError, ValueError) as exc:
        print(f"csbench load: {exc}", file=sys.stderr)
        return 2
    for warning in warnings:  # after every refusal: bad input gets its one line alone
        print(f"csbench load: warning: {warning}", file=sys.stderr)
    tty = sys.stderr.isatty()

    def progress(p: dict[str, object]) -> None:
        if args.quiet:
            return
        line = load_report.progress_line(p)
        print(f"\r{line}\x1b[K" if tty else line, end="" if tty else "\n", file=sys.stderr)

    def run(count: int, duration: float | None, drain: float) -> load.LoadReport:
        report = load.run_scenario(
            target,
            scenario,
            users=count,
            duration=duration,
            seed=args.seed,
            drain=drain,
            on_progress=progress,
        )
        if tty and not args.quiet:
            print(file=sys.stderr)
        return report

    try:
        report = run(users, args.duration, load.DRAIN_SECONDS)
        search = None
        if args.search:
            search = max_users_within_slo(
                lambda n: run(n, args.probe_duration, load.SEARCH_DRAIN_SECONDS),
                scenario,
                start=max(1, users // 8),
                limit=2 * users,
                max_probes=args.probes,
            )
    except Unsupported as exc:
        print(f"csbench load: {scenario.name} cannot run at {target}: {exc}", file=sys.stderr)
        return 3
    except DriverError as exc:
        print(f"csbench load: driver failed: {exc}", file=sys.stderr)
        return 3
    if args.json:
        out = {"target": str(target), "report": report.as_dict()}
        if search is not None:
            out["search"] = search.as_dict()
        print(json.dumps(out, indent=2))
    else:
        print(load_report.render_report(scenario, report, str(target)))
        if search is not None:
            print()
            print(load_report.render_search(search))
    return 1 if args.strict and not report.passed else 0


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    """Add this family's subcommands to ``sub``; returns their handlers by name."""
    sub.add_parser("setup", help="install the pinned Bun and the npm Collection Store")
    probe = sub.add_parser("probe", help="print what the driver finds in a Collection Store tree")
    probe.add_argument("target", help="a Collection Store tree with node_modules installed")
    mach = sub.add_parser(
        "machine", help="how much the host's other tenants move memory latency and op times"
    )
    mach.add_argument(
        "--target", help="a Collection Store tree (default: the npm package csbench installs)"
    )
    mach.add_argument("--seconds", type=positive_float, default=30.0, help="how long to measure")
    mach.add_argument("--op", default="find_by_id", help="core op to follow (default find_by_id)")
    mach.add_argument("--dataset", default="small-10000", help="its dataset")
    mach.add_argument("--json", action="store_true", help="print the report as JSON")
    ld = sub.add_parser("load", help="run one load scenario outside asv and print its report")
    ld.add_argument("scenario", help="scenario name (benchmarks/scenarios/*.yaml)")
    ld.add_argument("--users", type=int, help="virtual users (default: the scenario's)")
    ld.add_argument(
        "--duration", type=float, help="compress the phases to this many seconds in total"
    )
    add_tree_options(ld, "run")
    ld.add_argument("--seed", type=int, default=0)
    ld.add_argument("--search", action="store_true", help="then search max users within SLO")
    ld.add_argument("--probe-duration", type=float, default=10.0, help="seconds per probe")
    ld.add_argument("--probes", type=int, default=7, help="probe runs of the search at most")
    ld.add_argument("--scenarios", help="scenario directory (default: benchmarks/scenarios)")
    ld.add_argument("--json", action="store_true", help="print the report as JSON")
    ld.add_argument("--quiet", action="store_true", help="no progress line")
    ld.add_argument("--strict", action="store_true", help="exit 1 when a criterion fails")
    cc = sub.add_parser(
        "crosscheck", help="the suite's p50/p95/p99 beside a plain Bun loop over the same ops"
    )
    add_tree_options(cc, "measure")
    cc.add_argument("--runs", type=positive_int, default=21, help="rounds of both (default 21)")
    cc.add_argument("--json", action="store_true", help="print the figures as JSON")
    pr = sub.add_parser("profile", help="where an op's time goes: a sampled CPU profile")
    pr.add_argument("bench", nargs="+", help="regex of the time_ benchmarks (asv names)")
    add_tree_options(pr, "profile")
    pr.add_argument("--seconds", type=positive_float, default=2.0,
                    help="op time sampled, per benchmark (default 2)")  # fmt: skip
    pr.add_argument("--interval-us", type=positive_int, default=100,
                    help="sampling interval in µs, at least 10 (default 100)")  # fmt: skip
    pr.add_argument("--against", metavar="REV|DIR",
                    help="also profile this base and list the functions whose CPU time per op "
                    "grew most from it")  # fmt: skip
    pr.add_argument("--top", type=positive_int, default=20, help="functions listed (default 20)")
    pr.add_argument("--output", default="profiles",
                    help="where the .cpuprofile, .svg and .json go (default profiles)")  # fmt: skip
    pr.add_argument("--json", action="store_true", help="print the report as JSON")
    lk = sub.add_parser("leaks", help="does an op keep memory: live objects at 0, N and 2N ops")
    lk.add_argument("bench", nargs="+", help="regex of the time_ benchmarks (asv names)")
    add_tree_options(lk, "measure")
    lk.add_argument("--ops", type=positive_int, default=2000, help="N (default 2000)")
    lk.add_argument("--json", action="store_true", help="print the figures as JSON")
    lk.add_argument("--strict", action="store_true", help="exit 1 when an op retains objects")
    return {
        "setup": _cmd_setup, "probe": _cmd_probe, "machine": _cmd_machine, "load": _cmd_load,
        "crosscheck": _cmd_crosscheck, "profile": _cmd_profile, "leaks": _cmd_leaks,
    }  # fmt: skip
