"""The harness floor: what the measurement path itself costs, published as its own series.

``Floor.time_noop`` times an empty awaited call inside Bun on the busy clock (the floor
under every core figure); ``Floor.track_roundtrip`` is the wall time of one request
through the pipe (Python → Bun → Python), which the busy-clock figures leave out.
"""

from __future__ import annotations

import statistics
import time

from csbench.measure.bridge import Batch

from . import common

ROUNDTRIPS = 2_000  # requests timed by track_roundtrip; it reports their median


class Floor(common.BusyClockTime):
    warmup_time = 0.2
    timeout = 60
    version = "harness-1"

    def setup(self) -> None:
        self.session = common.area_session("noop")

    def time_noop(self) -> Batch:
        return self.session.batch()

    def track_roundtrip(self) -> float:
        samples = []
        for _ in range(ROUNDTRIPS):
            start = time.perf_counter_ns()
            self.session.driver.run("noop", count=1)
            samples.append(time.perf_counter_ns() - start)
        return statistics.median(samples) / 1000.0

    track_roundtrip.unit = "us"  # type: ignore[attr-defined]


AGREEMENT_BATCHES = 9  # find_by_id batches compared by track_clock_vs_histogram


class ClockAgreement:
    """Self-check of the measurement model inside one process: the busy-clock figure that
    core.Core.time_op reports (a batch's mean op time) against the median of the same
    ops' latency histogram, for find_by_id at 10,000 documents. Tracked as
    |median of batch means / median of batch p50s - 1| in percent. Both leave the pipe
    round trip (harness.Floor.track_roundtrip) out: it is many times the op's own time
    and would swamp the comparison.
    """

    timeout = 300
    version = "harness-agreement-1"

    def setup(self) -> None:
        self.session = common.session("find_by_id", "small-10000")

    def track_clock_vs_histogram(self) -> float:
        self.session.batch(count=20_000, budget_ms=500.0)  # warm-up, as asv's warmup_time
        batches = [self.session.batch(seed=i) for i in range(AGREEMENT_BATCHES)]
        mean = statistics.median(b.mean_ns for b in batches)
        p50 = statistics.median(b.hist.percentile(50) for b in batches)
        return abs(mean / p50 - 1.0) * 100.0

    track_clock_vs_histogram.unit = "%"  # type: ignore[attr-defined]
