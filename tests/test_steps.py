"""csbench steps (csbench.observe.steps): the largest steps of the committed history per
benchmark, and one confirmed by paired A/B on the repository (repo tier)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from csbench.guard import paired, triage
from csbench.observe import steps, triaged

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
    first = found[0]
    verdict = triaged.Verdict(first.name, first.base, first.head, "refuted", ratio=1.01)
    assert "refuted" in steps.render(found[:1], {first: verdict}).splitlines()[1]


def test_a_large_step_is_confirmed_in_its_direction(tmp_path: Path, repo_checkout) -> None:
    """remove_by_id at 10,000 documents, 4aa1f8c (the history's 4.3x): paired against the
    commit measured before it, it is confirmed as a regression."""
    from csbench.commits.config import configured_repo

    repo_checkout("4aa1f8c")  # skips without a repository
    repo = configured_repo()
    assert repo is not None
    step = next(
        (s for s in steps.largest(RESULTS, MACHINE, (r"remove_by_id', 'small-10000'",), top=1)
         if s.head.startswith("4aa1f8c")), None,
    )  # fmt: skip
    if step is None:
        pytest.skip("the committed history has no such step")
    assert step.ratio > 2 and step.listed(MACHINE).expect == "regression"
    settings = paired.Settings(pairs=5, rounds=3)
    [v] = triage.triage(repo, [step.listed(MACHINE)], settings, tmp_path / "t.json", log=print)
    assert v.verdict == "confirmed" and v.ratio is not None and v.ratio > 1.5, v
