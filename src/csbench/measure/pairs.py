"""Pairs: one op of two Collection Store trees, measured side by side in time (the engine of
csbench.guard.paired, and of whatever else asv's environment runs paired).

Where other tenants share the host's last-level cache, a Bun process's op time shifts
between levels in stretches of several batches, in CPU time as much as in wall time,
following the memory latency they leave (`csbench machine` shows it); separate processes
meet different stretches. A *pair* is two drivers alive at once, one per tree, pinned to
the same CPU (where they shift together); for each case in turn, each side sets up the
benchmark class as asv does (its ``setup``, csbench.measure.sessions bound to that side's
driver), and after a warm-up each round runs one batch on each side, back to back (A B,
then B A): the ``time_`` method returns its batch. A pair's ratio is the median over rounds
of head / base batch CPU time per op (or busy time).
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from csbench.measure import sessions
from csbench.measure.bridge import Batch, Driver, DriverError, Unsupported

# Before the measured rounds each side runs this much busy time (at least WARMUP_ROUNDS,
# at most MAX_WARMUP_ROUNDS rounds): a fresh driver's op time falls while Bun's JIT tiers
# up, and the rounds must compare warm code with warm code (the fall this covers, as
# measured: docs/figures.md, "Warm-up of a fresh driver").
WARMUP_S = 0.6
WARMUP_ROUNDS = 2
MAX_WARMUP_ROUNDS = 60


@dataclass(frozen=True)
class Case:
    """One parameter combination of one ``time_`` benchmark."""

    name: str  # asv's display name, e.g. "core.Core.time_op('find_by_id', 'small-1000')"
    benchmark: str  # without the params: "core.Core.time_op"
    params: tuple[Any, ...] = field(compare=False)
    cls: type = field(compare=False)

    @property
    def method(self) -> str:
        return self.benchmark.rsplit(".", 1)[1]

    @property
    def area(self) -> str:
        return self.benchmark.split(".", 1)[0]

    def instance(self) -> Any:
        """A new instance of the benchmark class, set up as asv does (on the bound driver):
        Unsupported when the commit lacks the op (asv: skipped)."""
        bench = self.cls()
        setup = getattr(bench, "setup", None)
        try:
            if setup is not None:
                setup(*self.params)
        except NotImplementedError as exc:
            raise Unsupported(str(exc)) from exc
        except DriverError:
            raise
        except Exception as exc:  # asv: the benchmark failed
            raise DriverError(f"{self.name}: setup failed: {exc!r}") from exc
        return bench

    def batch(self, bench: Any) -> Batch:
        """One asv sample of this case: the ``time_`` method's batch (DriverError if it
        returns anything else)."""
        try:
            batch = getattr(bench, self.method)(*self.params)
        except DriverError:
            raise
        except Exception as exc:  # asv: the benchmark failed
            raise DriverError(f"{self.name}: {exc!r}") from exc
        if not isinstance(batch, Batch):
            raise DriverError(f"{self.benchmark} returned {type(batch).__name__}, not its Batch")
        return batch


class SideError(RuntimeError):
    """A pair failed: ``side`` is "base", "head" or "both" (the other side is always tried),
    ``unsupported`` when every failure is an op the commit lacks."""

    def __init__(self, errors: dict[str, DriverError]) -> None:
        self.errors = errors
        self.unsupported = all(isinstance(e, Unsupported) for e in errors.values())
        hard = [s for s, e in errors.items() if self.unsupported or not isinstance(e, Unsupported)]
        self.side = hard[0] if len(hard) == 1 else "both"
        super().__init__("\n".join(f"{side}: {exc}" for side, exc in errors.items()))


@dataclass
class PairRun:
    """One pair: per round, the base and head batch means (ns per op) on each clock: "busy"
    (wall time of the timed calls), "cpu" (CPU time during them) and "batch-cpu" (CPU time
    of the whole batch, untimed preparation and checks included)."""

    base_ns: list[float] = field(default_factory=list)
    head_ns: list[float] = field(default_factory=list)
    base_cpu_ns: list[float] = field(default_factory=list)
    head_cpu_ns: list[float] = field(default_factory=list)
    base_batch_cpu_ns: list[float] = field(default_factory=list)
    head_batch_cpu_ns: list[float] = field(default_factory=list)

    def values(self, side: str, clock: str) -> list[float]:
        base = side == "base"
        if clock == "cpu":
            return self.base_cpu_ns if base else self.head_cpu_ns
        if clock == "batch-cpu":
            return self.base_batch_cpu_ns if base else self.head_batch_cpu_ns
        return self.base_ns if base else self.head_ns

    def ratio(self, clock: str) -> float:
        """Median over rounds of head / base."""
        pairs = zip(self.values("base", clock), self.values("head", clock), strict=True)
        return statistics.median(h / b for b, h in pairs)


T = TypeVar("T")


def each_side(order: list[str], action: Callable[[str], T]) -> dict[str, T]:
    """``action(side)`` for each side in ``order``; a failed side does not stop the other,
    so the SideError says whether the base, the head or both are at fault."""
    done: dict[str, T] = {}
    failed: dict[str, DriverError] = {}
    for side in order:
        try:
            done[side] = action(side)
        except DriverError as exc:
            failed[side] = exc
    if failed:
        raise SideError(failed)
    return done


def pinned_cpu() -> int:
    """The CPU both drivers of a pair run on: the last one this process may use.

    A process's op time shifts between levels in stretches; drivers on different CPUs shift
    independently, on one CPU together, so adjacent batches of a pair meet the same
    conditions (docs/figures.md, "Op time in stretches")."""
    return max(os.sched_getaffinity(0))


def _start(trees: dict[str, Path], order: list[str]) -> dict[str, Driver]:
    cpus = {pinned_cpu()}  # one CPU for both: adjacent batches meet the same conditions
    drivers = {side: Driver(trees[side], cpus=cpus) for side in order}
    for drv in drivers.values():
        drv.timed_cpu = True  # the "cpu" clock
    return drivers


def warming(rounds: int, busy_ns: float) -> bool:
    """Whether a warm-up that ran ``rounds`` rounds, each side ``busy_ns`` of op time (the
    least of the sides), goes on: at least WARMUP_ROUNDS, then until WARMUP_S, at most
    MAX_WARMUP_ROUNDS."""
    return rounds < WARMUP_ROUNDS or (rounds < MAX_WARMUP_ROUNDS and busy_ns < WARMUP_S * 1e9)


def _measure_case(drivers: dict[str, Driver], first: list[str], case: Case, rounds: int) -> PairRun:
    """``case`` set up on each side (in ``first`` order), warmed up, then ``rounds``
    rounds of one batch per side, the order alternating."""

    def set_up(side: str) -> Any:
        with sessions.bound(drivers[side]):
            return case.instance()

    benches = each_side(first, set_up)

    def round_(r: int) -> dict[str, Batch]:
        order = first if r % 2 == 0 else first[::-1]
        return each_side(order, lambda s: case.batch(benches[s]))

    warm_ns, warm = dict.fromkeys(drivers, 0), 0
    while warming(warm, min(warm_ns.values())):
        for side, batch in round_(warm).items():
            warm_ns[side] += batch.busy_ns
        warm += 1
    run = PairRun()
    for r in range(warm, warm + rounds):
        batches = round_(r)
        run.base_ns.append(batches["base"].mean_ns)
        run.head_ns.append(batches["head"].mean_ns)
        run.base_cpu_ns.append(batches["base"].timed_cpu_mean_ns)
        run.head_cpu_ns.append(batches["head"].timed_cpu_mean_ns)
        run.base_batch_cpu_ns.append(batches["base"].cpu_mean_ns)
        run.head_batch_cpu_ns.append(batches["head"].cpu_mean_ns)
    return run


@contextmanager
def warmed_up(target: Path, case: Case) -> Iterator[tuple[Driver, Any]]:
    """One driver on ``target`` pinned as a pair's are, ``case`` set up on it and warmed up
    as a pair warms up (``warming``): the driver and the benchmark instance, for the
    measurements of one tree (csbench profile, leaks)."""
    drv = Driver(target, cpus={pinned_cpu()})
    try:
        with sessions.bound(drv), sessions.scratch_scope():
            bench = case.instance()
            warm_ns, warm = 0, 0
            while warming(warm, warm_ns):
                warm_ns += case.batch(bench).busy_ns
                warm += 1
            yield drv, bench
    finally:
        drv.close()


def run_pair(
    base: Path, head: Path, cases: list[Case], rounds: int, head_first: bool
) -> dict[Case, PairRun | SideError]:
    """One pair of fresh drivers, one per tree (started and set up in alternating order),
    for ``cases`` one after the other (the cases of one benchmark class share the
    fixtures each driver builds once); a case that fails gets its SideError and the
    next one goes on, on fresh drivers if either died."""
    first = ["head", "base"] if head_first else ["base", "head"]
    trees = {"base": base, "head": head}
    drivers: dict[str, Driver] = {}
    out: dict[Case, PairRun | SideError] = {}
    try:
        with sessions.scratch_scope():
            for case in cases:
                if not drivers or not all(d.alive for d in drivers.values()):
                    for d in drivers.values():
                        d.close()
                    drivers = _start(trees, first)
                try:
                    out[case] = _measure_case(drivers, first, case, rounds)
                except SideError as exc:
                    out[case] = exc
        return out
    finally:
        for d in drivers.values():
            d.close()


def sign_test(above: int, n: int) -> float:
    """One-sided p of at least ``above`` of ``n`` pairs on one side of 1 by chance."""
    return sum(math.comb(n, k) for k in range(above, n + 1)) / 2**n
