"""Noise of every benchmark on one machine, from A/A runs, as per-benchmark thresholds.

``csbench calibrate`` measures a commit and its twin (the same tree under another hash)
``runs`` times, each time in one asv run with interleaved rounds, exactly as ``csbench
ci`` measures BASE and HEAD (each run into a throwaway results directory, so stored
history is untouched). Per benchmark it keeps two figures:

- pair noise: the largest ratio between the twins within one run, minus 1. It is what
  ``csbench ci`` faces, and gives ``factors``;
- run-to-run noise: max / min - 1 over every value of every run. It is what a history of
  separate runs faces, and gives ``history_factors`` (asv's regressions_thresholds in
  ``csbench publish``) and the noise band of the targets page.

A factor is 1 + max(MIN_THRESHOLD, SAFETY x noise): a change must be clearly larger than
what identical code produced on this machine. The file (benchmarks/thresholds/<machine>.json)
is read and written by csbench.observe.calibration.

``csbench calibrate --paired`` measures one tree against itself by csbench.guard.paired,
``runs`` times as ``ci --paired`` measures, and keeps per benchmark the *spread* of its case
ratio (the median of ``pairs`` pair ratios): sqrt(sigma^2 + bias^2), with sigma the
standard error of a median of ``pairs`` pair ratios (1.2533 x the pair ratios' robust
standard deviation, 1.4826 x MAD, / sqrt(pairs)) and bias the median pair ratio's distance
from 1. The benchmark's paired threshold is max(settings.MIN_THRESHOLD, settings.SAFETY x
spread).
"""

from __future__ import annotations

import math
import statistics
import time

from csbench.guard import settings
from csbench.observe.calibration import PairedCalibration, Thresholds, default_factor
from csbench.observe.results import Sample

SAFETY = 1.5  # a threshold is this many times the A/A spread ...
MIN_THRESHOLD = 0.05  # ... and never below 5 %


Pair = tuple[dict[str, Sample], dict[str, Sample]]  # a commit and its twin, one asv run


def _values(runs: list[dict[str, Sample]], name: str) -> list[float] | None:
    values = [r[name][0] for r in runs]
    ok = all(v is not None and not math.isnan(v) and v > 0 for v in values)
    return values if ok else None  # type: ignore[return-value]


def noise(runs: list[dict[str, Sample]]) -> dict[str, float]:
    """max / min - 1 of each benchmark measured (a number, > 0) in every run."""
    out: dict[str, float] = {}
    for name in sorted(set.intersection(*(set(r) for r in runs)) if runs else ()):
        if values := _values(runs, name):
            out[name] = max(values) / min(values) - 1.0
    return out


def pair_noise(pairs: list[Pair]) -> dict[str, float]:
    """The largest ratio (either way) between the twins of one run, minus 1, of each
    benchmark measured in every run."""
    out: dict[str, float] = {}
    runs = [r for pair in pairs for r in pair]
    for name in sorted(set.intersection(*(set(r) for r in runs)) if runs else ()):
        if _values(runs, name):
            ratios = [a[name][0] / b[name][0] for a, b in pairs]  # type: ignore[operator]
            out[name] = max(max(r, 1 / r) for r in ratios) - 1.0
    return out


def _factors(spread: dict[str, float]) -> dict[str, float]:
    return {n: round(1.0 + max(MIN_THRESHOLD, SAFETY * s), 4) for n, s in spread.items()}


def thresholds(machine: str, commit: str, pairs: list[Pair]) -> Thresholds:
    """Thresholds from ``pairs``: (commit, twin) results of each calibration run."""
    spread, twins = noise([r for pair in pairs for r in pair]), pair_noise(pairs)
    factors = _factors(twins)
    return Thresholds(
        machine=machine,
        commit=commit,
        runs=len(pairs),
        created=now(),
        noise={n: round(s, 4) for n, s in spread.items()},
        factors=factors,
        default_factor=default_factor(factors),
        pair_noise={n: round(s, 4) for n, s in twins.items()},
        history_factors=_factors(spread),
        values={n: [float(f"{r[n][0]:.6g}") for pair in pairs for r in pair] for n in spread},
    )


