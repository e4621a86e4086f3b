"""`csbench run | asv | mirror | publish | builds | merge`: the history of every commit,
asv's own commands, a usable local mirror, the site, the build report and the merge of
shards' results."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from csbench.cli.argtypes import positive_int, shard
from csbench.cli.common import Handler, checked_repo, log
from csbench.cli.guard import add_triage_options
from csbench.commits import asvconf, builds, git
from csbench.commits.checkout import build_reference
from csbench.commits.config import configured_repo
from csbench.measure import procs
from csbench.measure.errors import UsageError
from csbench.measure.paths import project_root, work_dir
from csbench.observe.triaged import TRIAGE_DIR


def _cmd_run(args: argparse.Namespace) -> int:
    from csbench.measure import presets
    from csbench.measure.bun import ensure_tools

    bench = [*(presets.named(args.profile).bench if args.profile else ()), *(args.bench or ())]
    rest = [*args.rest, *(w for b in bench for w in ("--bench", b))]
    repo = configured_repo(args.repo)
    spec = args.range
    report = builds.report_of(spec)
    built = report is not None
    if repo and not built:  # bad input is one line, before asv writes anything
        git.check_range(git.check_repo(repo), spec)
    local = repo is not None and not git.is_url(repo)
    for needs, what in ((args.shard, "--shard"), (built, builds.BUILT)):
        if needs and not local:
            raise UsageError(f"{what} needs a local repository (--repo, csbench mirror)")
    commits: list[str] = []
    if report is not None:
        checked = git.check_repo(repo)
        commits = [git.resolve(checked, c) for c in builds.built_commits(report)]
        log(f"csbench run: {len(commits)} commits recorded as built in {report}")
    elif local and (args.shard or spec not in git.ASV_RANGE_WORDS):
        commits = git.range_commits(repo, spec)
    if args.shard:
        index, count = args.shard
        commits = commits[index - 1 :: count]
        log(f"csbench run: shard {index}/{count}: {len(commits)} commits of {spec}")
        if not commits:
            return 0
    results = Path(args.results).resolve() if args.results else project_root() / "results"
    machine = asvconf.ensure_machine(args.machine, [results])
    ensure_tools()
    if repo:
        build_reference(repo, log)
    config = asvconf.derived_config(repo, results_dir=str(results))
    fresh = not (results / machine).exists()
    # Commit after commit (asv interleaves rounds across commits by default): each commit's
    # results are stored when it is finished, so an interrupted run keeps them.
    interleave = any(a.startswith(("--interleave", "--no-interleave")) for a in rest)
    order = [] if interleave else ["--no-interleave-rounds"]
    with procs.temp_dir("run") as scratch:
        if args.shard or built:
            hashfile = Path(scratch) / "commits.txt"
            hashfile.write_text("\n".join(commits) + "\n")
            spec = f"HASHFILE:{hashfile}"
        code = asvconf.asv(["run", spec, "--machine", machine, *order, *rest], config).returncode
    if fresh and [p.name for p in (results / machine).glob("*")] == ["machine.json"]:
        shutil.rmtree(results / machine)  # asv stored nothing: leave no machine behind
    if args.cpu_profiles != "none" and commits and repo:
        _store_profiles(repo, commits, results, machine, args.cpu_profiles == "each")
    elif args.cpu_profiles != "none":
        log("csbench run: no profiles stored (they need a local repository and a git range)")
    return code


def _store_profiles(repo: str, commits: list[str], results: Path, machine: str, each: bool) -> None:
    """The bottleneck report (csbench bottlenecks --store) of the newest of ``commits`` that
    has results (``each``: of every one); a commit that cannot be profiled is a line."""
    from csbench.cli.observe import profile_commit
    from csbench.measure.bridge import DriverError
    from csbench.measure.build import BuildError
    from csbench.observe import bottlenecks
    from csbench.observe import targets as tg
    from csbench.observe.results import read_machine

    targets = tg.load_targets()
    measured = {r.commit_hash for r in read_machine(results, machine)}
    for commit in commits:
        if commit not in measured:
            continue  # not measured (a failed build, or not in this shard's results)
        log(f"csbench run: profiling the targets' ops at {commit[:8]}")
        try:
            items = profile_commit(repo, commit, results, machine, targets)
            log(f"csbench run: stored {bottlenecks.store(items, commit, results, machine)}")
        except (BuildError, DriverError) as exc:
            log(f"csbench run: no profiles of {commit[:8]}: {str(exc).splitlines()[0]}")
        if not each:
            return


def _cmd_asv(args: argparse.Namespace) -> int:
    rest = args.rest
    if not rest:
        raise UsageError("name an asv subcommand, e.g. `csbench asv compare A B`")
    repo = configured_repo(args.repo)
    if repo:
        git.check_repo(repo)
    overrides: dict[str, str] = {}
    if rest[0] in ("run", "continuous", "dev"):  # the committed history changes via csbench run
        results = Path(args.results or work_dir() / "scratch-results").resolve()
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
    from csbench.commits.mirror import make_mirror

    print(make_mirror(args.source, Path(args.dest)))
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    from csbench.observe import results as stored

    conf = asvconf.load_conf()
    results = Path(args.results) if args.results else project_root() / conf["results_dir"]
    html_dir = Path(args.html) if args.html else work_dir() / "html"
    with procs.temp_dir("publish") as scratch:
        bad = stored.bad_files(results)
        view = results
        if bad:  # asv would read them too: publish the others
            view = Path(scratch) / "results"
            stored.readable_copy(results, view, bad)
        return _publish(args, view, html_dir, results)


def _publish(args: argparse.Namespace, results: Path, html_dir: Path, stored: Path) -> int:
    """asv publish of ``results`` (a view of ``stored`` without its bad files), then the
    triage of its listed regressions into ``stored`` (unless --no-triage), then the pages."""
    from csbench.observe import results as asv_results
    from csbench.observe import site

    overrides: dict[str, object] = {
        "results_dir": str(results.resolve()),
        "html_dir": str(html_dir.resolve()),
    }
    if args.branch:
        overrides["branches"] = args.branch
    names = asv_results.display_names(asv_results.benchmarks_meta(results))
    thresholds = site.regressions_thresholds(asv_results.machines(results), names)
    if thresholds:
        overrides["regressions_thresholds"] = thresholds
    config = asvconf.derived_config(configured_repo(args.repo), name="publish", **overrides)
    proc = asvconf.asv(["publish"], config)
    if proc.returncode != 0:
        return proc.returncode
    if not args.no_triage:
        _triage(args, html_dir, stored)
        if stored != results and (stored / TRIAGE_DIR).is_dir():  # the view the pages read
            shutil.copytree(stored / TRIAGE_DIR, results / TRIAGE_DIR, dirs_exist_ok=True)
    try:
        site.finish(html_dir, results)
    except site.SiteError as exc:
        print(f"csbench publish: {exc}", file=sys.stderr)
        return 1
    print(f"csbench publish: {html_dir} (serve: python -m http.server -d {html_dir})")
    if args.check:
        report = site.check_site(html_dir, Path(args.check), site.CHECKED_PAGES)
        bad = {
            p: r["errors"] + r["external"]
            for p, r in report.items()
            if r["errors"] or r["external"]
        }
        for page, problems in bad.items():
            print(f"csbench publish: {page}: {problems[:5]}", file=sys.stderr)
        print(f"csbench publish: {len(report)} pages checked offline, screenshot {args.check}")
        return 1 if bad else 0
    return 0


def _triage(args: argparse.Namespace, html_dir: Path, results: Path) -> None:
    """csbench triage of this host's listed steps (skipped, in one line, without a
    repository or a list)."""
    from csbench.cli.guard import run_triage
    from csbench.observe import triaged

    repo = configured_repo(args.repo)
    if not repo:
        log("csbench publish: no repository configured: listed regressions not triaged")
        return
    try:
        verdicts = run_triage(repo, html_dir, results, asvconf.ensure_machine(None), args)
    except triaged.TriageError as exc:
        log(f"csbench publish: not triaged: {exc}")
        return
    log(f"csbench publish: triage: {triaged.summary(verdicts)}")


def _cmd_merge(args: argparse.Namespace) -> int:
    from csbench.observe import shards

    dest = Path(args.results) if args.results else project_root() / "results"
    merged = shards.merge([Path(s) for s in args.sources], dest)
    print(f"csbench merge: {len(merged.copied)} files copied into {dest}, "
          f"{merged.same} already there")  # fmt: skip
    return 0


def _cmd_builds(args: argparse.Namespace) -> int:
    from csbench.measure.bun import ensure_tools

    repo = checked_repo(args.repo)
    ensure_tools()
    branches = args.branch or asvconf.load_conf()["branches"]
    path = Path(args.output) if args.output else project_root() / "results" / builds.REPORT_NAME
    records = builds.build_report(repo, branches, path, args.limit, log, args.retry_failed)
    built = sum(r.status == "built" for r in records.values())
    print(f"{path}: {len(records)} commits, {built} built, {len(records) - built} failed")
    return 0


def register(sub: argparse._SubParsersAction) -> dict[str, Handler]:
    """Add this family's subcommands to ``sub``; returns their handlers by name."""
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
    run.add_argument(
        "range",
        help="commit range, e.g. 2307c8d^! or master~5..master; BUILT[:REPORT]: every commit "
        "results/build-report.jsonl (or REPORT) records as built",
    )
    run.add_argument(
        "--bench", action="append",
        help="asv --bench regex (repeat); other asv options may follow the range",
    )  # fmt: skip
    run.add_argument(
        "--profile", help="a named selection of benchmarks/presets.yaml (quick, full), "
        "with --bench: both",
    )  # fmt: skip
    run.add_argument(
        "--shard", type=shard, metavar="I/N",
        help="only every N-th commit of the range, from the I-th (newest first, as asv)",
    )  # fmt: skip
    run.add_argument(
        "--cpu-profiles", choices=("newest", "each", "none"), default="newest",
        help="then store the targets' op profiles (csbench bottlenecks --store) of the "
        "newest measured commit (default), of each, or of none",
    )  # fmt: skip
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
    pub = sub.add_parser("publish", help="asv publish, offline assets, and the targets page")
    pub.add_argument("--repo", help="repository (else $CSBENCH_REPO, config, or upstream)")
    pub.add_argument("--results", help="asv results directory (default: results/)")
    pub.add_argument("--html", help="site directory (default: .asv/html)")
    pub.add_argument("--branch", action="append", help="branches to show (default: the config's)")
    pub.add_argument(
        "--check",
        metavar="PNG",
        help="then load the site in headless Chromium, "
        "network off, and save a screenshot of the targets page",
    )
    pub.add_argument(
        "--no-triage", action="store_true",
        help="do not measure again the listed regressions (csbench triage)",
    )  # fmt: skip
    add_triage_options(pub)
    mrg = sub.add_parser(
        "merge", help="merge the results directories of shards (csbench run --shard) into one"
    )
    mrg.add_argument("sources", nargs="+", help="results directories of the shards")
    mrg.add_argument("--results", help="the directory merged into (default: results/)")
    bld = sub.add_parser("builds", help="try to build every first-parent commit; the report")
    bld.add_argument("--repo", help="repository (else $CSBENCH_REPO or the config file)")
    bld.add_argument("--branch", action="append", help="branches (default: the config's)")
    bld.add_argument("--limit", type=positive_int, help="build at most this many new commits")
    bld.add_argument(
        "--retry-failed", action="store_true", help="build again the commits recorded as failed"
    )
    bld.add_argument("--output", help="report file (default: results/build-report.jsonl)")
    return {
        "run": _cmd_run,
        "asv": _cmd_asv,
        "mirror": _cmd_mirror,
        "publish": _cmd_publish,
        "builds": _cmd_builds,
        "merge": _cmd_merge,
    }
