"""targets.yaml validation and target verdicts on asv results from a real run.

fixtures/results/ holds the results of a real `asv run` of core.CoreLatency.track_p95 on
collection-store 3.0.0-beta.23 from npm: find_range fails its checks there (a library
bug), txn_commit is skipped (no real transactions), the other ops have values.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from csbench import cli
from csbench.observe import failures
from csbench.observe import targets as tg
from csbench.observe.targets import (
    Target,
    TargetFileError,
    evaluate,
    load_commit_results,
    load_targets,
    render_against,
)

FIXTURE_RESULTS = Path(__file__).parent / "fixtures" / "results"
PLAN_IDS = {
    "auth-login-p95",
    "authz-cached-p95",
    "simple-query-p95",
    "realtime-notification-p95",
    "files-upload-throughput",
    "files-download-throughput",
    "computed-attribute-p95",
    "stored-function-p95",
    "concurrent-users",
    "memory-per-1000-users",
    "cpu-share",
    *(f"load-{c}-p95" for c in ("auth", "core", "realtime", "files", "computed", "functions")),
}
VALID = {
    "id": "simple-query-p95",
    "title": "Simple query",
    "benchmark": "core.CoreLatency.track_p95",
    "params": {"op": "find_by_indexed", "dataset": "small-10000"},
    "statistic": "p95",
    "bound": 5,
    "direction": "below",
    "unit": "ms",
    "source": "plan",
}


def write_targets(tmp_path: Path, *entries: dict) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": list(entries)}))
    return path


def target(**changes) -> Target:
    return Target(**{**VALID, **changes})


@pytest.fixture(scope="module")
def results():
    return load_commit_results(FIXTURE_RESULTS)


def test_the_plan_targets_are_all_declared() -> None:
    targets = load_targets()
    assert {t.id for t in targets} == PLAN_IDS
    bounds = {t.id: (t.bound, t.direction, t.unit) for t in targets}
    assert bounds["auth-login-p95"] == (10, "below", "ms")
    assert bounds["files-upload-throughput"] == (100, "above", "MB/s")
    assert bounds["memory-per-1000-users"] == (2, "below", "GB")


def test_load_class_targets_keep_their_scenarios_response_times() -> None:
    """A p95-per-class target under load is bounded by the expectedResponseTime its class
    has in the scenario file (the slowest op's, where they differ)."""
    from csbench.load.scenarios import default_scenarios_dir, read_directory

    scenarios = read_directory(default_scenarios_dir()).scenarios
    checked = 0
    for t in load_targets():
        if t.benchmark == "load.LoadLatency.track_p95":
            ops = scenarios[str(t.params["scenario"])].operations
            times = [o.p95_ms for o in ops if o.area == t.params["op_class"] and o.p95_ms]
            assert times and t.bound == max(times), t.id
            checked += 1
    assert checked == 6


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        ({"bound": "ten"}, "bound", "expected int or float, got str"),
        ({"bound": True}, "bound", "expected int or float, got bool"),
        ({"direction": "under"}, "direction", "is not one of below, above"),
        ({"unit": "furlongs"}, "unit", "is not one of"),
        ({"statistic": "p42"}, "statistic", "is not one of"),
        ({"benchmark": "track_p95"}, "benchmark", "is not module.Class.method"),
        ({"id": "Simple Query"}, "id", "is not kebab-case"),
        ({"params": ["op"]}, "params", "expected a mapping"),
        ({"colour": "red"}, "colour", "unknown key"),
    ],
)
def test_malformed_entry_names_file_entry_and_key(
    tmp_path: Path, change: dict, key: str, problem: str
) -> None:
    path = write_targets(tmp_path, VALID, {**VALID, "id": "second", **change})
    with pytest.raises(TargetFileError) as info:
        load_targets(path)
    message = str(info.value)
    assert str(path) in message
    assert "targets[1]" in message
    assert f"key '{key}'" in message
    assert problem in message


def test_missing_key_and_duplicate_id(tmp_path: Path) -> None:
    entry = dict(VALID)
    del entry["source"]
    with pytest.raises(
        TargetFileError, match=r"targets\[0\] \(id 'simple-query-p95'\): key 'source': missing"
    ):
        load_targets(write_targets(tmp_path, entry))
    with pytest.raises(TargetFileError, match=r"targets\[1\].*key 'id': duplicate"):
        load_targets(write_targets(tmp_path, VALID, VALID))


