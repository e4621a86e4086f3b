"""Run a load scenario on the Bun driver, profile it, and judge its success criteria.

Each run gets a fresh driver, so the process's peak RSS belongs to that run alone: the
dataset is loaded (profiler phase ``setup``), the driver builds each op's fixtures
(``prepare``), then the users run through ``ramp_up``, ``steady`` and ``ramp_down``
(src/csbench/driver/load.ts). The report's figures come from the steady phase: p95 per op
and per operation class (area), throughput of successful requests, error rate, CPU share
of the machine; memory is the driver's peak RSS over the whole run.

``duration`` compresses the scenario's phases to that many seconds in their proportions,
keeping users and think time (so the offered load is the scenario's): the plan's phases
last up to an hour, which asv cannot spend per commit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from csbench.load.scenarios import KNOWN_OPS, Scenario
from csbench.measure import datagen
from csbench.measure.bridge import Driver
from csbench.measure.errors import UsageError
from csbench.measure.histogram import Histogram
from csbench.measure.profile import Profiler, ProfileReport

PHASES = ("ramp_up", "steady", "ramp_down")
MIB = 1024 * 1024
DATA_SEED = 0
PROFILE_INTERVAL = 0.25  # seconds between profiler samples
DRAIN_SECONDS = 30.0  # requests still running this long after the last phase are "unfinished"
SEARCH_DRAIN_SECONDS = 5.0  # the same for the probes of a search (any unfinished one fails it)
PROGRESS_MS = 1000

# The memory a load needs at least (memory_estimate), so that a load larger than the machine
# is refused before it starts instead of ending in an out-of-memory kill. Deliberately low
# (60-70 % of the least that was measured) so that no load that fits is refused. Measured
# as the driver's peak RSS with
#   csbench load S --scenarios DIR --users N --duration D --json     (report.peak_rss_bytes)
# over closed-model scenarios S of one op each (think time 1 to 600 s), N from 1 to 300,000
# users and 1 to 100,000 documents per tier, on the npm Collection Store (core ops) and with
# --commit 2307c8d (subscribe). Fixtures of a fixed size, or too small to tell from the
# heap's slack, are not counted. The measured figures: docs/figures.md, "Memory of a load".
KIB = 1024
GIB = 1024 * MIB
BASE_RSS = 40 * MIB  # Bun, the driver and Collection Store before any data
DOCUMENT_RSS = {"small": 1 * KIB, "medium": 2 * KIB, "large": 12 * KIB}  # by tier
USER_RSS = 1 * KIB  # a virtual user, whatever its ops
FIXTURE_RSS_PER_USER = {("subscribe", "publish", "unsubscribe"): 2 * KIB}  # ops sharing one


class LoadTooLarge(UsageError):
    """A load whose memory estimate exceeds the machine's memory (nothing was started)."""


def memory_estimate(scenario: Scenario, users: int) -> int:
    """Bytes the driver needs at least to run ``scenario`` with ``users`` users: its base,
    the dataset, the users and their ops' per-user fixtures (see BASE_RSS)."""
    ops = {o.op for o in scenario.operations}
    per_user = USER_RSS + sum(b for names, b in FIXTURE_RSS_PER_USER.items() if ops & set(names))
    return BASE_RSS + scenario.documents * DOCUMENT_RSS[scenario.tier] + users * per_user


def check_memory(scenario: Scenario, users: int, *, why: str = "") -> int:
    """The estimate of ``scenario`` with ``users``; LoadTooLarge (one line, with the figure)
    when it exceeds this machine's memory. ``why`` follows the user count in the message."""
    need = memory_estimate(scenario, users)
    total = psutil.virtual_memory().total
    if need > total:
        raise LoadTooLarge(
            f"scenario {scenario.name!r} with {users:,} users{why} and {scenario.documents:,} "
            f"{scenario.tier} documents needs at least {need / GIB:,.1f} GiB of memory "
            f"(csbench's low estimate), more than this machine's {total / GIB:,.1f} GiB"
        )
    return need


def check_run_args(users: int, duration: float | None, drain: float) -> None:
    """ValueError unless users >= 1, duration (if given) is finite and > 0, drain >= 0."""
    if isinstance(users, bool) or not isinstance(users, int) or users < 1:
        raise ValueError(f"users must be an integer >= 1, got {users!r}")
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration must be a finite number of seconds > 0, got {duration!r}")
    if not (math.isfinite(drain) and drain >= 0):
        raise ValueError(f"drain must be a finite number of seconds >= 0, got {drain!r}")


@dataclass(frozen=True)
class OpReport:
    """One op (or operation class) in the steady phase; latencies in ms."""

    count: int
    errors: dict[str, int]
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    error_sample: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CriterionCheck:
    name: str  # e.g. "p95_ms", "p95_ms[login]", "min_throughput"
    measured: float | None
    bound: float
    direction: str  # "below" (measured <= bound passes) or "above"
    unit: str
    passed: bool


