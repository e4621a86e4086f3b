"""Load scenarios as asv benchmarks, generated from benchmarks/scenarios/*.yaml: a new
scenario file is a new param value, with no Python to write.

One ``setup_cache`` (shared by both classes) runs every scenario once on a fresh driver
with its own users and think time, its phases compressed to RUN_SECONDS (csbench.load.runner),
then searches the largest user count within the scenario's SLO with SEARCH_SECONDS probes.
A scenario whose ops the commit lacks is skipped (NaN); a driver crash, or a load larger
than the machine's memory (csbench.load.runner.check_memory), fails that scenario only.

The scenario files are read one by one: a malformed file fails only its own scenarios (the
names it still shows, else its stem, stay param values whose ``setup`` raises the file's
error naming the file and key), and the rest of the suite is discovered and run as before,
with the same params. ``csbench load SCENARIO`` runs one scenario outside asv with the same
code.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from csbench.load.runner import SEARCH_DRAIN_SECONDS, LoadTooLarge, check_memory, run_scenario
from csbench.load.scenarios import KNOWN_OPS, Scenario, ScenarioError, read_directory
from csbench.load.search import max_users_within_slo
from csbench.measure.bridge import DriverError, Unsupported
from csbench.measure.tree import target_root

Cache = dict[str, dict[str, Any]]

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
CATALOG = read_directory(SCENARIO_DIR)
SCENARIOS: dict[str, Scenario] = CATALOG.scenarios  # the valid ones, measured by setup_cache
# The param values: every scenario name of the files, a bad file's included, in file order;
# the directory's own name if it holds no scenario file (its setup raises the problem).
NAMES: list[str] = list(CATALOG.names) or [SCENARIO_DIR.name]
OP_CLASSES = sorted(set(KNOWN_OPS.values()))
RUN_SECONDS = 30.0  # each scenario's phases, compressed
SEARCH_SECONDS = 10.0  # each probe of the max-users search
SEARCH_PROBES = 7
SEARCH_START_FRACTION = 8  # the search starts at users / 8 and stops at 2 x users
SEARCH_LIMIT_FACTOR = 2


def measure(scenario: Scenario) -> dict[str, Any]:
    """The scenario's report and max-users search as plain data; never raises (a failed
    search keeps the report and records its own error). A load larger than the machine's
    memory is an error before anything starts."""
    limit = scenario.users * SEARCH_LIMIT_FACTOR
    try:
        check_memory(scenario, scenario.users)
        root = target_root()
        report = run_scenario(root, scenario, duration=RUN_SECONDS)
    except Unsupported as exc:
        return {"status": "unsupported", "message": str(exc)}
    except (DriverError, LoadTooLarge) as exc:
        return {"status": "error", "message": str(exc)}
    try:
        check_memory(scenario, limit, why=" (the max-users search's limit)")
        search: dict[str, Any] = max_users_within_slo(
            lambda n: run_scenario(
                root, scenario, users=n, duration=SEARCH_SECONDS, drain=SEARCH_DRAIN_SECONDS
            ),
            scenario,
            start=max(1, scenario.users // SEARCH_START_FRACTION),
            limit=limit,
            max_probes=SEARCH_PROBES,
        ).as_dict()
    except (DriverError, LoadTooLarge) as exc:
        search = {"error": str(exc)}
    return {"status": "ok", "report": report.as_dict(), "search": search}


def succeeded_p95(p95: float | None, ops: list[dict[str, Any]], what: str) -> float:
    """``p95`` (of the whole run or of a class); when no request succeeded in the steady
    phase, an error naming how the requests of ``ops`` (op reports) failed, not NaN, which
    asv stores as "skipped" and the targets read as the area missing at the commit."""
    if p95 is not None:
        return p95
    errors: dict[str, int] = {}
    for op in ops:
        for kind, n in op["errors"].items():
            errors[kind] = errors.get(kind, 0) + n
    if not errors:
        raise RuntimeError(f"{what}: no request in the steady phase")
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(errors.items(), key=lambda e: -e[1]))
    samples = [m for op in ops for m in op.get("error_sample", {}).values()]
    sample = samples[0].split("\n")[0][:200] if samples else ""
    raise RuntimeError(
        f"{what}: no request succeeded in the steady phase ({kinds})"
        + (f"; e.g. {sample}" if sample else "")
    )


class _LoadRuns:
    """Base whose ``setup_cache`` (one source location, so asv runs it once for both
    classes) measures every scenario."""

    timeout = 4 * 3600
    version = "load-1"

    def setup_cache(self) -> dict[str, dict[str, Any]]:
        return {name: measure(scenario) for name, scenario in SCENARIOS.items()}

    @staticmethod
    def report(cache: Cache, scenario: str) -> dict[str, Any]:
        """The scenario's report from the cache; a scenario of a bad file raises its error."""
        error = CATALOG.error_of(scenario) or CATALOG.problem
        if error:
            raise ScenarioError(error)
        entry = cache[scenario]
        if entry["status"] == "unsupported":
            raise NotImplementedError(entry["message"])
        if entry["status"] != "ok":
            raise RuntimeError(entry["message"])
        return entry["report"]


