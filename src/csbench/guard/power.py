"""Detection power: ``csbench ci`` against a slowdown of known size, and against A/A.

A throwaway repository holds a Collection Store tree (the npm package, or a commit of the
configured repository) three times: the original (``base``), the same tree again
(``same``), and a copy where one method is made ``fraction`` slower (``slow``): the method
keeps its code, and a wrapper times each call and then busy-waits ``fraction`` of that
time. Thresholds come from ``csbench calibrate`` on ``base`` (its own A/A runs, not the
trials'), or, judged paired, from the machine's paired calibration; each slow trial runs
``csbench ci`` same -> slow, each A/A trial base -> same. Power is the share of slow trials
that flag the slowed benchmarks; the false-alarm rate is the share of A/A trials that flag
anything.

AREAS names, per area, a method that area's benchmarks call, the benchmarks that must
then be flagged, and a control of the same area (or the harness floor) that must not.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from csbench.commits import git
from csbench.guard import ci, paired
from csbench.measure.build import MONOREPO_PACKAGE, BuildError, detect_layout
from csbench.observe import calibration, cpuprofile, tables

SOURCE_FILE = Path("src/async/collection.ts")  # the npm package's collection class
METHOD = "findBy"
# The slowed path and a control in the same family, both at 10,000 documents.
SLOWED = r"find_by_indexed"
BENCH = [
    r"core\.Core\.time_op\('find_by_indexed', 'small-10000'\)",
    r"core\.Core\.time_op\('find_by_id', 'small-10000'\)",
]
NOOP = r"^harness\.Floor\.time_noop$"  # a control where an area has none that skips the method


@dataclass(frozen=True)
class Slowdown:
    """A method to slow, in the first of ``sources`` (under the Collection Store package:
    the tree, or its packages/collection-store) that exists, and what must be flagged."""

    sources: tuple[str, ...]
    method: str
    slowed: str  # regex of the benchmarks that call the method
    bench: tuple[str, ...]  # the trials' selection: the slowed benchmarks and a control


# Methods as of the 2025 layout (e.g. 2307c8d); core also in the npm release's layout.
AREAS: dict[str, Slowdown] = {
    "core": Slowdown(
        ("src/async/collection.ts", "src/core/Collection.ts"), "findBy", SLOWED, tuple(BENCH)
    ),
    "auth": Slowdown(
        ("src/auth/core/TokenManager.ts",), "validateAccessToken", r"'validate_token'",
        (r"^auth\.AuthTime\.time_op\('(validate_token|token_pair)', 'test'\)",),
    ),
    "wal": Slowdown(
        ("src/core/wal/WALCollection.ts",), "commitTransaction", r"time_txn_commit",
        (r"^wal\.WalTime\.time_txn_commit$", NOOP),
    ),
    "realtime": Slowdown(
        ("src/subscriptions/core/SubscriptionEngine.ts",), "publishChange", r"time_publish",
        (r"^realtime\.RealtimeTime\.time_(publish\(100\)|subscribe)",),
    ),
    "files": Slowdown(
        ("src/filestorage/core/FileStorageManager.ts",), "upload", r"time_upload",
        (r"^files\.FilesTime\.time_\w+\('100KB'\)",),
    ),
    "computed": Slowdown(
        ("src/auth/computed/core/ComputedAttributeEngine.ts",), "computeAttribute",
        r"compute_cold", (r"^computed\.ComputedTime\.time_op\('(compute_cold|register)'\)",),
    ),
    "functions": Slowdown(
        ("src/auth/functions/core/StoredFunctionEngine.ts",), "executeFunction",
        r"time_op\('scalar', 'warm'\)",
        (r"^functions\.FunctionsTime\.time_op\('scalar', 'warm'\)", NOOP),
    ),
}  # fmt: skip


def source_file(tree: Path, sources: tuple[str, ...]) -> Path:
    """The first of ``sources`` in ``tree``'s Collection Store package, relative to ``tree``."""
    package = Path(MONOREPO_PACKAGE) if detect_layout(tree) == "monorepo" else Path()
    for source in sources:
        if (tree / package / source).is_file():
            return package / source
    raise PowerError(f"{tree}: none of {', '.join(sources)} in its Collection Store package")


