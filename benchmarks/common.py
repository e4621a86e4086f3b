"""Shared pieces of the benchmark modules: datasets, sessions on the driver, latency runs."""

from __future__ import annotations

import abc
import atexit
import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from csbench.measure import coreops, procs
from csbench.measure.bridge import Batch, Driver, DriverError, Unsupported, get_driver, op_clock
from csbench.measure.paths import cache_dir
from csbench.measure.tree import target_root

# Datasets, loads and batch sizes are csbench.measure.coreops's (shared with guard.paired).
DATASETS = coreops.DATASETS
BATCH_COUNT = coreops.BATCH_COUNT
BATCH_BUDGET_MS = coreops.BATCH_BUDGET_MS

# Latency tracks: LATENCY_REPEATS batches of up to LATENCY_COUNT ops (or LATENCY_BUDGET_MS
# busy time) each; a track reports the median over the repeats of each batch's percentile.
LATENCY_REPEATS = 5
LATENCY_COUNT = 2_000
LATENCY_BUDGET_MS = 200.0

_scratch: list[str] = []


@atexit.register
def _remove_scratch() -> None:
    for path in _scratch:
        shutil.rmtree(path, ignore_errors=True)


def require_op(drv: Driver, op: str) -> None:
    """Raise NotImplementedError (asv: skipped) when the commit cannot run ``op``."""
    probe = drv.probe()
    if op not in probe.get("ops", []):
        raise NotImplementedError(f"{op} is not available at this commit (era {probe.get('era')})")


@dataclass
class Session:
    """A driver ready to run batches of one op (on a loaded dataset, or with params)."""

    driver: Driver
    op: str
    handle: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def batch(
        self, count: int = BATCH_COUNT, budget_ms: float | None = BATCH_BUDGET_MS, seed: int = 0
    ) -> Batch:
        return self.driver.run(
            self.op,
            dataset=self.handle,
            count=count,
            budget_ms=budget_ms,
            seed=seed,
            **self.params,
        )


def session(op: str, dataset: str) -> Session:
    """Start (or reuse) the driver, check ``op`` exists, load ``dataset`` the way ``op`` needs."""
    drv = get_driver(target_root())
    require_op(drv, op)
    load = coreops.load_for(op, dataset)
    if load.handle not in drv.datasets:
        directory = scratch_dir("db") if load.storage == "file" else None
        drv.load(
            load.handle, load.path, storage=load.storage, directory=directory,
            indexes=coreops.INDEXES,
        )  # fmt: skip
    return Session(drv, op, load.handle)


def area_session(op: str, **params: Any) -> Session:
    """Start (or reuse) the driver for an area op that builds its own fixture from ``params``."""
    drv = get_driver(target_root())
    require_op(drv, op)
    return Session(drv, op, None, params)


def scratch_dir(kind: str) -> str:
    """A fresh directory ``csbench-KIND-PID-XXXX`` under the cache, removed when the process
    exits (or by csbench.measure.procs.sweep once it is gone)."""
    root = cache_dir() / "scratch"
    root.mkdir(parents=True, exist_ok=True)
    path = str(procs.mkdtemp(kind, root))
    _scratch.append(path)
    return path


def batch_entry(
    make_session: Callable[[], Session],
    summarize: Callable[[list[Batch]], dict[str, list[float]]],
) -> dict[str, Any]:
    """For ``setup_cache``: LATENCY_REPEATS batches after one warm-up batch, summarized into
    named series (one value per batch).

    Never raises: an op the commit lacks is recorded as ``unsupported``, a failed check or
    a driver crash as ``error`` (with its message), so one op cannot fail the others.
    """
    try:
        sess = make_session()
        sess.batch(count=LATENCY_COUNT, budget_ms=LATENCY_BUDGET_MS, seed=99)  # warm-up
        batches = [
            sess.batch(count=LATENCY_COUNT, budget_ms=LATENCY_BUDGET_MS, seed=i)
            for i in range(LATENCY_REPEATS)
        ]
    except (NotImplementedError, Unsupported) as exc:
        return {"status": "unsupported", "message": str(exc)}
    except DriverError as exc:
        return {"status": "error", "message": str(exc)}
    return {"status": "ok", "count": [b.count for b in batches], **summarize(batches)}


def latency_entry(make_session: Callable[[], Session]) -> dict[str, Any]:
    """``batch_entry`` with each batch's p50 / p95 / p99 in µs (series ``p50``, ...)."""
    return batch_entry(
        make_session,
        lambda batches: {f"p{q}": [b.percentile_us(q) for b in batches] for q in (50, 95, 99)},
    )


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
    """Median over repeats of the batch p``q`` in µs; raises for a failed op."""
    return series_median(cache, key, f"p{q}")


def latency_key(*params: Any) -> str:
    """The ``setup_cache`` key of one parameter combination of a ``LatencyTracks`` class."""
    return "/".join(str(p) for p in params) or "all"


def skip_if_unsupported(cache: dict[str, dict[str, Any]], key: str) -> None:
    entry = cache[key]
    if entry["status"] == "unsupported":
        raise NotImplementedError(entry["message"])


class BusyClockTime:
    """Base of the ``…Time`` classes: one asv sample is one driver batch timed on the busy
    clock (bridge.op_clock), so a figure is one op's mean time inside Bun."""

    timer = staticmethod(op_clock)
    number = 1
    repeat = (4, 12, 4.0)
    warmup_time = 0.5
    rounds = 2
    timeout = 600


class LatencyTracks(abc.ABC):
    """Base of the ``…Latency`` classes: ``setup_cache`` returns ``latency_entry`` results
    keyed by ``latency_key(*params)``; the tracks report, in µs, the median over repeats of
    each batch's p50 / p95 / p99."""

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

    track_p50.unit = track_p95.unit = track_p99.unit = "us"  # type: ignore[attr-defined]
