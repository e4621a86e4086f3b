"""How an op is prepared: the one path from a benchmark's ``setup`` to a driver ready to run
batches, shared by asv (benchmarks/) and by everything that runs a benchmark class itself
(csbench.guard.paired, csbench.observe.machine).

Under asv a session runs on the process's driver for the tree under test
(measure.tree.target_root). ``bound(driver)`` makes the sessions made inside it use
``driver`` instead, so the paired engine can set up the same benchmark class once on each
of two drivers; ``scratch_scope()`` removes the scratch directories made inside it.
"""

from __future__ import annotations

import atexit
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from csbench.measure import coreops, procs
from csbench.measure.bridge import Batch, Driver, get_driver
from csbench.measure.paths import cache_dir
from csbench.measure.tree import target_root

_bound: list[Driver] = []
_scratch: list[str] = []


@atexit.register
def _remove_scratch() -> None:
    for path in _scratch:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def bound(drv: Driver) -> Iterator[Driver]:
    """Sessions made inside use ``drv`` rather than the process's driver for the tree
    under test."""
    _bound.append(drv)
    try:
        yield drv
    finally:
        _bound.pop()


def driver() -> Driver:
    """The bound driver, else the process-wide driver of the tree under test (started on
    first use)."""
    return _bound[-1] if _bound else get_driver(target_root())


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
    min_count: int = 1  # a batch runs at least this many ops, whatever its budget

    def batch(
        self,
        count: int = coreops.BATCH_COUNT,
        budget_ms: float | None = coreops.BATCH_BUDGET_MS,
        seed: int = 0,
    ) -> Batch:
        return self.driver.run(
            self.op,
            dataset=self.handle,
            count=count,
            min_count=self.min_count,
            budget_ms=budget_ms,
            seed=seed,
            **self.params,
        )


def session(op: str, dataset: str) -> Session:
    """A core op on ``dataset``: the driver, ``op`` checked to exist, ``dataset`` loaded the
    way ``op`` needs (once per driver and load)."""
    drv = driver()
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
    """An area op that builds its own fixture from ``params``: the driver, ``op`` checked."""
    drv = driver()
    require_op(drv, op)
    return Session(drv, op, None, params)


def scratch_dir(kind: str) -> str:
    """A fresh directory ``csbench-KIND-PID-XXXX`` under the cache, removed when the process
    exits or its ``scratch_scope`` ends (or by csbench.measure.procs.sweep once the process
    is gone)."""
    root = cache_dir() / "scratch"
    root.mkdir(parents=True, exist_ok=True)
    path = str(procs.mkdtemp(kind, root))
    _scratch.append(path)
    return path


@contextmanager
def scratch_scope() -> Iterator[None]:
    """Remove, on leaving, every scratch directory made inside."""
    start = len(_scratch)
    try:
        yield
    finally:
        made, _scratch[start:] = _scratch[start:], []
        for path in made:
            shutil.rmtree(path, ignore_errors=True)
