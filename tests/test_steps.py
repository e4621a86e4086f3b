"""csbench steps (csbench.observe.steps): the largest steps of the committed history per
benchmark (their paired measurement is csbench triage's: tests/test_triage.py, a speed-up
confirmed as an improvement included)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

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


def test_verdicts_already_stored_are_shown_without_measuring(tmp_path: Path) -> None:
    found = steps.largest(RESULTS, MACHINE, top=1)
    if len(found) < 2:
        pytest.skip(f"no committed history of {MACHINE}")
    first = found[0]
    verdict = triaged.Verdict(first.name, first.base, first.head, "confirmed", ratio=1.2)
    store = triaged.store_path(tmp_path, MACHINE)
    triaged.write(store, {verdict.key: verdict})
    known = steps.stored(found, triaged.read(store))
    assert known == {first: verdict}
    lines = steps.render(found, known).splitlines()[1:]
    assert sum("confirmed" in line for line in lines) == 1
    assert sum("not measured" in line for line in lines) == len(found) - 1
