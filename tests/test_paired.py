"""csbench.guard.paired: the verdict rules, the cases derived from the benchmark modules, and
pairs of real drivers."""

from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import pytest

from csbench.guard import compare, paired, power
from csbench.guard import settings as paired_settings
from csbench.measure import coreops, reference
from csbench.measure.bridge import CheckFailed, DriverError, Unsupported
from csbench.observe import suite, targets


def case(name: str) -> paired.Case:
    """The discovered case of this display name."""
    [found] = [c for c in suite.time_cases() if c.name == name]
    return found


FIND = case("core.Core.time_op('find_by_indexed', 'small-10000')")


def result(ratios: list[float], clock: str = "busy") -> paired.CaseResult:
    """A case whose pairs have the given head / base ratios (one round each)."""
    runs = [paired.PairRun([100.0], [100.0 * r], [200.0], [200.0 * r]) for r in ratios]
    return paired.CaseResult(FIND, clock, runs)


def test_sign_test_is_the_binomial_tail() -> None:
    assert paired.sign_test(8, 8) == pytest.approx(1 / 256)
    assert paired.sign_test(7, 8) == pytest.approx(9 / 256)
    assert paired.sign_test(0, 5) == 1.0


@pytest.mark.parametrize(
    ("ratios", "kind"),
    [
        ([1.10, 1.12, 1.08, 1.11, 1.09, 1.13, 1.10, 1.07], "regression"),
        ([1.10, 1.12, 1.08, 1.11, 1.09, 1.13, 1.10, 0.97], "regression"),  # 7 of 8: p = 0.035
        ([1.10, 1.12, 1.08, 1.11, 1.09, 1.13, 0.97, 0.98], "same"),  # 6 of 8: p = 0.145
        ([1.02, 1.03, 1.01, 1.04, 1.02, 1.03, 1.01, 1.02], "same"),  # agreed, but below 5 %
        ([0.90, 0.91, 0.88, 0.92, 0.90, 0.89, 0.91, 0.90], "improvement"),
        ([1.10, 1.12, 1.08, 1.11], "same"),  # 4 pairs can never reach p <= 0.05
    ],
)
def test_a_change_needs_its_size_and_the_pairs_agreement(ratios: list[float], kind: str) -> None:
    assert result(ratios).kind(threshold=0.05, alpha=0.05) == kind


def test_the_clock_chooses_the_series() -> None:
    run = paired.PairRun([100.0, 100.0, 100.0], [110.0, 90.0, 120.0], [10.0] * 3, [20.0] * 3)
    assert run.ratio("busy") == pytest.approx(1.10)
    assert run.ratio("cpu") == pytest.approx(2.0)
    assert paired.CaseResult(FIND, "cpu", [run]).value("head") == pytest.approx(20e-9)
    with pytest.raises(ValueError, match="clock"):
        paired.Settings(clock="wall")


def test_a_calibrated_benchmark_is_judged_by_its_own_threshold() -> None:
    loose = paired.Settings(calibrated={FIND.name: 0.25})
    assert loose.threshold_for(FIND.name) == 0.25
    assert loose.threshold_for("core.Core.time_op('insert', 'small-1000')") == loose.threshold
    change = result([1.2] * 8).change(loose)
    assert (change.kind, change.factor) == ("same", pytest.approx(1.25))
    assert "1 calibrated" in loose.describe() and "not calibrated" in paired.Settings().describe()


def test_the_change_carries_the_paired_ratio() -> None:
    change = result([1.2] * 8).change(paired.Settings())
    assert change.name == "core.Core.time_op('find_by_indexed', 'small-10000')"
    assert (change.kind, change.factor) == ("regression", pytest.approx(1.05))
    assert change.ratio == pytest.approx(1.2)
    assert change.base == pytest.approx(100e-9)  # seconds, as asv's time_op
    plain = compare.Change("x", "same", 1.0, 3.0, 2.0)
    assert plain.ratio == 3.0


DIED, WRONG, MISSING = DriverError("died"), CheckFailed("wrong count"), Unsupported("no op")


@pytest.mark.parametrize(
    ("errors", "kind"),
    [
        ({"head": DIED}, "failed"),
        ({"head": WRONG}, "failed"),
        ({"base": DIED}, "fixed"),
        ({"base": DIED, "head": WRONG}, "still-failed"),
        ({"head": MISSING}, "gone"),
        ({"base": MISSING}, "new"),
        ({"base": MISSING, "head": MISSING}, "skipped"),
        ({"base": MISSING, "head": DIED}, "failed"),  # a crash outweighs a missing op
    ],
)
def test_a_failed_side_is_named(errors: dict[str, DriverError], kind: str) -> None:
    res = paired.CaseResult(FIND, error=paired.SideError(errors))
    change = res.change(paired.Settings())
    assert change.kind == kind
    assert change.ratio is None
    assert str(res.error).count(": ") >= len(errors)


