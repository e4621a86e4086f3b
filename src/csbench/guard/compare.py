"""Compare two commits' asv results benchmark by benchmark, each with its own threshold.

asv's ``continuous`` and ``compare`` take one ``--factor`` for every benchmark; on a noisy
machine, a factor loose enough for the noisiest series hides real changes in the
quiet ones. Here each benchmark (name with params, as asv prints it) gets the factor that
``csbench calibrate`` measured for it (csbench.guard.calibrate), and asv's own statistics decide
whether two results differ at all (``asv_says_lower``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asv.commands import compare as asv_compare

from csbench.observe import results as stored
from csbench.observe.results import Sample, higher_is_better


def asv_says_lower(x: float, y: float, x_ss: Any, y_ss: Any, factor: float) -> bool:
    """Whether asv's ``compare`` would call ``x`` better (lower) than ``y``: below ``y`` by
    ``factor``, and, where both have statistics, a difference asv's test accepts. asv has
    no public name for this rule; its private ``_is_result_better`` is used here only, and
    tests/test_compare_calibrate.py pins its verdicts so an asv upgrade that changes them
    fails there."""
    return bool(asv_compare._is_result_better(x, y, x_ss, y_ss, factor))


@dataclass(frozen=True)
class Change:
    name: str  # e.g. "core.Core.time_op('find_by_id', 'small-1000')"
    kind: str  # regression, improvement, failed, still-failed, fixed, same, new, gone, skipped
    base: float | None
    head: float | None
    factor: float
    measured_ratio: float | None = None  # paired A/B: the ratio the verdict came from

    @property
    def ratio(self) -> float | None:
        if self.measured_ratio is not None:
            return self.measured_ratio
        if not _number(self.base) or not _number(self.head) or self.base == 0:
            return None
        return self.head / self.base


def _number(v: float | None) -> bool:
    return v is not None and not math.isnan(v)


def commit_results(results_dir: Path, machine: str, commit: str) -> dict[str, Sample]:
    """Every result of ``commit`` (full hash) on ``machine``, keyed by asv's display name
    (a bad result file is named in a warning line and skipped: csbench.observe.results)."""
    return stored.commit_samples(results_dir, machine, commit)


def classify(name: str, base: Sample | None, head: Sample | None, factor: float) -> str:
    if base is None:
        return "new"
    if head is None:
        return "gone"
    (b, b_stats, b_samples), (h, h_stats, h_samples) = base, head
    if h is None:
        return "failed" if b is not None else "still-failed"
    if b is None:
        return "fixed"
    if math.isnan(h) or math.isnan(b):
        return "skipped"
    b_ss, h_ss = (b_stats, b_samples), (h_stats, h_samples)

    def lower(x: float, x_ss: Any, y: float, y_ss: Any) -> bool:
        """x is below y by the factor, and asv's statistics say they differ."""
        return asv_says_lower(x, y, x_ss, y_ss, factor)

    base_wins, head_wins = lower(b, b_ss, h, h_ss), lower(h, h_ss, b, b_ss)
    if higher_is_better(name):
        base_wins, head_wins = head_wins, base_wins
    return "regression" if base_wins else "improvement" if head_wins else "same"


def compare(
    base: dict[str, Sample],
    head: dict[str, Sample],
    factors: dict[str, float],
    default_factor: float,
) -> list[Change]:
    """One Change per benchmark of either side, with the factor it was judged by."""
    changes = []
    for name in sorted(set(base) | set(head)):
        factor = factors.get(name, default_factor)
        kind = classify(name, base.get(name), head.get(name), factor)
        changes.append(
            Change(
                name,
                kind,
                base[name][0] if name in base else None,
                head[name][0] if name in head else None,
                factor,
            )
        )
    return changes
