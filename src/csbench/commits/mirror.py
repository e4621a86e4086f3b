"""Make a local mirror of Collection Store usable by asv (see COLLECTION_STORE.md).

Some archives of the repository lack three large ``.specstory/*.md`` blobs; git can only
check such commits out once those blobs are replaced by a placeholder through replace
refs. HEAD is moved to a commit without them, because a clone checks HEAD out before
it fetches the replace refs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

MISSING_BLOBS = (
    "ec9fc73a573f55581bb0b717a5aa6c499e8d41a7",
    "6861eb801a558c2aa45bacc834b86b40ad8859f0",
    "85f09fbfce95374e8efbdd40d86da1109d7f1a09",
)
SAFE_HEAD = "9d73f1d"
HEAD_BRANCH = "bench-head"


def _git(repo: Path, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def make_mirror(source: str, dest: Path) -> Path:
    """Clone ``source`` as a bare mirror at ``dest`` and repair it; returns ``dest``."""
    subprocess.run(["git", "clone", "--quiet", "--mirror", source, str(dest)], check=True)
    placeholder = _git(dest, "hash-object", "-w", "--stdin", stdin="placeholder\n")
    for blob in MISSING_BLOBS:
        present = (
            subprocess.run(
                ["git", "-C", str(dest), "cat-file", "-e", blob], capture_output=True
            ).returncode
            == 0
        )
        if not present:
            _git(dest, "update-ref", f"refs/replace/{blob}", placeholder)
    _git(dest, "branch", "--force", HEAD_BRANCH, SAFE_HEAD)
    _git(dest, "symbolic-ref", "HEAD", f"refs/heads/{HEAD_BRANCH}")
    return dest
