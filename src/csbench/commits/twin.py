"""A twin of a commit: the same tree under another hash, for A/A runs shaped like ci's.

asv measures each hash once per run, so measuring a commit against itself in one
interleaved run (as ``csbench ci`` measures BASE against HEAD) needs a second hash. The
twin lives in a scratch bare repository that borrows the original's objects (git
alternates) and its replace refs, so the user's repository is never written to.
"""

from __future__ import annotations

from pathlib import Path

from csbench.commits import git

TWIN_BRANCH = "csbench-twin"


def make_twin(repo: str, rev: str, scratch: Path) -> tuple[Path, str, str]:
    """(scratch repository, commit, twin) where twin has commit's tree and parent commit."""
    commit = git.resolve(repo, rev)
    twin_repo = scratch / "twin.git"
    # a shared bare clone fetches refs/replace/* too: a repaired mirror stays repaired
    git.git(None, "clone", "--quiet", "--bare", "--shared", str(Path(repo).resolve()),
            str(twin_repo))  # fmt: skip
    twin = git.git(
        twin_repo, "commit-tree", f"{commit}^{{tree}}", "-p", commit,
        "-m", f"csbench A/A twin of {commit}",
    ).strip()  # fmt: skip
    git.git(twin_repo, "update-ref", f"refs/heads/{TWIN_BRANCH}", twin)
    return twin_repo, commit, twin
