"""A machine's calibration as stored in benchmarks/thresholds/MACHINE.json: per benchmark its
A/A noise and the factors the guard and the history judge by (csbench.guard.calibrate
measures them), read and written here, checked key by key, so the site, the guard and the
CLI read one format."""

from __future__ import annotations

import collections
import json
import math
import re
import statistics
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from csbench.measure import atomic
from csbench.measure.errors import UsageError
from csbench.measure.paths import project_root
from csbench.observe import tables

DEFAULT_FACTOR = 2.0  # for a benchmark the calibration did not measure ...


DEFAULT_QUANTILE = 0.9  # ... or this quantile of the measured factors, if larger


@dataclass
class PairedCalibration:
    """``csbench calibrate --paired``: paired A/A of one tree against itself, per benchmark
    (display name) its spread and the threshold ``ci --paired`` judges it by."""

    commit: str
    created: str
    runs: int  # A/A measurements of every benchmark, each as ``ci --paired`` measures
    settings: dict[str, object]  # pairs, rounds, clock of those measurements
    spread: dict[str, float] = field(default_factory=dict)  # std. dev. of the case ratio
    thresholds: dict[str, float] = field(default_factory=dict)  # flagged beyond 1 + this
    ratios: dict[str, list[float]] = field(default_factory=dict)  # every A/A pair ratio
    # Benchmarks merged in from a calibration with another number of runs (--merge).
    runs_by_benchmark: dict[str, int] = field(default_factory=dict)


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
    paired: PairedCalibration | None = None

    def factor(self, name: str) -> float:
        return self.factors.get(name, self.default_factor)

    def history_default(self) -> float:
        """The history factor of a benchmark the calibration did not measure (as the guard's
        ``default_factor``, from the measured history factors)."""
        return default_factor(self.history_factors or self.factors)

    def history_factor(self, name: str) -> float:
        """The factor the history judges ``name`` (display name) by."""
        factor = (self.history_factors or self.factors).get(name)
        return self.history_default() if factor is None else factor

    def regressions_thresholds(self, names: Iterable[str] = ()) -> dict[str, float]:
        """asv.conf.json ``regressions_thresholds``: per display name (asv's entry name,
        ``name(params)``) of the calibration and of ``names``, its ``history_factor`` - 1.
        asv ``re.match``es each key against the entry name followed by ``@branch`` when
        asv.conf.json names branches, and applies the largest that matches."""
        out: dict[str, float] = {}
        for name in [*(self.history_factors or self.factors), *names]:
            out["^" + re.escape(name) + "(@|$)"] = round(self.history_factor(name) - 1.0, 4)
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


def by_runs(names: Iterable[str], runs_by_benchmark: dict[str, int], runs: int) -> str:
    """How many of ``names`` each number of calibration runs measured: "2 x 1 runs, ..."."""
    count = collections.Counter(runs_by_benchmark.get(n, runs) for n in names)
    return ", ".join(f"{c} x {r} runs" for r, c in sorted(count.items()))


def render_families(t: Thresholds, path: Path) -> str:
    """The file's thresholds per family: ci (pair noise) min / median / max, and the
    history threshold (run-to-run noise) median; how many runs measured them."""
    history = by_family(t.history_factors)
    rows = []
    for family, (low, mid, high) in by_family(t.factors).items():
        count = sum(1 for n in t.factors if n.split(".", 1)[0] == family)
        hist = f"{history[family][1]:.1%}" if family in history else "-"
        rows.append((family, count, f"{low:.1%}", f"{mid:.1%}", f"{high:.1%}", hist))
    header = ("family", "benchmarks", "ci min", "ci median", "ci max", "history median")
    lines = [
        f"{path}: commit {t.commit[:8]}, {t.created}; benchmarks by calibration runs: "
        + by_runs(t.factors, t.runs_by_benchmark, t.runs),
        tables.render(header, rows, align=("left", *["right"] * 5)),
    ]
    return "\n".join(lines)


def thresholds_file(machine: str, root: Path | None = None) -> Path:
    return (root or project_root() / "benchmarks" / "thresholds") / f"{machine}.json"


