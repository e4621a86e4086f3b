"""csbench.guard.compare (per-benchmark factors over asv results) and csbench.guard.calibrate (A/A
noise into thresholds), on values and on the results of a real asv run (tests/fixtures)."""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from csbench.commits.twin import make_twin
from csbench.guard import calibrate
from csbench.guard import settings as paired_settings
from csbench.guard.compare import Change, asv_says_lower, classify, commit_results, compare
from csbench.observe import calibration

FIXTURES = Path(__file__).parent / "fixtures" / "results"
NAME = "core.Core.time_op('find_by_id', 'small-1000')"
MAX_USERS = "load.LoadScenario.track_max_users('production-validation')"


def v(x: float | None) -> tuple[float | None, None, None]:
    return (x, None, None)  # no statistics: asv judges by the factor alone


@pytest.mark.parametrize(
    ("base", "head", "factor", "kind"),
    [
        (1.0, 1.2, 1.3, "same"),
        (1.0, 1.4, 1.3, "regression"),
        (1.4, 1.0, 1.3, "improvement"),
        (1.0, None, 1.3, "failed"),
        (None, None, 1.3, "still-failed"),
        (None, 1.0, 1.3, "fixed"),
        (1.0, math.nan, 1.3, "skipped"),
    ],
)
def test_classify(base: float | None, head: float | None, factor: float, kind: str) -> None:
    assert classify(NAME, v(base), v(head), factor) == kind


def test_asv_says_lower_pins_asvs_rule() -> None:
    """The one private asv name csbench uses: the factor alone without statistics; with
    asv's confidence intervals, overlapping ones are no difference whatever the factor."""
    assert asv_says_lower(1.0, 1.4, None, None, 1.3)
    assert not asv_says_lower(1.0, 1.2, None, None, 1.3)
    apart = ({"ci_99_a": 0.9, "ci_99_b": 1.1, "q_25": 0.95, "q_75": 1.05, "repeat": 10}, None)
    far = ({"ci_99_a": 1.8, "ci_99_b": 2.2, "q_25": 1.9, "q_75": 2.1, "repeat": 10}, None)
    wide = ({"ci_99_a": 0.5, "ci_99_b": 2.5, "q_25": 0.8, "q_75": 2.2, "repeat": 10}, None)
    assert asv_says_lower(1.0, 2.0, apart, far, 1.3)
    assert not asv_says_lower(1.0, 2.0, apart, wide, 1.3)


def test_higher_is_better_series_regress_downwards() -> None:
    assert classify(MAX_USERS, v(10_000), v(5_000), 1.3) == "regression"
    assert classify(MAX_USERS, v(5_000), v(10_000), 1.3) == "improvement"


def test_compare_uses_each_benchmark_factor() -> None:
    base = {NAME: v(1.0), "other": v(1.0), "gone": v(1.0)}
    head = {NAME: v(1.5), "other": v(1.5), "new": v(1.0)}
    changes = {c.name: c for c in compare(base, head, {NAME: 1.2}, default_factor=2.0)}
    assert changes[NAME] == Change(NAME, "regression", 1.0, 1.5, 1.2)
    assert changes["other"].kind == "same" and changes["other"].factor == 2.0
    assert changes["gone"].kind == "gone" and changes["new"].kind == "new"
    assert changes[NAME].ratio == pytest.approx(1.5)


def test_commit_results_reads_a_real_asv_run() -> None:
    machine = next(p.name for p in FIXTURES.iterdir() if p.is_dir())
    files = [p for p in (FIXTURES / machine).glob("*.json") if p.name != "machine.json"]
    commit = json.loads(files[0].read_text())["commit_hash"]
    results = commit_results(FIXTURES, machine, commit)
    p95 = {n: r for n, r in results.items() if n.startswith("core.CoreLatency.track_p95(")}
    assert p95 and all(n.endswith(")") for n in p95)  # one entry per param combination
    assert any(r[0] is None for r in p95.values())  # the fixture holds failed values too