@dataclass
class LoadReport:
    scenario: str
    model: str
    users: int
    phases: dict[str, float]  # seconds as run (after compression)
    prepare_s: float
    wall_s: float
    requests: int  # issued in the steady phase
    throughput: float  # successful requests per second in the steady phase
    error_rate: float  # percent of the steady phase's requests ("unfinished" is an error kind)
    unfinished: int  # requests of any phase still running when the drain ended
    p95_ms: float | None  # every successful steady request
    ops: dict[str, OpReport]
    classes: dict[str, OpReport]  # by area: auth, core, realtime, files, computed, functions
    peak_rss_bytes: int
    baseline_rss_bytes: int  # peak RSS before the first user started (data + fixtures)
    cpu_machine_percent: float  # steady phase, of all logical CPUs
    cpu_core_percent: float  # steady phase, of one core
    criteria: list[CriterionCheck]
    profile: dict[str, Any]
    # the run's sampled CPU profile (``cpu_profile_us``: the driver's compact form), or None
    cpu_profile: dict[str, Any] | None = None

    @property
    def rss_per_1000_users(self) -> float:
        """Peak RSS in bytes per 1,000 users (the plan's memory target)."""
        return self.peak_rss_bytes * 1000.0 / self.users

    @property
    def marginal_rss_per_1000_users(self) -> float:
        """What the users added to the RSS, in bytes per 1,000 users."""
        return max(0, self.peak_rss_bytes - self.baseline_rss_bytes) * 1000.0 / self.users

    @property
    def time_per_op_s(self) -> float:
        """Inverse throughput: seconds per successful request (inf when none succeeded)."""
        return 1.0 / self.throughput if self.throughput > 0 else math.inf

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.criteria)

    def failed_criteria(self, exclude: tuple[str, ...] = ()) -> list[CriterionCheck]:
        return [c for c in self.criteria if not c.passed and c.name not in exclude]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(
            rss_per_1000_users=self.rss_per_1000_users,
            marginal_rss_per_1000_users=self.marginal_rss_per_1000_users,
            passed=self.passed,
        )
        return out


def scaled_phases(scenario: Scenario, duration: float | None) -> dict[str, float]:
    """The scenario's phases in seconds, compressed to ``duration`` in total if given."""
    phases = scenario.phases
    factor = 1.0 if duration is None else duration / phases.total
    return {p: getattr(phases, p) * factor for p in PHASES}


def _op_report(entries: list[dict[str, Any]]) -> OpReport:
    hist = Histogram()
    errors: dict[str, int] = {}
    samples: dict[str, str] = {}
    total_ms = 0.0
    for e in entries:
        hist.merge(Histogram.from_buckets(e["hist"]["buckets"]))
        total_ms += (e["mean_ms"] or 0.0) * e["count"]
        for kind, n in e["errors"].items():
            errors[kind] = errors.get(kind, 0) + n
        for kind, message in e.get("error_sample", {}).items():
            samples.setdefault(kind, message)
    n = hist.count
    pct = (lambda q: hist.percentile(q) / 1e6) if n else (lambda q: None)
    return OpReport(
        count=n,
        errors=errors,
        p50_ms=pct(50),
        p95_ms=pct(95),
        p99_ms=pct(99),
        mean_ms=total_ms / n if n else None,
        error_sample=samples,
    )


def _criteria(scenario: Scenario, report: LoadReport) -> list[CriterionCheck]:
    crit = scenario.criteria
    checks: list[CriterionCheck] = []

    def add(name: str, measured: float | None, bound: float, direction: str, unit: str) -> None:
        ok = measured is not None and (
            measured <= bound if direction == "below" else measured >= bound
        )
        checks.append(CriterionCheck(name, measured, bound, direction, unit, ok))

    add("p95_ms", report.p95_ms, crit.p95_ms, "below", "ms")
    for op in scenario.operations:
        if op.p95_ms is not None:
            measured = report.ops[op.op].p95_ms if op.op in report.ops else None
            add(f"p95_ms[{op.op}]", measured, op.p95_ms, "below", "ms")
    add("min_throughput", report.throughput, crit.min_throughput, "above", "ops/s")
    add("max_error_rate", report.error_rate, crit.max_error_rate, "below", "%")
    if crit.max_rss_mb_per_1000_users is not None:
        per_1000 = report.rss_per_1000_users / MIB
        add("max_rss_mb_per_1000_users", per_1000, crit.max_rss_mb_per_1000_users, "below", "MiB")
    if crit.max_cpu_percent is not None:
        add("max_cpu_percent", report.cpu_machine_percent, crit.max_cpu_percent, "below", "%")
    return checks