def default_factor(factors: dict[str, float]) -> float:
    """The factor of a benchmark the calibration did not measure: the 90th percentile
    (nearest rank) of the measured ones, at least DEFAULT_FACTOR. Not the largest: one
    bistable benchmark, whose twins land in different states (the authentication load
    scenario's p95, docs/figures.md), would switch the guard off for the rest."""
    ranked = sorted(factors.values())
    if not ranked:
        return DEFAULT_FACTOR
    return max(DEFAULT_FACTOR, ranked[math.ceil(DEFAULT_QUANTILE * len(ranked)) - 1])


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


def _check_keys(
    where: str, data: object, required: tuple[str, ...], known: set[str], what: str = "an object"
) -> dict:
    """``data`` as an object with every ``required`` key and none but ``known``."""
    if not isinstance(data, dict):
        raise ThresholdsFileError(f"{where}: expected {what}")
    for key in required:
        if key not in data:
            raise ThresholdsFileError(f"{where}: key '{key}': missing")
    for key in data:
        if key not in known:
            raise ThresholdsFileError(f"{where}: key '{key}': unknown (known: {', '.join(known)})")
    return data


def _check_figures(where: str, key: str, value: object, lists: bool = False) -> None:
    """``value`` maps names to finite numbers (or, given ``lists``, lists of them)."""
    if not isinstance(value, dict):
        raise ThresholdsFileError(f"{where}: key '{key}': expected an object")
    for name, figure in value.items():
        numbers = figure if lists and isinstance(figure, list) else [figure]
        if not all(isinstance(x, int | float) and math.isfinite(x) for x in numbers):
            raise ThresholdsFileError(f"{where}: key '{key}': {name}: not a number")


def _check(path: Path, data: object) -> None:
    required = ("machine", "commit", "runs", "created")
    data = _check_keys(str(path), data, required, set(_FIELDS), "a JSON object")
    for key, value in data.items():
        if key in _FIGURES or key in ("values", "runs_by_benchmark"):
            _check_figures(str(path), key, value, lists=key == "values")
    if data.get("paired") is not None:
        _check_paired(path, data["paired"])
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


_PAIRED_FIELDS = {f.name for f in fields(PairedCalibration)}


def _check_paired(path: Path, data: object) -> None:
    where = f"{path}: key 'paired'"
    data = _check_keys(where, data, ("commit", "created", "runs", "settings"), _PAIRED_FIELDS)
    if not isinstance(data["settings"], dict):
        raise ThresholdsFileError(f"{where}: key 'settings': expected an object")
    for key in ("spread", "thresholds", "ratios", "runs_by_benchmark"):
        _check_figures(where, key, data.get(key, {}), lists=key == "ratios")
    for name, threshold in data.get("thresholds", {}).items():
        if threshold < 0:
            raise ThresholdsFileError(f"{where}: key 'thresholds': {name}: negative")
    if not isinstance(data["runs"], int) or data["runs"] < 1:
        raise ThresholdsFileError(f"{where}: key 'runs': {data['runs']!r} is not a count")


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
    paired = data.pop("paired", None)
    t = Thresholds(**data, paired=PairedCalibration(**paired) if paired else None)
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


def render_paired(p: PairedCalibration) -> str:
    """The paired thresholds per family (min / median / max) and the five highest."""
    rows = []
    for family, (low, mid, high) in by_family({n: 1 + t for n, t in p.thresholds.items()}).items():
        count = sum(1 for n in p.thresholds if n.split(".", 1)[0] == family)
        spreads = [s for n, s in p.spread.items() if n.split(".", 1)[0] == family]
        rows.append((family, count, f"{statistics.median(spreads):.2%}", f"{low:.1%}",
                     f"{mid:.1%}", f"{high:.1%}"))  # fmt: skip
    header = ("family", "benchmarks", "spread median", "threshold min", "median", "max")
    top = sorted(p.thresholds.items(), key=lambda kv: -kv[1])[:5]
    lines = [
        f"paired: commit {p.commit[:8]}, {p.created}, "
        + ", ".join(f"{k} {v}" for k, v in p.settings.items())
        + "; benchmarks by A/A runs: "
        + by_runs(p.thresholds, p.runs_by_benchmark, p.runs),
        tables.render(header, rows, align=("left", *["right"] * 5)),
        "highest: " + "; ".join(f"{n} {t:.1%}" for n, t in top),
    ]
    return "\n".join(lines)