def test_each_side_tries_both_before_it_raises() -> None:
    tried: list[str] = []

    def action(side: str) -> str:
        tried.append(side)
        if side == "head":
            raise DIED
        return side

    with pytest.raises(paired.SideError) as caught:
        paired.each_side(["head", "base"], action)
    assert tried == ["head", "base"] and caught.value.side == "head"
    assert paired.each_side(["base"], str.upper) == {"base": "BASE"}


def test_the_cases_are_every_time_benchmark_asv_discovers() -> None:
    """Derived from the benchmark modules: every parameter combination of every time_
    benchmark of every area, named as asv names it, and nothing else."""
    cases = suite.time_cases()
    defined = targets.benchmark_definitions()
    expected = {
        name + (f"({', '.join(combo)})" if combo else "")
        for name, (_, params) in defined.items()
        if name.split(".")[-1].startswith("time_")
        for combo in itertools.product(*params)
    }
    assert {c.name for c in cases} == expected and len(cases) == len(expected)
    assert {c.area for c in cases} == {
        "core", "auth", "wal", "realtime", "files", "computed", "functions", "harness"
    }  # fmt: skip
    assert sum(c.area == "core" for c in cases) == len(coreops.OPS) * len(coreops.DATASETS)
    publish = case("realtime.RealtimeTime.time_publish(100)")
    assert (publish.params, publish.method) == ((100,), "time_publish")


def test_selection_and_the_patterns_left_to_asv() -> None:
    chosen = suite.select([r"time_op\('find_by_\w+', 'small-1000'\)"])
    assert [c.name for c in chosen] == [
        "core.Core.time_op('find_by_id', 'small-1000')",
        "core.Core.time_op('find_by_indexed', 'small-1000')",
    ]
    names = [
        "core.Core.time_op('find_by_id', 'small-1000')",
        "core.CoreLatency.track_p95('find_by_id', 'small-1000')",
        "auth.AuthTime.time_op('login', 'test')",
        "auth.AuthLatency.track_p95('login', 'test')",
        "harness.Floor.time_noop",
        "harness.Floor.track_roundtrip",
    ]
    for bench, kept in (
        ([], [names[1], names[3], names[5]]),
        (["find_by_id"], [names[1]]),
        (["^core"], [names[1]]),
        (["^auth"], [names[3]]),
        (["Floor"], [names[5]]),
    ):
        patterns = [re.compile(p) for p in paired.asv_patterns(bench)]
        assert [n for n in names if any(p.search(n) for p in patterns)] == kept, bench


class Returns:
    """Benchmark classes that break the paired engine's contract in each way."""

    def setup(self, how: str) -> None:
        if how == "missing":
            raise NotImplementedError("no such op at this commit")
        if how == "broken":
            raise KeyError("fixture")

    def time_op(self, how: str) -> object:
        return None


@pytest.mark.parametrize(
    ("how", "error"), [("missing", Unsupported), ("broken", DriverError), ("none", DriverError)]
)
def test_a_class_that_breaks_the_contract_is_a_failed_case(how: str, error: type) -> None:
    fake = paired.Case(f"m.Returns.time_op('{how}')", "m.Returns.time_op", (how,), Returns)
    with pytest.raises(error) as caught:
        fake.batch(fake.instance())
    assert type(caught.value) is error
    if how == "none":
        assert "returned NoneType, not its Batch" in str(caught.value)


# --- real drivers on the npm-published Collection Store ---


@pytest.fixture(scope="module")
def tree(npm_target: Path) -> Path:
    return npm_target


def test_a_pair_of_real_drivers_measures_both_sides(tree: Path) -> None:
    persist = case("core.Core.time_op('persist', 'small-1000')")  # broken in this release
    runs = paired.run_pair(tree, tree, [FIND, persist], rounds=4, head_first=True)
    assert isinstance(runs[persist], paired.SideError) and runs[persist].side == "both"
    run = runs[FIND]
    assert isinstance(run, paired.PairRun)
    for clock in paired_settings.CLOCKS:
        for side in ("base", "head"):
            values = run.values(side, clock)
            assert len(values) == 4 and all(v > 0 for v in values), (clock, side)
        assert 0.3 < run.ratio(clock) < 3, clock  # the same tree on both sides


def wrong_find_by(tree: Path, parent: Path) -> Path:
    """A copy of the npm package whose findBy finds nothing (its dependencies linked)."""
    modules = parent / "node_modules"
    modules.mkdir()
    for dep in tree.parent.iterdir():
        if dep.name != tree.name:
            (modules / dep.name).symlink_to(dep)
    copy = modules / tree.name
    shutil.copytree(tree, copy, ignore=shutil.ignore_patterns("node_modules"))
    source = copy / power.SOURCE_FILE
    text, found = re.subn(
        r"^(\s*async findBy\([^)]*\)[^{\n]*\{)$", r"\1 return [] as any;", source.read_text(),
        flags=re.MULTILINE,
    )  # fmt: skip
    assert found == 1
    source.write_text(text)
    return copy


