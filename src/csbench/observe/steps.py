"""``csbench steps``: the largest steps of the history per benchmark, each confirmable by
paired A/B (csbench.guard.triage: the step's commit against the commit measured before it).

A step is the ratio of a benchmark's value at a commit to its value at the commit measured
before it on the same machine (commits in asv's order: by commit date). For every selected
benchmark and params, the ``top`` steps of largest size either way are listed, a slowdown
(ratio above 1) to be confirmed as a regression, a speed-up as an improvement.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

from csbench.observe import tables
from csbench.observe.results import benchmarks_meta, read_machine, unrolled, versions
from csbench.observe.triaged import Listed, Verdict, key_of

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

    def listed(self, machine: str) -> Listed:
        """The step as csbench triage measures it."""
        expect = "regression" if self.ratio > 1 else "improvement"
        return Listed(self.name, machine, self.head, self.base, self.before, self.after, expect)


def largest(
    results_dir: Path, machine: str, bench: tuple[str, ...] = DEFAULT_BENCH, top: int = 3
) -> list[Step]:
    """The ``top`` largest steps of each benchmark that a ``bench`` regex selects, by
    benchmark, the largest first."""
    patterns = [re.compile(b) for b in bench]
    current = versions(benchmarks_meta(results_dir))
    series: dict[str, list[tuple[int, str, float]]] = {}
    for result in read_machine(results_dir, machine):
        for name, (value, _, _) in unrolled(result, current):
            if value is None or not math.isfinite(value) or value <= 0:
                continue
            if any(p.search(name) for p in patterns):
                series.setdefault(name, []).append((result.date or 0, result.commit_hash, value))
    out = []
    for name, points in sorted(series.items()):
        points.sort()
        steps = [Step(name, a[1], b[1], b[0], a[2], b[2]) for a, b in itertools.pairwise(points)]
        steps.sort(key=lambda s: -abs(math.log(s.ratio)))
        out += steps[:top]
    return out


def stored(steps: list[Step], known: dict[str, Verdict]) -> dict[Step, Verdict]:
    """The verdicts a triage file (csbench.observe.triaged.read) already holds for ``steps``."""
    return {s: v for s in steps if (v := known.get(key_of(s.name, s.base, s.head)))}


def render(steps: list[Step], verdicts: dict[Step, Verdict], fmt: tables.Format = "text") -> str:
    """One row per step: the benchmark, the commit and its date, the history's ratio, and
    (when measured) the paired ratio and verdict."""
    rows = []
    for s in steps:
        v = verdicts.get(s)
        way = "slower" if s.ratio > 1 else "faster"
        rows.append((
            s.name, s.head[:8], time.strftime("%Y-%m-%d", time.gmtime(s.date / 1000)),
            f"{s.ratio:.3f}", "-" if v is None or v.ratio is None else f"{v.ratio:.3f}",
            "not measured" if v is None else f"{v.verdict} ({way})",
        ))  # fmt: skip
    header = ("benchmark", "commit", "date", "history", "paired", "verdict")
    return tables.render(header, rows, fmt, ("left", "left", "left", "right", "right", "left"))
