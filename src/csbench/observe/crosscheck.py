"""``csbench crosscheck``: the suite's latency figures beside a plain Bun loop over the same ops.

One driver on the tree, pinned to one CPU, holds the dataset; for each op, round after round
in alternating order (the two meet the same stretches of the host, docs/figures.md):

- *suite*: the path of the ``…Latency`` tracks (csbench.measure.latency.latency_entry: a
  warm-up batch, then LATENCY_REPEATS batches; percentiles of their merged histogram);
- *plain*: the driver's ``plain`` request (driver/plain.ts) on the same inputs: a warm-up,
  then one request per suite batch with its count and seed, each call timed alone around
  the awaited call and checked after it as the batch runner checks it, with no batch
  runner, busy clock or histogram; exact percentiles of every call.

The suite agrees when, per op, the median over rounds of the p50 ratio suite / plain is
within MEDIAN_TOLERANCE of 1, and the median over rounds of its p95 lies within the
range of the plain loop's p95 over the rounds (its own round-to-round spread).
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from csbench.measure import sessions
from csbench.measure.bridge import Driver, DriverError
from csbench.measure.latency import QUANTILES, WARMUP_SEED, latency_entry
from csbench.observe import tables

OPS = ("find_by_id", "find_by_indexed", "find_range")
DATASET = "small-10000"
MEDIAN_TOLERANCE = 0.05


@dataclass
class Figures:
    """One measurement of one op: p50 / p95 / p99 in µs and the ops of each batch."""

    p50: float
    p95: float
    p99: float
    counts: list[int]

    @property
    def count(self) -> int:
        return sum(self.counts)


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
        """The median over rounds of suite p50 / plain p50 (each round's two sides ran
        back to back, so the host's slower stretches divide out)."""
        pairs = zip(self.suite, self.plain, strict=False)
        return statistics.median(s.p50 / p.p50 for s, p in pairs)

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
                   list(entry["count"]))  # fmt: skip


def plain_figures(session: sessions.Session, counts: list[int]) -> Figures:
    """The driver's ``plain`` loop on the suite's inputs: a warm-up, then per suite batch
    ``i`` its count with seed ``i``; exact percentiles of every call (rank ⌈q/100·N⌉)."""

    def plain(count: int, seed: int) -> list[float]:
        args = {"dataset": session.handle, "op": session.op, "count": count, "seed": seed}
        return session.driver.request("plain", args | {"samples": True})["samples_ns"]

    plain(counts[0], WARMUP_SEED)
    ns = np.concatenate([plain(count, seed) for seed, count in enumerate(counts)])
    p50, p95, p99 = np.percentile(ns, QUANTILES, method="inverted_cdf") / 1e3
    return Figures(float(p50), float(p95), float(p99), list(counts))


def crosscheck(
    target: Path, runs: int = 3, ops: tuple[str, ...] = OPS, dataset: str = DATASET
) -> list[OpCheck]:
    """Per op, ``runs`` rounds of the suite and the plain loop in one pinned driver, the
    order alternating (the plain loop first in odd rounds, on the previous round's counts)."""
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
                        check.plain.append(plain_figures(session, check.suite[-1].counts))
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
        f"µs per op at {dataset}; medians over runs (ratio: of each run's suite / plain p50); "
        f"agrees: p50 ratio within {MEDIAN_TOLERANCE:.0%} of 1 and p95 within the plain loop's "
        "range over the runs",
        tables.render(header, rows, align=("left", *["right"] * 9)),
    ])  # fmt: skip


def to_json(checks: list[OpCheck]) -> str:
    return json.dumps([asdict(c) | {"agrees": c.agrees} for c in checks], indent=1)
