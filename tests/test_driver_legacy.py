"""The Bun driver against the package-root commits of 2020-2023 and the first CSDatabase
commits of the configured repository: each era's collection API mapped (a constructed
collection before 2021-03, `Collection.create` after, a range query as a predicate where
find() has no operators, a bare collection where CSDatabase cannot open a new database),
the same checks; a library bug of the commit fails its check, it is not hidden.

Skipped, with the reason, when no repository is configured (see csbench.commits.config).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from csbench.measure import datagen
from csbench.measure.bridge import CheckFailed, Driver

pytestmark = pytest.mark.integration

INDEXES = datagen.STANDARD_INDEXES
MEMORY_OPS = ["insert", "find_by_id", "find_by_indexed", "find_range", "update_by_id"]
# commit -> (collection_create, query_operators, database) as the probe must find them
ERAS = {
    "f094780": (False, False, False),  # 2020-05: new Collection(config), sync, no operators
    "232c7125": (False, False, False),  # 2021-12 on master: the same API, async persist
    "a75fc79": (True, True, False),  # 2023-12: CSDatabase reads ROOT/index.json first
}


@pytest.fixture(scope="module", params=sorted(ERAS))
def driver(request: pytest.FixtureRequest, repo_checkout):
    drv = Driver(repo_checkout(request.param))
    drv.commit = request.param  # type: ignore[attr-defined]
    yield drv
    drv.close()


def test_the_probe_names_the_collection_api_of_the_commit(driver: Driver) -> None:
    caps = driver.probe()["capabilities"]
    found = (caps["collection_create"], caps["query_operators"], caps["database"])
    assert found == ERAS[driver.commit], caps  # type: ignore[attr-defined]


def test_the_core_ops_run_with_their_checks(driver: Driver, tmp_path: Path) -> None:
    path = datagen.dataset_file("small", 1_000)
    for op in MEMORY_OPS:  # each on a collection of its own, as the benchmarks do
        driver.load(f"m-{op}", path, indexes=INDEXES)
        if driver.commit == "a75fc79" and op in ("find_range", "update_by_id"):  # type: ignore[attr-defined]
            # its resolved b-pl-tree: two operators on one field match everything, and
            # an updated document is no longer found (COLLECTION_STORE.md)
            with pytest.raises(CheckFailed, match=op):
                driver.run(op, dataset=f"m-{op}", count=20, seed=1)
            continue
        assert driver.run(op, dataset=f"m-{op}", count=50, seed=1).count == 50
    if driver.commit == "a75fc79":  # type: ignore[attr-defined]
        return  # its persist fails on the same b-pl-tree (BPlusTree.serialize)
    driver.load("files", path, storage="file", directory=tmp_path / "db", indexes=INDEXES)
    assert driver.run("persist", dataset="files", count=3).count == 3
    assert driver.run("reload", dataset="files", count=3).count == 3


def test_a_remove_that_leaves_its_index_entry_fails_where_it_does(driver: Driver) -> None:
    """f094780's removeWithId of a document that was put back (a new id, past the list's
    first ids) leaves it in the uid index (fixed on 2020-06-16, "fix: clean indexes"):
    putting it back again fails its check. 500 removes of 1,000 documents pick a document
    put back before."""
    driver.load("removes", datagen.dataset_file("small", 1_000), indexes=INDEXES)
    if driver.commit == "f094780":  # type: ignore[attr-defined]
        with pytest.raises(CheckFailed, match="unique index uid already contains"):
            driver.run("remove_by_id", dataset="removes", count=500, seed=2)
    else:
        assert driver.run("remove_by_id", dataset="removes", count=500, seed=2).count == 500
