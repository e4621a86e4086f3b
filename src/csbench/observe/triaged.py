"""The triage file (results/triage/MACHINE.json: a verdict per step of asv's regressions list,
csbench.guard.triage measures them) and that list as ``asv publish`` writes it; read here for
the site's triage page and the CLI. asv reads no directory without a machine.json, and
csbench's asv plugin keeps asv's walk out of it (csbench.commits.asvplugin)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from csbench.measure import atomic
from csbench.observe.results import TRIAGE_DIR

VERDICTS = ("confirmed", "refuted", "failed", "not pairable")


class TriageError(RuntimeError):
    """No regressions list to triage, or an unreadable triage file."""


@dataclass(frozen=True)
class Listed:
    """One step of asv's regressions list."""

    name: str  # display name, as asv lists it
    machine: str
    head: str  # the first commit after the step
    base: str | None  # the last commit before it that the history measured (None: parent)
    before: float
    after: float
    # what paired A/B must find to confirm it: asv lists regressions; csbench steps lists
    # the largest steps of each op either way
    expect: str = "regression"


@dataclass
class Verdict:
    name: str
    base: str
    head: str
    verdict: str  # one of VERDICTS
    case: str | None = None  # the paired benchmark measured
    ratio: float | None = None
    p: float | None = None  # one-sided sign test over the pairs
    threshold: float | None = None
    pairs: int = 0
    listed_ratio: float | None = None  # after / before in the history
    reason: str = ""
    measured: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    # a confirmed step: where its op's CPU time went (csbench.observe.cpuprofile.explanation)
    explained: dict[str, Any] | None = None
    # what the step was measured to confirm (Listed.expect); a record written before this
    # field: a speed-up in the history was an improvement, anything else a regression
    expect: str = ""

    def __post_init__(self) -> None:
        if not self.expect:
            self.expect = expected(self.listed_ratio)

    @property
    def key(self) -> str:
        return key_of(self.name, self.base, self.head, self.expect)


def expected(ratio: float | None) -> str:
    """What paired A/B must find to confirm a step of the history's ``ratio`` (after /
    before): a speed-up is an improvement; a slowdown, or a step asv lists without one, a
    regression."""
    return "improvement" if ratio is not None and ratio < 1 else "regression"


def key_of(name: str, base: str, head: str, expect: str = "regression") -> str:
    """A verdict's key in the triage file: one per step and what it was to confirm."""
    return f"{name} {base[:12]}..{head[:12]}" + ("" if expect == "regression" else f" {expect}")


def listed(html_dir: Path) -> list[Listed]:
    """Every step of ``html_dir``/regressions.json, commits as full hashes (index.json)."""
    try:
        steps = json.loads((html_dir / "regressions.json").read_text())["regressions"]
        hashes = json.loads((html_dir / "index.json").read_text())["revision_to_hash"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TriageError(f"{html_dir}: no asv regressions list (csbench publish): {exc}") from None
    out = []
    for name, graph, _params, _idx, _last, _best, jumps in steps:
        machine = re.search(r"/machine-([^/]+)/", graph)
        for rev_a, rev_b, before, after in jumps:
            base = hashes[str(rev_a)] if rev_a is not None else None
            out.append(Listed(name, machine[1] if machine else "", hashes[str(rev_b)], base,
                              before, after))  # fmt: skip
    return out


def read(path: Path) -> dict[str, Verdict]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        verdicts = [Verdict(**v) for v in data["verdicts"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TriageError(f"{path}: not a triage file: {exc}") from None
    return {v.key: v for v in verdicts}


def write(path: Path, verdicts: dict[str, Verdict]) -> None:
    ordered = sorted(verdicts.values(), key=lambda v: (v.head, v.name))
    atomic.write_json(path, {"verdicts": [asdict(v) for v in ordered]}, indent=1)


def store_path(results_dir: Path, machine: str) -> Path:
    return results_dir / TRIAGE_DIR / f"{machine}.json"


def summary(verdicts: list[Verdict]) -> str:
    """ "N listed steps: a confirmed, b refuted, ..." (the kinds that occur)."""
    counts = {k: sum(v.verdict == k for v in verdicts) for k in VERDICTS}
    told = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    return f"{len(verdicts)} listed steps" + (f": {told}" if told else "")


def on_site(html_dir: Path, results_dir: Path) -> dict[str, list[tuple[Listed, Verdict | None]]]:
    """Per machine, each step of the site's regressions list with its verdict (None: not
    triaged yet), in the list's order."""
    out: dict[str, list[tuple[Listed, Verdict | None]]] = {}
    stores: dict[str, dict[str, Verdict]] = {}
    for step in listed(html_dir):
        if step.machine not in stores:
            stores[step.machine] = read(store_path(results_dir, step.machine))
        known = stores[step.machine]
        found = [v for v in known.values() if v.name == step.name and v.head == step.head
                 and (step.base is None or v.base == step.base)
                 and v.expect == step.expect]  # fmt: skip
        out.setdefault(step.machine, []).append((step, found[0] if found else None))
    return out