class PowerError(RuntimeError):
    """The slowdown could not be injected, or the runs could not be made."""


def top_level(params: str) -> list[str]:
    """``params`` split at the commas outside brackets (``Record<string, any>`` is one)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(params):
        depth += ch in "<([{"
        depth -= ch in ")]}" or (ch == ">" and params[i - 1 : i] != "=")  # not an arrow
        if ch == "," and depth == 0:
            parts.append(params[start:i])
            start = i + 1
    return [*parts, params[start:]]


def closing(source: str, start: int) -> int | None:
    """The index of the ``)`` that closes the parenthesis opened just before ``start``."""
    depth = 1
    for i in range(start, len(source)):
        depth += source[i] == "("
        depth -= source[i] == ")"
        if depth == 0:
            return i
    return None


def argument(param: str) -> str:
    """How a parameter declaration is passed on: ``...rest: T[]`` -> ``...rest``,
    ``x?: T`` and ``x = 1`` -> ``x``."""
    m = re.match(r"\s*(\.\.\.)?\s*([A-Za-z_$][\w$]*)", param)
    if m is None:
        raise PowerError(f"cannot read the parameter {param.strip()!r}")
    return (m[1] or "") + m[2]


def slow_down(source: str, method: str, fraction: float) -> str:
    """``source`` with the async method ``method`` made ``fraction`` slower per call."""
    head = re.compile(rf"^(?P<indent>[ \t]*)async {re.escape(method)}\(", re.MULTILINE)
    tail = re.compile(r"\)(?P<ret>[^{\n;]*)\{$", re.MULTILINE)  # ): Promise<T> {
    found = []
    for m in head.finditer(source):
        close = closing(source, m.end())
        t = tail.match(source, close) if close is not None else None
        if t is not None:
            found.append((m.start(), m["indent"], source[m.end() : close], t["ret"], t.end()))
    if len(found) != 1:
        raise PowerError(f"expected one 'async {method}(...) {{' line, found {len(found)}")
    start, indent, params, ret, end = found[0]
    names = [argument(p) for p in top_level(params) if p.strip()]
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
    return source[:start] + wrapper + source[end:]


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
    package: Path, parent: Path, method: str, fraction: float, sources: tuple[str, ...]
) -> tuple[Path, dict[str, str]]:
    """A git repository under ``parent`` with commits base, same and slow of ``package``
    (``method`` slowed in the first of ``sources`` it has)."""
    try:
        relative = source_file(package, sources)
    except BuildError as exc:
        raise PowerError(str(exc)) from exc
    repo = package_repo(package, parent)
    commits = {"base": commit_all(repo, "original package")}
    commits["same"] = commit_all(repo, "the same again")
    path = repo / relative
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
    # per slow trial that flagged it and profiled it: the function whose self share of the
    # samples grew most from base to head (csbench.observe.cpuprofile.diff)
    grew_most: list[str] = field(default_factory=list)

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
    aa_trials: int
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
            grew = Counter(r.grew_most).most_common(1)
            rows.append((
                r.name + (" (slowed)" if r.slowed else ""), f"{r.factor:.3f}",
                f"{r.aa_flagged}/{len(r.aa_ratios)}", f"{aa:.3f}",
                f"{r.slow_flagged}/{len(r.slow_ratios)}", f"{slow:.3f}",
                f"{grew[0][0]} ({grew[0][1]}/{len(r.grew_most)})" if grew else "-",
            ))  # fmt: skip
        header = ("benchmark", "factor", "A/A flagged", "A/A ratio", "slow flagged", "slow ratio",
                  "grew most (profiles)")  # fmt: skip
        out = [
            f"{self.method} made {self.fraction:.0%} slower; csbench ci {self.trials} times "
            f"same -> slow and {self.aa_trials} times A/A base -> same; {'; '.join(how)}",
            tables.render(header, rows, align=("left", *["right"] * 5, "left")),
        ]
        out += [f"error: {e}" for e in self.errors]
        out.append("detected, no false alarm" if self.ok else "NOT detected reliably")
        return "\n".join(out)

    def to_json(self) -> str:
        rows = [r.__dict__ | {"ok": r.ok} for r in self.rows]
        data = {"method": self.method, "fraction": self.fraction, "trials": self.trials,
                "aa_trials": self.aa_trials, "ok": self.ok, "errors": self.errors, "rows": rows,
                "paired": self.paired.__dict__ if self.paired else None}  # fmt: skip
        return json.dumps(data, indent=1)


def interleaved(trials: int, aa_trials: int) -> list[str]:
    """ "slow" and "aa" trials spread evenly over the run, so drift meets both alike."""
    at = [("slow", (i + 0.5) / trials) for i in range(trials)]
    at += [("aa", (i + 0.5) / aa_trials) for i in range(aa_trials)]
    return [kind for kind, _ in sorted(at, key=lambda kv: kv[1])]


def measure_power(
    package: Path,
    work: Path,
    machine: str,
    slowdown: Slowdown = AREAS["core"],
    fraction: float = 0.10,
    trials: int = 3,
    aa_trials: int | None = None,
    calibration_runs: int = 3,
    log: Callable[[str], None] = print,
    paired_settings: paired.Settings | None = None,
) -> PowerReport:
    """Calibrate on base (unless every selected benchmark is judged paired), then
    ``trials`` slow and ``aa_trials`` (default ``trials``) A/A runs of ci, alternating."""
    aa_trials = trials if aa_trials is None else aa_trials
    bench = list(slowdown.bench)
    repo, commits = power_repo(package, work, slowdown.method, fraction, slowdown.sources)
    asv_bench = paired.asv_patterns(bench) if paired_settings else bench
    thresholds = None  # every selected benchmark judged paired: nothing for asv to calibrate
    if paired_settings is None or paired.asv_selects(asv_bench):
        thresholds = ci.calibrate_machine(
            str(repo), commits["base"], machine, calibration_runs, asv_bench, log,
            allow_empty=paired_settings is not None, reference=False,
        )  # fmt: skip
    rows: dict[str, Row] = {}
    errors: list[str] = []
    order = interleaved(trials, aa_trials)
    for n, kind in enumerate(order):
        base, head = ("base", "same") if kind == "aa" else ("same", "slow")
        log(f"csbench power: trial {n + 1} of {len(order)}, {kind}")
        result = ci.ci(
            str(repo), commits[base], commits[head], machine, bench, thresholds,
            work / f"trial-{n}-{kind}", log, builds=work / "builds",
            paired_settings=paired_settings,
        )  # fmt: skip
        if result.error or result.of("failed"):
            errors.append(f"trial {n + 1} {kind}: {result.error or 'a benchmark failed'}")
            continue
        for change in result.changes:
            if change.ratio is None:
                continue
            row = rows.setdefault(
                change.name,
                Row(change.name, bool(re.search(slowdown.slowed, change.name)), change.factor),
            )
            if kind == "aa":
                row.aa_ratios.append(change.ratio)
                row.aa_flagged += change.kind in ("regression", "improvement")
            else:
                row.slow_ratios.append(change.ratio)
                row.slow_flagged += change.kind == "regression"
                explained = result.explained.get(change.name)
                grew = cpuprofile.grew_most(explained) if explained else None
                if grew:
                    row.grew_most.append(grew)
    return PowerReport(
        slowdown.method, fraction, trials, aa_trials, thresholds, list(rows.values()), errors,
        paired_settings,
    )  # fmt: skip
