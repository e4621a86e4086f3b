"""csbench steps (csbench.observe.steps): the largest steps of the committed history per
benchmark (their paired measurement is csbench triage's: tests/test_triage.py, a speed-up
confirmed as an improvement included)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from helpers import csbench

from csbench.observe import steps, triaged
from csbench.observe.results import read_machine

RESULTS = Path(__file__).parents[1] / "results"
MACHINE = "xeon-2core-24g"


def test_the_largest_steps_of_each_benchmark_come_first() -> None:
    found = steps.largest(RESULTS, MACHINE, top=2)
    if not found:
        pytest.skip(f"no committed history of {MACHINE}")
    by_name: dict[str, list[steps.Step]] = {}
    for s in found:
        by_name.setdefault(s.name, []).append(s)
        assert s.base != s.head and s.before > 0 and s.after > 0
    assert all(n.endswith("'small-10000')") for n in by_name)  # the default selection
    for listed in by_name.values():
        assert len(listed) <= 2
        sizes = [abs(math.log(s.ratio)) for s in listed]
        assert sizes == sorted(sizes, reverse=True)
    text = steps.render(found, {})
    assert text.count("not measured") == len(found)
    assert all(s.base[:8] in line for s, line in zip(found, text.splitlines()[1:], strict=True))
    first = found[0]
    verdict = triaged.Verdict(first.name, first.base, first.head, "refuted", ratio=1.01)
    assert "refuted" in steps.render(found[:1], {first: verdict}).splitlines()[1]


def test_verdicts_already_stored_are_shown_without_measuring(tmp_path: Path) -> None:
    found = steps.largest(RESULTS, MACHINE, top=1)
    if len(found) < 2:
        pytest.skip(f"no committed history of {MACHINE}")
    first = found[0]
    verdict = triaged.Verdict(
        first.name, first.base, first.head, "confirmed", ratio=1.2, expect=first.expect
    )
    other = "improvement" if first.expect == "regression" else "regression"
    # the same commits measured to confirm the other way (a history measured again)
    flipped = triaged.Verdict(first.name, first.base, first.head, "refuted", expect=other)
    store = triaged.store_path(tmp_path, MACHINE)
    triaged.write(store, {verdict.key: verdict, flipped.key: flipped})
    known = steps.stored(found, triaged.read(store))
    assert known == {first: verdict}
    lines = steps.render(found, known).splitlines()[1:]
    assert sum("confirmed" in line for line in lines) == 1
    assert sum("not measured" in line for line in lines) == len(found) - 1


def test_a_step_joins_commits_of_one_branch_only() -> None:
    measured = sorted((r.date or 0, r.commit_hash) for r in read_machine(RESULTS, MACHINE))
    commits = [c for _, c in measured]
    if len(commits) < 4:
        pytest.skip(f"no committed history of {MACHINE}")
    found = steps.largest(RESULTS, MACHINE, top=10_000)
    assert set(steps.largest(RESULTS, MACHINE, top=10_000, chains=[commits])) == set(found)
    # two branches: the even commits, and the first with the odd ones but the last
    evens, odds = commits[0::2], [commits[0], *commits[1:-1:2]]
    chained = steps.largest(RESULTS, MACHINE, top=10_000, chains=[evens, odds])

    def on_one_branch(s: steps.Step) -> bool:  # base before head on the same branch
        return any(s.base in c and s.head in c and c.index(s.base) < c.index(s.head)
                   for c in (evens, odds))  # fmt: skip

    assert chained and all(on_one_branch(s) for s in chained)
    assert not all(on_one_branch(s) for s in found)  # by date, steps join the two
    assert len({(s.name, s.base, s.head) for s in chained}) == len(chained)  # counted once
    if len(commits) % 2 == 0:  # the last commit is on neither branch: no step
        assert commits[-1] not in {c for s in chained for c in (s.base, s.head)}


def test_without_a_local_repository_steps_say_they_follow_commit_dates(tmp_path: Path) -> None:
    if len(steps.largest(RESULTS, MACHINE, top=1)) < 2:
        pytest.skip(f"no committed history of {MACHINE}")
    out = csbench(tmp_path, "steps", "--top", "1", "--repo", "https://example.invalid/cs.git")
    assert out.returncode == 0, out.stderr
    assert "no local repository" in out.stderr
    assert out.stdout.splitlines()[0].endswith("the commit measured before it by commit date")
