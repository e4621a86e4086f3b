"""Paired A/B: the core ops of two built trees, measured side by side in time.

Where other tenants share the host's last-level cache, a Bun process's op time shifts
between levels in stretches of several batches, in CPU time as much as in wall time,
following the memory latency they leave (`csbench machine` shows it); asv's separate
processes for BASE and HEAD meet different stretches, so identical code differs between
them by more than the changes worth catching (docs/figures.md, "Noise and detection
power"). Here a *pair* is two drivers alive at once, one per tree, pinned to the same CPU
(where they shift together); after a warm-up, each round runs one batch on
each, back to back (A B, then B A), and a pair's ratio is the median over rounds of
head / base batch CPU time per op (or busy time). A case's ratio is the median over
several pairs of fresh processes, alternately started head first.

A case is a regression when its ratio exceeds 1 + threshold *and* the pairs agree on the
direction (a one-sided sign test at ``alpha``), an improvement in the mirror case.
"""

from __future__ import annotations

import math
import os
import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from csbench.guard.compare import Change
from csbench.guard.settings import (
    MAX_WARMUP_ROUNDS,
    WARMUP_ROUNDS,
    WARMUP_S,
    Settings,
)
from csbench.measure import coreops, procs
from csbench.measure.bridge import Batch, Driver, DriverError, Unsupported


@dataclass(frozen=True)
class Case:
    op: str
    dataset: str

    @property
    def name(self) -> str:
        """asv's display name of the benchmark this case stands for."""
        return f"core.Core.time_op('{self.op}', '{self.dataset}')"


def all_cases() -> list[Case]:
    return [Case(op, ds) for ds in coreops.DATASETS for op in coreops.OPS]


def select(bench: Iterable[str]) -> list[Case]:
    """The cases whose asv name one of the ``bench`` regexes finds (all if none given)."""
    patterns = [re.compile(b) for b in bench]
    return [c for c in all_cases() if not patterns or any(p.search(c.name) for p in patterns)]


def asv_patterns(bench: Iterable[str]) -> list[str]:
    """``bench`` for asv with every paired case left out (asv matches name-with-params)."""
    return [rf"^(?!core\.Core\.time_op\()(?:.*?(?:{b}))" for b in (list(bench) or ["."])]


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
    """One pair: per round, the base and head batch means (ns per op) on the busy clock
    and in CPU time."""

    base_ns: list[float] = field(default_factory=list)
    head_ns: list[float] = field(default_factory=list)
    base_cpu_ns: list[float] = field(default_factory=list)
    head_cpu_ns: list[float] = field(default_factory=list)

    def values(self, side: str, clock: str) -> list[float]:
        if clock == "cpu":
            return self.base_cpu_ns if side == "base" else self.head_cpu_ns
        return self.base_ns if side == "base" else self.head_ns

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


def run_pair(
    base: Path, head: Path, case: Case, rounds: int, head_first: bool, scratch: Path
) -> PairRun:
    """Two fresh drivers, one per tree (started, loaded and run in alternating order):
    a warm-up, then ``rounds`` measured rounds of one batch per side."""
    first = ["head", "base"] if head_first else ["base", "head"]
    trees = {"base": base, "head": head}
    cpus = {pinned_cpu()}  # one CPU for both: adjacent batches meet the same conditions
    drivers = {side: Driver(trees[side], cpus=cpus) for side in first}
    try:
        handles = each_side(
            first, lambda s: coreops.prepare(drivers[s], case.op, case.dataset, scratch)
        )

        def round_(r: int) -> dict[str, Batch]:
            return each_side(
                first if r % 2 == 0 else first[::-1],
                lambda s: drivers[s].run(
                    case.op, dataset=handles[s], count=coreops.BATCH_COUNT,
                    budget_ms=coreops.BATCH_BUDGET_MS, seed=r,
                ),
            )  # fmt: skip

        warm_ns, warm = dict.fromkeys(drivers, 0), 0
        while warm < WARMUP_ROUNDS or (
            warm < MAX_WARMUP_ROUNDS and min(warm_ns.values()) < WARMUP_S * 1e9
        ):
            for side, batch in round_(warm).items():
                warm_ns[side] += batch.busy_ns
            warm += 1
        run = PairRun()
        for r in range(warm, warm + rounds):
            batches = round_(r)
            run.base_ns.append(batches["base"].mean_ns)
            run.head_ns.append(batches["head"].mean_ns)
            run.base_cpu_ns.append(batches["base"].cpu_mean_ns)
            run.head_cpu_ns.append(batches["head"].cpu_mean_ns)
        return run
    finally:
        for d in drivers.values():
            d.close()


def sign_test(above: int, n: int) -> float:
    """One-sided p of at least ``above`` of ``n`` pairs on one side of 1 by chance."""
    return sum(math.comb(n, k) for k in range(above, n + 1)) / 2**n


@dataclass
class CaseResult:
    case: Case
    clock: str = "cpu"
    pairs: list[PairRun] = field(default_factory=list)
    error: SideError | None = None

    @property
    def ratios(self) -> list[float]:
        return [p.ratio(self.clock) for p in self.pairs]

    @property
    def ratio(self) -> float | None:
        return statistics.median(self.ratios) if self.pairs else None

    def value(self, side: str) -> float | None:
        """Median batch mean of ``side`` over every round of every pair, in seconds."""
        values = [v for p in self.pairs for v in p.values(side, self.clock)]
        return statistics.median(values) / 1e9 if values else None

    def kind(self, threshold: float, alpha: float) -> str:
        """compare.Change's kind for this case."""
        if self.error is not None:
            kinds = (
                {"base": "new", "head": "gone", "both": "skipped"}
                if self.error.unsupported
                else {"base": "fixed", "head": "failed", "both": "still-failed"}
            )
            return kinds[self.error.side]
        ratios, n = self.ratios, len(self.pairs)
        ratio = statistics.median(ratios)
        if ratio > 1 + threshold and sign_test(sum(r > 1 for r in ratios), n) <= alpha:
            return "regression"
        if ratio < 1 / (1 + threshold) and sign_test(sum(r < 1 for r in ratios), n) <= alpha:
            return "improvement"
        return "same"

    def change(self, settings: Settings) -> Change:
        threshold = settings.threshold
        return Change(
            self.case.name,
            self.kind(threshold, settings.alpha),
            None if self.error and self.error.side != "head" else self.value("base"),
            None if self.error and self.error.side != "base" else self.value("head"),
            1 + threshold,
            measured_ratio=self.ratio if self.error is None else None,
        )


def measure(
    base: Path,
    head: Path,
    cases: list[Case],
    settings: Settings,
    log: Callable[[str], None] = print,
) -> list[CaseResult]:
    """Every case over ``settings.pairs`` pairs of the built trees ``base`` and ``head``.

    A side that fails ends its case (the error says which side); the other cases go on."""
    results = []
    with procs.temp_dir("paired") as scratch:
        for case in cases:
            result = CaseResult(case, settings.clock)
            try:
                for i in range(settings.pairs):
                    pair = run_pair(base, head, case, settings.rounds, i % 2 == 1, Path(scratch))
                    result.pairs.append(pair)
            except SideError as exc:
                result.error = exc
            shown = str(result.error).splitlines()[0] if result.error else f"{result.ratio:.3f}"
            log(f"csbench paired: {case.name}: {shown}")
            results.append(result)
    return results
