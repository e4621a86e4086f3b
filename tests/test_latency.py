"""csbench.measure.latency and csbench.observe.crosscheck: the latency tracks' percentiles are
those of every op measured, and the driver's plain loop they are set beside."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from csbench.measure import sessions
from csbench.measure.bridge import Batch, Driver, DriverError
from csbench.measure.histogram import Histogram
from csbench.measure.latency import percentiles
from csbench.observe import crosscheck


def batch(values: list[int]) -> Batch:
    hist = Histogram()
    hist.record_many(values)
    return Batch("op", len(values), sum(values), hist, {})


def test_a_track_is_the_percentile_of_every_op_not_the_median_of_batch_percentiles() -> None:
    """Four quiet batches and one with a slow tail: the p95 of all ops sees the tail that
    the median of the five batch p95s hides."""
    quiet = [1_000] * 100
    slow = [1_000] * 70 + [50_000] * 30
    batches = [batch(quiet)] * 4 + [batch(slow)]
    out = percentiles(batches)
    everything = np.array(quiet * 4 + slow)
    assert out["all_p95"] == [
        pytest.approx(np.percentile(everything, 95, method="inverted_cdf") / 1e3, rel=0.01)
    ]
    assert out["all_p95"][0] > 10 * sorted(out["p95"])[2]  # the median batch p95
    assert len(out["p95"]) == 5 and out["all_p50"] == [pytest.approx(1.0, rel=0.01)]


def test_the_plain_loop_times_every_call_and_checks_it(npm_target: Path) -> None:
    drv = Driver(npm_target)
    try:
        with sessions.bound(drv), sessions.scratch_scope():
            session = sessions.session("find_by_id", "small-1000")
            suite = crosscheck.suite_figures(session)
            plain = crosscheck.plain_figures(session, [300, 200])
            assert plain.counts == [300, 200] and 0 < plain.p50 <= plain.p95 <= plain.p99
            assert suite.count > 0 and 0 < suite.p50 <= suite.p95 <= suite.p99
            args = {"dataset": session.handle, "op": "find_by_id", "count": 50, "seed": 3}
            one = drv.request("plain", args | {"samples": True})
            again = drv.request("plain", args)
            ns = sorted(one["samples_ns"])
            assert len(ns) == 50 and "samples_ns" not in again
            assert (one["p50_ns"], one["p95_ns"]) == (ns[24], ns[47])  # rank ⌈q/100·N⌉
            for args, says in (
                ({"op": "insert", "count": 5}, 'not "insert"'),
                ({"op": "find_by_id", "count": 0}, "at least 1"),
                ({"op": "find_by_id", "count": 5, "dataset": "nothing"}, "not loaded"),
            ):
                with pytest.raises(DriverError, match=says):
                    drv.request("plain", {"dataset": session.handle, "seed": 0, **args})
    finally:
        drv.close()


def test_crosscheck_measures_both_sides_in_each_round_and_names_a_failed_op(
    npm_target: Path,
) -> None:
    """find_range's check fails on the npm release (its find ignores the range): that op is
    a failure of its own, the others are measured."""
    checks = crosscheck.crosscheck(npm_target, runs=2, dataset="small-1000")
    by_op = {c.op: c for c in checks}
    for op in ("find_by_id", "find_by_indexed"):
        c = by_op[op]
        assert not c.error and len(c.suite) == len(c.plain) == 2, c
        # round 0 mirrors its suite's batches; round 1's plain loop (first) the previous ones
        assert c.plain[0].counts == c.suite[0].counts == c.plain[1].counts
        assert c.agrees == (
            abs(c.p50_ratio - 1) <= 0.05
            and c.p95_range[0] <= c.median("suite", "p95") <= c.p95_range[1]
        )
    assert "find_range" in by_op["find_range"].error and not by_op["find_range"].agrees
    assert "failed: " in crosscheck.render(checks)


def test_a_failed_ops_spread_track_raises_the_ops_own_error() -> None:
    """The spread track of an op that failed at a commit says why (the results keep it), not
    that an empty list has no maximum."""
    from benchmarks.common import LatencyTracks

    class Failed(LatencyTracks):
        def setup_cache(self) -> dict:
            return {}

    failed = {"a/b": {"status": "error", "message": "probe: export 'X' not found"}}
    ok = {"a/b": {"status": "ok", "all_p95": [10.0, 12.0], "p95": [9.0, 12.0, 13.0]}}
    with pytest.raises(RuntimeError, match="probe: export 'X' not found"):
        Failed().track_p95_spread(failed, "a", "b")
    assert Failed().track_p95_spread(ok, "a", "b") == pytest.approx((13.0 - 9.0) / 11.0 * 100)
