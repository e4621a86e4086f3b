"""The load engine (driver/load.ts + csbench.load.runner) against the npm-published Collection
Store: closed and open models, phase timing, error counting, the profiler's figures, the
criteria, and `csbench load`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import scenario

from csbench.load.runner import LoadReport, run_scenario
from csbench.load.search import max_users_within_slo
from csbench.measure.bridge import Unsupported


def steady_count(report: LoadReport) -> int:
    return sum(r.count for r in report.ops.values())


def serial_capacity(tmp_path: Path, target: Path, op: str, steady: float = 1.0) -> float:
    """Requests per second one user without think time gets through on this host, now: the
    yardstick for the open model's rates, so that no test races a fixed rate."""
    sc = scenario(
        tmp_path,
        name=f"serial-{op}",
        users=1,
        think_time_ms=0,
        operations=[{"op": op, "weight": 100}],
        phases={"ramp_up": 0, "steady": steady, "ramp_down": 0},
    )
    capacity = run_scenario(target, sc).throughput
    assert capacity > 0
    return capacity


def assert_poisson_count(count: int, expected: float) -> None:
    """``count`` arrivals of a Poisson process expected to give ``expected``: within 5
    standard deviations (sqrt(expected))."""
    assert abs(count - expected) < 5 * expected**0.5 + 1, (count, expected)


def assert_lasts_its_phases(report: LoadReport, think_ms: float) -> None:
    """A closed run ends when its last user leaves: at the end of ramp-down less one user's
    share of it, or up to 1.5 think times sooner (a user whose next request would start past
    its leaving time leaves at once). Above, the measured fixture preparation, then the
    phases and a quarter of them for timers firing late and the pipe: a run that overshot
    its phases or waited out its drain (seconds) takes longer, on any host."""
    total = sum(report.phases.values())
    earliest = total - report.phases["ramp_down"] / report.users - 1.5 * think_ms / 1000
    assert earliest < report.wall_s < report.prepare_s + 1.25 * total, (
        report.wall_s,
        report.prepare_s,
        report.phases,
    )


def test_closed_model_runs_users_with_think_time(tmp_path: Path, npm_target: Path) -> None:
    events: list[dict[str, Any]] = []
    users, think_ms = 20, 50
    sc = scenario(tmp_path, users=users, think_time_ms=think_ms)
    report = run_scenario(npm_target, sc, on_progress=events.append)
    assert report.error_rate == 0 and report.unfinished == 0
    find = report.ops["find"]
    assert find.count == steady_count(report) > 0
    # Finds far faster than the think time (which the model below assumes).
    assert 0 < find.p50_ms <= find.p95_ms <= find.p99_ms < think_ms
    assert report.classes["core"].count == find.count
    # The closed model: each user cycles through a request and a think, so throughput is
    # users / (mean think + mean latency). Above: the count's noise over the steady phase
    # (about one request per user at its edges); below: think timers that fire late on a busy
    # host. Think time ignored, doubled or half the users missing all fall outside.
    model = users / (think_ms / 1000 + find.mean_ms / 1000)
    assert 0.75 * model < report.throughput < 1.1 * model, (report.throughput, model)
    # Phase timing: the run lasts its phases, progress walks through them in order.
    assert_lasts_its_phases(report, think_ms)
    phases = [e["phase"] for e in events]
    assert phases[0] == "ramp_up" and "steady" in phases
    assert phases.index("steady") > 0 and phases[-1] in ("ramp_down", "drain")
    first_steady = next(e for e in events if e["phase"] == "steady")
    assert first_steady["t_s"] >= 0.5
    assert max(e["active_users"] for e in events) == 20
    # Profiler: a real process with memory, a busy steady phase, every criterion judged.
    assert report.peak_rss_bytes >= report.baseline_rss_bytes > 20 * 2**20
    assert report.cpu_machine_percent > 0
    names = [c.name for c in report.criteria]
    assert names == [
        "p95_ms",
        "p95_ms[find]",
        "min_throughput",
        "max_error_rate",
        "max_rss_mb_per_1000_users",
        "max_cpu_percent",
    ]
    assert report.passed


