"""Computed attributes of Collection Store (ComputedAttributeEngine + ComputedAttributeCache):
registering an attribute, computing one with the cache cold and warm, and an attribute that
depends on another. The attributes read a real CSDatabase: 4,000 orders of 100 users, a
user's {count, total} through the owner index (the driver builds it once per process).
"""

from __future__ import annotations

from typing import Any

from csbench.measure.bridge import Batch

from . import common

# asv param value -> driver op (driver/computed.ts)
DRIVER_OPS = {
    "register": "computed_register",
    "compute_cold": "computed_cold",
    "compute_cached": "computed_cached",
    "compute_dependent": "computed_dependent",
}
OPS = list(DRIVER_OPS)


class ComputedTime(common.BusyClockTime):
    """Time of one op inside Bun (busy clock), without the pipe round trip.

    ``compute_cold`` invalidates the target's cache entry untimed first; ``compute_cached``
    must be a cache hit (checked); ``compute_dependent`` computes an attribute whose
    function computes another, both cold. One asv sample is one driver batch.
    """

    params = (OPS,)
    param_names = ["op"]
    version = "computed-time-1"

    def setup(self, op: str) -> None:
        self.session = common.area_session(DRIVER_OPS[op])

    def time_op(self, op: str) -> Batch:
        return self.session.batch()


class ComputedLatency(common.LatencyTracks):
    """p50 / p95 / p99 latency of one op in µs, of every op of common.LATENCY_REPEATS batches."""

    params = (OPS,)
    param_names = ["op"]
    timeout = 600
    version = "computed-latency-2"
    paired_time = "computed.ComputedTime.time_op"

    def setup_cache(self) -> dict[str, dict[str, Any]]:
        return {
            op: common.latency_entry(lambda op=op: common.area_session(DRIVER_OPS[op]))
            for op in OPS
        }