class LoadScenario(_LoadRuns):
    """Whole-scenario figures, steady phase (memory: the whole run).

    track_max_users is higher-is-better, unlike every other series: asv marks its drops as
    improvements; targets.yaml carries the direction.
    """

    params = [NAMES]
    param_names = ["scenario"]

    def setup(self, cache: Cache, scenario: str) -> None:
        self.report(cache, scenario)

    def track_p95(self, cache: Cache, scenario: str) -> float:
        report = self.report(cache, scenario)
        return succeeded_p95(report["p95_ms"], list(report["ops"].values()), f"scenario {scenario}")

    def track_time_per_op(self, cache: Cache, scenario: str) -> float:
        """Inverse throughput of successful requests, ms per request."""
        throughput = self.report(cache, scenario)["throughput"]
        return 1e3 / throughput if throughput > 0 else math.inf

    def track_error_rate(self, cache: Cache, scenario: str) -> float:
        return self.report(cache, scenario)["error_rate"]

    def track_peak_rss_per_1000_users(self, cache: Cache, scenario: str) -> float:
        return self.report(cache, scenario)["rss_per_1000_users"]

    def track_cpu_share(self, cache: Cache, scenario: str) -> float:
        """Mean CPU of the driver over the steady phase, percent of the whole machine."""
        return self.report(cache, scenario)["cpu_machine_percent"]

    def track_max_users(self, cache: Cache, scenario: str) -> float:
        self.report(cache, scenario)
        search = cache[scenario]["search"]
        if "error" in search:
            raise RuntimeError(search["error"])
        return float(search["max_users"])

    track_p95.unit = track_time_per_op.unit = "ms"  # type: ignore[attr-defined]
    track_error_rate.unit = track_cpu_share.unit = "%"  # type: ignore[attr-defined]
    track_peak_rss_per_1000_users.unit = "bytes"  # type: ignore[attr-defined]
    track_max_users.unit = "users"  # type: ignore[attr-defined]


class LoadLatency(_LoadRuns):
    """p95 in ms per operation class (the area of each op: auth, core, realtime, ...) in the
    steady phase; a class the scenario does not use is skipped."""

    params = [NAMES, OP_CLASSES]
    param_names = ["scenario", "op_class"]

    def setup(self, cache: Cache, scenario: str, op_class: str) -> None:
        if op_class not in self.report(cache, scenario)["classes"]:
            raise NotImplementedError(f"scenario {scenario} has no {op_class} operations")

    def track_p95(self, cache: Cache, scenario: str, op_class: str) -> float:
        entry = self.report(cache, scenario)["classes"][op_class]
        what = f"scenario {scenario}, {op_class} operations"
        return succeeded_p95(entry["p95_ms"], [entry], what)

    track_p95.unit = "ms"  # type: ignore[attr-defined]
