"""The ``csbench`` command."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from csbench import asvconf, cli_history, cli_load, git, lock, procs
from csbench.argtypes import Parser, non_negative_float, positive_float
from csbench.config import configured_repo
from csbench.errors import UsageError
from csbench.paths import project_root


def _cmd_setup(args: argparse.Namespace) -> int:
    from csbench import site
    from csbench.bun import ensure_tools, npm_collection_store

    bun = ensure_tools()
    print(f"bun: {bun}\nnpm Collection Store: {npm_collection_store()}")
    print(f"site assets and playwright-core: {site.ensure_assets()}")
    return 0


def _cmd_run(args: argparse.Namespace, rest: list[str]) -> int:
    from csbench.bun import ensure_tools

    repo = configured_repo(args.repo)
    if repo:  # bad input is one line, before asv writes anything
        git.check_range(git.check_repo(repo), args.range)
    results = Path(args.results).resolve() if args.results else project_root() / "results"
    machine = asvconf.ensure_machine(args.machine, [results])
    ensure_tools()
    config = asvconf.derived_config(repo, results_dir=str(results))
    fresh = not (results / machine).exists()
    # Commit after commit (asv interleaves rounds across commits by default): each commit's
    # results are stored when it is finished, so an interrupted run keeps them.
    interleave = any(a.startswith(("--interleave", "--no-interleave")) for a in rest)
    order = [] if interleave else ["--no-interleave-rounds"]
    run = ["run", args.range, "--machine", machine, *order, *rest]
    code = asvconf.asv(run, config).returncode
    if fresh and [p.name for p in (results / machine).glob("*")] == ["machine.json"]:
        shutil.rmtree(results / machine)  # asv stored nothing: leave no machine behind
    return code


def _cmd_asv(args: argparse.Namespace, rest: list[str]) -> int:
    if not rest:
        raise UsageError("name an asv subcommand, e.g. `csbench asv compare A B`")
    repo = configured_repo(args.repo)
    if repo:
        git.check_repo(repo)
    overrides: dict[str, str] = {}
    if rest[0] in ("run", "continuous", "dev"):  # the committed history changes via csbench run
        results = Path(args.results or project_root() / ".asv" / "scratch-results").resolve()
        overrides["results_dir"] = str(results)
        if not args.results:
            print(f"csbench asv: results go to {results} (--results DIR to choose)",
                  file=sys.stderr)  # fmt: skip
        named = _asv_machine(rest)
        machine = asvconf.ensure_machine(named, [results])
        if named is None:
            rest = [rest[0], "--machine", machine, *rest[1:]]
    elif args.results:
        overrides["results_dir"] = str(Path(args.results).resolve())
    config = asvconf.derived_config(repo, **overrides)
    return asvconf.asv(rest, config).returncode


def _asv_machine(rest: list[str]) -> str | None:
    """The value of asv's own ``--machine`` option in ``rest``, if given."""
    for i, word in enumerate(rest):
        if word == "--machine" and i + 1 < len(rest):
            return rest[i + 1]
        if word.startswith("--machine="):
            return word.split("=", 1)[1]
    return None


def _cmd_mirror(args: argparse.Namespace) -> int:
    from csbench.mirror import make_mirror

    print(make_mirror(args.source, Path(args.dest)))
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    from csbench.bridge import Driver, DriverError

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
    from csbench import machine
    from csbench.bridge import DriverError
    from csbench.bun import ensure_tools, npm_collection_store
    from csbench.coreops import DATASETS

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


def _cmd_agreement(args: argparse.Namespace) -> int:
    from csbench import agreement
    from csbench import targets as tg

    try:
        machine, table = agreement.rows(
            Path(args.results), args.machine, args.commit, args.op, args.dataset
        )
    except tg.ResultsNotFound as exc:
        print(f"csbench agreement: {exc}", file=sys.stderr)
        return 2
    print(agreement.render(machine, table, args.op, args.dataset, args.tolerance))
    disagree = [r for r in table if r.agrees(args.tolerance) is False]
    return 1 if args.strict and disagree else 0


