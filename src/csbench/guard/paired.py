"""Paired A/B: every ``time_`` benchmark of the suite on two built trees, measured side by
side in time and judged.

asv's separate processes for BASE and HEAD meet different stretches of the host's memory
latency, so identical code differs between them by more than the changes worth catching
(docs/figures.md, "Noise and detection power"). Here every case is measured in pairs of
drivers alive at once on one CPU (csbench.measure.pairs); a case's ratio is the median over
several pairs of fresh processes, alternately started head first.

The cases are asv's own: every parameter combination of every ``time_`` benchmark that
asv_runner discovers in benchmarks/ (csbench.observe.suite).

A case is a regression when its ratio exceeds 1 + threshold *and* the pairs agree on the
direction (a one-sided sign test at ``alpha``), an improvement in the mirror case. The
threshold is the benchmark's own, from ``csbench calibrate --paired``
(Settings.threshold_for), else the settings' default.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from csbench.guard.compare import Change
from csbench.guard.settings import Settings
from csbench.measure.pairs import (
    Case,
    PairRun,
    SideError,
    each_side,
    pinned_cpu,
    run_pair,
    sign_test,
)
from csbench.observe import suite

REFERENCE_TRACKS = "reference.Reference.track_ratio"

__all__ = [
    "Case",
    "CaseResult",
    "PairRun",
    "Settings",
    "SideError",
    "asv_patterns",
    "each_side",
    "measure",
    "pinned_cpu",
    "run_pair",
    "sign_test",
]  # fmt: skip


def asv_selects(patterns: list[str], benchmark_dir: Path | None = None) -> bool:
    """Whether asv's ``--bench patterns`` select any benchmark (matched as asv.benchmarks
    matches: a parameterized benchmark by its name with each param combination)."""
    regexes = [re.compile(p) for p in patterns]
    for bench in suite.discover(benchmark_dir):
        combos = itertools.product(*bench.params)
        names = [f"{bench.name}({', '.join(c)})" for c in combos] if bench.params else [bench.name]
        if any(r.search(n) for r in regexes for n in names):
            return True
    return False


def asv_patterns(bench: Iterable[str], cases: list[Case] | None = None) -> list[str]:
    """``bench`` for asv with every paired benchmark left out (asv matches name-with-params),
    and the history's reference tracks (benchmarks/reference.py: paired already, and not
    what a guard of two commits measures)."""
    names = sorted({c.benchmark for c in (suite.time_cases() if cases is None else cases)})
    paired_names = "|".join([*(re.escape(n) for n in names), re.escape(REFERENCE_TRACKS)])
    return [rf"^(?!(?:{paired_names})(?:\(|$))(?:.*?(?:{b}))" for b in (list(bench) or ["."])]


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
        threshold = settings.threshold_for(self.case.name)
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
    """Every case over ``settings.pairs`` pairs of the built trees ``base`` and ``head``;
    the cases of one benchmark class share each pair of processes.

    A side that fails ends its case (the error says which side); the other cases go on."""
    results = {case: CaseResult(case, settings.clock) for case in cases}
    groups: dict[type, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.cls, []).append(case)
    for group in groups.values():
        for i in range(settings.pairs):
            todo = [c for c in group if results[c].error is None]
            if not todo:
                break
            for case, run in run_pair(base, head, todo, settings.rounds, i % 2 == 1).items():
                if isinstance(run, SideError):
                    results[case].error = run
                else:
                    results[case].pairs.append(run)
        for case in group:
            result = results[case]
            shown = str(result.error).splitlines()[0] if result.error else f"{result.ratio:.3f}"
            log(f"csbench paired: {case.name}: {shown}")
    return [results[c] for c in cases]
