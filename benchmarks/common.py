"""Shared pieces of the benchmark modules: datasets, sessions on the driver
(csbench.measure.sessions), latency runs (csbench.measure.latency), the track helpers and
the base classes."""

from __future__ import annotations

import abc
import statistics
from typing import Any

from csbench.measure import coreops
from csbench.measure.bridge import op_clock
from csbench.measure.latency import (
    LATENCY_BUDGET_MS,
    LATENCY_COUNT,
    LATENCY_REPEATS,
    batch_entry,
    latency_entry,
)
from csbench.measure.sessions import Session, area_session, require_op, session

# The benchmark modules' imports (one path with csbench.guard.paired and observe.crosscheck).
__all__ = [
    "LATENCY_BUDGET_MS", "LATENCY_COUNT", "LATENCY_REPEATS", "Session", "area_session",
    "batch_entry", "latency_entry", "require_op", "session",
]  # fmt: skip

# Datasets, loads and batch sizes are csbench.measure.coreops's (shared with guard.paired).
DATASETS = coreops.DATASETS
BATCH_COUNT = coreops.BATCH_COUNT
BATCH_BUDGET_MS = coreops.BATCH_BUDGET_MS


def measure_latencies(ops: list[str], datasets: list[str]) -> dict[str, dict[str, Any]]:
    """Latency entries of every (op, dataset) pair, keyed ``op/dataset``."""
    return {
        f"{op}/{dataset}": latency_entry(lambda op=op, dataset=dataset: session(op, dataset))
        for dataset in datasets
        for op in ops
    }


def series_median(cache: dict[str, dict[str, Any]], key: str, series: str) -> float:
    """Median over repeats of one series of a ``batch_entry``; raises for a failed op."""
    entry = cache[key]
    if entry["status"] != "ok":
        raise RuntimeError(entry["message"])
    return statistics.median(entry[series])


def latency(cache: dict[str, dict[str, Any]], key: str, q: int) -> float:
    """The p``q`` in µs of every op of every batch; raises for a failed op."""
    return series_median(cache, key, f"all_p{q}")


def latency_spread(cache: dict[str, dict[str, Any]], key: str, q: int) -> float:
    """(largest - smallest batch p``q``) / the p``q`` of every op, in %; raises for a failed
    op (its own message)."""
    of_all = latency(cache, key, q)
    per_batch = cache[key][f"p{q}"]
    return (max(per_batch) - min(per_batch)) / of_all * 100.0


def latency_key(*params: Any) -> str:
    """The ``setup_cache`` key of one parameter combination of a ``LatencyTracks`` class."""
    return "/".join(str(p) for p in params) or "all"


def skip_if_unsupported(cache: dict[str, dict[str, Any]], key: str) -> None:
    entry = cache[key]
    if entry["status"] == "unsupported":
        raise NotImplementedError(entry["message"])


class BusyClockTime:
    """Base of the ``…Time`` classes: one asv sample is one driver batch timed on the busy
    clock (bridge.op_clock), so a figure is one op's mean time inside Bun.

    ``setup`` prepares sessions only through csbench.measure.sessions and every ``time_``
    method returns its batch (asv ignores it): csbench.guard.paired runs these classes
    on two drivers and judges them from those batches."""

    timer = staticmethod(op_clock)
    number = 1
    repeat = (4, 12, 4.0)
    warmup_time = 0.5
    rounds = 2
    timeout = 600


class LatencyTracks(abc.ABC):
    """Base of the ``…Latency`` classes: ``setup_cache`` returns ``latency_entry`` results
    keyed by ``latency_key(*params)``; the tracks report, in µs, the p50 / p95 / p99 of every
    op measured (LATENCY_REPEATS batches merged), and ``track_p95_spread`` how far the
    batches' own p95s lie apart, in % of it. (Versions ending ``-1`` reported the median
    over batches of each batch's percentile: 20-35 % below the p95 of all ops.)

    ``paired_time`` names the ``time_`` benchmark of the same op and params, where csbench
    triage measures a step of these tracks by paired A/B."""

    paired_time: str | None = None

    @abc.abstractmethod
    def setup_cache(self) -> dict[str, dict[str, Any]]: ...

    def setup(self, cache: dict[str, dict[str, Any]], *params: Any) -> None:
        skip_if_unsupported(cache, latency_key(*params))

    def track_p50(self, cache: dict[str, dict[str, Any]], *params: Any) -> float:
        return latency(cache, latency_key(*params), 50)

    def track_p95(self, cache: dict[str, dict[str, Any]], *params: Any) -> float:
        return latency(cache, latency_key(*params), 95)

    def track_p99(self, cache: dict[str, dict[str, Any]], *params: Any) -> float:
        return latency(cache, latency_key(*params), 99)

    def track_p95_spread(self, cache: dict[str, dict[str, Any]], *params: Any) -> float:
        return latency_spread(cache, latency_key(*params), 95)

    track_p50.unit = track_p95.unit = track_p99.unit = "us"  # type: ignore[attr-defined]
    track_p95_spread.unit = "%"  # type: ignore[attr-defined]