def _cmd_targets(args: argparse.Namespace) -> int:
    import subprocess

    from csbench import targets as tg

    repo = configured_repo(args.repo)

    def resolve(rev: str) -> str:
        if not repo:
            raise tg.ResultsNotFound(f"cannot resolve {rev!r} without a repository (--repo)")
        out = subprocess.run(
            ["git", "-C", repo, "rev-parse", "--verify", f"{rev}^{{commit}}"],
            capture_output=True,
            text=True,
            env=asvconf.git_env(),
        )
        if out.returncode != 0:
            raise tg.ResultsNotFound(f"{repo}: unknown revision {rev!r}")
        return out.stdout.strip()

    try:
        targets = tg.load_targets(Path(args.targets) if args.targets else None)
        results = tg.load_commit_results(Path(args.results), args.machine, args.commit, resolve)
    except (tg.TargetFileError, tg.ResultsNotFound) as exc:
        print(f"csbench targets: {exc}", file=sys.stderr)
        return 2
    verdicts = [tg.evaluate(t, results) for t in targets]
    if args.against:
        from csbench import calibrate

        try:
            other = tg.load_commit_results(
                Path(args.against), results.machine, results.commit, resolve
            )
        except tg.ResultsNotFound as exc:
            print(f"csbench targets: {args.against}: {exc}", file=sys.stderr)
            return 2
        cal = calibrate.load(results.machine)
        others = [tg.evaluate(t, other) for t in targets]
        limits = {n: f - 1.0 for n, f in cal.history_factors.items()} if cal else None
        noise = cal.noise if cal else None
        print(tg.render_against(verdicts, others, results, Path(args.against), noise, limits))
        return 0
    if args.format == "json":
        print(tg.render_json(verdicts, results))
    else:
        print(tg.render_text(verdicts, results, markdown=args.format == "markdown"))
    failed = any(v.status == "fail" or v.unjudged_by_failure for v in verdicts)
    return 1 if args.strict and failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="csbench", description="Collection Store benchmarks")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="install the pinned Bun and the npm Collection Store")
    run = sub.add_parser("run", help="asv run over a commit range (extra args go to asv)")
    run.add_argument(
        "--repo",
        help="local Collection Store repository (else $CSBENCH_REPO, "
        "the user config file, or asv.conf.json's upstream URL)",
    )
    run.add_argument(
        "--machine", help="asv machine name (default: from the hardware, e.g. xeon-2core-24g)"
    )
    run.add_argument(
        "--results", help="results directory (default: results/; e.g. a scratch one for A/A)"
    )
    run.add_argument("range", help="commit range, e.g. 2307c8d^! or master~5..master")
    passthru = sub.add_parser("asv", help="any asv command with csbench's config and repo")
    passthru.add_argument("--repo", help="local Collection Store repository")
    passthru.add_argument(
        "--results",
        help="asv results directory (asv run / continuous / dev: default .asv/scratch-results, "
        "so that the committed history changes only through csbench run)",
    )
    mirror = sub.add_parser("mirror", help="make a repaired local mirror asv can use")
    mirror.add_argument("source", help="a git directory or URL of Collection Store")
    mirror.add_argument("dest", help="where to create the bare mirror")
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
    agr = sub.add_parser(
        "agreement", help="busy-clock time_op against the histogram p50, per stored commit"
    )
    agr.add_argument("--commit", help="hash prefix (default: every stored commit)")
    agr.add_argument("--machine", help="asv machine name (default: the only one in results/)")
    agr.add_argument("--op", default="find_by_id")
    agr.add_argument("--dataset", default="small-10000")
    agr.add_argument(
        "--tolerance", type=non_negative_float, default=0.10, help="default 0.10 (10 %%)"
    )
    agr.add_argument("--strict", action="store_true", help="exit 1 when a commit disagrees")
    agr.add_argument(
        "--results", default=str(project_root() / "results"), help="asv results directory"
    )
    tgt = sub.add_parser("targets", help="judge one commit's stored results against targets.yaml")
    tgt.add_argument("--commit", help="hash prefix or revision (default: the newest results)")
    tgt.add_argument("--machine", help="asv machine name (default: the only one in results/)")
    tgt.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    tgt.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a target fails or could not be judged because its benchmark failed",
    )
    tgt.add_argument("--targets", help="targets file (default: benchmarks/targets.yaml)")
    tgt.add_argument(
        "--results",
        default=str(project_root() / "results"),
        help="asv results directory (default: results/)",
    )
    tgt.add_argument(
        "--against",
        metavar="RESULTS",
        help="another run's results directory: each target's ratio to it, and whether "
        "that stays within the machine's calibrated run-to-run noise",
    )
    tgt.add_argument("--repo", help="repository used to resolve --commit revisions")
    handlers = {**cli_load.register(sub), **cli_history.register(sub)}
    for name in HEAVY:
        sub.choices[name].add_argument(
            "--wait", action="store_true",
            help="if another run, ci, calibrate, power or builds holds this checkout, wait",
        )  # fmt: skip
    parser.set_defaults(handlers=handlers)
    return parser


# Commands that share .asv/env and fixed-name files: one at a time per checkout (csbench.lock).
HEAVY = ("run", "ci", "calibrate", "power", "builds")
ASV_HEAVY = (["run"], ["continuous"], ["dev"])


def main(argv: list[str] | None = None) -> int:
    """The command; SIGINT, SIGTERM or SIGHUP stop its child processes (Bun drivers, asv),
    remove its temporary directories and print one line (exit 128 + the signal number)."""
    with procs.stop_signals():
        try:
            procs.sweep()  # temporary directories of csbench processes that were killed
            return _main(argv)
        except (procs.Interrupted, KeyboardInterrupt) as exc:
            words = [w for w in (sys.argv[1:] if argv is None else argv) if w[:1] != "-"]
            return procs.interrupted(exc, " ".join(["csbench", *words[:1]]))


def _main(argv: list[str] | None = None) -> int:
    args, rest = build_parser().parse_known_args(argv)
    try:
        if args.command not in HEAVY and not (args.command == "asv" and rest[:1] in ASV_HEAVY):
            return _dispatch(args, rest)
        words = ["csbench", *(argv if argv is not None else sys.argv[1:])]
        with lock.checkout_lock(" ".join(words), getattr(args, "wait", False)):
            return _dispatch(args, rest)
    except UsageError as exc:
        print(f"csbench {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code


def _dispatch(args: argparse.Namespace, rest: list[str]) -> int:
    if args.command == "run":
        return _cmd_run(args, rest)
    if args.command == "asv":
        return _cmd_asv(args, rest)
    if rest:
        build_parser().error(f"unrecognized arguments: {' '.join(rest)}")
    commands = {
        "setup": _cmd_setup,
        "mirror": _cmd_mirror,
        "probe": _cmd_probe,
        "machine": _cmd_machine,
        "agreement": _cmd_agreement,
        "targets": _cmd_targets,
        **args.handlers,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
