"""The ``csbench`` command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from csbench import asvconf
from csbench.config import configured_repo
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

    ensure_tools()
    machine = asvconf.ensure_machine(args.machine)
    config = asvconf.derived_config(configured_repo(args.repo))
    return asvconf.asv(["run", args.range, "--machine", machine, *rest], config).returncode


def _cmd_asv(args: argparse.Namespace, rest: list[str]) -> int:
    if not rest:
        print(
            "csbench asv: name an asv subcommand, e.g. `csbench asv compare A B`", file=sys.stderr
        )
        return 2
    config = asvconf.derived_config(configured_repo(args.repo))
    return asvconf.asv(rest, config).returncode


def _cmd_mirror(args: argparse.Namespace) -> int:
    from csbench.mirror import make_mirror

    print(make_mirror(args.source, Path(args.dest)))
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    from csbench.bridge import Driver

    drv = Driver(args.target)
    try:
        print(json.dumps(drv.probe(), indent=2))
    finally:
        drv.close()
    return 0


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
    if args.format == "json":
        print(tg.render_json(verdicts, results))
    else:
        print(tg.render_text(verdicts, results, markdown=args.format == "markdown"))
    failed = any(v.status == "fail" for v in verdicts)
    return 1 if args.strict and failed else 0


def _load_target(args: argparse.Namespace) -> Path:
    """The tree --checkout names, the built --commit, or the npm Collection Store."""
    if args.checkout:
        return Path(args.checkout)
    if args.commit:
        from csbench.checkout import built_commit

        repo = configured_repo(args.repo)
        if not repo:
            raise ValueError("--commit needs a repository (--repo, $CSBENCH_REPO or config)")
        return built_commit(repo, args.commit)
    from csbench.bun import ensure_tools, npm_collection_store

    ensure_tools()
    return npm_collection_store()


def _cmd_load(args: argparse.Namespace) -> int:
    from csbench import load, load_report, scenarios
    from csbench.bridge import DriverError, Unsupported
    from csbench.build import BuildError

    try:
        found = {s.name: s for s in scenarios.load_all(args.scenarios)}
        if args.scenario not in found:
            raise ValueError(f"no scenario {args.scenario!r} (known: {', '.join(found)})")
        scenario = found[args.scenario]
        target = _load_target(args)
    except (scenarios.ScenarioError, BuildError, ValueError) as exc:
        print(f"csbench load: {exc}", file=sys.stderr)
        return 2
    tty = sys.stderr.isatty()

    def progress(p: dict[str, object]) -> None:
        if args.quiet:
            return
        line = load_report.progress_line(p)
        print(f"\r{line}\x1b[K" if tty else line, end="" if tty else "\n", file=sys.stderr)

    def run(users: int | None, duration: float | None, drain: float) -> load.LoadReport:
        report = load.run_scenario(
            target,
            scenario,
            users=users,
            duration=duration,
            seed=args.seed,
            drain=drain,
            on_progress=progress,
        )
        if tty and not args.quiet:
            print(file=sys.stderr)
        return report

    try:
        report = run(args.users, args.duration, load.DRAIN_SECONDS)
        search = None
        if args.search:
            users = report.users
            search = load.max_users_within_slo(
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


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _repo_or_exit(explicit: str | None, command: str) -> str | None:
    repo = configured_repo(explicit)
    if not repo:
        print(
            f"csbench {command}: name a repository (--repo, $CSBENCH_REPO or the config file)",
            file=sys.stderr,
        )
    return repo


def _cmd_ci(args: argparse.Namespace) -> int:
    import tempfile

    from csbench import calibrate, ci
    from csbench.bun import ensure_tools

    repo = _repo_or_exit(args.repo, "ci")
    if not repo:
        return ci.INFRASTRUCTURE
    ensure_tools()
    machine = asvconf.ensure_machine(args.machine)
    thresholds = (
        calibrate.Thresholds(**json.loads(Path(args.thresholds).read_text()))
        if args.thresholds
        else calibrate.load(machine)
    )
    if thresholds is None:
        _log(
            f"csbench ci: {machine} is not calibrated (csbench calibrate): factor "
            f"{calibrate.DEFAULT_FACTOR} for every benchmark"
        )
    with tempfile.TemporaryDirectory(prefix="csbench-ci-") as work:
        result = ci.ci(
            repo, args.base, args.head, machine, args.bench, thresholds, Path(work), _log
        )
    text = ci.markdown(result, args.site_url)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return result.exit_code


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from csbench import calibrate, ci
    from csbench.bun import ensure_tools

    repo = _repo_or_exit(args.repo, "calibrate")
    if not repo:
        return 2
    ensure_tools()
    machine = asvconf.ensure_machine(args.machine)
    try:
        thresholds = ci.calibrate_machine(repo, args.commit, machine, args.runs, args.bench, _log)
    except ci.InfrastructureError as exc:
        _log(f"csbench calibrate: {exc}")
        return 3
    path = calibrate.save(
        thresholds, Path(args.output) if args.output else calibrate.thresholds_file(machine)
    )
    noisy = sorted(thresholds.noise.items(), key=lambda kv: -kv[1])[:10]
    print(f"{len(thresholds.factors)} benchmarks calibrated over {args.runs} runs -> {path}")
    for name, spread in noisy:
        print(f"  {spread * 100:6.1f} %  factor {thresholds.factors[name]:.2f}  {name}")
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    from csbench import site
    from csbench import targets as tg

    conf = asvconf.load_conf()
    results = Path(args.results) if args.results else project_root() / conf["results_dir"]
    html_dir = Path(args.html) if args.html else project_root() / conf["html_dir"]
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

    repo = _repo_or_exit(args.repo, "builds")
    if not repo:
        return 2
    ensure_tools()
    branches = args.branch or asvconf.load_conf()["branches"]
    path = Path(args.output) if args.output else project_root() / "results" / builds.REPORT_NAME
    records = builds.build_report(repo, branches, path, args.limit, _log)
    built = sum(r.status == "built" for r in records.values())
    print(f"{path}: {len(records)} commits, {built} built, {len(records) - built} failed")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csbench", description="Collection Store benchmarks")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="install the pinned Bun and the npm Collection Store")
    run = sub.add_parser("run", help="asv run over a commit range (extra args go to asv)")
    run.add_argument(
        "--repo",
        help="local Collection Store repository (else $CSBENCH_REPO, "
        "the user config file, or asv.conf.json's upstream URL)",
    )
    run.add_argument("--machine", help="asv machine name (default: the host name)")
    run.add_argument("range", help="commit range, e.g. 2307c8d^! or master~5..master")
    passthru = sub.add_parser("asv", help="any asv command with csbench's config and repo")
    passthru.add_argument("--repo", help="local Collection Store repository")
    mirror = sub.add_parser("mirror", help="make a repaired local mirror asv can use")
    mirror.add_argument("source", help="a git directory or URL of Collection Store")
    mirror.add_argument("dest", help="where to create the bare mirror")
    probe = sub.add_parser("probe", help="print what the driver finds in a Collection Store tree")
    probe.add_argument("target", help="a Collection Store tree with node_modules installed")
    tgt = sub.add_parser("targets", help="judge one commit's stored results against targets.yaml")
    tgt.add_argument("--commit", help="hash prefix or revision (default: the newest results)")
    tgt.add_argument("--machine", help="asv machine name (default: the only one in results/)")
    tgt.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    tgt.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    tgt.add_argument("--targets", help="targets file (default: benchmarks/targets.yaml)")
    tgt.add_argument(
        "--results",
        default=str(project_root() / "results"),
        help="asv results directory (default: results/)",
    )
    tgt.add_argument("--repo", help="repository used to resolve --commit revisions")
    ld = sub.add_parser("load", help="run one load scenario outside asv and print its report")
    ld.add_argument("scenario", help="scenario name (benchmarks/scenarios/*.yaml)")
    ld.add_argument("--users", type=int, help="virtual users (default: the scenario's)")
    ld.add_argument(
        "--duration", type=float, help="compress the phases to this many seconds in total"
    )
    where = ld.add_mutually_exclusive_group()
    where.add_argument("--commit", help="build and run this commit of the repository")
    where.add_argument("--checkout", help="a Collection Store tree with node_modules installed")
    ld.add_argument("--repo", help="repository for --commit (else $CSBENCH_REPO or config)")
    ld.add_argument("--seed", type=int, default=0)
    ld.add_argument("--search", action="store_true", help="then search max users within SLO")
    ld.add_argument("--probe-duration", type=float, default=10.0, help="seconds per probe")
    ld.add_argument("--probes", type=int, default=7, help="probe runs of the search at most")
    ld.add_argument("--scenarios", help="scenario directory (default: benchmarks/scenarios)")
    ld.add_argument("--json", action="store_true", help="print the report as JSON")
    ld.add_argument("--quiet", action="store_true", help="no progress line")
    ld.add_argument("--strict", action="store_true", help="exit 1 when a criterion fails")
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
    bld.add_argument("--limit", type=int, help="build at most this many new commits")
    bld.add_argument("--output", help="report file (default: results/build-report.jsonl)")
    cip = sub.add_parser("ci", help="guard a change: benchmark BASE and HEAD, judge regressions")
    cip.add_argument("base", help="base revision (e.g. the target branch)")
    cip.add_argument("head", help="head revision (the change)")
    cip.add_argument("--repo", help="repository (else $CSBENCH_REPO or the config file)")
    cip.add_argument("--machine", help="asv machine name (default: the host name)")
    cip.add_argument("--bench", action="append", default=[], help="asv --bench regex (repeat)")
    cip.add_argument("--thresholds", help="thresholds file (default: the machine's calibration)")
    cip.add_argument("--site-url", help="published site, for links in the summary")
    cip.add_argument("--output", help="also write the Markdown summary to this file")
    cal = sub.add_parser("calibrate", help="A/A runs: per-benchmark noise and thresholds")
    cal.add_argument("--commit", default="HEAD", help="the commit measured (default: HEAD)")
    cal.add_argument("--runs", type=int, default=3, help="A/A runs (default 3)")
    cal.add_argument("--repo", help="repository (else $CSBENCH_REPO or the config file)")
    cal.add_argument("--machine", help="asv machine name (default: the host name)")
    cal.add_argument("--bench", action="append", default=[], help="asv --bench regex (repeat)")
    cal.add_argument(
        "--output", help="thresholds file (default: benchmarks/thresholds/MACHINE.json)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args, rest = build_parser().parse_known_args(argv)
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
        "targets": _cmd_targets,
        "load": _cmd_load,
        "ci": _cmd_ci,
        "publish": _cmd_publish,
        "builds": _cmd_builds,
        "calibrate": _cmd_calibrate,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
