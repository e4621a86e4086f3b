"""The Bun driver against the real npm-published Collection Store (3.0.0-beta.23)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from csbench.measure import datagen
from csbench.measure.bridge import CheckFailed, Driver, Unsupported
from csbench.measure.histogram import Histogram

pytestmark = pytest.mark.integration

INDEXES = datagen.STANDARD_INDEXES
PASSING_AT_BETA23 = ["insert", "find_by_id", "find_by_indexed"]
# Real library bugs of 3.0.0-beta.23 with the b-pl-tree 1.3.x that npm resolves today:
# find({$gte, $lt}) returns every document, updateWithId drops the document from the id
# index, findById of a removed id throws. The driver must report them as failed checks.
FAILING_AT_BETA23 = ["find_range", "update_by_id", "remove_by_id"]
MEMORY_OPS = PASSING_AT_BETA23 + FAILING_AT_BETA23


@pytest.fixture(scope="module")
def driver(npm_target: Path):
    drv = Driver(npm_target)
    yield drv
    drv.close()


@pytest.fixture(scope="module")
def small(driver: Driver) -> str:
    driver.load("small", datagen.dataset_file("small", 1_000), indexes=INDEXES)
    return "small"


def test_probe_reports_the_package_era(driver: Driver, npm_target: Path) -> None:
    probe = driver.probe()
    assert probe["era"] == "package-root"
    assert probe["entry"] == "src/index.ts"  # relative to the target
    assert probe["package_version"] == "3.0.0-beta.23"
    assert probe["bun"] == "1.4.5"
    assert probe["capabilities"]["database"] is True
    assert probe["capabilities"]["transactions"] is False  # beta.23's are stubs
    assert set(MEMORY_OPS) <= set(probe["ops"])
    assert "txn_commit" not in probe["ops"]


def test_load_counts_every_document(driver: Driver, small: str) -> None:
    result = driver.load("small-again", datagen.dataset_file("small", 1_000), indexes=INDEXES)
    assert result["count"] == 1_000


@pytest.mark.parametrize("op", PASSING_AT_BETA23)
def test_core_op_runs_checked_batches(driver: Driver, small: str, op: str) -> None:
    before = driver.busy_ns
    batch = driver.run(op, dataset=small, count=200, seed=1)
    assert batch.count == 200
    assert batch.hist.count == 200
    assert batch.busy_ns > 0
    assert driver.busy_ns - before == batch.busy_ns
    assert batch.raw["min_ns"] <= batch.hist.percentile(50) <= batch.raw["max_ns"] * 1.02


@pytest.mark.parametrize("op", FAILING_AT_BETA23)
def test_library_bugs_of_beta23_are_failed_checks(driver: Driver, op: str) -> None:
    handle = f"bugs-{op}"
    driver.load(handle, datagen.dataset_file("small", 1_000), indexes=INDEXES)
    with pytest.raises(CheckFailed, match=op):
        driver.run(op, dataset=handle, count=50, seed=1)


def test_inserts_are_undone_outside_the_timed_region(driver: Driver) -> None:
    driver.load("grow", datagen.dataset_file("small", 1_000), indexes=INDEXES)
    driver.run("insert", dataset="grow", count=300, seed=2)
    # find_by_indexed checks each group's count against the driver's model of the data:
    # an insert left behind would fail it
    driver.run("find_by_indexed", dataset="grow", count=100, seed=3)


def test_budget_stops_a_batch_early(driver: Driver, small: str) -> None:
    budget_ns = 5e6
    batch = driver.run(
        "find_by_indexed", dataset=small, count=1_000_000, min_count=3, budget_ms=budget_ns / 1e6
    )
    # Stopped by the budget, not the count: past the budget by its last op at most, unless
    # the minimum count alone (run whatever the budget) went past it.
    assert 3 <= batch.count < 1_000_000
    assert batch.busy_ns >= budget_ns
    assert batch.count == 3 or batch.busy_ns <= budget_ns + batch.raw["max_ns"]


def test_unsupported_op_is_reported(driver: Driver, small: str) -> None:
    with pytest.raises(Unsupported):
        driver.run("txn_commit", dataset=small, count=1)


def test_driver_histogram_equals_python_histogram(driver: Driver) -> None:
    rng = np.random.default_rng(7)
    values = [int(v) for v in rng.lognormal(mean=9, sigma=2, size=5_000)] + [0, 1, 127, 128, 2**40]
    result = driver.request("hist_selftest", {"values": values})
    hist = Histogram()
    hist.record_many(values)
    assert result["buckets"] == hist.to_buckets()
    for q in (50, 95, 99):
        assert result[f"p{q}_ns"] == hist.percentile(q)


def test_busy_clock_counts_exactly_the_histogrammed_ops(driver: Driver) -> None:
    """core.Core.time_op's figure (busy clock / ops) is the mean of the per-op histogram:
    nothing else (pipe, checks, restores) is on the clock."""
    driver.load("small-10k", datagen.dataset_file("small", 10_000), indexes=INDEXES)
    for seed in range(3):
        batch = driver.run("find_by_id", dataset="small-10k", count=2_000, seed=seed)
        assert abs(batch.mean_ns - batch.hist.mean()) / batch.hist.mean() < 1 / 128
    start = time.perf_counter_ns()
    driver.run("find_by_id", dataset="small-10k", count=1, seed=9)
    roundtrip = time.perf_counter_ns() - start
    assert batch.mean_ns < roundtrip / 2, (batch.mean_ns, roundtrip)


def test_wrong_result_is_a_failed_check(tmp_path: Path, npm_target: Path) -> None:
    """A Collection Store whose findById returns nothing must fail, not look fast."""
    broken = tmp_path / "collection-store"
    broken.mkdir()
    for entry in npm_target.iterdir():
        if entry.name != "src":
            os.symlink(entry, broken / entry.name)
    os.symlink(npm_target.parent, tmp_path / "node_modules")  # the package's hoisted deps
    src = broken / "src"
    shutil.copytree(npm_target / "src", src)
    source = src / "async" / "collection.ts"
    anchor = "async findById(id: ValueType): Promise<T | undefined> {"
    text = source.read_text()
    assert anchor in text
    source.write_text(text.replace(anchor, anchor + "\n    return undefined"))
    drv = Driver(broken)
    try:
        drv.load("small", datagen.dataset_file("small", 1_000), indexes=INDEXES)
        with pytest.raises(CheckFailed, match="find_by_id"):
            drv.run("find_by_id", dataset="small", count=10)
    finally:
        drv.close()


def test_the_timed_cpu_clock_holds_the_timed_calls_not_the_batch(
    driver: Driver, small: str
) -> None:
    """insert restores the dataset after each op, untimed: the batch's CPU time holds the
    restores, the timed CPU time does not (both from the same process.cpuUsage); it is read
    only when asked for."""
    assert driver.run("insert", dataset=small, count=30, seed=3).timed_cpu_ns == 0  # off
    driver.timed_cpu = True
    try:
        batch = driver.run("insert", dataset=small, count=300, seed=4)
    finally:
        driver.timed_cpu = False
    assert 0 < batch.timed_cpu_ns < batch.cpu_ns, (batch.timed_cpu_ns, batch.cpu_ns)