def test_not_yaml_or_not_a_list(tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text("targets: [unclosed")
    with pytest.raises(TargetFileError, match="not valid YAML"):
        load_targets(path)
    path.write_text("targets: {a: 1}")
    with pytest.raises(TargetFileError, match="key 'targets': expected a list"):
        load_targets(path)


def test_value_is_converted_to_the_display_unit(results) -> None:
    stored = results.results["core.CoreLatency.track_p95"]["result"]
    names = results.benchmarks["core.CoreLatency.track_p95"]["params"]
    index = names[0].index("'find_by_indexed'") * len(names[1]) + names[1].index("'small-10000'")
    verdict = evaluate(target(), results)
    assert verdict.status == "pass"
    assert verdict.value == pytest.approx(stored[index] / 1000)


def test_fail_when_the_bound_is_not_met(results) -> None:
    assert evaluate(target(bound=0.001), results).status == "fail"
    assert evaluate(target(direction="above", bound=0.001), results).status == "pass"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"params": {"op": "find_range", "dataset": "small-1000"}}, "benchmark failed"),
        ({"params": {"op": "txn_commit", "dataset": "small-1000"}}, "area is missing"),
        ({"benchmark": "auth.AuthLatency.track_p95"}, "not run: no auth.AuthLatency.track_p95"),
        ({"params": {"op": "find_by_indexed", "dataset": "small-7"}}, "not run with params"),
        ({"params": {"colour": "red"}}, "not run with params"),
        ({"unit": "MB/s"}, "cannot convert"),
    ],
)
def test_not_measured_says_why(results, changes: dict, reason: str) -> None:
    verdict = evaluate(target(**changes), results)
    assert verdict.status == "not measured"
    assert reason in verdict.reason
    assert verdict.value is None


def test_cli_strict_exit_code_and_formats(tmp_path: Path, capsys) -> None:
    ok = write_targets(tmp_path, VALID)
    base = ["targets", "--results", str(FIXTURE_RESULTS), "--targets", str(ok)]
    assert cli.main([*base, "--strict"]) == 0
    capsys.readouterr()
    assert cli.main([*base, "--format", "markdown"]) == 0
    assert "| simple-query-p95 | " in capsys.readouterr().out
    assert cli.main([*base, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["targets"][0]["status"] == "pass"
    failing = write_targets(tmp_path, {**VALID, "bound": 0.001})
    strict = ["targets", "--results", str(FIXTURE_RESULTS), "--targets", str(failing), "--strict"]
    assert cli.main(strict) == 1
    assert cli.main(strict[:-1]) == 0


def test_cli_reports_bad_input_without_a_traceback(tmp_path: Path, capsys) -> None:
    bad = write_targets(tmp_path, {**VALID, "bound": "ten"})
    assert cli.main(["targets", "--results", str(FIXTURE_RESULTS), "--targets", str(bad)]) == 2
    assert "key 'bound'" in capsys.readouterr().err
    assert cli.main(["targets", "--results", str(FIXTURE_RESULTS), "--machine", "nope"]) == 2
    assert "no results for machine 'nope'" in capsys.readouterr().err


def test_against_another_run_judges_each_ratio_by_the_calibrated_noise(results, tmp_path) -> None:
    other_dir = tmp_path / "other"
    shutil.copytree(FIXTURE_RESULTS, other_dir)
    machine = next(p for p in other_dir.iterdir() if p.is_dir())
    stored = next(p for p in machine.glob("*.json") if p.name != "machine.json")
    data = json.loads(stored.read_text())
    names = results.benchmarks["core.CoreLatency.track_p95"]["params"]
    index = names[0].index("'find_by_indexed'") * len(names[1]) + names[1].index("'small-10000'")
    data["results"]["core.CoreLatency.track_p95"][0][index] *= 1.25
    stored.write_text(json.dumps(data))
    other = load_commit_results(other_dir)
    quiet, indexed = (
        target(id="by-id", params={"op": "find_by_id", "dataset": "small-1000"}),
        target(),
    )
    verdicts = [evaluate(t, results) for t in (quiet, indexed)]
    others = [evaluate(t, other) for t in (quiet, indexed)]
    noise = {quiet.display_name: 0.0, indexed.display_name: 0.2}
    limits = {quiet.display_name: 0.05, indexed.display_name: 0.3}
    text = render_against(verdicts, others, results, other_dir, noise, limits).splitlines()
    assert indexed.display_name == "core.CoreLatency.track_p95('find_by_indexed', 'small-10000')"
    assert target(params={"subscribers": 1000}).display_name == "core.CoreLatency.track_p95(1000)"
    assert text[2].startswith("by-id") and text[2].split()[-5:] == [
        "1.000", "0.0%", "5.0%", "within", "noise"
    ]  # fmt: skip
    assert text[3].split()[-5:] == ["1.250", "20.0%", "30.0%", "within", "threshold"]
    limits[indexed.display_name] = 0.2
    outside = render_against(verdicts, others, results, other_dir, noise, limits)
    assert outside.splitlines()[3].endswith("outside")
    uncalibrated = render_against(verdicts, others, results, other_dir, None)
    assert "not calibrated" in uncalibrated and uncalibrated.splitlines()[3].endswith("-")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"benchmark": "core.CoreLatency.track_p59"},
            "no benchmark core.CoreLatency.track_p59 is defined (did you mean "
            "core.CoreLatency.track_p99?)",
        ),
        ({"params": {"op": "find_by_indexed", "dataset": "small-7"}}, "'small-7' is not one of"),
        ({"params": {"op": "find_by_indexed"}}, "missing 'dataset'"),
        ({"params": {**VALID["params"], "colour": "red"}}, "has no param 'colour'"),
    ],
)
def test_a_target_names_a_defined_benchmark_and_one_param_combination(
    tmp_path: Path, change: dict, problem: str
) -> None:
    """Checked against the benchmark modules themselves (asv_runner's discovery), so a
    misspelt target is an error of targets.yaml, not a target forever "not measured"."""
    path = write_targets(tmp_path, VALID, {**VALID, "id": "second", **change})
    with pytest.raises(TargetFileError) as info:
        load_targets(path)
    assert f"{path}: targets[1] (id 'second'): key '" in str(info.value)
    assert problem in str(info.value)


