"""``csbench bottlenecks``: for every target of the plan, where the time of its op goes at
one commit, from sampled CPU profiles (csbench.observe.cpuprofile), the failing targets
first.

A target names a track (e.g. ``auth.AuthLatency.track_p95`` for login); the op it measures
is profiled through the ``time_`` benchmark of the same op and params (the track class's
``paired_time``, csbench.observe.suite.time_case_of). The report gives, per target, its
verdict from the stored results (when the commit has them), the share of the op's CPU time
per package and its top functions.

A target of a load scenario has no single op: its scenario is run once, phases compressed
to LOAD_SECONDS, under the sampler, and per operation class (the area of each op) the
report gives its share of the run's CPU samples (csbench.observe.cpuprofile.by_frame: each
request runs in a frame named after its op; a continuation resumed after an await is split
as its function's framed samples were) and the requests it holds in flight in the steady
phase (Little's law: throughput x mean latency), the share of the queue.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from csbench.measure import atomic
from csbench.measure.bridge import DriverError
from csbench.observe import cpuprofile, suite, tables
from csbench.observe.results import PROFILES_DIR
from csbench.observe.targets import Target, Verdict

TOP_FUNCTIONS = 5
TOP_PACKAGES = 4
LOAD_OP_PREFIX = "load_op:"  # driver/load.ts names the frame each request of an op runs in


@dataclass(frozen=True)
class LoadClass:
    """One operation class of a profiled load run."""

    name: str
    cpu_share: float  # of the run's samples, framed and estimated (cpuprofile.by_frame)
    in_flight: float  # mean requests in flight in the steady phase (throughput x mean latency)
    throughput: float  # successful requests per second, steady phase
    p95_ms: float | None
    requests: int  # issued in the steady phase, failed ones included


@dataclass
class LoadRun:
    """A load scenario run under the sampler, per operation class."""

    scenario: str
    users: int
    seconds: float
    tree: Path
    profile: cpuprofile.Profile
    classes: list[LoadClass]  # the largest CPU share first
    ops: list[LoadClass]  # the same per op
    framed: float  # share of the samples attributed by their own frame
    unattributed: float  # share attributed to no class
    # the JavaScript (main) thread's share of the process's CPU time, steady phase: the
    # sampler sees only that thread (bcrypt's hashing, the collector run on others)
    js_thread_share: float | None = None
    cpu_machine_percent: float = 0.0  # the process's CPU, steady phase, of the machine

    def summary(self) -> dict[str, Any]:
        """What the report, the stored file and the site show of it (``load_table``)."""
        return {"scenario": self.scenario, "users": self.users, "seconds": self.seconds,
                "framed": self.framed, "unattributed": self.unattributed,
                "js_thread_share": self.js_thread_share,
                "cpu_machine_percent": self.cpu_machine_percent,
                "classes": [asdict(c) for c in self.classes],
                "ops": [asdict(c) for c in self.ops]}  # fmt: skip


@dataclass
class Bottleneck:
    """One target: its verdict (None without stored results), the ``time_`` case profiled
    and its profile, or why there is none."""

    target: Target
    verdict: Verdict | None
    case: str | None
    run: cpuprofile.ProfileRun | None = None
    reason: str = ""
    load: LoadRun | None = None

    @property
    def failing(self) -> bool:
        return self.verdict is not None and self.verdict.status == "fail"

    @property
    def profiled(self) -> tuple[cpuprofile.Profile, Path] | None:
        """The profile of the op, or of the load run, and its tree."""
        if self.run is not None:
            return self.run.profile, self.run.tree
        return (self.load.profile, self.load.tree) if self.load is not None else None

    def packages(self) -> dict[str, float]:
        return cpuprofile.by_origin(*self.profiled) if self.profiled else {}

    def functions(self) -> list[cpuprofile.FunctionShare]:
        return cpuprofile.shares(*self.profiled)[:TOP_FUNCTIONS] if self.profiled else []


def profile_targets(
    tree: Path,
    targets: list[Target],
    verdicts: dict[str, Verdict],
    seconds: float = 1.0,
    log: Callable[[str], None] = print,
) -> list[Bottleneck]:
    """Every target's op profiled on ``tree`` (each op once), failing targets first."""
    cases = suite.time_cases()
    runs: dict[str, cpuprofile.ProfileRun | str] = {}
    loads: dict[str, LoadRun | str] = {}
    out = []
    for target in targets:
        case = suite.time_case_of(target.display_name, cases)
        item = Bottleneck(target, verdicts.get(target.id), case.name if case else None)
        scenario = target.params.get("scenario") if target.benchmark.startswith("load.") else None
        if case is None and scenario is not None:
            if scenario not in loads:
                log(f"csbench bottlenecks: running load scenario {scenario} under the sampler")
                loads[scenario] = profile_load(tree, str(scenario))
            got_load = loads[scenario]
            if isinstance(got_load, str):
                item.reason = got_load
            else:
                item.load = got_load
        elif case is None:
            item.reason = "no single op measures it"
        else:
            if case.name not in runs:
                log(f"csbench bottlenecks: profiling {case.name}")
                try:
                    runs[case.name] = cpuprofile.measure(tree, case, seconds)
                except DriverError as exc:
                    runs[case.name] = f"not profiled: {str(exc).splitlines()[0]}"
            got = runs[case.name]
            if isinstance(got, str):
                item.reason = got
            else:
                item.run = got
        out.append(item)
    return sorted(out, key=lambda b: not b.failing)


