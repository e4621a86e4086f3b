"""``csbench machine``: how much the host's other tenants move the figures of this machine.

One driver runs, in turn, a batch of a core op (find_by_id at 10,000 documents by
default) and pointer chases over a small working set (L2-resident) and a large one (the
size of a Collection Store dataset, beyond L2): each hop of a chase is one dependent load,
so its time is the memory latency at that size. Where nothing else uses the cache, both
chases should be steady; where other tenants of the host take the last-level cache, the
large chase's latency swings within a minute (its p95 / p5) and the op's batch times
follow it (the Spearman rank correlation of the report). Separate processes then meet
different stretches, which bounds how closely two figures taken at different times can
agree (asv's processes, time_ against track_). What one shared VM showed:
docs/figures.md, "Noise and detection power".
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from csbench.measure import sessions
from csbench.measure.bridge import Driver, Unsupported
from csbench.observe import tables

SMALL_KIB = 256
LARGE_KIB = 16 * 1024
HOPS = 10_000  # per chase op; a chase batch is up to CHASE_COUNT ops or CHASE_BUDGET_MS
CHASE_COUNT = 1_000
CHASE_BUDGET_MS = 5.0
QUANTILES = (5, 50, 95)


@dataclass(frozen=True)
class Series:
    """One measured series: a value per round, in ``unit``."""

    name: str
    unit: str
    values: list[float]

    def quantiles(self) -> tuple[float, float, float]:
        p5, p50, p95 = np.percentile(self.values, QUANTILES)
        return float(p5), float(p50), float(p95)

    @property
    def spread(self) -> float:
        """p95 / p5: how far the slow stretches sit from the fast ones."""
        p5, _, p95 = self.quantiles()
        return p95 / p5


@dataclass(frozen=True)
class MachineReport:
    op: str
    dataset: str
    seconds: float
    rounds: int
    series: list[Series]
    # Spearman rank correlation of the op's batch times with each chase's, by chase name.
    correlation: dict[str, float]

    def to_json(self) -> str:
        data = asdict(self)
        for entry, series in zip(data["series"], self.series, strict=True):
            p5, p50, p95 = series.quantiles()
            entry.update(p5=p5, p50=p50, p95=p95, spread=series.spread)
        return json.dumps(data, indent=2)


def spearman(a: list[float], b: list[float]) -> float:
    """Rank correlation of two equally long series (ties are rare for these timings)."""
    if len(a) != len(b) or len(a) < 3:
        raise ValueError("spearman needs two series of the same length, at least 3")
    ranks = [np.argsort(np.argsort(np.asarray(v))) for v in (a, b)]
    return float(np.corrcoef(*ranks)[0, 1])


def chase_name(kib: int) -> str:
    return f"chase {kib // 1024} MiB" if kib % 1024 == 0 else f"chase {kib} KiB"


def measure(
    target: Path,
    seconds: float,
    op: str = "find_by_id",
    dataset: str = "small-10000",
    small_kib: int = SMALL_KIB,
    large_kib: int = LARGE_KIB,
) -> MachineReport:
    """Round after round for ``seconds``: one batch of ``op`` and one chase batch per size,
    all in one driver (after a warm-up of each)."""
    drv = Driver(target)
    try:
        with sessions.bound(drv), sessions.scratch_scope():
            try:
                session = sessions.session(op, dataset)
            except NotImplementedError as exc:
                raise Unsupported(str(exc)) from exc

            def op_batch() -> float:
                return session.batch().mean_ns / 1000.0

            def chase(kib: int) -> float:
                batch = drv.run(
                    "pointer_chase", count=CHASE_COUNT, budget_ms=CHASE_BUDGET_MS, kib=kib,
                    hops=HOPS,
                )  # fmt: skip
                return batch.mean_ns / HOPS

            session.batch(count=10**7, budget_ms=500.0)  # JIT warm-up
            sizes = (small_kib, large_kib)
            for kib in sizes:
                chase(kib)
            values: dict[str, list[float]] = {op: [], **{chase_name(k): [] for k in sizes}}
            start = time.monotonic()
            while time.monotonic() - start < seconds or len(values[op]) < 3:
                values[op].append(op_batch())
                for kib in sizes:
                    values[chase_name(kib)].append(chase(kib))
    finally:
        drv.close()
    series = [Series(op, "µs per op", values[op])] + [
        Series(chase_name(k), "ns per hop", values[chase_name(k)]) for k in sizes
    ]
    return MachineReport(
        op=op,
        dataset=dataset,
        seconds=seconds,
        rounds=len(values[op]),
        series=series,
        correlation={s.name: spearman(values[op], s.values) for s in series[1:]},
    )


def render(report: MachineReport) -> str:
    """The report as a text table."""
    rows = []
    for s in report.series:
        p5, p50, p95 = s.quantiles()
        corr = report.correlation.get(s.name)
        rows.append((f"{s.name} ({s.unit})", f"{p5:.3f}", f"{p50:.3f}", f"{p95:.3f}",
                     f"{s.spread:.2f}", f"{corr:+.2f}" if corr is not None else ""))  # fmt: skip
    header = ("series", "p5", "p50", "p95", "p95/p5", "rank corr. with op")
    lines = [
        f"{report.rounds} rounds in {report.seconds:g} s, one driver: a batch of "
        f"{report.op} ({report.dataset}), then a chase batch per working set",
        tables.render(header, rows, align=("left", "right", "right", "right", "right", "right")),
    ]
    return "\n".join(lines)