def _phase_stat(profile: ProfileReport, phase: str, attr: str) -> float:
    stats = profile.phases.get(phase)
    return float(getattr(stats, attr)) if stats else 0.0


def run_scenario(
    target: Path | str,
    scenario: Scenario,
    *,
    users: int | None = None,
    duration: float | None = None,
    seed: int = 0,
    drain: float = DRAIN_SECONDS,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    driver_factory: Callable[[Path], Driver] = Driver,
    cpu_profile_us: int | None = None,
) -> LoadReport:
    """Run ``scenario`` (with ``users`` instead of its own count, phases compressed to
    ``duration`` seconds) on a fresh driver for ``target`` and report it; requests still
    running ``drain`` seconds after the last phase count as unfinished. Raises
    bridge.Unsupported when the commit lacks an op of the scenario, ValueError for users < 1
    or a duration that is not a finite positive number, LoadTooLarge (before anything is
    written or started) when the load's memory estimate exceeds the machine's memory."""
    users = scenario.users if users is None else users
    check_run_args(users, duration, drain)
    check_memory(scenario, users)
    phases = scaled_phases(scenario, duration)
    path = datagen.dataset_file(scenario.tier, scenario.documents, seed=DATA_SEED)
    args = {
        "dataset": "load",
        "model": scenario.model,
        "users": users,
        "phases": phases,
        "operations": [{"op": o.op, "weight": o.weight} for o in scenario.operations],
        "seed": seed,
        "progress_ms": PROGRESS_MS,
        "drain_s": drain,
    }
    if cpu_profile_us is not None:  # the run under bun:jsc's sampler, every N µs
        args["profile"] = {"interval_us": cpu_profile_us}
    if scenario.model == "closed":
        args["think_time_ms"] = scenario.think_time_ms
    else:
        args["arrival_rate"] = scenario.arrival_rate
    driver = driver_factory(Path(target))
    try:
        profiler = Profiler(driver.pid, interval=PROFILE_INTERVAL)
        with profiler:
            profiler.set_phase("setup")
            driver.load("load", path, indexes=datagen.STANDARD_INDEXES)
            profiler.set_phase("prepare")

            def progress(p: dict[str, Any]) -> None:
                if p.get("phase") in PHASES:
                    profiler.set_phase(p["phase"])
                if on_progress is not None:
                    on_progress(p)

            started = time.monotonic()
            result = driver.request("load_run", args, on_progress=progress, expect=("phases",))
            wall = time.monotonic() - started
        profile = profiler.report()
    finally:
        driver.close()
    return _report(scenario, users, phases, result, profile, wall)


def _report(
    scenario: Scenario,
    users: int,
    phases: dict[str, float],
    result: dict[str, Any],
    profile: ProfileReport,
    wall: float,
) -> LoadReport:
    steady = next(p for p in result["phases"] if p["name"] == "steady")
    ops = {op: _op_report([e]) for op, e in steady["ops"].items()}
    by_class: dict[str, list[dict[str, Any]]] = {}
    for op, e in steady["ops"].items():
        by_class.setdefault(KNOWN_OPS.get(op, "other"), []).append(e)
    classes = {area: _op_report(entries) for area, entries in sorted(by_class.items())}
    overall = _op_report(list(steady["ops"].values()))
    for o in scenario.operations:  # an op with no request finished or failed still shows
        ops.setdefault(o.op, _op_report([]))
    failed = sum(sum(r.errors.values()) for r in ops.values())  # "unfinished" ones included
    requests = overall.count + failed
    steady_s = phases["steady"]
    prepare_peak = max(
        (profile.phases[p].peak_rss for p in ("setup", "prepare") if p in profile.phases), default=0
    )
    report = LoadReport(
        scenario=scenario.name,
        model=scenario.model,
        users=users,
        phases=phases,
        prepare_s=float(result.get("prepare_s", 0.0)),
        wall_s=wall,
        requests=requests,
        throughput=overall.count / steady_s,
        error_rate=100.0 * failed / requests if requests else 0.0,
        unfinished=int(result.get("unfinished", 0)),
        p95_ms=overall.p95_ms,
        ops=ops,
        classes=classes,
        peak_rss_bytes=profile.overall.peak_rss,
        baseline_rss_bytes=prepare_peak,
        cpu_machine_percent=_phase_stat(profile, "steady", "cpu_machine_mean"),
        cpu_core_percent=_phase_stat(profile, "steady", "cpu_core_mean"),
        criteria=[],
        profile={
            "python_cpu_percent": profile.python_cpu_percent,
            "sampler_cpu_percent": profile.sampler_cpu_percent,
            "samples": profile.overall.samples,
            "phases": {name: asdict(stats) for name, stats in profile.phases.items()},
        },
    )
    report.criteria = _criteria(scenario, report)
    report.cpu_profile = result.get("profile")
    return report
