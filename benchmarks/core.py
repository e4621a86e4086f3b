"""Core database operations of Collection Store: CRUD, indexed and range queries,
persistence, transactions, at 1,000 / 10,000 / 100,000 small documents and 10,000 medium ones.
"""

from __future__ import annotations

from typing import Any

from csbench.measure import coreops
from csbench.measure.bridge import Batch

from . import common

OPS = coreops.OPS
DATASETS = list(common.DATASETS)


class Core(common.BusyClockTime):
    """Time of one op inside Bun (busy clock), without the pipe round trip.

    One asv sample is one driver batch (up to common.BATCH_COUNT ops or
    common.BATCH_BUDGET_MS of busy time); the figure is the batch's mean op time.
    """

    params = (OPS, DATASETS)
    param_names = ["op", "dataset"]
    version = "core-time-1"

    def setup(self, op: str, dataset: str) -> None:
        self.session = common.session(op, dataset)

    def time_op(self, op: str, dataset: str) -> Batch:
        return self.session.batch()


class CoreLatency(common.LatencyTracks):
    """p50 / p95 / p99 latency of one op in µs, from the driver's per-op histogram.

    All (op, dataset) pairs run once in ``setup_cache``: common.LATENCY_REPEATS batches
    each, and a track reports the percentile of every op of those batches.
    """

    params = (OPS, DATASETS)
    param_names = ["op", "dataset"]
    timeout = 1800
    version = "core-latency-2"
    paired_time = "core.Core.time_op"  # csbench triage measures a step of these tracks there

    def setup_cache(self) -> dict[str, dict[str, Any]]:
        return common.measure_latencies(OPS, DATASETS)
