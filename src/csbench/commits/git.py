"""Questions csbench asks of a Collection Store repository: is it one, which commits does a
revision or range name. Every git call goes through ``git`` (replace refs of a repaired
mirror apply: csbench.commits.asvconf.git_env)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from csbench.commits.asvconf import git_env
from csbench.measure.errors import UsageError

PACKAGE = "packages/collection-store/package.json"  # the monorepo layout (2023-12 on)
ASV_RANGE_WORDS = ("ALL", "NEW", "EXISTING")  # asv's own range names, not git revisions


class GitError(RuntimeError):
    """git failed; the message holds its command and first line of stderr."""


def git(repo: Path | str, *args: str) -> str:
    """``git -C repo ARGS``'s stdout; GitError with git's complaint when it fails."""
    out = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=git_env()
    )
    if out.returncode != 0:
        first = (out.stderr.strip().splitlines() or ["(no message)"])[0]
        raise GitError(f"git {' '.join(args)}: {first}")
    return out.stdout


def is_url(repo: str) -> bool:
    return "://" in repo or re.match(r"^[\w.-]+@[\w.-]+:", repo) is not None


def _holds_collection_store(repo: str) -> bool:
    """Some commit has the monorepo package, or a root package.json named collection-store
    (among the last 50 versions of that file)."""
    if git(repo, "rev-list", "--all", "--max-count=1", "--", PACKAGE).strip():
        return True
    for commit in git(repo, "rev-list", "--all", "--max-count=50", "--", "package.json").split():
        try:
            manifest = json.loads(git(repo, "show", f"{commit}:package.json"))
        except (GitError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("name") == "collection-store":
            return True
    return False


def check_repo(repo: str) -> str:
    """``repo`` if it is a git repository holding Collection Store (a commit with its
    package); UsageError saying which of those it is not. URLs are left to asv."""
    if is_url(repo):
        return repo
    path = Path(repo).expanduser()
    if not path.exists():
        raise UsageError(f"--repo {repo}: no such directory")
    try:
        git(path, "rev-parse", "--git-dir")
    except GitError:
        raise UsageError(f"--repo {repo}: not a git repository") from None
    if not git(path, "rev-list", "--all", "--max-count=1").strip():
        raise UsageError(f"--repo {repo}: the repository has no commits")
    if not _holds_collection_store(str(path)):
        raise UsageError(
            f"--repo {repo}: no commit holds Collection Store ({PACKAGE}, or a package.json "
            "named collection-store)"
        )
    return repo


def resolve(repo: str, rev: str) -> str:
    """The full hash of ``rev``; UsageError when the repository does not know it."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
    except GitError:
        raise UsageError(f"{repo}: unknown revision {rev!r}") from None


def check_range(repo: str, spec: str) -> None:
    """UsageError unless ``spec`` (asv's range: ``A^!``, ``A..B``, a revision, HASHFILE:,
    ALL / NEW / EXISTING) names at least one commit of ``repo``."""
    if is_url(repo) or spec in ASV_RANGE_WORDS:
        return
    if spec.startswith("HASHFILE:"):
        listed = Path(spec.removeprefix("HASHFILE:"))
        if not listed.is_file():
            raise UsageError(f"{spec}: no such file")
        for line in listed.read_text().split():
            resolve(repo, line)
        return
    try:
        first = git(repo, "rev-list", "--max-count=1", spec, "--").strip()
    except GitError as exc:
        raise UsageError(f"{repo}: unknown range {spec!r} ({exc})") from None
    if not first:
        raise UsageError(f"{repo}: range {spec!r} selects no commit")
