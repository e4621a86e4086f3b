"""Make a local mirror of Collection Store usable by asv (see COLLECTION_STORE.md).

Some archives of the repository lack three large ``.specstory/*.md`` blobs; git can only
check such commits out once those blobs are replaced by a placeholder through replace
refs. HEAD is moved to a commit without them, because a clone checks HEAD out before
it fetches the replace refs.
"""

from __future__ import annotations

from pathlib import Path

from csbench.commits import git

MISSING_BLOBS = (
    "ec9fc73a573f55581bb0b717a5aa6c499e8d41a7",
    "6861eb801a558c2aa45bacc834b86b40ad8859f0",
    "85f09fbfce95374e8efbdd40d86da1109d7f1a09",
)
SAFE_HEAD = "9d73f1d"
HEAD_BRANCH = "bench-head"


def make_mirror(source: str, dest: Path) -> Path:
    """Clone ``source`` as a bare mirror at ``dest`` and repair it; returns ``dest``."""
    git.git(None, "clone", "--quiet", "--mirror", source, str(dest), replace_refs=False)
    placeholder = git.git(dest, "hash-object", "-w", "--stdin", stdin="placeholder\n").strip()
    for blob in MISSING_BLOBS:
        if not git.has_object(dest, blob):
            git.git(dest, "update-ref", f"refs/replace/{blob}", placeholder)
    git.git(dest, "branch", "--force", HEAD_BRANCH, SAFE_HEAD)
    git.git(dest, "symbolic-ref", "HEAD", f"refs/heads/{HEAD_BRANCH}")
    return dest