def test_thresholds_from_aa_runs(tmp_path: Path) -> None:
    pairs = [
        ({NAME: v(1.0), "quiet": v(2.0)}, {NAME: v(1.1), "quiet": v(2.0)}),
        ({NAME: v(1.2), "quiet": v(2.01)}, {NAME: v(1.14), "quiet": v(2.01)}),
        ({NAME: v(1.1)}, {NAME: v(1.1)}),
    ]
    t = calibrate.thresholds("m", "c0ffee", pairs)
    assert t.runs == 3
    assert t.noise == {NAME: pytest.approx(0.2)}  # "quiet" is missing from one run
    assert t.pair_noise == {NAME: pytest.approx(0.1)}  # the twins of run 1
    assert t.factors[NAME] == pytest.approx(1.15)  # ci: 1 + 1.5 x 10 %
    assert t.history_factors[NAME] == pytest.approx(1.3)  # history: 1 + 1.5 x 20 %
    assert t.values == {NAME: [1.0, 1.1, 1.2, 1.14, 1.1, 1.1]}  # kept for diagnosis
    assert t.factor("quiet") == t.default_factor == calibration.DEFAULT_FACTOR
    quiet = calibrate.thresholds("m", "c0ffee", pairs[:2])
    assert quiet.factors["quiet"] == pytest.approx(1.05)  # never below 5 %
    key = r"^core\.Core\.time_op\('find_by_id',\ 'small\-1000'\)(@|$)"
    assert quiet.regressions_thresholds() == {key: pytest.approx(0.3), r"^quiet(@|$)": 0.05}
    path = calibration.save(quiet, calibration.thresholds_file("m", tmp_path))
    assert calibration.load("m", tmp_path) == quiet and path.name == "m.json"
    assert calibration.load("unknown", tmp_path) is None
    assert not list(tmp_path.glob("*.tmp"))


def test_thresholds_files_without_pair_noise_still_load(tmp_path: Path) -> None:
    old = {"machine": "m", "commit": "c", "runs": 3, "created": "t", "noise": {NAME: 0.1},
           "factors": {NAME: 1.15}, "default_factor": 2.0}  # fmt: skip
    (tmp_path / "m.json").write_text(json.dumps(old))
    loaded = calibration.load("m", tmp_path)
    assert loaded is not None and loaded.factor(NAME) == 1.15
    assert loaded.regressions_thresholds() == {"^" + re.escape(NAME) + "(@|$)": 0.15}


def test_asv_applies_each_benchmarks_history_threshold() -> None:
    """asv's regressions list (plugins/regressions.py) finds, for every benchmark and params
    of the committed suite, on a named branch and without one, the committed calibration's
    history threshold, and the calibration's default for a benchmark it did not measure."""
    from asv.plugins.regressions import _GraphDataFilter

    from csbench.measure.paths import project_root
    from csbench.observe import results, site

    names = results.display_names(results.benchmarks_meta(project_root() / "results"))
    machines = [p.stem for p in (project_root() / "benchmarks" / "thresholds").glob("*.json")]
    assert names and machines
    conf = SimpleNamespace(regressions_thresholds=site.regressions_thresholds(machines, names))
    cals = [c for c in map(calibration.load, machines) if c is not None]
    for name in names:
        wanted = max(c.history_factor(name) for c in cals) - 1.0
        for branch in ({"branch": "master"}, {}):
            graph = SimpleNamespace(params=branch)
            found = _GraphDataFilter._get_threshold(SimpleNamespace(conf=conf), graph, {}, name)
            assert found == pytest.approx(wanted, abs=1e-4), (name, branch)


GOOD = {"machine": "m", "commit": "c", "runs": 3, "created": "t", "factors": {NAME: 1.15}}
PAIRED = {"commit": "c", "created": "t", "runs": 2, "settings": {"pairs": 8},
          "spread": {NAME: 0.01}, "thresholds": {NAME: 0.04},
          "ratios": {NAME: [1.0, 1.01]}}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "not JSON"),
        ("[]", "expected a JSON object"),
        (json.dumps({**GOOD, "colour": "red"}), "key 'colour': unknown"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "commit"}), "key 'commit': missing"),
        (json.dumps({**GOOD, "factors": {NAME: -5}}), "factor -5 is below 1"),
        (json.dumps({**GOOD, "factors": {NAME: "x"}}), f"key 'factors': {NAME}: not a number"),
        (json.dumps({**GOOD, "noise": [1]}), "key 'noise': expected an object"),
        (json.dumps({**GOOD, "default_factor": 0.5}), "key 'default_factor': 0.5"),
        (json.dumps({**GOOD, "runs": -1}), "key 'runs': -1 is not a count"),
        (json.dumps({**GOOD, "paired": []}), "key 'paired': expected an object"),
        (json.dumps({**GOOD, "paired": {**PAIRED, "runs": 0}}), "key 'paired': key 'runs': 0"),
        (json.dumps({**GOOD, "paired": {**PAIRED, "pairs": 8}}), "'paired': key 'pairs': unknown"),
        (
            json.dumps({**GOOD, "paired": {k: v for k, v in PAIRED.items() if k != "settings"}}),
            "key 'paired': key 'settings': missing",
        ),
        (
            json.dumps({**GOOD, "paired": {**PAIRED, "thresholds": {NAME: -0.1}}}),
            f"key 'paired': key 'thresholds': {NAME}: negative",
        ),
        (
            json.dumps({**GOOD, "paired": {**PAIRED, "ratios": {NAME: [1.0, "x"]}}}),
            f"key 'paired': key 'ratios': {NAME}: not a number",
        ),
    ],
)
def test_a_malformed_thresholds_file_names_file_and_key(
    tmp_path: Path, text: str, says: str
) -> None:
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(calibration.ThresholdsFileError) as info:
        calibration.read(path)
    assert str(info.value).startswith(f"{path}: ") and says in str(info.value)
    assert "\n" not in str(info.value)


