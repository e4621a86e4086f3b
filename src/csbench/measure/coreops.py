"""The core operations and their datasets (benchmarks/core.py; loaded by csbench.measure.sessions).

An op runs on a dataset loaded into the driver under a *handle*: the read-only ops share
one in-memory load per dataset, the ops that change the data get a collection each, and
persist / reload work on a file-backed database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from csbench.measure import datagen

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
# Datasets: (tier, documents). Labels are asv param values: never rename, only append.
DATASETS: dict[str, tuple[str, int]] = {
    "small-1000": ("small", 1_000),
    "small-10000": ("small", 10_000),
    "small-100000": ("small", 100_000),
    "medium-10000": ("medium", 10_000),
}
DATA_SEED = 0
INDEXES = datagen.STANDARD_INDEXES
FILE_OPS = frozenset({"persist", "reload"})  # need a file-backed database
# Ops that change the data get a collection of their own: at some commits a remove or an
# update of an indexed field corrupts non-unique indexes (a failed check for the next
# reader), and after any delete abortTransaction breaks the id generator.
MUTATING_OPS = frozenset({"insert", "update_by_id", "remove_by_id", "txn_commit"})

# One asv sample = one driver batch: up to BATCH_COUNT ops or BATCH_BUDGET_MS of busy time.
BATCH_COUNT = 1_000
BATCH_BUDGET_MS = 25.0


@dataclass(frozen=True)
class Load:
    """How ``op`` needs ``dataset`` loaded: under ``handle``, from ``path``, in ``storage``."""

    handle: str
    path: Path
    storage: str  # "memory" or "file"


def load_for(op: str, dataset: str) -> Load:
    """The load that ``op`` on ``dataset`` runs against (KeyError for an unknown dataset)."""
    tier, n = DATASETS[dataset]
    path = datagen.dataset_file(tier, n, seed=DATA_SEED)
    if op in FILE_OPS:
        return Load(f"{dataset}-file", path, "file")
    return Load(f"{dataset}-{op}" if op in MUTATING_OPS else dataset, path, "memory")
