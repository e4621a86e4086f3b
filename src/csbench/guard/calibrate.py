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
what identical code produced on this machine. The file is
benchmarks/thresholds/<machine>.json.
"""

from __future__ import annotations

import collections
import json
import math
import re
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from csbench.guard.compare import Sample, benchmark_of
from csbench.measure import atomic
from csbench.measure.errors import UsageError
from csbench.measure.paths import project_root
from csbench.observe import tables

SAFETY = 1.5  # a threshold is this many times the A/A spread ...
MIN_THRESHOLD = 0.05  # ... and never below 5 %
DEFAULT_FACTOR = 2.0  # for a benchmark the calibration did not measure ...
DEFAULT_QUANTILE = 0.9  # ... or this quantile of the measured factors, if larger


@dataclass
class Thresholds:
    machine: str
    commit: str
    runs: int
    created: str
    noise: dict[str, float] = field(default_factory=dict)  # display name -> run-to-run noise
    factors: dict[str, float] = field(default_factory=dict)  # display name -> ci factor
    default_factor: float = DEFAULT_FACTOR
    pair_noise: dict[str, float] = field(default_factory=dict)  # display name -> twin noise
    history_factors: dict[str, float] = field(default_factory=dict)  # from ``noise``
    values: dict[str, list[float]] = field(default_factory=dict)  # commit, twin, per run
    # Benchmarks merged in from a calibration with another number of runs (--merge).
    runs_by_benchmark: dict[str, int] = field(default_factory=dict)
    hardware: dict[str, str] = field(default_factory=dict)  # where it was measured

    def factor(self, name: str) -> float:
        return self.factors.get(name, self.default_factor)

    def regressions_thresholds(self) -> dict[str, float]:
        """asv.conf.json ``regressions_thresholds``: per benchmark (asv matches names without
        params), the largest relative run-to-run threshold over its params."""
        out: dict[str, float] = {}
        for name, factor in (self.history_factors or self.factors).items():
            key = "^" + re.escape(benchmark_of(name)) + "$"
            out[key] = max(out.get(key, 0.0), round(factor - 1.0, 4))
        return out


def by_family(factors: dict[str, float]) -> dict[str, tuple[float, float, float]]:
    """Per benchmark family (the module: core, auth, ...): the smallest, median and largest
    threshold (factor - 1), i.e. the change csbench can tell from noise there."""
    families: dict[str, list[float]] = {}
    for name, factor in factors.items():
        families.setdefault(name.split(".", 1)[0], []).append(factor - 1.0)
    return {
        family: (min(values), statistics.median(values), max(values))
        for family, values in sorted(families.items())
    }


def render_families(t: Thresholds, path: Path) -> str:
    """The file's thresholds per family: ci (pair noise) min / median / max, and the
    history threshold (run-to-run noise) median; how many runs measured them."""
    runs = collections.Counter(t.runs_by_benchmark.get(n, t.runs) for n in t.factors)
    history = by_family(t.history_factors)
    rows = []
    for family, (low, mid, high) in by_family(t.factors).items():
        count = sum(1 for n in t.factors if n.split(".", 1)[0] == family)
        hist = f"{history[family][1]:.1%}" if family in history else "-"
        rows.append((family, count, f"{low:.1%}", f"{mid:.1%}", f"{high:.1%}", hist))
    header = ("family", "benchmarks", "ci min", "ci median", "ci max", "history median")
    lines = [
        f"{path}: commit {t.commit[:8]}, {t.created}; benchmarks by calibration runs: "
        + ", ".join(f"{count} x {r} runs" for r, count in sorted(runs.items())),
        tables.render(header, rows, align=("left", *["right"] * 5)),
    ]
    return "\n".join(lines)


def thresholds_file(machine: str, root: Path | None = None) -> Path:
    return (root or project_root() / "benchmarks" / "thresholds") / f"{machine}.json"


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


def default_factor(factors: dict[str, float]) -> float:
    """The factor of a benchmark the calibration did not measure: the 90th percentile
    (nearest rank) of the measured ones, at least DEFAULT_FACTOR. Not the largest: one
    bistable benchmark, whose twins land in different states (the authentication load
    scenario's p95, docs/figures.md), would switch the guard off for the rest."""
    ranked = sorted(factors.values())
    if not ranked:
        return DEFAULT_FACTOR
    return max(DEFAULT_FACTOR, ranked[math.ceil(DEFAULT_QUANTILE * len(ranked)) - 1])


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
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        noise={n: round(s, 4) for n, s in spread.items()},
        factors=factors,
        default_factor=default_factor(factors),
        pair_noise={n: round(s, 4) for n, s in twins.items()},
        history_factors=_factors(spread),
        values={n: [float(f"{r[n][0]:.6g}") for pair in pairs for r in pair] for n in spread},
    )


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
    runs_by = {n: r for n, r in old.runs_by_benchmark.items() if n not in measured}
    runs_by.update({n: new.runs for n in measured if new.runs != old.runs})

    def updated(a: dict, b: dict) -> dict:
        return {**{k: v for k, v in a.items() if k not in measured}, **b}

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
        runs_by_benchmark=runs_by,
        hardware=new.hardware or old.hardware,
    )