def test_merge_replaces_only_the_benchmarks_measured_again() -> None:
    three = [({NAME: v(1.0), "other": v(2.0)}, {NAME: v(1.1), "other": v(2.2)})] * 3
    old = calibrate.thresholds("m", "c0ffee", three)
    six = [({NAME: v(1.0)}, {NAME: v(1.5)})] * 6
    merged = calibrate.merge(old, calibrate.thresholds("m", "c0ffee", six))
    assert merged.runs == 3 and merged.runs_by_benchmark == {NAME: 6}
    assert merged.noise == {NAME: pytest.approx(0.5), "other": pytest.approx(0.1)}
    assert merged.factors["other"] == old.factors["other"]
    assert merged.factors[NAME] == pytest.approx(1.75)
    assert merged.values[NAME] == [1.0, 1.5] * 6
    assert merged.default_factor == calibration.default_factor(merged.factors)
    with pytest.raises(ValueError, match="commit"):
        calibrate.merge(old, calibrate.thresholds("m", "beef", six))


def test_default_factor_is_the_90th_percentile_at_least_2() -> None:
    assert calibration.default_factor({}) == calibration.DEFAULT_FACTOR
    assert calibration.default_factor({"a": 1.1, "b": 1.3}) == calibration.DEFAULT_FACTOR
    factors = {f"b{i}": 1.0 + i for i in range(1, 20)} | {"bistable": 3708.0}  # 20 factors
    assert calibration.default_factor(factors) == 19.0  # the 18th of 20, not the outlier


def test_render_families_counts_runs_and_families(tmp_path: Path) -> None:
    three = [({NAME: v(1.0), "auth.A.track_x": v(2.0)}, {NAME: v(1.1), "auth.A.track_x": v(2.2)})]
    old = calibrate.thresholds("m", "c0ffee", three * 3)
    merged = calibrate.merge(old, calibrate.thresholds("m", "c0ffee", [({NAME: v(1.0)},) * 2] * 6))
    text = calibration.render_families(merged, tmp_path / "m.json")
    assert "1 x 3 runs, 1 x 6 runs" in text
    assert [line.split()[0] for line in text.splitlines()[2:]] == ["auth", "core"]
    core = text.splitlines()[3].split()
    assert core[1] == "1" and core[2] == "5.0%"  # measured again: no noise, the 5 % floor


def test_thresholds_command_names_a_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    from csbench.cli.app import main

    assert main(["thresholds", "--machine", "no-such-machine"]) == 2
    assert "no-such-machine.json does not exist" in capsys.readouterr().err