def test_closed_model_ramps_users_up_and_down(tmp_path: Path, npm_target: Path) -> None:
    """Users start evenly over ramp-up and leave evenly over ramp-down: each progress report
    in a ramp counts the users the schedule gives at its own time (users x the fraction of
    the ramp); a user may leave up to 1.5 think times early (see assert_lasts_its_phases).
    The tolerance, a tenth of the users (a tenth of a ramp), is for user timers that fire
    late; a ramp that did not happen (all or none of the users) is far outside it."""
    n, think_s, ramp, steady = 40, 0.1, 2.0, 1.0
    sc = scenario(
        tmp_path,
        users=n,
        think_time_ms=think_s * 1000,
        phases={"ramp_up": ramp, "steady": steady, "ramp_down": ramp},
    )
    events: list[dict[str, Any]] = []
    run_scenario(npm_target, sc, on_progress=events.append)
    tolerance = n / 10
    end = ramp + steady + ramp
    up = [(e["t_s"], e["active_users"]) for e in events if 0 < e["t_s"] < ramp]
    down = [(e["t_s"], e["active_users"]) for e in events if ramp + steady < e["t_s"] < end]
    # Progress comes every second, so each ramp's middle half has a report.
    for reports, (lo, hi) in ((up, (0, ramp)), (down, (ramp + steady, end))):
        assert any(lo + ramp / 4 < t < hi - ramp / 4 for t, _ in reports), (lo, hi, events)
    for t, active in up:
        assert abs(active - n * t / ramp) <= tolerance, (t, active)
    for t, active in down:
        scheduled = n * (end - t) / ramp
        early = n * 1.5 * think_s / ramp
        assert scheduled - early - tolerance <= active <= scheduled + tolerance, (t, active)


def test_open_model_arrivals_follow_the_rate(tmp_path: Path, npm_target: Path) -> None:
    """Poisson arrivals at a tenth of what one user serves, served by up to 50 users: every
    arrival of the steady phase is served, and their count is the rate's."""
    rate = round(serial_capacity(tmp_path, npm_target, "find") / 10)
    steady = 2.0
    sc = scenario(
        tmp_path,
        model="open",
        think_time_ms=None,
        arrival_rate=rate,
        users=50,
        phases={"ramp_up": 0, "steady": steady, "ramp_down": 0},
    )
    assert sc.arrival_rate == rate
    report = run_scenario(npm_target, sc)
    assert report.error_rate == 0
    assert_poisson_count(steady_count(report), rate * steady)


def test_open_model_counts_latency_from_the_intended_start(
    tmp_path: Path, npm_target: Path
) -> None:
    """One user serving arrivals at 5x its measured capacity: the queue wait is latency, so
    the median is far above that of arrivals at 0.2x capacity (coordinated omission would
    report the same service time for both). 5x, as the open model serves its queue without
    the closed model's pause between requests, faster than the capacity measured; the
    median, as a host that stalls the driver for a time slice can put the under-loaded
    run's p95 there."""
    ops = [{"op": "insert", "weight": 100}]
    phases = {"ramp_up": 0, "steady": 1, "ramp_down": 0}
    capacity = serial_capacity(tmp_path, npm_target, "insert")

    def open_at(rate: float) -> LoadReport:
        sc = scenario(
            tmp_path,
            name=f"open-{round(rate)}",
            model="open",
            think_time_ms=None,
            arrival_rate=round(rate),
            users=1,
            operations=ops,
            phases=phases,
        )
        return run_scenario(npm_target, sc)

    under, over = open_at(0.2 * capacity), open_at(5 * capacity)
    assert under.error_rate == over.error_rate == 0
    assert_poisson_count(under.requests, round(0.2 * capacity) * phases["steady"])
    assert_poisson_count(over.requests, round(5 * capacity) * phases["steady"])
    assert over.ops["insert"].p50_ms > 20 * under.ops["insert"].p50_ms, (over.ops, under.ops)


