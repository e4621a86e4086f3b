"""The Bun driver against git checkouts of 2025 commits of the configured repository.

Skipped, with the reason, when no repository is configured (see csbench.commits.config).
"""

from __future__ import annotations

import pytest

from csbench.measure import datagen
from csbench.measure.bridge import CheckFailed, Driver

pytestmark = pytest.mark.integration

INDEXES = datagen.STANDARD_INDEXES
READ_OPS = ["find_by_id", "find_by_indexed", "find_range"]
WRITE_OPS = ["insert", "update_by_id", "remove_by_id", "txn_commit"]
ERAS = {"2307c8d": "core-2025", "f8a1929": "flat-2025", "16d6348": "flat-2025"}


def test_probe_finds_the_era_and_real_transactions(driver: Driver) -> None:
    probe = driver.probe()
    assert probe["era"] == ERAS[driver.commit]  # type: ignore[attr-defined]
    assert probe["capabilities"]["transactions"] is True
    assert {"noop", *READ_OPS, *WRITE_OPS, "persist", "reload"} <= set(probe["ops"])


def test_every_core_op_passes_its_checks(driver: Driver, tmp_path_factory) -> None:
    path = datagen.dataset_file("small", 1_000)
    driver.load("reads", path, indexes=INDEXES)
    for op in READ_OPS:
        assert driver.run(op, dataset="reads", count=100, seed=1).count == 100
    for op in WRITE_OPS:  # each on a collection of its own, as the benchmarks do
        driver.load(f"w-{op}", path, indexes=INDEXES)
        assert driver.run(op, dataset=f"w-{op}", count=50, seed=2).count == 50
    directory = tmp_path_factory.mktemp("db")
    driver.load("files", path, storage="file", directory=directory, indexes=INDEXES)
    assert driver.run("persist", dataset="files", count=3).count == 3
    assert driver.run("reload", dataset="files", count=3).count == 3


def test_index_corruption_after_remove_is_caught_at_head(driver: Driver) -> None:
    """2307c8d: removeWithId drops another document's entry from a non-unique index."""
    driver.load("shared", datagen.dataset_file("small", 1_000), indexes=INDEXES)
    driver.run("remove_by_id", dataset="shared", count=200, seed=3)
    if driver.commit == "2307c8d":  # type: ignore[attr-defined]
        with pytest.raises(CheckFailed, match="find_by_indexed"):
            driver.run("find_by_indexed", dataset="shared", count=200, seed=4)
    else:
        driver.run("find_by_indexed", dataset="shared", count=200, seed=4)
