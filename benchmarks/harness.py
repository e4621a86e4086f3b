"""The harness floor: what the measurement path itself costs, published as its own series.

``Floor.time_noop`` times an empty awaited call inside Bun on the busy clock (the floor
under every core figure); ``Floor.track_roundtrip`` is the wall time of one request
through the pipe (Python → Bun → Python), which the busy-clock figures leave out.
"""

from __future__ import annotations

import statistics
import time

from csbench.bridge import get_driver, op_clock
from csbench.target import target_root

from . import common

ROUNDTRIPS = 2_000  # requests timed by track_roundtrip; it reports their median


class Floor:
    timer = staticmethod(op_clock)
    number = 1
    repeat = (4, 12, 4.0)
    warmup_time = 0.2
    rounds = 2
    version = "harness-1"

    def setup(self) -> None:
        self.driver = get_driver(target_root())
        common.require_op(self.driver, "noop")

    def time_noop(self) -> None:
        self.driver.run("noop", count=common.BATCH_COUNT, budget_ms=common.BATCH_BUDGET_MS)

    def track_roundtrip(self) -> float:
        samples = []
        for _ in range(ROUNDTRIPS):
            start = time.perf_counter_ns()
            self.driver.run("noop", count=1)
            samples.append(time.perf_counter_ns() - start)
        return statistics.median(samples) / 1000.0

    track_roundtrip.unit = "us"  # type: ignore[attr-defined]
