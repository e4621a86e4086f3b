"""``csbench crosscheck``: the suite's latency figures beside a plain Bun loop over the same ops.

One driver on the tree, pinned to one CPU, holds the dataset; for each op, round after round
in alternating order (the two meet the same stretches of the host, docs/figures.md):

- *suite*: the path of the ``…Latency`` tracks (csbench.measure.latency.latency_entry: a
  warm-up batch, then LATENCY_REPEATS batches; percentiles of their merged histogram);
- *plain*: the driver's ``plain`` request (driver/plain.ts): as many calls as the suite
  measured, each timed alone around the awaited call and checked after it as the batch
  runner checks it, with no batch runner, busy clock or histogram; exact percentiles.

The suite agrees when, per op, the median over rounds of its p50 is within
MEDIAN_TOLERANCE of the plain loop's, and the median over rounds of its p95 lies within the
range of the plain loop's p95 over the rounds (its own round-to-round spread).
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from csbench.measure import sessions
from csbench.measure.bridge import Driver, DriverError
from csbench.measure.latency import LATENCY_COUNT, LATENCY_REPEATS, latency_entry
from csbench.observe import tables

OPS = ("find_by_id", "find_by_indexed", "find_range")
DATASET = "small-10000"
MEDIAN_TOLERANCE = 0.05


@dataclass
class Figures:
    """One measurement of one op: p50 / p95 / p99 in µs and how many ops."""

    p50: float
    p95: float
    p99: float
    count: int


@dataclass
class OpCheck:
    op: str
    suite: list[Figures] = field(default_factory=list)
    plain: list[Figures] = field(default_factory=list)
    error: str = ""  # the first failure of either side (the op's later runs are skipped)

    def median(self, side: str, q: str) -> float:
        return statistics.median(getattr(f, q) for f in getattr(self, side))

    @property
    def p50_ratio(self) -> float:
        return self.median("suite", "p50") / self.median("plain", "p50")

    @property
    def p95_range(self) -> tuple[float, float]:
        values = [f.p95 for f in self.plain]
        return min(values), max(values)

    @property
    def agrees(self) -> bool:
        if self.error:
            return False
        low, high = self.p95_range
        p95 = self.median("suite", "p95")
        return abs(self.p50_ratio - 1) <= MEDIAN_TOLERANCE and low <= p95 <= high


def suite_figures(session: sessions.Session) -> Figures:
    """The ``…Latency`` tracks' path on ``session``."""
    entry = latency_entry(lambda: session)
    if entry["status"] != "ok":
        raise DriverError(entry["message"])
    return Figures(entry["all_p50"][0], entry["all_p95"][0], entry["all_p99"][0],
                   sum(entry["count"]))  # fmt: skip


def plain_figures(session: sessions.Session, count: int, seed: int) -> Figures:
    """The driver's ``plain`` loop over ``count`` calls of the session's op."""
    out = session.driver.request(
        "plain", {"dataset": session.handle, "op": session.op, "count": count, "seed": seed}
    )
    return Figures(out["p50_ns"] / 1e3, out["p95_ns"] / 1e3, out["p99_ns"] / 1e3, out["count"])


def crosscheck(
    target: Path, runs: int = 3, ops: tuple[str, ...] = OPS, dataset: str = DATASET
) -> list[OpCheck]:
    """Per op, ``runs`` rounds of the suite and the plain loop in one pinned driver, the
    order alternating (the plain loop first in odd rounds, after a warm-up of its own)."""
    checks = [OpCheck(op) for op in ops]
    drv = Driver(target, cpus={max(os.sched_getaffinity(0))})
    try:
        with sessions.bound(drv), sessions.scratch_scope():
            for check in checks:
                try:
                    session = sessions.session(check.op, dataset)
                    for r in range(runs):
                        if r % 2 == 0:
                            check.suite.append(suite_figures(session))
                        count = check.suite[-1].count if check.suite else LATENCY_COUNT
                        if r == 0 or r % 2 == 1:
                            plain_figures(session, count // LATENCY_REPEATS, 99)  # warm-up
                        check.plain.append(plain_figures(session, count, r))
                        if r % 2 == 1:
                            check.suite.append(suite_figures(session))
                except (DriverError, NotImplementedError) as exc:
                    check.error = str(exc).splitlines()[0]
    finally:
        drv.close()
    return checks


def render(checks: list[OpCheck], dataset: str = DATASET) -> str:
    rows = []
    for c in checks:
        if c.error:
            rows.append((c.op, len(c.suite), *["-"] * 7, f"failed: {c.error[:60]}"))
            continue
        low, high = c.p95_range
        med = c.median
        rows.append((
            c.op, len(c.suite), f"{med('suite', 'p50'):.2f}", f"{med('plain', 'p50'):.2f}",
            f"{c.p50_ratio:.3f}", f"{med('suite', 'p95'):.2f}", f"{low:.2f}-{high:.2f}",
            f"{med('suite', 'p99'):.2f}", f"{med('plain', 'p99'):.2f}",
            "yes" if c.agrees else "NO",
        ))  # fmt: skip
    header = ("op", "runs", "p50 suite", "p50 plain", "ratio", "p95 suite", "p95 plain range",
              "p99 suite", "p99 plain", "agrees")  # fmt: skip
    return "\n".join([
        f"µs per op at {dataset}; medians over runs; agrees: p50 within "
        f"{MEDIAN_TOLERANCE:.0%} and p95 within the plain loop's range over the runs",
        tables.render(header, rows, align=("left", *["right"] * 9)),
    ])  # fmt: skip


def to_json(checks: list[OpCheck]) -> str:
    return json.dumps([asdict(c) | {"agrees": c.agrees} for c in checks], indent=1)
