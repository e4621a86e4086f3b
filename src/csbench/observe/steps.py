"""``csbench steps``: the largest steps of the history per benchmark, each confirmable by
paired A/B (csbench.guard.triage: the step's commit against the commit measured before it).

A step is the ratio of a benchmark's value at a commit to its value at the commit measured
before it on the same machine and the same branch: the nearest measured commit before it in
the branch's first-parent history (a step both branches hold counts once). Without a
repository to read the branches from, every measured commit is one series by commit date,
as asv orders them (where branches ran side by side, a step may then join two). For every
selected benchmark and params, the ``top`` steps of largest size either way are listed, a
slowdown (ratio above 1) to be confirmed as a regression, a speed-up as an improvement.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path

from csbench.observe import tables
from csbench.observe.results import benchmarks_meta, read_machine, unrolled, versions
from csbench.observe.triaged import Listed, Verdict, expected, key_of

DEFAULT_BENCH = (r"^core\.Core\.time_op\(.*'small-10000'\)$",)


@dataclass(frozen=True)
class Step:
    name: str  # display name, with its params
    base: str  # the commit measured before
    head: str
    date: int  # the head's commit date, ms since the epoch
    before: float
    after: float

    @property
    def ratio(self) -> float:
        return self.after / self.before

    @property
    def expect(self) -> str:
        """What paired A/B must find to confirm it."""
        return expected(self.ratio)

    def listed(self, machine: str) -> Listed:
        """The step as csbench triage measures it."""
        return Listed(self.name, machine, self.head, self.base, self.before, self.after,
                      self.expect)  # fmt: skip


def largest(
    results_dir: Path,
    machine: str,
    bench: tuple[str, ...] = DEFAULT_BENCH,
    top: int = 3,
    chains: list[list[str]] | None = None,
) -> list[Step]:
    """The ``top`` largest steps of each benchmark that a ``bench`` regex selects, by
    benchmark, the largest first. ``chains``: each branch's first-parent commits (full
    hashes, oldest first); a commit on none of them (a pull request's head) makes no step.
    None: every measured commit, by commit date."""
    patterns = [re.compile(b) for b in bench]
    current = versions(benchmarks_meta(results_dir))
    series: dict[str, dict[str, tuple[int, float]]] = {}  # name -> commit -> (date, value)
    for result in read_machine(results_dir, machine):
        for name, (value, _, _) in unrolled(result, current):
            if value is None or not math.isfinite(value) or value <= 0:
                continue
            if any(p.search(name) for p in patterns):
                series.setdefault(name, {})[result.commit_hash] = (result.date or 0, value)
    out = []
    for name, points in sorted(series.items()):
        orders = chains or [sorted(points, key=lambda c: (points[c][0], c))]
        pairs = {(a, b) for chain in orders
                 for a, b in itertools.pairwise(c for c in chain if c in points)}  # fmt: skip
        steps = [Step(name, a, b, points[b][0], points[a][1], points[b][1]) for a, b in pairs]
        steps.sort(key=lambda s: (-abs(math.log(s.ratio)), s.date, s.head))
        out += steps[:top]
    return out


def stored(steps: list[Step], known: dict[str, Verdict]) -> dict[Step, Verdict]:
    """The verdicts a triage file (csbench.observe.triaged.read) already holds for ``steps``."""
    return {s: v for s in steps if (v := known.get(key_of(s.name, s.base, s.head, s.expect)))}


def render(steps: list[Step], verdicts: dict[Step, Verdict], fmt: tables.Format = "text") -> str:
    """One row per step: the benchmark, the commit and its date, the commit it is measured
    against, the history's ratio, and (when measured) the paired ratio and verdict."""
    rows = []
    for s in steps:
        v = verdicts.get(s)
        way = "slower" if s.ratio > 1 else "faster"
        rows.append((
            s.name, s.head[:8], tables.day(s.date), s.base[:8],
            f"{s.ratio:.3f}", "-" if v is None or v.ratio is None else f"{v.ratio:.3f}",
            "not measured" if v is None else f"{v.verdict} ({way})",
        ))  # fmt: skip
    header = ("benchmark", "commit", "date", "against", "history", "paired", "verdict")
    align = ("left", "left", "left", "left", "right", "right", "left")
    return tables.render(header, rows, fmt, align)