def test_twin_has_the_same_tree_under_another_hash(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "--quiet", str(repo)], check=True)
    (repo / "f.txt").write_text("x\n")
    subprocess.run([*git, "add", "f.txt"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "one"], check=True)
    twin_repo, commit, twin = make_twin(str(repo), "HEAD", tmp_path / "scratch")
    show = ["git", "-C", str(twin_repo), "rev-parse"]
    trees = subprocess.run([*show, f"{commit}^{{tree}}", f"{twin}^{{tree}}", f"{twin}^"],
                           capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert twin != commit and trees == [trees[0], trees[0], commit]
    assert subprocess.run([*git, "cat-file", "-e", twin]).returncode != 0  # repo untouched


def test_thresholds_by_family() -> None:
    factors = {NAME: 1.05, "core.Core.time_op('persist', 'small-1000')": 1.25, "auth.A.t": 1.5}
    families = calibration.by_family(factors)
    assert list(families) == ["auth", "core"]
    assert families["core"] == pytest.approx((0.05, 0.15, 0.25))
    assert families["auth"] == pytest.approx((0.5, 0.5, 0.5))


def test_paired_spread_is_the_standard_error_of_the_median_and_the_bias() -> None:
    same = [1.0] * 16
    assert calibrate.paired_spread(same, pairs=8) == 0.0
    ratios = [0.98, 1.02] * 8  # MAD 0.02 around 1.00
    assert calibrate.paired_spread(ratios, pairs=8) == pytest.approx(
        1.2533 * 1.4826 * 0.02 / math.sqrt(8)
    )
    biased = [1.05] * 16  # identical code that always reads 5 % slower: a bias, not luck
    assert calibrate.paired_spread(biased, pairs=8) == pytest.approx(0.05)
    assert calibrate.paired_threshold(0.001) == paired_settings.MIN_THRESHOLD
    assert calibrate.paired_threshold(0.02) == pytest.approx(paired_settings.SAFETY * 0.02)


def test_a_paired_calibration_round_trips_and_merges(tmp_path: Path) -> None:
    used = paired_settings.Settings(pairs=8, rounds=12)
    first = calibrate.paired_calibration("c", 2, used, {NAME: [0.98, 1.02] * 8, "b": [1.0] * 16})
    assert first.thresholds["b"] == paired_settings.MIN_THRESHOLD
    assert first.settings == {"pairs": 8, "rounds": 12, "clock": "cpu"}
    t = calibration.Thresholds("m", "c", 0, "t", paired=first)
    calibration.save(t, tmp_path / "m.json")
    assert calibration.read(tmp_path / "m.json").paired == first
    again = calibrate.paired_calibration("c", 2, used, {"b": [1.1] * 16})
    merged = calibrate.merge_paired(first, again)
    assert merged.thresholds[NAME] == first.thresholds[NAME]
    assert merged.thresholds["b"] == pytest.approx(paired_settings.SAFETY * 0.1)
    assert merged.runs == 2 and merged.runs_by_benchmark == {}
    more = calibrate.merge_paired(merged, calibrate.paired_calibration("c", 4, used, {"b": [1.0]}))
    assert more.runs == 2 and more.runs_by_benchmark == {"b": 4}  # more runs of one benchmark
    assert more.thresholds[NAME] == first.thresholds[NAME]  # the others kept
    calibration.save(calibration.Thresholds("m", "c", 0, "t", paired=more), tmp_path / "m.json")
    assert calibration.read(tmp_path / "m.json").paired == more
    assert "1 x 2 runs, 1 x 4 runs" in calibration.render_paired(more)
    back = calibrate.merge_paired(more, calibrate.paired_calibration("c", 2, used, {"b": [1.0]}))
    assert back.runs_by_benchmark == {}
    other = calibrate.paired_calibration("c", 2, paired_settings.Settings(pairs=4), {"b": [1.0]})
    assert calibrate.merge_paired(first, other) is other  # measured otherwise: not mixed
    asv_again = calibrate.merge(
        t, calibrate.thresholds("m", "c", [({NAME: v(1.0)}, {NAME: v(1.0)})])
    )
    assert asv_again.paired == first  # an asv calibration keeps the paired one


def test_a_paired_calibration_is_saved_after_every_run(npm_target: Path, tmp_path: Path) -> None:
    """Two runs of the harness floor on the npm package against itself: the first run is
    handed to ``save`` before the second starts, and the result holds both runs' pairs."""
    from csbench.guard import ci, power

    repo = power.package_repo(npm_target, tmp_path)
    commit = power.commit_all(repo, "the npm package")
    saved: list[calibration.PairedCalibration] = []
    cal = ci.calibrate_paired(
        str(repo), commit, 2, [r"harness\.Floor\.time_noop"],
        paired_settings.Settings(pairs=2, rounds=2), builds=tmp_path / "builds",
        log=lambda _: None, save=saved.append,
    )  # fmt: skip
    assert [c.runs for c in saved] == [1] and cal.runs == 2
    assert len(saved[0].ratios["harness.Floor.time_noop"]) == 2
    assert len(cal.ratios["harness.Floor.time_noop"]) == 4
