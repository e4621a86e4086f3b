"""`csbench targets | agreement | bottlenecks`: stored results judged against the plan's
targets, the clock self-check, and where each target's op spends its time."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from csbench.cli.argtypes import non_negative_float, positive_float
from csbench.cli.common import Handler, add_tree_options, checked_repo, log
from csbench.commits import git, hardware
from csbench.commits.config import configured_repo
from csbench.measure.errors import UsageError
from csbench.measure.paths import project_root

if TYPE_CHECKING:
    from csbench.observe.bottlenecks import Bottleneck
    from csbench.observe.targets import Target


def _cmd_agreement(args: argparse.Namespace) -> int:
    from csbench.observe import agreement
    from csbench.observe import targets as tg

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
    from csbench.observe import targets as tg

    repo = configured_repo(args.repo)

    def resolve(rev: str) -> str:
        if not repo:
            raise tg.ResultsNotFound(f"cannot resolve {rev!r} without a repository (--repo)")
        return git.resolve(repo, rev)

    if args.history and (args.commit or args.against):
        raise UsageError("--history shows every commit: not with --commit or --against")
    try:
        targets = tg.load_targets(Path(args.targets) if args.targets else None)
        targets = _selected(targets, args.target)
        if args.history:
            machine, per_commit = tg.all_commit_results(Path(args.results), args.machine)
        else:
            results = tg.load_commit_results(Path(args.results), args.machine, args.commit, resolve)
    except (tg.TargetFileError, tg.ResultsNotFound) as exc:
        print(f"csbench targets: {exc}", file=sys.stderr)
        return 2
    if args.history:
        if args.format == "json":
            print(tg.history_json(targets, per_commit, machine))
        else:
            fmt = "markdown" if args.format == "markdown" else "text"
            print(tg.render_history(targets, per_commit, machine, fmt))
        newest = [tg.evaluate(t, per_commit[-1]) for t in targets] if per_commit else []
        failed = any(v.status == "fail" or v.unjudged_by_failure for v in newest)
        return 1 if args.strict and failed else 0
    verdicts = [tg.evaluate(t, results) for t in targets]
    if args.against:
        from csbench.observe import calibration

        try:
            other = tg.load_commit_results(
                Path(args.against), results.machine, results.commit, resolve
            )
        except tg.ResultsNotFound as exc:
            print(f"csbench targets: {args.against}: {exc}", file=sys.stderr)
            return 2
        cal = calibration.load(results.machine)
        others = [tg.evaluate(t, other) for t in targets]
        limits = {n: f - 1.0 for n, f in cal.history_factors.items()} if cal else None
        noise = cal.noise if cal else None
        print(tg.render_against(verdicts, others, results, Path(args.against), noise, limits))
        return 0
    if args.format == "json":
        print(tg.render_json(verdicts, results))
    else:
        print(
            tg.render_text(verdicts, results, "markdown" if args.format == "markdown" else "text")
        )
    failed = any(v.status == "fail" or v.unjudged_by_failure for v in verdicts)
    return 1 if args.strict and failed else 0


def _selected(targets: list[Target], ids: list[str]) -> list[Target]:
    """The targets named by ``ids`` (all when none); UsageError naming an unknown id."""
    known = {t.id for t in targets}
    if unknown := [i for i in ids if i not in known]:
        raise UsageError(f"no target {unknown[0]!r} (known: {', '.join(sorted(known))})")
    return [t for t in targets if not ids or t.id in ids]


def profile_commit(
    repo: str,
    commit: str,
    results: Path,
    machine: str | None,
    targets: list[Target],
    seconds: float = 1.0,
) -> list[Bottleneck]:
    """The bottleneck report of ``commit`` (built), judged by its stored results in
    ``results`` when it has them; BuildError if it cannot be built, DriverError if the
    driver cannot start."""
    from csbench.commits.checkout import built_commit
    from csbench.observe import bottlenecks
    from csbench.observe import targets as tg

    verdicts: dict[str, tg.Verdict] = {}
    try:
        stored = tg.load_commit_results(results, machine, commit)
        verdicts = {t.id: tg.evaluate(t, stored) for t in targets}
    except tg.ResultsNotFound as exc:
        log(f"csbench bottlenecks: no verdicts: {exc}")
    tree = built_commit(repo, commit).resolve()
    return bottlenecks.profile_targets(tree, targets, verdicts, seconds, log)


def _cmd_bottlenecks(args: argparse.Namespace) -> int:
    from csbench.measure.bridge import DriverError
    from csbench.measure.build import BuildError
    from csbench.measure.errors import UsageError
    from csbench.observe import bottlenecks
    from csbench.observe import targets as tg

    try:
        targets = tg.load_targets(Path(args.targets) if args.targets else None)
    except tg.TargetFileError as exc:
        raise UsageError(str(exc)) from None
    if args.store and not args.commit:
        raise UsageError("--store keeps the profiles of a --commit, not of a checkout")
    results = Path(args.results)
    machine = hardware.check_name(args.machine, [results]) if args.store else None
    try:
        if args.checkout:
            commit = Path(args.checkout).name
            tree = Path(args.checkout).resolve()
            items = bottlenecks.profile_targets(tree, targets, {}, args.seconds, log)
        else:
            repo = checked_repo(args.repo)
            commit = git.resolve(repo, args.commit)
            items = profile_commit(repo, commit, results, args.machine, targets, args.seconds)
    except BuildError as exc:
        log(f"csbench bottlenecks: {str(exc).splitlines()[0]}")
        return 3
    except DriverError as exc:
        log(f"csbench bottlenecks: {str(exc).splitlines()[0]}")
        return 2
    if machine is not None:
        path = bottlenecks.store(items, commit, results, machine)
        log(f"csbench bottlenecks: stored {path}")
    if args.format == "json":
        print(bottlenecks.to_json(items, commit))
    else:
        print(bottlenecks.render(items, commit, markdown=args.format == "markdown"))
    return 0


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    """Add this family's subcommands to ``sub``; returns their handlers by name."""
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
    tgt.add_argument(
        "--history",
        action="store_true",
        help="each target at every stored commit, oldest first (its series, as the site plots "
        "it), instead of one commit",
    )
    tgt.add_argument(
        "--target", action="append", default=[], metavar="ID", help="only this target (repeat)"
    )
    bot = sub.add_parser(
        "bottlenecks", help="where each target's op spends its CPU time (sampled profiles)"
    )
    add_tree_options(bot, "profile", required=True)
    bot.add_argument("--machine", help="asv machine of the stored verdicts (default: the only one)")
    bot.add_argument(
        "--results", default=str(project_root() / "results"),
        help="asv results directory of the verdicts (default: results/)",
    )  # fmt: skip
    bot.add_argument("--targets", help="targets file (default: benchmarks/targets.yaml)")
    bot.add_argument("--seconds", type=positive_float, default=1.0,
                     help="op time sampled per target (default 1)")  # fmt: skip
    bot.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    bot.add_argument(
        "--store", action="store_true",
        help="keep the report and the pruned profiles in results/profiles/MACHINE/ (the site's)",
    )  # fmt: skip
    return {
        "agreement": _cmd_agreement, "targets": _cmd_targets, "bottlenecks": _cmd_bottlenecks,
    }  # fmt: skip