LOAD_SECONDS = 20.0  # a load scenario's phases, compressed, when profiled
LOAD_INTERVAL_US = 500  # its sampling interval (a long run: fewer samples than an op's)


def profile_load(tree: Path, name: str, seconds: float = LOAD_SECONDS) -> LoadRun | str:
    """Scenario ``name`` of benchmarks/scenarios run on ``tree`` under the sampler, per
    operation class; or why it could not be."""
    from csbench.load.runner import LoadTooLarge, OpReport, run_scenario
    from csbench.load.scenarios import KNOWN_OPS, read_directory
    from csbench.measure.paths import project_root

    scenario = read_directory(project_root() / "benchmarks" / "scenarios").scenarios.get(name)
    if scenario is None:
        return f"not profiled: no valid scenario {name!r} in benchmarks/scenarios"
    try:
        report = run_scenario(tree, scenario, duration=seconds, cpu_profile_us=LOAD_INTERVAL_US)
    except (DriverError, LoadTooLarge) as exc:
        return f"not profiled: {str(exc).splitlines()[0]}"
    if report.cpu_profile is None:
        return "not profiled: the driver sent no profile"
    profile = cpuprofile.Profile.merge([report.cpu_profile], LOAD_INTERVAL_US)
    split = cpuprofile.by_frame(profile, LOAD_OP_PREFIX)
    steady = report.phases["steady"] or 1.0

    def row(name: str, r: OpReport, cpu: float) -> LoadClass:
        return LoadClass(name, cpu, r.count / steady * (r.mean_ms or 0.0) / 1e3,
                         r.count / steady, r.p95_ms, r.count + sum(r.errors.values()))  # fmt: skip

    ops = [row(op, r, split.share(op)) for op, r in report.ops.items()]
    per_class: dict[str, float] = {}
    for op in ops:
        area = KNOWN_OPS.get(op.name, "other")
        per_class[area] = per_class.get(area, 0.0) + op.cpu_share
    classes = [row(area, r, per_class.get(area, 0.0)) for area, r in report.classes.items()]
    n = split.samples or 1
    js_share = report.profile["phases"].get("steady", {}).get("main_thread_share")
    return LoadRun(
        name, report.users, seconds, tree, profile,
        sorted(classes, key=lambda c: -c.cpu_share), sorted(ops, key=lambda c: -c.cpu_share),
        sum(split.direct.values()) / n, split.unattributed / n, js_share,
        report.cpu_machine_percent,
    )  # fmt: skip


def _verdict_text(b: Bottleneck) -> str:
    v = b.verdict
    if v is None:
        return f"bound {b.target.bound_text}, no stored result"
    if v.value is None:
        return f"bound {b.target.bound_text}, {v.status} ({v.reason})"
    return f"{v.value:.4g} {b.target.unit}, bound {b.target.bound_text}: {v.status}"


def render(items: list[Bottleneck], commit: str, markdown: bool = False) -> str:
    """Per target: the verdict, the CPU time per package, the top functions."""
    title = f"Bottlenecks at {commit[:8]}: where each target's op spends its CPU time"
    out = [f"## {title}" if markdown else title]
    fmt: tables.Format = "markdown" if markdown else "text"
    shown: set[str] = set()  # what was rendered: several targets may read one op or load run
    for b in items:
        head = f"{b.target.id} ({_verdict_text(b)})"
        out += ["", f"### {head}" if markdown else head]
        if b.profiled is None:
            out.append(f"{b.case or b.target.benchmark}: {b.reason}")
            continue
        what = f"load scenario {b.load.scenario}" if b.load is not None else str(b.case)
        if what in shown:
            out.append(f"{what}: its profile is shown above")
            continue
        shown.add(what)
        packages = ", ".join(f"{k} {v:.0%}" for k, v in list(b.packages().items())[:TOP_PACKAGES])
        n = len(b.profiled[0].samples) or 1
        if b.load is not None:
            out += [load_lines(b.load.summary()), *([""] if markdown else [])]
            out.append(load_table(b.load.summary(), fmt))
            out.append(f"{n} samples; CPU time by package: {packages}")
        else:
            out.append(f"{b.case}: {n} samples; CPU time by package: {packages}")
        rows = [
            (f"{s.self_samples / n:.1%}", f"{s.total_samples / n:.1%}", s.function.label[:40],
             s.origin.package, s.where[-60:])
            for s in b.functions()
        ]  # fmt: skip
        if markdown:
            out.append("")
        header = ("self", "total", "function", "package", "file:line")
        align = ("right", "right", "left", "left", "left")
        out.append(tables.render(header, rows, fmt, align))
    return "\n".join(out)


