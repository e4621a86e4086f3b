"""Shared pieces of the benchmark modules: datasets, sessions on the driver, latency runs."""

from __future__ import annotations

import atexit
import shutil
import statistics
import tempfile
from dataclasses import dataclass
from typing import Any

from csbench import datagen
from csbench.bridge import Driver, DriverError, Unsupported, get_driver
from csbench.paths import cache_dir
from csbench.target import target_root

# Datasets: (tier, documents). Labels are asv param values: never rename, only append.
DATASETS: dict[str, tuple[str, int]] = {
    "small-1000": ("small", 1_000),
    "small-10000": ("small", 10_000),
    "small-100000": ("small", 100_000),
    "medium-10000": ("medium", 10_000),
}
DATA_SEED = 0
INDEXES: list[dict[str, Any]] = [
    {"name": "uid", "key": "uid", "unique": True},
    {"name": "group", "key": "group", "unique": False},
    {"name": "age", "key": "age", "unique": False},
]
FILE_OPS = frozenset({"persist", "reload"})  # need a file-backed database
# Ops that change the data get a collection of their own: at some commits a remove or an
# update of an indexed field corrupts non-unique indexes (a failed check for the next
# reader), and after any delete abortTransaction breaks the id generator.
MUTATING_OPS = frozenset({"insert", "update_by_id", "remove_by_id", "txn_commit"})

# One asv sample = one driver batch: up to BATCH_COUNT ops or BATCH_BUDGET_MS of busy time.
BATCH_COUNT = 1_000
BATCH_BUDGET_MS = 25.0
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
    """A driver with the dataset an op needs loaded, ready to run batches."""

    driver: Driver
    op: str
    handle: str

    def batch(
        self, count: int = BATCH_COUNT, budget_ms: float | None = BATCH_BUDGET_MS, seed: int = 0
    ):
        return self.driver.run(
            self.op, dataset=self.handle, count=count, budget_ms=budget_ms, seed=seed
        )


def session(op: str, dataset: str) -> Session:
    """Start (or reuse) the driver, check ``op`` exists, load ``dataset`` the way ``op`` needs."""
    drv = get_driver(target_root())
    require_op(drv, op)
    tier, n = DATASETS[dataset]
    path = datagen.dataset_file(tier, n, seed=DATA_SEED)
    handle = f"{dataset}-{op}" if op in MUTATING_OPS else dataset
    storage = "memory"
    if op in FILE_OPS:
        handle, storage = f"{dataset}-file", "file"
    if handle not in drv.datasets:
        directory = None
        if storage == "file":
            directory = tempfile.mkdtemp(prefix="csbench-db-", dir=_scratch_root())
            _scratch.append(directory)
        drv.load(handle, path, storage=storage, directory=directory, indexes=INDEXES)
    return Session(drv, op, handle)


def _scratch_root() -> str:
    root = cache_dir() / "scratch"
    root.mkdir(parents=True, exist_ok=True)
    return str(root)


def measure_latencies(ops: list[str], datasets: list[str]) -> dict[str, dict[str, Any]]:
    """For ``setup_cache``: per (op, dataset), the percentiles of LATENCY_REPEATS batches.

    Never raises for one op: an op the commit lacks is recorded as ``unsupported``, a
    failed check or a driver crash as ``error`` (with its message), and the rest go on.
    """
    out: dict[str, dict[str, Any]] = {}
    for dataset in datasets:
        for op in ops:
            key = f"{op}/{dataset}"
            try:
                sess = session(op, dataset)
                sess.batch(count=LATENCY_COUNT, budget_ms=LATENCY_BUDGET_MS, seed=99)  # warm-up
                batches = [
                    sess.batch(count=LATENCY_COUNT, budget_ms=LATENCY_BUDGET_MS, seed=i)
                    for i in range(LATENCY_REPEATS)
                ]
            except (NotImplementedError, Unsupported) as exc:
                out[key] = {"status": "unsupported", "message": str(exc)}
                continue
            except DriverError as exc:
                out[key] = {"status": "error", "message": str(exc)}
                continue
            out[key] = {
                "status": "ok",
                "count": [b.count for b in batches],
                **{f"p{q}": [b.percentile_us(q) for b in batches] for q in (50, 95, 99)},
            }
    return out


def latency(cache: dict[str, dict[str, Any]], op: str, dataset: str, q: int) -> float:
    """Median over repeats of the batch p``q`` in µs; raises for a failed op."""
    entry = cache[f"{op}/{dataset}"]
    if entry["status"] != "ok":
        raise RuntimeError(entry["message"])
    return statistics.median(entry[f"p{q}"])


def skip_if_unsupported(cache: dict[str, dict[str, Any]], op: str, dataset: str) -> None:
    entry = cache[f"{op}/{dataset}"]
    if entry["status"] == "unsupported":
        raise NotImplementedError(entry["message"])