def test_an_empty_target_list_is_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text("targets: []\n")
    assert cli.main(["targets", "--results", str(FIXTURE_RESULTS), "--targets", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}: key 'targets': empty" in err


def test_strict_fails_when_a_target_could_not_be_judged_because_its_benchmark_failed(
    tmp_path: Path, capsys
) -> None:
    """find_range failed its checks in the fixture run; txn_commit was skipped (no area)."""
    failed = {**VALID, "params": {"op": "find_range", "dataset": "small-1000"}}
    skipped = {**VALID, "params": {"op": "txn_commit", "dataset": "small-1000"}}
    for entry, strict_code in ((failed, 1), (skipped, 0)):
        path = write_targets(tmp_path, entry)
        base = ["targets", "--results", str(FIXTURE_RESULTS), "--targets", str(path)]
        assert cli.main(base) == 0
        assert cli.main([*base, "--strict"]) == strict_code, entry["params"]
    assert "benchmark failed at this commit" in capsys.readouterr().out


def test_a_bad_results_file_is_named_and_skipped(tmp_path: Path) -> None:
    """A truncated and an empty file beside a stored commit's real results: `targets` and
    `agreement` name each in one warning line and judge the commit as before."""
    stored_results = Path(__file__).parents[1] / "results"
    machine = "xeon-2core-24g"
    files = sorted((stored_results / machine).glob("*.json"))
    clean, broken = tmp_path / "clean", tmp_path / "broken"
    for root in (clean, broken):
        (root / machine).mkdir(parents=True)
        shutil.copy(stored_results / "benchmarks.json", root)
        for f in files[:3]:  # machine.json and two commits
            shutil.copy(f, root / machine)
        shutil.copy(stored_results / machine / "machine.json", root / machine)
    commits = [f for f in files[:3] if f.name != "machine.json"]
    truncated = broken / machine / commits[1].name
    truncated.write_text(commits[1].read_text()[:500])
    empty = broken / machine / "0000000a-virtualenv-py3.11.json"
    empty.write_text("")
    commit = commits[0].name[:8]

    def csbench(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "csbench.cli", *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=False)

    for command in (["targets", "--commit", commit], ["agreement", "--commit", commit]):
        ok = csbench(*command, "--results", str(clean))
        out = csbench(*command, "--results", str(broken))
        assert ok.returncode == out.returncode == 0, out.stderr
        assert out.stdout == ok.stdout and ok.stderr == ""
        warnings = out.stderr.splitlines()
        assert len(warnings) == 2, out.stderr
        assert str(empty) in warnings[0] and str(truncated) in warnings[1]
    newest = csbench("targets", "--results", str(broken))
    assert newest.returncode == 0 and newest.stderr.count("skipped a bad results file") == 2


def test_a_result_of_an_earlier_version_of_its_benchmark_is_left_out(tmp_path) -> None:
    """The suite's benchmarks.json says core.CoreLatency is at another version now (its
    percentiles mean something else): the stored values are not judged as if they were
    the new ones."""
    copy = tmp_path / "results"
    shutil.copytree(FIXTURE_RESULTS, copy)
    meta = json.loads((copy / "benchmarks.json").read_text())
    meta["core.CoreLatency.track_p95"]["version"] = "core-latency-99"
    (copy / "benchmarks.json").write_text(json.dumps(meta))
    verdict = evaluate(target(), load_commit_results(copy))
    assert verdict.not_run, verdict
    assert evaluate(target(), load_commit_results(FIXTURE_RESULTS)).value is not None


FACTORS = (0.5, 2.0, None, 0.5, 2.0)  # times the fixture's value; None: the benchmark failed


def history_of(tmp_path: Path) -> tuple[Path, list[str], float]:
    """FACTORS as five commits of the fixture machine, oldest first: the results directory,
    the commits, the fixture's value of the simple-query target in ms."""
    copy = tmp_path / "history"
    shutil.copytree(FIXTURE_RESULTS, copy)
    (source,) = [f for f in (copy / "fixture-npm").glob("*.json") if f.name != "machine.json"]
    data = json.loads(source.read_text())
    source.unlink()
    index = 2 * 4 + 1  # find_by_indexed at small-10000 of core.CoreLatency's ops x datasets
    value = data["results"]["core.CoreLatency.track_p95"][0][index]
    commits = []
    for n, factor in enumerate(FACTORS):
        commit = str(n + 1) * 40
        data["commit_hash"], data["date"] = commit, 1_700_000_000_000 + n * 86_400_000
        data["results"]["core.CoreLatency.track_p95"][0][index] = (
            None if factor is None else value * factor
        )
        (copy / "fixture-npm" / f"{commit[:8]}-{data['env_name']}.json").write_text(
            json.dumps(data)
        )
        commits.append(commit)
    return copy, commits, value / 1e3


def test_a_targets_history_is_judged_at_every_commit(tmp_path: Path, capsys) -> None:
    results_dir, commits, value = history_of(tmp_path)
    machine, per_commit = tg.all_commit_results(results_dir)
    assert [r.commit for r in per_commit] == commits  # oldest first
    bound = target(bound=value)
    judged = tg.history(bound, per_commit)
    assert [j.status for j in judged] == ["pass", "fail", "not measured", "pass", "fail"]
    assert tg.first_break(judged) == judged[4]  # failing since the last pass
    assert tg.first_break(judged[:4]) is None and tg.first_break(judged[1:2]) == judged[1]
    text = tg.render_history([bound], per_commit, machine)
    assert "4 of 5 commits measured it, failing since 55555555" in text
    assert [line[:8] for line in text.splitlines() if line[:1].isdigit()] == [
        c[:8] for c, f in zip(commits, FACTORS, strict=True) if f is not None
    ]

    path = write_targets(tmp_path, {**VALID, "bound": value})
    base = ["targets", "--results", str(results_dir), "--targets", str(path), "--history"]
    assert cli.main([*base, "--strict"]) == 1  # the newest commit fails
    capsys.readouterr()
    assert cli.main([*base, "--format", "json"]) == 0
    series = json.loads(capsys.readouterr().out)["targets"]["simple-query-p95"]
    assert [p["commit"] for p in series] == commits
    assert series[2]["value"] is None and series[2]["reason"] == tg.BENCHMARK_FAILED
    # why it failed, when the run recorded it (csbench.observe.failures)
    why = "csbench.measure.bridge.CheckFailed: run: find_by_indexed: expected 3, got 4\nmore"
    failures.record(
        results_dir, "fixture-npm", commits[2], {bound.benchmark: 1}, {bound.benchmark: why}
    )
    failed = tg.evaluate(bound, tg.all_commit_results(results_dir)[1][2])
    assert failed.unjudged_by_failure, failed
    assert failed.reason == f"{tg.BENCHMARK_FAILED}: {why.splitlines()[0]}"
    # a parameterized benchmark's record: the target reads its own combination's reason
    label = "'find_by_indexed', 'small-10000'"
    per_params = (f"For parameters: {label}\nTraceback (most recent call last):\n{why}\n\n"
                  "For parameters: 'reload', 'small-10000'\nTraceback (most recent call last):"
                  "\nValueError: reload broke")  # fmt: skip
    failures.record(
        results_dir, "fixture-npm", commits[2], {bound.benchmark: 1}, {bound.benchmark: per_params}
    )
    failed = tg.evaluate(bound, tg.all_commit_results(results_dir)[1][2])
    assert failed.reason == f"{tg.BENCHMARK_FAILED}: {why.splitlines()[0]}"
    assert cli.main([*base, "--strict", "--target", "simple-query-p95"]) == 1
    assert cli.main([*base, "--target", "cpu-share"]) == 2
    assert "no target 'cpu-share'" in capsys.readouterr().err
    assert cli.main([*base, "--commit", commits[0]]) == 2


@pytest.mark.parametrize(
    ("statuses", "first"),
    [
        (("pass", "pass"), None),
        (("pass", "fail", "fail"), 1),
        (("fail", "pass", "fail", "fail"), 2),
        (("not measured", "fail"), 1),
        (("fail", "pass"), None),
    ],
)
def test_first_break(statuses: tuple[str, ...], first: int | None) -> None:
    judged = [
        tg.Judged(f"c{i}", i, tg.Verdict(target(), status)) for i, status in enumerate(statuses)
    ]
    broke = tg.first_break(judged)
    assert (None if broke is None else judged.index(broke)) == first