def load_lines(load: dict[str, Any]) -> str:
    """What a load run (``LoadRun.summary``) was and how its CPU time is attributed."""
    js = load.get("js_thread_share")
    threads = (
        f"; the process used {load.get('cpu_machine_percent', 0):.0f} % of the machine, "
        f"{js:.0%} of it on the JavaScript thread, the one the sampler sees (the rest: other "
        "threads, e.g. bcrypt's hashing, the collector)"
        if js is not None
        else ""
    )
    return (
        f"load scenario {load['scenario']}: {load['users']} users, phases compressed to "
        f"{load['seconds']:g} s; per operation class its share of the run's CPU samples "
        f"({load['framed']:.0%} in a request's own frame, {load['unattributed']:.0%} in none, "
        "the rest split as their resumed function's framed samples were) and its requests "
        f"in flight in the steady phase (throughput x mean latency){threads}"
    )


def load_table(load: dict[str, Any], fmt: tables.Format = "text") -> str:
    classes = load["classes"]
    in_flight = sum(c["in_flight"] for c in classes) or 1.0
    rows = [
        (c["name"], f"{c['cpu_share']:.1%}", f"{c['in_flight']:.3g}",
         f"{c['in_flight'] / in_flight:.1%}", f"{c['throughput']:.4g}",
         "-" if c["p95_ms"] is None else f"{c['p95_ms']:.3g}")
        for c in classes
    ]  # fmt: skip
    header = ("class", "CPU", "in flight", "of the queue", "req/s", "p95 ms")
    return tables.render(header, rows, fmt, ("left", *["right"] * 5))


def to_json(items: list[Bottleneck], commit: str) -> str:
    return json.dumps({"commit": commit, "targets": _entries(items)}, indent=1)


def _entries(items: list[Bottleneck]) -> list[dict[str, Any]]:
    def one(b: Bottleneck) -> dict[str, Any]:
        n = len(b.profiled[0].samples) if b.profiled else 0
        return {
            "target": b.target.id,
            "status": b.verdict.status if b.verdict else None,
            "value": b.verdict.value if b.verdict else None,
            "bound": b.target.bound,
            "unit": b.target.unit,
            "case": b.case,
            "reason": b.reason,
            "load": b.load.summary() if b.load is not None else None,
            "samples": n,
            "by_package": b.packages(),
            "top": [
                {"function": s.function.label, "kind": s.origin.kind, "package": s.origin.package,
                 "file": s.origin.path, "line": s.line, "self": s.self_samples / n,
                 "total": s.total_samples / n}
                for s in b.functions()
            ],
        }  # fmt: skip

    return [one(b) for b in items]


def store(items: list[Bottleneck], commit: str, results_dir: Path, machine: str) -> Path:
    """The report and each profiled op's and load run's pruned profile (no path of this
    machine), into results/profiles/MACHINE/COMMIT.json, for the site."""
    ops = {}
    for b in items:
        if b.run is not None and b.case not in ops:
            count = sum(x.count for x in b.run.sampled) or 1
            ops[b.case] = {
                "cpu_per_op_ns": sum(x.cpu_ns for x in b.run.sampled) / count,
                "overhead": b.run.overhead_ratio,
                "profile": b.run.profile.pruned(b.run.tree),
            }
    loads = {
        b.load.scenario: {"profile": b.load.profile.pruned(b.load.tree)}
        for b in items
        if b.load is not None
    }
    derived = ("by_package", "top")  # the site derives them from the stored profile
    data = {
        "commit": commit,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "targets": [{k: v for k, v in e.items() if k not in derived} for e in _entries(items)],
        "ops": ops,
        "loads": loads,
    }
    return atomic.write_json(results_dir / PROFILES_DIR / machine / f"{commit}.json", data)


def stored(results_dir: Path) -> dict[str, dict[str, Any]]:
    """Per machine, its newest stored report (by the time it was made); a file that is not
    one is skipped with a line on stderr."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((results_dir / PROFILES_DIR).glob("*/*.json")):
        try:
            data = json.loads(path.read_text())
            key = (data["created"], data["commit"])
            if not isinstance(data["targets"], list) or not isinstance(data["ops"], dict):
                raise TypeError("targets or ops of the wrong type")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"csbench: {path}: not a stored profile report ({exc})", file=sys.stderr)
            continue
        machine = path.parent.name
        if machine not in out or key > (out[machine]["created"], out[machine]["commit"]):
            out[machine] = data
    return out
