"""The pull-request summary (csbench.guard.ci.markdown): every benchmark it judged, flagged
ones on top with ratio and threshold, the rest collapsed, the count equal to what was
compared, and targets the selection did not run in one line."""

from __future__ import annotations

from csbench.guard.ci import CiResult, markdown
from csbench.guard.compare import Change

ID = "core.Core.time_op('find_by_id', 'small-1000')"


def result(*changes: Change, targets_text: str = "") -> CiResult:
    units = {"core.Core.time_op": "seconds"}
    return CiResult("a" * 40, "b" * 40, "m", list(changes), units, targets_text, True)


def test_flagged_on_top_the_rest_collapsed_and_counted() -> None:
    text = markdown(
        result(
            Change("core.Core.time_op('slow', 'x')", "regression", 1e-6, 1.2e-6, 1.05),
            Change(ID, "same", 1e-6, 1.01e-6, 1.05),
            Change("core.Core.time_op('broken', 'x')", "still-failed", None, None, 1.3),
            Change("core.Core.time_op('area', 'x')", "skipped", float("nan"), float("nan"), 1.3),
            Change("core.Core.time_op('added', 'x')", "new", None, 1e-6, 1.3),
        )
    )
    assert "3 benchmarks compared" in text and "Not compared: 1 skipped, 1 new." in text
    head, collapsed = text.split("<details>", 1)
    assert "### Regressions" in head and "`core.Core.time_op('slow', 'x')`" in head
    assert "| 1.200 " in head and "±5.0%" in head  # ratio and threshold
    assert ID not in head and ID in collapsed and "broken" in collapsed
    assert "2 benchmarks within their thresholds (1 failing at both)" in collapsed
    assert collapsed.index("broken") < collapsed.index(ID)  # the failing first
    assert "area" not in text and "added" not in text


def test_targets_the_selection_did_not_run_are_one_line() -> None:
    text = markdown(result(Change(ID, "same", 1e-6, 1e-6, 1.05), targets_text="Not run by "
                           "this selection: auth-login-p95, simple-query-p95."))  # fmt: skip
    targets = text.split("### Targets at HEAD", 1)[1].strip()
    assert targets == "Not run by this selection: auth-login-p95, simple-query-p95."


def test_a_profiled_regression_says_where_the_time_went() -> None:
    """The op of a paired regression, profiled at both commits: the function that grew is
    the first row of its collapsed table (csbench.observe.cpuprofile.render_explanation)."""
    from pathlib import Path

    from csbench.measure.bridge import Batch
    from csbench.measure.histogram import Histogram
    from csbench.observe.cpuprofile import Profile, ProfileRun, explanation

    slow = "core.Core.time_op('slow', 'x')"

    def run(spin_samples: int) -> ProfileRun:
        fns = [
            ["findBy", "/cs/src/a.ts", "#F", 0],
            ["now", "", "#N", 1],
            ["clone", "/cs/src/b.ts", "#C", 0],
        ]
        stacks = [[1, 0, 0, 5], [2, 7, 0, 6]]  # now <- findBy (the spin), clone <- findBy
        samples = [0] * spin_samples + [1] * 100
        profile = Profile.merge([{"functions": fns, "stacks": stacks, "samples": samples}], 100)
        batch = Batch("op", 10, 1000, Histogram(), {}, cpu_ns=(100 + spin_samples) * 1000)
        return ProfileRun(slow, Path("/cs"), profile, [1.05], [batch])

    res = result(Change(slow, "regression", 1e-6, 1.2e-6, 1.05))
    res.explained[slow] = explanation(run(0), run(20))
    text = markdown(res)
    assert f"Where the time went: <code>{slow}</code>" in text
    table = text.split("Where the time went", 1)[1]
    rows = [line for line in table.splitlines() if line.startswith("|")]
    first = rows[2]  # after the header and its rule
    assert "findBy" in first and "src/a.ts" in first  # the spin in now() counts for findBy


def test_a_failed_combination_is_explained_by_its_own_reason() -> None:
    """asv's record of a parameterized benchmark holds a reason per failed combination
    (csbench.observe.failures): each failed change shows its own."""
    res = result(
        Change("core.Core.time_op('find_by_id', 'x')", "failed", 1e-6, None, 1.3),
        Change("core.Core.time_op('reload', 'x')", "failed", 1e-6, None, 1.3),
    )
    res.failures["core.Core.time_op"] = (
        "For parameters: 'find_by_id', 'x'\nCheckFailed: find_by_id: expected 1, got null\n\n"
        "For parameters: 'reload', 'x'\nRuntimeError: reload: driver exited"
    )
    assert res.why(res.changes[0]) == "CheckFailed: find_by_id: expected 1, got null"
    assert res.why(res.changes[1]) == "RuntimeError: reload: driver exited"
    text = markdown(res)
    assert text.count("driver exited") == 1 and text.count("expected 1, got null") == 1
