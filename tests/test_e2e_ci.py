"""End to end: `csbench ci` and `csbench calibrate` on a throwaway Collection Store repository
made from the npm package, one commit per documented exit code."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import MACHINE, SLOW_ANCHOR, SLOW_FILE, SLOWDOWN, csbench

from csbench.guard.power import commit_all, package_repo
from csbench.measure.paths import work_dir

pytestmark = pytest.mark.e2e

BENCH = [r"core\.Core\.time_op\('find_by_id', 'small-1000'\)", r"harness\.Floor\.time_noop"]
ROUNDTRIP = r"harness\.Floor\.track_roundtrip"
FACTOR = 3.0  # uncalibrated: wider than A/A between processes (test_e2e_regression.FACTOR)


@pytest.fixture(scope="module")
def commits(tmp_path_factory: pytest.TempPathFactory, npm_target: Path) -> tuple[Path, dict]:
    repo = package_repo(npm_target, tmp_path_factory.mktemp("ci"))
    made = {"original": commit_all(repo, "original npm package")}
    made["same"] = commit_all(repo, "the same again")
    source = repo / SLOW_FILE
    text = source.read_text()
    source.write_text(text.replace(SLOW_ANCHOR, SLOW_ANCHOR + SLOWDOWN))
    made["slow"] = commit_all(repo, "deliberately slow findById")
    source.write_text(text.replace(SLOW_ANCHOR, SLOW_ANCHOR + "\n    return undefined;"))
    made["broken"] = commit_all(repo, "findById finds nothing")
    source.write_text(text)
    (repo / "package.json").write_text("{ this is not JSON")
    made["unbuildable"] = commit_all(repo, "a package.json bun cannot read")
    return repo, made


@pytest.fixture(scope="module")
def thresholds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("thresholds") / "e2e.json"
    data = {
        "machine": MACHINE,
        "commit": "n/a",
        "runs": 0,
        "created": "n/a",
        "noise": {},
        "factors": {},
        "default_factor": FACTOR,
    }
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("base", "head", "code", "says"),
    [
        ("original", "same", 0, "no performance regression"),
        ("same", "slow", 1, "find_by_id"),
        ("same", "broken", 2, "New failures"),
        ("same", "unbuildable", 3, "build or infrastructure error"),
    ],
)
def test_ci_exit_codes(
    commits, thresholds: Path, tmp_path: Path, base: str, head: str, code: int, says: str
) -> None:
    repo, made = commits
    summary = tmp_path / "summary.md"
    bench = [a for b in BENCH for a in ("--bench", b)]
    out = csbench(
        tmp_path, "ci", made[base], made[head], "--repo", str(repo), "--machine", MACHINE,
        "--thresholds", str(thresholds), "--output", str(summary), *bench,
    )  # fmt: skip
    assert out.returncode == code, out.stdout[-3000:] + out.stderr[-3000:]
    text = summary.read_text()
    assert text == out.stdout and says in text, text
    if code == 1:
        regressions = text.split("### Regressions", 1)[1].split("###", 1)[0]
        regressions = regressions.split("<details>", 1)[0]  # the rest, collapsed
        assert "find_by_id" in regressions and "time_noop" not in regressions
    if code == 2:  # why it failed, from the benchmark's stderr (csbench.observe.failures)
        why = text.split("<summary>Why <code>core.Core.time_op", 1)[1].split("</details>")[0]
        assert "find_by_id" in why and "<csbench>" not in why and str(Path.home()) not in why
    if code in (0, 1):  # the selection runs no target's benchmark: one line, no table
        assert "### Targets at HEAD\n\nNot run by this selection: auth-login-p95," in text


@pytest.mark.parametrize(
    ("base", "head", "code", "says"),
    [("same", "slow", 1, "### Regressions"), ("same", "broken", 2, "### New failures")],
)
def test_ci_paired_judges_every_time_benchmark_and_asv_the_rest(
    commits, thresholds: Path, tmp_path: Path, base: str, head: str, code: int, says: str
) -> None:
    """find_by_id and the harness floor through csbench.guard.paired, a track of the harness
    through asv, in one summary."""
    repo, made = commits
    bench = [a for b in [*BENCH, ROUNDTRIP] for a in ("--bench", b)]
    out = csbench(
        tmp_path, "ci", made[base], made[head], "--repo", str(repo), "--machine", MACHINE,
        "--thresholds", str(thresholds), "--paired", "--pairs", "5", "--rounds", "4", *bench,
    )  # fmt: skip
    assert out.returncode == code, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    assert "paired A/B: 5 process pairs x 4 rounds" in text
    assert "for the 2 time benchmarks, calibrated per-benchmark factors for the rest" in text
    assert "3 benchmarks compared" in text, text  # 2 paired, track_roundtrip by asv
    section = text.split(says, 1)[1].split("###", 1)[0].split("<details>", 1)[0]
    assert "time_op('find_by_id', 'small-1000')" in section and "time_noop" not in section
    assert "None" not in section, section  # values shown in asv's units, not bare floats


def test_calibrate_writes_thresholds_even_when_they_cannot_be_merged(
    commits, tmp_path: Path
) -> None:
    """--merge into a file with a key it does not know: exit 2, the file is untouched, and
    the new calibration is kept beside it, where the one line says."""
    repo, made = commits
    path = tmp_path / "thresholds.json"
    unknown = '{"machine": "m", "commit": "c", "runs": 1, "created": "x", "colour": "red"}\n'
    path.write_text(unknown)
    out = csbench(
        tmp_path, "calibrate", "--commit", made["original"], "--runs", "2", "--repo", str(repo),
        "--machine", MACHINE, "--bench", BENCH[1], "--output", str(path), "--merge",
    )  # fmt: skip
    assert out.returncode == 2, out.stdout[-3000:] + out.stderr[-3000:]
    aside = tmp_path / "thresholds.unmerged.json"
    last = out.stderr.strip().splitlines()[-1]
    assert "key 'colour': unknown" in last and last.endswith(f"this calibration is in {aside}")
    assert path.read_text() == unknown
    data = json.loads(aside.read_text())
    assert data["runs"] == 2 and data["commit"] == made["original"]
    assert list(data["factors"]) == ["harness.Floor.time_noop"]
    name = "harness.Floor.time_noop"
    values = data["values"][name]  # commit, twin, commit, twin: two interleaved runs
    assert len(values) == 4 and all(v > 0 for v in values)
    pair = max(max(a / b, b / a) for a, b in (values[0:2], values[2:4])) - 1
    spread = max(values) / min(values) - 1
    assert data["pair_noise"][name] == pytest.approx(pair, abs=1e-3)
    assert data["noise"][name] == pytest.approx(spread, abs=1e-3)
    # ci judges by the twin-to-twin noise, the history by the run-to-run spread
    assert data["factors"][name] == pytest.approx(1 + max(0.05, 1.5 * pair), abs=1e-3)
    assert data["history_factors"][name] == pytest.approx(1 + max(0.05, 1.5 * spread), abs=1e-3)


def test_build_report_records_built_and_failed_commits(commits, tmp_path: Path) -> None:
    repo, made = commits
    report = tmp_path / "build-report.jsonl"
    args = ["builds", "--repo", str(repo), "--branch", "main", "--output", str(report)]
    out = csbench(tmp_path, *args, "--limit", "2")
    assert out.returncode == 0, out.stderr[-3000:]
    first = [json.loads(line) for line in report.read_text().splitlines()]
    assert [r["commit"] for r in first] == [made["original"], made["same"]]
    # `csbench run BUILT:REPORT` measures the commits the report records as built
    results = tmp_path / "built"
    out = csbench(
        tmp_path, "run", "--repo", str(repo), f"BUILT:{report}", "--machine", MACHINE,
        "--results", str(results), "--bench", BENCH[1], "--cpu-profiles", "none", "--quick",
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f"csbench run: 2 commits recorded as built in {report}" in out.stderr
    stored = sorted(p.name[:8] for p in (results / MACHINE).glob("*-*.json"))
    assert stored == sorted(c[:8] for c in (made["original"], made["same"]))
    out = csbench(tmp_path, *args)  # resumes: only the commits not in the report yet
    assert out.returncode == 0, out.stderr[-3000:]
    records = {
        json.loads(line)["commit"]: json.loads(line) for line in report.read_text().splitlines()
    }
    assert len(records) == len(made) and out.stderr.count("csbench builds: ") == len(made) - 2
    assert records[made["original"]]["status"] == "built"
    assert records[made["original"]]["layout"] == "package-root"
    assert "bun install" in records[made["original"]]["method"]
    bad = records[made["unbuildable"]]
    assert bad["status"] == "failed" and "package.json" in bad["error"]
    assert "csbench-builds-" not in bad["error"], bad  # no path of the machine
    assert bad["branches"] == ["main"] and bad["subject"] == "a package.json bun cannot read"
    # Two failed records (one marked so by hand), one retried: the other is kept.
    lines = report.read_text().splitlines()
    marked = json.loads(lines[0])
    lines[0] = json.dumps({**marked, "status": "failed", "error": "marked by the test"})
    report.write_text("\n".join(lines) + "\n")
    out = csbench(tmp_path, *args, "--retry-failed", "--limit", "1")
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stderr.count("csbench builds: ") == 1 and made["original"][:8] in out.stderr
    again = {
        json.loads(line)["commit"]: json.loads(line) for line in report.read_text().splitlines()
    }
    assert len(again) == len(made) and again[made["original"]]["status"] == "built"
    assert again[made["unbuildable"]] == bad  # not retried, kept as it was
    out = csbench(tmp_path, *args, "--retry-failed")  # only the failed commit again
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stderr.count("csbench builds: ") == 1 and made["unbuildable"][:8] in out.stderr
    again = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(again) == len(made) and again[-1]["commit"] == made["unbuildable"]


def test_asv_run_and_continuous_write_scratch_results_not_the_history(
    commits, tmp_path: Path
) -> None:
    """`csbench asv run` (asv's own command) stores into .asv/scratch-results unless a
    results directory is given: the committed history changes only through csbench run."""
    repo, made = commits
    root = Path(__file__).parents[1]
    out = csbench(
        tmp_path, "asv", "--repo", str(repo), "run", f"{made['original']}^!", "--quick",
        "--machine", MACHINE, "--bench", BENCH[1],
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    scratch = work_dir() / "scratch-results"
    assert f"results go to {scratch}" in out.stderr
    assert list((scratch / MACHINE).glob(f"{made['original'][:8]}-*.json"))
    assert not (root / "results" / MACHINE).exists()


def test_an_interrupted_run_keeps_the_commits_it_finished(commits, tmp_path: Path) -> None:
    """SIGTERM to `csbench run` while it measures the second of two commits: one line,
    exit 143, the first commit's results stored whole, none of the second's."""
    from csbench.observe.results import ResultsError, load_file

    repo, made = commits
    hashfile = tmp_path / "commits.txt"
    hashfile.write_text(f"{made['original']}\n{made['same']}\n")
    results = tmp_path / "results"
    env = dict(os.environ, CSBENCH_CACHE=str(tmp_path / "cache"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "csbench.cli", "run", "--repo", str(repo), f"HASHFILE:{hashfile}",
         "--machine", MACHINE, "--results", str(results), "--bench", BENCH[1]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    first = None
    while first is None and proc.poll() is None:  # asv writes a commit's file when it is done
        for path in (results / MACHINE).glob(f"{made['original'][:8]}-*.json"):
            with contextlib.suppress(ResultsError):
                first = load_file(path, MACHINE)
        time.sleep(0.1)
    assert first is not None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
    assert err.strip().splitlines()[-1] == "csbench run: interrupted (SIGTERM)"
    kept = load_file(next((results / MACHINE).glob(f"{made['original'][:8]}-*.json")), MACHINE)
    value = kept.get_result_value("harness.Floor.time_noop", [])
    assert value and value[0] is not None and value[0] > 0
    assert not list((results / MACHINE).glob(f"{made['same'][:8]}-*.json"))


def test_two_shards_merge_into_one_history_with_the_newest_profiles(
    commits, tmp_path: Path
) -> None:
    """`csbench run --shard 1/2` and `--shard 2/2` over three commits, each into its own
    results directory (as two runners would), then `csbench merge` and `csbench publish`:
    every commit measured once, the site lists all three; a shard stores the targets' op
    profiles of its newest commit (csbench bottlenecks --store), and the merge keeps them."""
    from csbench.observe import bottlenecks

    repo, made = commits
    hashfile = tmp_path / "commits.txt"
    three = [made["slow"], made["same"], made["original"]]  # newest first, as asv lists them
    hashfile.write_text("\n".join(three) + "\n")
    shards = []
    for shard, profiles in (("1/2", "none"), ("2/2", "newest")):
        shards.append(tmp_path / f"shard-{shard[0]}")
        out = csbench(
            tmp_path, "run", "--repo", str(repo), f"HASHFILE:{hashfile}", "--shard", shard,
            "--machine", MACHINE, "--results", str(shards[-1]), "--bench", BENCH[1],
            "--cpu-profiles", profiles, "--quick",
        )  # fmt: skip
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        assert f"shard {shard}: " in out.stderr
    results = tmp_path / "results"
    out = csbench(tmp_path, "merge", *map(str, shards), "--results", str(results))
    assert out.returncode == 0, out.stderr[-3000:]
    for commit in three:
        assert len(list((results / MACHINE).glob(f"{commit[:8]}-*.json"))) == 1, commit
    stored = bottlenecks.stored(results)[MACHINE]
    assert stored["commit"] == made["same"] and stored["ops"], stored["targets"]
    html = tmp_path / "html"
    out = csbench(tmp_path, "publish", "--results", str(results), "--html", str(html),
                  "--no-triage", "--repo", str(repo), "--branch", "main")  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    listed = json.loads((html / "index.json").read_text())["revision_to_hash"].values()
    assert set(three) <= set(listed)
    assert made["same"][:8] in (html / "profiles.html").read_text()