def _replaced(old: dict, new: dict, measured: set[str]) -> dict:
    """``old``'s figures of the benchmarks not ``measured`` again, and ``new``'s."""
    return {**{k: v for k, v in old.items() if k not in measured}, **new}


def _runs_by(old: dict[str, int], runs: int, new_runs: int, measured: set[str]) -> dict[str, int]:
    """Runs per benchmark after a merge into a calibration of ``runs`` runs: those
    ``measured`` again by ``new_runs``, listed only when that differs from ``runs``."""
    return _replaced(old, {n: new_runs for n in measured if new_runs != runs}, measured)


def merge(old: Thresholds, new: Thresholds) -> Thresholds:
    """``old`` with the figures of every benchmark ``new`` measured replaced by ``new``'s
    (e.g. the target benchmarks calibrated again with more runs). Both must be of the same
    machine and commit: one file holds one calibration's conditions."""
    for key in ("machine", "commit"):
        if getattr(old, key) != getattr(new, key):
            raise ValueError(
                f"cannot merge a calibration of {key} {getattr(new, key)} into one of "
                f"{getattr(old, key)}"
            )
    measured = set(new.factors) | set(new.noise)

    def updated(a: dict, b: dict) -> dict:
        return _replaced(a, b, measured)

    factors = updated(old.factors, new.factors)
    return Thresholds(
        machine=old.machine,
        commit=old.commit,
        runs=old.runs,
        created=new.created,
        noise=updated(old.noise, new.noise),
        factors=factors,
        default_factor=default_factor(factors),
        pair_noise=updated(old.pair_noise, new.pair_noise),
        history_factors=updated(old.history_factors, new.history_factors),
        values=updated(old.values, new.values),
        runs_by_benchmark=_runs_by(old.runs_by_benchmark, old.runs, new.runs, measured),
        hardware=new.hardware or old.hardware,
        paired=new.paired or old.paired,
    )


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def paired_spread(ratios: list[float], pairs: int) -> float:
    """The spread of a case ratio (the median of ``pairs`` pair ratios) from A/A pair
    ``ratios``: sqrt(standard error^2 + bias^2)."""
    center = statistics.median(ratios)
    mad = statistics.median(abs(r - center) for r in ratios)
    sigma = 1.2533 * 1.4826 * mad / math.sqrt(pairs)
    return math.hypot(sigma, center - 1.0)


def paired_threshold(spread: float) -> float:
    return max(settings.MIN_THRESHOLD, settings.SAFETY * spread)


def paired_calibration(
    commit: str, runs: int, used: settings.Settings, ratios: dict[str, list[float]]
) -> PairedCalibration:
    """The calibration of every benchmark (display name) from its A/A pair ``ratios``
    (every pair of every run)."""
    spread = {n: paired_spread(r, used.pairs) for n, r in ratios.items() if r}
    return PairedCalibration(
        commit=commit,
        created=now(),
        runs=runs,
        settings={"pairs": used.pairs, "rounds": used.rounds, "clock": used.clock},
        spread={n: round(s, 5) for n, s in spread.items()},
        thresholds={n: round(paired_threshold(s), 4) for n, s in spread.items()},
        ratios={n: [round(x, 5) for x in r] for n, r in ratios.items() if r},
    )


def merge_paired(old: PairedCalibration | None, new: PairedCalibration) -> PairedCalibration:
    """``new`` over ``old``: the benchmarks ``new`` measured replaced, the others kept when
    both were measured alike (commit, settings), each with its own number of runs
    (e.g. a few benchmarks calibrated again with more runs); otherwise ``new`` alone."""
    if old is None or (old.commit, old.settings) != (new.commit, new.settings):
        return new
    measured = set(new.spread)

    def updated(a: dict, b: dict) -> dict:
        return _replaced(a, b, measured)

    return PairedCalibration(
        old.commit, new.created, old.runs, new.settings,
        updated(old.spread, new.spread), updated(old.thresholds, new.thresholds),
        updated(old.ratios, new.ratios),
        _runs_by(old.runs_by_benchmark, old.runs, new.runs, measured),
    )  # fmt: skip
