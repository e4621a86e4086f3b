"""Core database operations of Collection Store: CRUD, indexed and range queries,
persistence, transactions, at 1,000 / 10,000 / 100,000 small documents and 10,000 medium ones.
"""

from __future__ import annotations

from typing import Any

from csbench.bridge import op_clock

from . import common

OPS = [
    "insert",
    "find_by_id",
    "find_by_indexed",
    "find_range",
    "update_by_id",
    "remove_by_id",
    "persist",
    "reload",
    "txn_commit",
]
DATASETS = list(common.DATASETS)


class Core:
    """Time of one op inside Bun (busy clock), without the pipe round trip.

    One asv sample is one driver batch (up to common.BATCH_COUNT ops or
    common.BATCH_BUDGET_MS of busy time); the figure is the batch's mean op time.
    """

    params = (OPS, DATASETS)
    param_names = ["op", "dataset"]
    timer = staticmethod(op_clock)
    number = 1
    repeat = (4, 12, 4.0)
    warmup_time = 0.5
    rounds = 2
    timeout = 600
    version = "core-time-1"

    def setup(self, op: str, dataset: str) -> None:
        self.session = common.session(op, dataset)

    def time_op(self, op: str, dataset: str) -> None:
        self.session.batch()


class CoreLatency:
    """p50 / p95 / p99 latency of one op in µs, from the driver's per-op histogram.

    All (op, dataset) pairs run once in ``setup_cache``: common.LATENCY_REPEATS batches
    each, and a track reports the median over those batches of the batch's percentile.
    """

    params = (OPS, DATASETS)
    param_names = ["op", "dataset"]
    timeout = 1800
    version = "core-latency-1"

    def setup_cache(self) -> dict[str, dict[str, Any]]:
        return common.measure_latencies(OPS, DATASETS)

    def setup(self, cache: dict[str, dict[str, Any]], op: str, dataset: str) -> None:
        common.skip_if_unsupported(cache, f"{op}/{dataset}")

    def track_p50(self, cache: dict[str, dict[str, Any]], op: str, dataset: str) -> float:
        return common.latency(cache, f"{op}/{dataset}", 50)

    def track_p95(self, cache: dict[str, dict[str, Any]], op: str, dataset: str) -> float:
        return common.latency(cache, f"{op}/{dataset}", 95)

    def track_p99(self, cache: dict[str, dict[str, Any]], op: str, dataset: str) -> float:
        return common.latency(cache, f"{op}/{dataset}", 99)

    track_p50.unit = track_p95.unit = track_p99.unit = "us"  # type: ignore[attr-defined]
