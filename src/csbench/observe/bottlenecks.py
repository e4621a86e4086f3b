"""``csbench bottlenecks``: for every target of the plan, where the time of its op goes at
one commit, from sampled CPU profiles (csbench.observe.cpuprofile), the failing targets
first.

A target names a track (e.g. ``auth.AuthLatency.track_p95`` for login); the op it measures
is profiled through the ``time_`` benchmark of the same op and params (the track class's
``paired_time``, csbench.observe.suite.time_case_of). The report gives, per target, its
verdict from the stored results (when the commit has them), the share of the op's CPU time
per package and its top functions. Targets of load scenarios have no single op: they are
listed as not profiled.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csbench.measure import atomic
from csbench.measure.bridge import DriverError
from csbench.observe import cpuprofile, suite, tables
from csbench.observe.targets import Target, Verdict

TOP_FUNCTIONS = 5
TOP_PACKAGES = 4


@dataclass
class Bottleneck:
    """One target: its verdict (None without stored results), the ``time_`` case profiled
    and its profile, or why there is none."""

    target: Target
    verdict: Verdict | None
    case: str | None
    run: cpuprofile.ProfileRun | None = None
    reason: str = ""

    @property
    def failing(self) -> bool:
        return self.verdict is not None and self.verdict.status == "fail"

    def packages(self) -> dict[str, float]:
        return cpuprofile.by_origin(self.run.profile, self.run.tree) if self.run else {}

    def functions(self) -> list[cpuprofile.FunctionShare]:
        return (
            cpuprofile.shares(self.run.profile, self.run.tree)[:TOP_FUNCTIONS] if self.run else []
        )


def profile_targets(
    tree: Path,
    targets: list[Target],
    verdicts: dict[str, Verdict],
    seconds: float = 1.0,
    log: Callable[[str], None] = print,
) -> list[Bottleneck]:
    """Every target's op profiled on ``tree`` (each op once), failing targets first."""
    cases = suite.time_cases()
    runs: dict[str, cpuprofile.ProfileRun | str] = {}
    out = []
    for target in targets:
        case = suite.time_case_of(target.display_name, cases)
        item = Bottleneck(target, verdicts.get(target.id), case.name if case else None)
        if case is None:
            item.reason = "no single op measures it (a load scenario)"
        else:
            if case.name not in runs:
                log(f"csbench bottlenecks: profiling {case.name}")
                try:
                    runs[case.name] = cpuprofile.measure(tree, case, seconds)
                except DriverError as exc:
                    runs[case.name] = f"not profiled: {str(exc).splitlines()[0]}"
            got = runs[case.name]
            if isinstance(got, str):
                item.reason = got
            else:
                item.run = got
        out.append(item)
    return sorted(out, key=lambda b: not b.failing)


def _verdict_text(b: Bottleneck) -> str:
    v = b.verdict
    if v is None:
        return f"bound {b.target.bound_text}, no stored result"
    if v.value is None:
        return f"bound {b.target.bound_text}, {v.status} ({v.reason})"
    return f"{v.value:.4g} {b.target.unit}, bound {b.target.bound_text}: {v.status}"


def render(items: list[Bottleneck], commit: str, markdown: bool = False) -> str:
    """Per target: the verdict, the CPU time per package, the top functions."""
    title = f"Bottlenecks at {commit[:8]}: where each target's op spends its CPU time"
    out = [f"## {title}" if markdown else title]
    for b in items:
        head = f"{b.target.id} ({_verdict_text(b)})"
        out += ["", f"### {head}" if markdown else head]
        if b.run is None:
            out.append(f"{b.case or b.target.benchmark}: {b.reason}")
            continue
        packages = ", ".join(f"{k} {v:.0%}" for k, v in list(b.packages().items())[:TOP_PACKAGES])
        n = len(b.run.profile.samples) or 1
        out.append(f"{b.case}: {n} samples; CPU time by package: {packages}")
        rows = [
            (f"{s.self_samples / n:.1%}", f"{s.total_samples / n:.1%}", s.function.label[:40],
             s.origin.package, s.where[-60:])
            for s in b.functions()
        ]  # fmt: skip
        if markdown:
            out.append("")
        header = ("self", "total", "function", "package", "file:line")
        align = ("right", "right", "left", "left", "left")
        out.append(tables.render(header, rows, markdown=markdown, align=align))
    return "\n".join(out)


def to_json(items: list[Bottleneck], commit: str) -> str:
    return json.dumps({"commit": commit, "targets": _entries(items)}, indent=1)


def _entries(items: list[Bottleneck]) -> list[dict[str, Any]]:
    def one(b: Bottleneck) -> dict[str, Any]:
        n = len(b.run.profile.samples) if b.run else 0
        return {
            "target": b.target.id,
            "status": b.verdict.status if b.verdict else None,
            "value": b.verdict.value if b.verdict else None,
            "bound": b.target.bound,
            "unit": b.target.unit,
            "case": b.case,
            "reason": b.reason,
            "samples": n,
            "by_package": b.packages(),
            "top": [
                {"function": s.function.label, "kind": s.origin.kind, "package": s.origin.package,
                 "file": s.origin.path, "line": s.line, "self": s.self_samples / n,
                 "total": s.total_samples / n}
                for s in b.functions()
            ],
        }  # fmt: skip

    return [one(b) for b in items]


PROFILES_DIR = "profiles"  # results/profiles/MACHINE/COMMIT.json


def store(items: list[Bottleneck], commit: str, results_dir: Path, machine: str) -> Path:
    """The report and each profiled op's pruned profile (no path of this machine), into
    results/profiles/MACHINE/COMMIT.json, for the site."""
    ops = {}
    for b in items:
        if b.run is not None and b.case not in ops:
            count = sum(x.count for x in b.run.sampled) or 1
            ops[b.case] = {
                "cpu_per_op_ns": sum(x.cpu_ns for x in b.run.sampled) / count,
                "overhead": b.run.overhead_ratio,
                "profile": b.run.profile.pruned(b.run.tree),
            }
    derived = ("by_package", "top")  # the site derives them from the stored profile
    data = {
        "commit": commit,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "targets": [{k: v for k, v in e.items() if k not in derived} for e in _entries(items)],
        "ops": ops,
    }
    return atomic.write_json(results_dir / PROFILES_DIR / machine / f"{commit}.json", data)


def stored(results_dir: Path) -> dict[str, dict[str, Any]]:
    """Per machine, its newest stored report (by the time it was made); a file that is not
    one is skipped with a line on stderr."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((results_dir / PROFILES_DIR).glob("*/*.json")):
        try:
            data = json.loads(path.read_text())
            key = (data["created"], data["commit"])
            if not isinstance(data["targets"], list) or not isinstance(data["ops"], dict):
                raise TypeError("targets or ops of the wrong type")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"csbench: {path}: not a stored profile report ({exc})", file=sys.stderr)
            continue
        machine = path.parent.name
        if machine not in out or key > (out[machine]["created"], out[machine]["commit"]):
            out[machine] = data
    return out