def save(t: Thresholds, path: Path) -> Path:
    """Write atomically (a half-written thresholds file is never left behind)."""
    return atomic.write_json(path, asdict(t), indent=1, sort_keys=True)


def load(machine: str, root: Path | None = None) -> Thresholds | None:
    """The machine's calibrated thresholds, or None if it was never calibrated."""
    path = thresholds_file(machine, root)
    return read(path) if path.is_file() else None


class ThresholdsFileError(UsageError):
    """A thresholds file that cannot be read; the message names the file and the key."""


_FIGURES = ("noise", "factors", "pair_noise", "history_factors")  # name -> number
_FIELDS = {f.name: f for f in fields(Thresholds)}


def _check(path: Path, data: object) -> None:
    if not isinstance(data, dict):
        raise ThresholdsFileError(f"{path}: expected a JSON object")
    for key in ("machine", "commit", "runs", "created"):
        if key not in data:
            raise ThresholdsFileError(f"{path}: key '{key}': missing")
    for key, value in data.items():
        if key not in _FIELDS:
            raise ThresholdsFileError(f"{path}: key '{key}': unknown (known: {', '.join(_FIELDS)})")
        if key in _FIGURES or key in ("values", "runs_by_benchmark"):
            if not isinstance(value, dict):
                raise ThresholdsFileError(f"{path}: key '{key}': expected an object")
            for name, figure in value.items():
                numbers = figure if key == "values" and isinstance(figure, list) else [figure]
                if not all(isinstance(x, int | float) and math.isfinite(x) for x in numbers):
                    raise ThresholdsFileError(f"{path}: key '{key}': {name}: not a number")
    if not isinstance(data.get("hardware", {}), dict):
        raise ThresholdsFileError(f"{path}: key 'hardware': expected an object")
    for key in ("factors", "history_factors"):
        for name, factor in data.get(key, {}).items():
            if factor < 1.0:
                raise ThresholdsFileError(
                    f"{path}: key '{key}': {name}: factor {factor} is below 1 (a factor is "
                    "the ratio beyond which a change is flagged)"
                )
    factor = data.get("default_factor", DEFAULT_FACTOR)
    if not isinstance(factor, int | float) or not math.isfinite(factor) or factor < 1.0:
        raise ThresholdsFileError(f"{path}: key 'default_factor': {factor!r} is not a factor")
    if not isinstance(data["runs"], int) or data["runs"] < 0:  # 0: a hand-set default only
        raise ThresholdsFileError(f"{path}: key 'runs': {data['runs']!r} is not a count")


def read(path: Path) -> Thresholds:
    """A thresholds file; the default factor follows the current rule (default_factor),
    also for files written under the earlier one (the largest factor).
    ThresholdsFileError names the file and key of anything malformed."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ThresholdsFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ThresholdsFileError(f"{path}: not JSON: {exc}") from None
    _check(path, data)
    t = Thresholds(**data)
    if t.factors:
        t.default_factor = default_factor(t.factors)
    return t


def save_aside(t: Thresholds, path: Path) -> Path:
    """Keep a calibration that could not go to ``path``: beside it as
    ``STEM.unmerged.json``, else in the temporary directory; returns where it went."""
    try:
        return save(t, path.with_name(f"{path.stem}.unmerged.json"))
    except OSError:
        stamp = t.created.replace(":", "")
        return save(
            t, Path(tempfile.gettempdir()) / f"csbench-calibration-{t.machine}-{stamp}.json"
        )
