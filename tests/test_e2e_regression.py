"""End to end: asv builds three commits of a throwaway Collection Store repository made from
the npm package, and ``asv continuous`` flags the one with a slowed findById, and only it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import MACHINE, SLOW_ANCHOR, SLOW_FILE, SLOWDOWN

from csbench.commits import asvconf
from csbench.guard.power import commit_all, package_repo

pytestmark = pytest.mark.e2e

# Identical code in two Bun processes differs by more than asv's default factor allows on
# a noisy host (docs/figures.md, "Cost and figures"); a factor of 3 keeps A/A quiet while
# the far larger injected slowdown must still be caught. `csbench calibrate` will replace it.
FACTOR = "3"
SLOWED = r"core\.Core\.time_op\('find_by_id', 'small-1000'\)"
BENCH = [SLOWED, r"harness\.Floor\.time_noop"]


@pytest.fixture(scope="module")
def three_commits(tmp_path_factory: pytest.TempPathFactory, npm_target: Path):
    repo = package_repo(npm_target, tmp_path_factory.mktemp("e2e"))
    original = commit_all(repo, "original npm package")
    same = commit_all(repo, "the same again")
    source = repo / SLOW_FILE
    text = source.read_text()
    assert text.count(SLOW_ANCHOR) == 1, f"{SLOW_FILE}: findById anchor not found"
    source.write_text(text.replace(SLOW_ANCHOR, SLOW_ANCHOR + SLOWDOWN))
    slow = commit_all(repo, "deliberately slow findById")
    return repo, (original, same, slow)


def test_continuous_flags_only_the_slowedcommit_all(three_commits, tmp_path: Path) -> None:
    repo, (original, same, slow) = three_commits
    work = tmp_path / "asv"
    config = asvconf.derived_config(
        repo=str(repo),
        name="e2e",
        branches=["main"],
        results_dir=str(work / "results"),
        env_dir=str(work / "env"),
        html_dir=str(work / "html"),
    )
    machine = asvconf.ensure_machine(MACHINE)
    bench = [arg for b in BENCH for arg in ("--bench", b)]
    hashfile = tmp_path / "commits.txt"
    hashfile.write_text(f"{original}\n{same}\n{slow}\n")

    run = asvconf.asv(
        ["run", f"HASHFILE:{hashfile}", "--machine", machine, *bench], config, capture=True
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    stored = list((work / "results" / machine).glob("*.json"))
    assert len([p for p in stored if p.name != "machine.json"]) == 3, stored

    same_vs = asvconf.asv(
        ["continuous", "--factor", FACTOR, original, same, "--machine", machine, *bench],
        config,
        capture=True,
    )
    out = same_vs.stdout + same_vs.stderr
    assert same_vs.returncode == 0, out[-3000:]
    assert "PERFORMANCE DECREASED" not in out

    slow_vs = asvconf.asv(
        ["continuous", "--factor", FACTOR, same, slow, "--machine", machine, *bench],
        config,
        capture=True,
    )
    out = slow_vs.stdout + slow_vs.stderr
    assert slow_vs.returncode == 1, out[-3000:]
    flagged = [line for line in out.splitlines() if re.match(r"^\|\s*\+\s*\|", line)]
    assert any("find_by_id" in line for line in flagged), out[-3000:]
    assert not any("time_noop" in line for line in flagged), out[-3000:]
