"""A twin of a commit: the same tree under another hash, for A/A runs shaped like ci's.

asv measures each hash once per run, so measuring a commit against itself in one
interleaved run (as ``csbench ci`` measures BASE against HEAD) needs a second hash. The
twin lives in a scratch bare repository that borrows the original's objects (git
alternates) and its replace refs, so the user's repository is never written to.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from csbench.commits.asvconf import git_env
from csbench.commits.checkout import resolve_commit

TWIN_BRANCH = "csbench-twin"


def _git(repo: Path | str, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=git_env()
    )
    if out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} in {repo}: {out.stderr.strip()[-2000:]}")
    return out.stdout.strip()


def make_twin(repo: str, rev: str, scratch: Path) -> tuple[Path, str, str]:
    """(scratch repository, commit, twin) where twin has commit's tree and parent commit."""
    commit = resolve_commit(repo, rev)
    twin_repo = scratch / "twin.git"
    clone = subprocess.run(
        [
            "git",
            "clone",
            "--quiet",
            "--bare",
            "--shared",
            str(Path(repo).resolve()),
            str(twin_repo),
        ],
        capture_output=True,
        text=True,
        env=git_env(),  # fetches refs/replace/* too: a repaired mirror stays repaired
    )
    if clone.returncode != 0:
        raise RuntimeError(f"git clone {repo}: {clone.stderr.strip()[-2000:]}")
    twin = _git(
        twin_repo,
        "-c", "user.name=csbench", "-c", "user.email=csbench@localhost",
        "commit-tree", f"{commit}^{{tree}}", "-p", commit, "-m", f"csbench A/A twin of {commit}",
    )  # fmt: skip
    _git(twin_repo, "update-ref", f"refs/heads/{TWIN_BRANCH}", twin)
    return twin_repo, commit, twin
