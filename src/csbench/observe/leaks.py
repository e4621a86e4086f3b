"""``csbench leaks``: does an op keep memory it should release?

A benchmark's op is set up as asv sets it up (csbench.measure.pairs Case) in one driver and
warmed up; then the JavaScript heap is read after a full collection (the driver's ``heap``
request) before any measured op, after N ops and after 2N ops. An object type whose live
count grows in both halves, by about as much each time, grows with the ops: it is reported
as retained, with its growth per op. A type that grows in the first half only is the op's
caches filling, not a leak. The heap's size per op is given beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csbench.measure.pairs import Case, warmed_up
from csbench.observe import tables

OPS = 2_000  # N
# Retained: at least this many objects per op in each half, the halves within AGREE of each
# other (a constant growth per op, not a cache that fills once).
LEAST_PER_OP = 0.05
AGREE = 2.0


@dataclass(frozen=True)
class Growth:
    type: str
    first: int  # live objects gained over the first N ops
    second: int  # over the second N ops
    ops: tuple[int, int]  # ops run in each half

    @property
    def per_op(self) -> float:
        return (self.first + self.second) / sum(self.ops)

    @property
    def retained(self) -> bool:
        a, b = self.first / self.ops[0], self.second / self.ops[1]
        return min(a, b) >= LEAST_PER_OP and max(a, b) <= AGREE * min(a, b)


@dataclass
class LeakRun:
    case: str
    heaps: list[dict[str, Any]]  # the driver's heap figures at 0, N and 2N ops
    ops: tuple[int, int]
    growth: list[Growth] = field(default_factory=list)

    @property
    def retained(self) -> list[Growth]:
        return [g for g in self.growth if g.retained]

    def bytes_per_op(self, key: str = "heap_size") -> float:
        return (self.heaps[2][key] - self.heaps[0][key]) / sum(self.ops)


def _run_ops(case: Case, bench: Any, n: int) -> int:
    done = 0
    while done < n:
        done += case.batch(bench).count
    return done


def measure(target: Path, case: Case, n: int = OPS) -> LeakRun:
    """Heap figures of ``case``'s op on ``target`` at 0, N and 2N ops (after a warm-up)."""
    with warmed_up(target, case) as (drv, bench):
        heaps = [drv.request("heap")]
        first = _run_ops(case, bench, n)
        heaps.append(drv.request("heap"))
        second = _run_ops(case, bench, n)
        heaps.append(drv.request("heap"))
    run = LeakRun(case.name, heaps, (first, second))
    types = set().union(*(h["types"] for h in heaps))
    for t in sorted(types):
        a, b, c = (h["types"].get(t, 0) for h in heaps)
        run.growth.append(Growth(t, b - a, c - b, (first, second)))
    run.growth.sort(key=lambda g: (not g.retained, -g.per_op, g.type))
    return run


def render(runs: list[LeakRun], top: int = 5) -> str:
    """Per benchmark: retained types (or none), and the heap's growth per op."""
    rows = []
    for r in runs:
        kept = r.retained
        what = ", ".join(f"{g.type} {g.per_op:.3g}/op" for g in kept[:top]) or "none"
        rows.append((r.case, f"{sum(r.ops)}", what, f"{r.bytes_per_op():.3g}",
                     f"{r.bytes_per_op('rss') / 1024:.3g}"))  # fmt: skip
    header = ("benchmark", "ops", "retained (live objects per op)", "heap B/op", "RSS KiB/op")
    return "\n".join([
        f"live objects after a full collection at 0, N and 2N ops; retained: grows in both "
        f"halves by at least {LEAST_PER_OP} per op, the halves within {AGREE:g}x",
        tables.render(header, rows, align=("left", "right", "left", "right", "right")),
    ])  # fmt: skip


def to_json(runs: list[LeakRun]) -> str:
    return json.dumps([
        {"case": r.case, "ops": list(r.ops), "heap_bytes_per_op": r.bytes_per_op(),
         "rss_bytes_per_op": r.bytes_per_op("rss"),
         "retained": [{"type": g.type, "per_op": g.per_op, "halves": [g.first, g.second]}
                      for g in r.retained],
         "heaps": r.heaps}
        for r in runs
    ], indent=1)  # fmt: skip
