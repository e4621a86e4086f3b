"""csbench.commits.mirror on the configured Collection Store repository (skipped without one)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from csbench.commits.asvconf import git_env
from csbench.commits.config import configured_repo
from csbench.commits.mirror import HEAD_BRANCH, MISSING_BLOBS, make_mirror

pytestmark = pytest.mark.integration


def test_mirror_checks_out_2025_commits_in_shared_clones(tmp_path: Path) -> None:
    repo = configured_repo()
    if not repo:
        pytest.skip("no Collection Store repository configured: set CSBENCH_REPO")
    mirror = make_mirror(repo, tmp_path / "cs.git")
    head = subprocess.run(
        ["git", "-C", str(mirror), "symbolic-ref", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert head == f"refs/heads/{HEAD_BRANCH}"
    for blob in MISSING_BLOBS:  # present, or replaced by the placeholder
        present = subprocess.run(
            ["git", "-C", str(mirror), "cat-file", "-e", blob], capture_output=True
        ).returncode
        replaced = subprocess.run(
            ["git", "-C", str(mirror), "rev-parse", "--verify", "--quiet", f"refs/replace/{blob}"],
            capture_output=True,
        ).returncode
        assert present == 0 or replaced == 0, blob
    clone = tmp_path / "clone"
    env = git_env()
    subprocess.run(
        ["git", "clone", "--quiet", "--shared", str(mirror), str(clone)], check=True, env=env
    )
    subprocess.run(
        [
            "git",
            "-C",
            str(clone),
            "-c",
            "advice.detachedHead=false",
            "checkout",
            "--quiet",
            "2307c8d",
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    assert (clone / "packages" / "collection-store" / "src" / "core" / "Database.ts").is_file()