def test_a_wrong_head_fails_its_case_and_the_other_cases_run(tree: Path, tmp_path: Path) -> None:
    """findBy broken at HEAD: find_by_indexed fails there (a failed check), find_by_id
    still compares; persist, broken in this release at both commits, is still-failed."""
    head = wrong_find_by(tree, tmp_path)
    cases = [FIND, case("core.Core.time_op('find_by_id', 'small-1000')"),
             case("core.Core.time_op('persist', 'small-1000')")]  # fmt: skip
    settings = paired.Settings(pairs=1, rounds=2)
    results = paired.measure(tree, head, cases, settings, log=lambda _: None)
    changes = [r.change(settings) for r in results]
    assert [c.kind for c in changes] == ["failed", "same", "still-failed"], [
        str(r.error) for r in results
    ]
    assert "head: " in str(results[0].error) and "base: " not in str(results[0].error)
    assert changes[1].ratio is not None and changes[0].head is None
    assert "BPlusTree.serialize" in str(results[2].error)


def test_an_area_the_package_lacks_is_skipped_on_both_sides(tree: Path) -> None:
    """The npm release has no auth: the benchmark class's own setup says so on each side."""
    login = case("auth.AuthTime.time_op('login', 'test')")
    [res] = paired.measure(tree, tree, [login], paired.Settings(pairs=1, rounds=2), print)
    assert res.change(paired.Settings()).kind == "skipped"
    assert res.error is not None and res.error.unsupported


@pytest.mark.parametrize(
    "name", ["wal.WalTime.time_txn_commit", "realtime.RealtimeTime.time_publish(100)"]
)
def test_area_benchmarks_of_a_full_commit_are_measured_paired(repo_checkout, name: str) -> None:
    tree = repo_checkout("2307c8d")
    [res] = paired.measure(tree, tree, [case(name)], paired.Settings(pairs=2, rounds=3), print)
    assert res.error is None and len(res.pairs) == 2
    assert all(v > 0 for p in res.pairs for v in p.head_cpu_ns + p.base_cpu_ns)


def test_the_reference_file_is_read_and_checked(tmp_path: Path) -> None:
    ref = reference.load()
    assert len(ref.commit) == 40 and ref.benchmarks
    cases = {c.name for c in suite.time_cases()}
    assert set(ref.benchmarks) <= cases  # every one a time_ benchmark the suite defines
    areas = {name.split(".")[0] for name in ref.benchmarks}
    assert areas == {"core", "auth", "wal", "realtime", "files", "computed", "functions"}
    assert reference.parse_name("realtime.RealtimeTime.time_publish(100)") == (
        "realtime",
        "RealtimeTime",
        "time_publish",
        (100,),
    )
    path = tmp_path / "reference.yaml"
    for text, says in (
        ("commit: 2307c8d\nbenchmarks: [wal.WalTime.time_txn_commit]\n", "not a full commit"),
        (f"commit: {'a' * 40}\nbenchmarks: []\n", "expected a list"),
        (f"commit: {'a' * 40}\nbenchmarks: [core.CoreLatency.track_p95]\n", "time_method"),
        (f"commit: {'a' * 40}\n", "expected the keys"),
    ):
        path.write_text(text)
        with pytest.raises(reference.ReferenceError, match=says):
            reference.load(path)


def test_a_reference_track_is_the_paired_ratio_to_the_reference(
    repo_checkout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commit under test is the reference itself here: a ratio near 1, from real pairs."""
    import sys

    from csbench.commits.checkout import build_reference
    from csbench.commits.config import configured_repo

    repo_checkout("2307c8d")  # skips without a repository
    ref = reference.load()
    build_reference(str(configured_repo()), print)  # as csbench run does, into the cache
    assert ref.built
    monkeypatch.setenv("CSBENCH_TARGET", str(ref.tree))
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1]))
    sys.modules.pop("benchmarks.reference", None)
    from benchmarks import reference as tracks

    monkeypatch.setattr(tracks, "PAIRS", 2)
    monkeypatch.setattr(tracks, "ROUNDS", 3)
    two = ["wal.WalTime.time_txn_commit", "core.Core.time_op('find_by_id', 'small-10000')"]
    monkeypatch.setattr(tracks, "REFERENCE", reference.Reference(ref.commit, tuple(two)))
    bench = tracks.Reference()
    cache = bench.setup_cache()  # both measured in the same pairs
    for name in two:
        bench.setup(cache, name)
        assert len(cache[name]["ratios"]) == 2
        assert 0.5 < bench.track_ratio(cache, name) < 2.0
    monkeypatch.setenv("CSBENCH_NO_REFERENCE", "1")
    assert bench.setup_cache() == {}
    with pytest.raises(NotImplementedError, match="CSBENCH_NO_REFERENCE"):
        bench.setup({}, two[0])


def test_asv_is_left_out_when_every_selected_benchmark_is_paired() -> None:
    find = r"core\.Core\.time_op\('find_by_id', 'small-1000'\)"
    assert not paired.asv_selects(paired.asv_patterns([find]))
    assert paired.asv_selects(paired.asv_patterns([find, r"harness\.Floor\.track_roundtrip"]))
    track = "reference.Reference.track_ratio(\"core.Core.time_op('find_by_id', 'small-1000')\")"
    assert not any(re.search(p, track) for p in paired.asv_patterns([find]))
