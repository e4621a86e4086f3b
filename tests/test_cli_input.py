"""Bad input to any csbench command: one line on stderr, exit 2, nothing written (real
processes, real files and git repositories)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MACHINE = "csbench-bad-input"


def csbench(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "csbench.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def _git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t")
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An empty repository, one without Collection Store, and one whose package.json names
    collection-store (enough to pass the repository check; nothing is built from it)."""
    root = tmp_path_factory.mktemp("repos")
    made = {name: root / name for name in ("empty", "other", "cs")}
    for name, repo in made.items():
        repo.mkdir()
        _git(repo, "init", "-q", "-b", "main")
        if name == "empty":
            continue
        manifest = {"name": "collection-store" if name == "cs" else "something-else"}
        (repo / "package.json").write_text(json.dumps(manifest))
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "one")
    made["plain"] = root / "plain"
    made["plain"].mkdir()
    return made


def _cases(repos: dict[str, Path], tmp: Path) -> list[tuple[list[str], str]]:
    bad_thresholds = tmp / "bad.json"
    bad_thresholds.write_text('{"machine": "m", "commit": "c", "runs": 1, "created": "x", '
                              '"factors": {"a": -5}}')  # fmt: skip
    cs = str(repos["cs"])
    failed_only, elsewhere = tmp / "failed.jsonl", tmp / "elsewhere.jsonl"
    record = {"commit": "f0f0f0f0" * 5, "date": "2020-01-01", "subject": "s"}
    failed_only.write_text(json.dumps({**record, "status": "failed"}) + "\n")
    elsewhere.write_text(json.dumps({**record, "status": "built"}) + "\n")  # not in the repo
    undated = tmp / "undated.jsonl"
    undated.write_text(json.dumps({**record, "date": "yesterday", "status": "built"}) + "\n")
    return [
        (["run", "--repo", str(tmp / "missing"), "HEAD^!"], "no such directory"),
        (["run", "--repo", str(repos["plain"]), "HEAD^!"], "not a git repository"),
        (["run", "--repo", str(repos["empty"]), "HEAD^!"], "has no commits"),
        (["run", "--repo", str(repos["other"]), "HEAD^!"], "no commit holds Collection Store"),
        (["run", "--repo", cs, "nosuch^!"], "unknown range 'nosuch^!'"),
        (["run", "--repo", cs, "HEAD..HEAD"], "range 'HEAD..HEAD' selects no commit"),
        (["run", "--repo", cs, "HEAD^!", "--shard", "3/2"], "'3/2': I must be between 1 and N"),
        (["run", "--repo", cs, "HEAD^!", "--shard", "x"], "'x' is not I/N"),
        (["run", "--repo", cs, "NEW", "--shard", "1/2"], "name a git range or HASHFILE:"),
        (["run", "--repo", cs, "HEAD^!", "--profile", "nosuch"], "no preset 'nosuch' in"),
        (["run", "--repo", cs, f"BUILT:{tmp / 'none.jsonl'}"], "none.jsonl: no build report"),
        (["run", "--repo", cs, f"BUILT:{failed_only}"], "no commit recorded as built"),
        (["run", "--repo", cs, f"BUILT:{elsewhere}"], "unknown revision 'f0f0f0f0"),
        (["run", "--repo", cs, f"BUILT:{undated}"], "undated.jsonl: line 1: not a build record"),
        (["asv", "--repo", str(repos["other"]), "run", "HEAD^!"], "no commit holds"),
        (["ci", "HEAD", "nosuch", "--repo", cs], "unknown revision 'nosuch'"),
        (["ci", "HEAD", "HEAD", "--repo", str(repos["empty"])], "has no commits"),
        (
            ["ci", "HEAD", "HEAD", "--repo", cs, "--thresholds", str(bad_thresholds)],
            "key 'factors': a: factor -5 is below 1",
        ),
        (["ci", "HEAD", "HEAD", "--repo", cs, "--thresholds", str(tmp)], "cannot read"),
        (["ci", "HEAD", "HEAD", "--alpha", "2"], "argument --alpha: 2 is not between 0 and 1"),
        (["calibrate", "--repo", cs, "--commit", "nosuch"], "unknown revision 'nosuch'"),
        (["calibrate", "--runs", "0"], "argument --runs: 0 is not at least 1"),
        (["builds", "--repo", str(repos["plain"])], "not a git repository"),
        (["power", "--fraction", "-6"], "argument --fraction: -6 is not above 0"),
        (["machine", "--seconds", "nan"], "'nan' is not a finite number"),
        (["probe", str(tmp / "missing")], "no such directory"),
        (["targets", "--targets", str(tmp / "missing.yaml")], "cannot read"),
        (["targets", "--targets", str(tmp)], "cannot read: Is a directory"),
        (["profile", "nosuch", "--output", str(tmp / "profiles")], "no time_ benchmark matches"),
        (["profile", "find_by_id", "--interval-us", "0"], "argument --interval-us: 0 is not"),
        (["bottlenecks"], "one of the arguments --commit --checkout is required"),
        (["bottlenecks", "--checkout", str(tmp), "--store"], "--store keeps the profiles of a"),
        (["bottlenecks", "--checkout", str(tmp), "--targets", str(tmp / "no.yaml")], "cannot read"),
    ]


def test_bad_input_is_one_line_and_exit_2_with_nothing_written(
    repos: dict[str, Path], tmp_path: Path
) -> None:
    results = tmp_path / "results"
    for args, says in _cases(repos, tmp_path):
        extra = ["--machine", MACHINE] if args[0] in ("run", "ci", "calibrate") else []
        if args[0] == "run":
            extra += ["--results", str(results)]
        out = csbench(*args[:1], *extra, *args[1:])
        assert out.returncode == 2, (args, out.stderr[-2000:])
        assert out.stderr.count("\n") == 1 and says in out.stderr, (args, out.stderr)
        assert out.stderr.startswith(f"csbench {args[0]}: "), out.stderr
        assert out.stdout == ""
    assert not results.exists()  # no machine.json left behind by a refused run
    assert not (tmp_path / "profiles").exists()


@pytest.mark.integration
def test_probe_of_a_tree_without_collection_store(tmp_path: Path) -> None:
    out = csbench("probe", str(tmp_path))
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "no known Collection Store layout" in out.stderr