def test_failed_requests_are_counted_by_kind(tmp_path: Path, npm_target: Path) -> None:
    """At beta.23 a range query after inserts returns documents outside the range (a library
    bug): each such request is a "check" error, and the criteria see the error rate."""
    sc = scenario(
        tmp_path,
        operations=[{"op": "insert", "weight": 50}, {"op": "range_query", "weight": 50}],
    )
    report = run_scenario(npm_target, sc)
    range_query = report.ops["range_query"]
    assert range_query.errors.get("check", 0) > 0
    assert "range_query" in range_query.error_sample["check"]
    assert report.ops["insert"].errors == {}
    failed = sum(sum(r.errors.values()) for r in report.ops.values())
    assert report.requests == steady_count(report) + failed
    assert report.error_rate == pytest.approx(100 * failed / report.requests)
    verdict = {c.name: c.passed for c in report.criteria}
    assert verdict["max_error_rate"] is False and not report.passed


def test_scenario_with_ops_the_commit_lacks_is_unsupported(
    tmp_path: Path, npm_target: Path
) -> None:
    sc = scenario(tmp_path, operations=[{"op": "login", "weight": 100}])
    with pytest.raises(Unsupported, match="login"):
        run_scenario(npm_target, sc)


def test_users_override_and_compressed_phases(tmp_path: Path, npm_target: Path) -> None:
    sc = scenario(tmp_path, phases={"ramp_up": 10, "steady": 40, "ramp_down": 10})
    report = run_scenario(npm_target, sc, users=5, duration=1.2)
    assert report.users == 5
    assert report.phases == pytest.approx({"ramp_up": 0.2, "steady": 0.8, "ramp_down": 0.2})
    assert_lasts_its_phases(report, sc.think_time_ms or 0)


def test_cli_load_prints_json_and_refuses_bad_files(tmp_path: Path, npm_target: Path) -> None:
    scenario(tmp_path, users=5)
    cmd = [sys.executable, "-m", "csbench.cli", "load", "tiny", "--scenarios", str(tmp_path)]
    out = subprocess.run([*cmd, "--json", "--duration", "1"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["report"]["users"] == 5 and data["report"]["ops"]["find"]["count"] > 0
    assert "steady" in out.stderr  # the progress lines
    (tmp_path / "bad.yaml").write_text("scenarios:\n  - name: bad\n    model: closed\n")
    out = subprocess.run([*cmd[:4], "bad", *cmd[5:]], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "bad.yaml" in out.stderr and "'bad'" in out.stderr


def test_max_users_search_on_the_real_engine(tmp_path: Path, npm_target: Path) -> None:
    """Every probe passes, so the search doubles up to its limit and says it was capped."""
    sc = scenario(tmp_path, phases={"ramp_up": 0.2, "steady": 0.6, "ramp_down": 0.2})
    result = max_users_within_slo(
        lambda n: run_scenario(npm_target, sc, users=n), sc, start=5, limit=20, max_probes=4
    )
    assert [p.users for p in result.probes] == [5, 10, 20]
    assert all(p.passed for p in result.probes) and result.max_users == 20 and result.capped


def test_requests_left_after_the_drain_are_unfinished_errors(
    tmp_path: Path, npm_target: Path
) -> None:
    """Arrivals at 20x one user's measured capacity, and almost no drain: what is still
    queued or running when the drain ends counts as "unfinished" in its op and phase. The
    backlog at the end of the steady phase needs seconds to serve on any host, the drain is
    50 ms."""
    capacity = serial_capacity(tmp_path, npm_target, "insert", steady=0.5)
    sc = scenario(
        tmp_path,
        model="open",
        think_time_ms=None,
        arrival_rate=round(20 * capacity),
        users=1,
        operations=[{"op": "insert", "weight": 100}],
        phases={"ramp_up": 0, "steady": 0.5, "ramp_down": 0},
    )
    report = run_scenario(npm_target, sc, drain=0.05)
    insert = report.ops["insert"]
    assert report.unfinished > 0 and insert.errors == {"unfinished": report.unfinished}
    assert report.requests == insert.count + report.unfinished
    assert report.error_rate == pytest.approx(100 * report.unfinished / report.requests)
