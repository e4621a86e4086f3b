"""``csbench triage``: every regression asv's history lists, measured again by paired A/B.

asv's regressions list (regressions.json of ``asv publish``) judges steps between separate
runs, whose noise on a shared host reaches 1.5x; here each listed step is measured again:
the flagged commit (HEAD) against the commit before the step (BASE: the last one the
history measured, or the first parent when the step is one commit), both built, by
csbench.guard.paired with the machine's paired thresholds. A step of a ``time_`` benchmark
is measured on that benchmark; a step of a track on the ``time_`` benchmark its class names
in ``paired_time`` (the same op and params, e.g. core.CoreLatency -> core.Core.time_op);
other tracks (load, harness) cannot be paired.

Verdicts: *confirmed* (the paired A/B flags a regression: beyond its threshold, the pairs
agreeing; its op is then profiled at both commits: which functions' share grew),
*refuted* (it does not), *failed* (a side could not be measured), *not pairable*. They are
kept in results/triage/MACHINE.json (csbench.observe.triaged), keyed by benchmark and the
two commits, so a step is measured once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from csbench.commits import git
from csbench.commits.checkout import built_commit
from csbench.guard import paired
from csbench.measure.build import BuildError
from csbench.observe import cpuprofile, suite
from csbench.observe.triaged import Listed, Verdict, key_of, read, write


def triage(
    repo: str,
    steps: list[Listed],
    settings: paired.Settings,
    store: Path,
    builds: Path | None = None,
    log: Callable[[str], None] = print,
    force: bool = False,
) -> list[Verdict]:
    """A verdict for every step (those in ``store`` are reused unless ``force``); each new
    one is written to ``store`` as soon as its commit pair is measured."""
    known = read(store)
    cases = suite.time_cases()
    parents = {h: git.resolve(repo, f"{h}^1") for h in {s.head for s in steps if not s.base}}
    bases = {s: s.base or parents[s.head] for s in steps}
    todo: dict[tuple[str, str], list[tuple[Listed, paired.Case | None]]] = {}
    for step in steps:
        if not force and key_of(step.name, bases[step], step.head, step.expect) in known:
            continue
        case = suite.time_case_of(step.name, cases)
        todo.setdefault((bases[step], step.head), []).append((step, case))
    for n, ((base, head), group) in enumerate(todo.items()):
        log(f"csbench triage: {n + 1} of {len(todo)}: {head[:8]} against {base[:8]}")
        for v in _measure(repo, base, head, group, settings, builds, log):
            known[v.key] = v
        write(store, known)
    return [known[key_of(s.name, bases[s], s.head, s.expect)] for s in steps]


def _measure(
    repo: str,
    base: str,
    head: str,
    group: list[tuple[Listed, paired.Case | None]],
    settings: paired.Settings,
    builds: Path | None,
    log: Callable[[str], None],
) -> list[Verdict]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    used = {"pairs": settings.pairs, "rounds": settings.rounds, "clock": settings.clock}

    def verdict(step: Listed, kind: str, **fields: Any) -> Verdict:
        ratio = step.after / step.before if step.before else None
        return Verdict(step.name, base, head, kind, listed_ratio=ratio, measured=now,
                       settings=used, expect=step.expect, **fields)  # fmt: skip

    out = [verdict(s, "not pairable", reason="no time_ benchmark measures this series")
           for s, c in group if c is None]  # fmt: skip
    cases = list(dict.fromkeys(c for _, c in group if c is not None))
    if not cases:
        return out
    try:
        trees = [built_commit(repo, commit, root=builds) for commit in (base, head)]
    except BuildError as exc:
        reason = f"build failed: {str(exc).splitlines()[0]}"
        return out + [verdict(s, "failed", case=c.name, reason=reason) for s, c in group if c]
    results = {r.case: r for r in paired.measure(trees[0], trees[1], cases, settings, log)}
    for step, case in group:
        if case is None:
            continue
        r = results[case]
        threshold = settings.threshold_for(case.name)
        if r.error is not None:
            reason = str(r.error).splitlines()[0]
            out.append(verdict(step, "failed", case=case.name, reason=reason, pairs=len(r.pairs)))
            continue
        above = sum(x > 1 for x in r.ratios)
        kind = r.kind(threshold, settings.alpha)
        out.append(verdict(
            step, "confirmed" if kind == step.expect else "refuted", case=case.name,
            ratio=r.ratio, p=paired.sign_test(above, len(r.pairs)), threshold=threshold,
            pairs=len(r.pairs),
        ))  # fmt: skip
    confirmed = sorted((v for v in out if v.verdict == "confirmed" and (v.ratio or 0) > 1),
                       key=lambda v: -(v.ratio or 0))  # fmt: skip
    by_name = {c.name: c for c in cases}
    cases_of = list(dict.fromkeys(by_name[v.case] for v in confirmed if v.case))
    explained = cpuprofile.explain_each(trees[0], trees[1], cases_of, log)
    for v in confirmed:
        v.explained = explained.get(v.case or "")
    return out
