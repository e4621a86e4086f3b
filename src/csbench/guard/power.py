"""Detection power: ``csbench ci`` against a slowdown of known size, and against A/A.

A throwaway repository holds a Collection Store package three times: the original
(``base``), the same tree again (``same``), and a copy where one method is made
``fraction`` slower (``slow``): the method keeps its code, and a wrapper times each call
and then busy-waits ``fraction`` of that time. Thresholds come from ``csbench calibrate``
on ``base`` (its own A/A runs, not the trials'); each trial then runs ``csbench ci``
base -> same and same -> slow. Power is the share of trials that flag the slowed
benchmarks; the false-alarm rate is the share of A/A trials that flag anything.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from csbench.commits import git
from csbench.guard import ci, paired
from csbench.observe import calibration, tables

SOURCE_FILE = Path("src/async/collection.ts")  # the npm package's collection class
METHOD = "findBy"
# The slowed path and a control in the same family, both at 10,000 documents.
SLOWED = r"find_by_indexed"
BENCH = [
    r"core\.Core\.time_op\('find_by_indexed', 'small-10000'\)",
    r"core\.Core\.time_op\('find_by_id', 'small-10000'\)",
]


class PowerError(RuntimeError):
    """The slowdown could not be injected, or the runs could not be made."""


def slow_down(source: str, method: str, fraction: float) -> str:
    """``source`` with the async method ``method`` made ``fraction`` slower per call."""
    pattern = re.compile(
        rf"^(?P<indent>[ \t]*)async {re.escape(method)}\((?P<params>[^)]*)\)(?P<ret>[^{{\n]*)\{{$",
        re.MULTILINE,
    )
    found = list(pattern.finditer(source))
    if len(found) != 1:
        raise PowerError(f"expected one 'async {method}(...) {{' line, found {len(found)}")
    m = found[0]
    indent, params, ret = m["indent"], m["params"], m["ret"]
    names = [p.split(":", 1)[0].strip().lstrip(".") for p in params.split(",") if p.strip()]
    inner = f"__csbenchSlowed_{method}"
    wrapper = (
        f"{indent}async {method}({params}){ret}{{\n"
        f"{indent}  const started = performance.now();\n"
        f"{indent}  const result = await this.{inner}({', '.join(names)});\n"
        f"{indent}  const now = performance.now();\n"
        f"{indent}  const until = now + (now - started) * {fraction!r};\n"
        f"{indent}  while (performance.now() < until) {{}}\n"
        f"{indent}  return result;\n"
        f"{indent}}}\n\n"
        f"{indent}async {inner}({params}){ret}{{"
    )
    return source[: m.start()] + wrapper + source[m.end() :]


def commit_all(repo: Path, message: str) -> str:
    """Commit the whole tree of ``repo`` (even unchanged); returns the new hash."""
    git.git(repo, "add", "-A")
    git.git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    return git.git(repo, "rev-parse", "HEAD").strip()


def package_repo(package: Path, parent: Path) -> Path:
    """A fresh git repository ``parent``/collection-store (branch main, no commit yet)
    holding a copy of ``package`` without its node_modules."""
    repo = parent / "collection-store"
    shutil.copytree(package, repo, ignore=shutil.ignore_patterns("node_modules", ".git"))
    git.git(parent, "init", "--quiet", "--initial-branch=main", str(repo))
    return repo


def power_repo(
    package: Path, parent: Path, method: str, fraction: float, source_file: Path = SOURCE_FILE
) -> tuple[Path, dict[str, str]]:
    """A git repository under ``parent`` with commits base, same and slow of ``package``."""
    repo = package_repo(package, parent)
    commits = {"base": commit_all(repo, "original package")}
    commits["same"] = commit_all(repo, "the same again")
    path = repo / source_file
    if not path.is_file():
        raise PowerError(f"{package}: no {source_file}")
    path.write_text(slow_down(path.read_text(), method, fraction))
    commits["slow"] = commit_all(repo, f"{method} {fraction:.0%} slower")
    return repo, commits


@dataclass
class Row:
    """One benchmark over every trial."""

    name: str
    slowed: bool
    factor: float
    aa_flagged: int = 0  # A/A trials judged a regression or an improvement
    slow_flagged: int = 0  # slow trials judged a regression
    aa_ratios: list[float] = field(default_factory=list)
    slow_ratios: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        trials = len(self.slow_ratios)
        caught = self.slow_flagged == trials if self.slowed else self.slow_flagged == 0
        return bool(trials) and caught and self.aa_flagged == 0


@dataclass
class PowerReport:
    method: str
    fraction: float
    trials: int
    thresholds: calibration.Thresholds | None  # None: every benchmark was judged paired
    rows: list[Row]
    errors: list[str] = field(default_factory=list)
    paired: paired.Settings | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and any(r.slowed for r in self.rows) and all(r.ok for r in self.rows)

    def render(self) -> str:
        how = []
        if self.paired is not None:
            how.append(f"core ops by {self.paired.describe()}")
        if self.thresholds is not None:
            how.append(f"factors from {self.thresholds.runs} calibration runs")
        rows = []
        for r in self.rows:
            aa = statistics.median(r.aa_ratios) if r.aa_ratios else float("nan")
            slow = statistics.median(r.slow_ratios) if r.slow_ratios else float("nan")
            rows.append((
                r.name + (" (slowed)" if r.slowed else ""), f"{r.factor:.3f}",
                f"{r.aa_flagged}/{len(r.aa_ratios)}", f"{aa:.3f}",
                f"{r.slow_flagged}/{len(r.slow_ratios)}", f"{slow:.3f}",
            ))  # fmt: skip
        header = ("benchmark", "factor", "A/A flagged", "A/A ratio", "slow flagged", "slow ratio")
        out = [
            f"{self.method} made {self.fraction:.0%} slower; {self.trials} trials of csbench ci "
            f"(A/A: base -> same; slow: same -> slow); {'; '.join(how)}",
            tables.render(header, rows, align=("left", *["right"] * 5)),
        ]
        out += [f"error: {e}" for e in self.errors]
        out.append("detected, no false alarm" if self.ok else "NOT detected reliably")
        return "\n".join(out)

    def to_json(self) -> str:
        rows = [r.__dict__ | {"ok": r.ok} for r in self.rows]
        data = {"method": self.method, "fraction": self.fraction, "trials": self.trials,
                "ok": self.ok, "errors": self.errors, "rows": rows,
                "paired": self.paired.__dict__ if self.paired else None}  # fmt: skip
        return json.dumps(data, indent=1)


def measure_power(
    package: Path,
    work: Path,
    machine: str,
    method: str = METHOD,
    fraction: float = 0.10,
    trials: int = 3,
    calibration_runs: int = 3,
    bench: list[str] | None = None,
    slowed: str = SLOWED,
    log: Callable[[str], None] = print,
    paired_settings: paired.Settings | None = None,
) -> PowerReport:
    """Calibrate on base, then ``trials`` pairs of ci runs (A/A and slow). With
    ``paired_settings`` the core ops are judged paired; when ``bench`` selects nothing
    else there is nothing to calibrate."""
    bench = bench or BENCH
    repo, commits = power_repo(package, work, method, fraction)
    thresholds = ci.calibrate_machine(
        str(repo), commits["base"], machine, calibration_runs,
        paired.asv_patterns(bench) if paired_settings else bench, log,
        allow_empty=paired_settings is not None,
    )  # fmt: skip
    rows: dict[str, Row] = {}
    errors: list[str] = []
    for i in range(trials):
        for kind, (base, head) in (("aa", ("base", "same")), ("slow", ("same", "slow"))):
            log(f"csbench power: trial {i + 1} of {trials}, {kind}")
            result = ci.ci(
                str(repo), commits[base], commits[head], machine, bench, thresholds,
                work / f"trial-{i}-{kind}", log, builds=work / "builds",
                paired_settings=paired_settings,
            )  # fmt: skip
            if result.error or result.of("failed"):
                errors.append(f"trial {i + 1} {kind}: {result.error or 'a benchmark failed'}")
                continue
            for change in result.changes:
                if change.ratio is None:
                    continue
                row = rows.setdefault(
                    change.name,
                    Row(change.name, bool(re.search(slowed, change.name)), change.factor),
                )
                if kind == "aa":
                    row.aa_ratios.append(change.ratio)
                    row.aa_flagged += change.kind in ("regression", "improvement")
                else:
                    row.slow_ratios.append(change.ratio)
                    row.slow_flagged += change.kind == "regression"
    return PowerReport(
        method, fraction, trials, thresholds, list(rows.values()), errors, paired_settings
    )
