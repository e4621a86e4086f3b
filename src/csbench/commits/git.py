"""csbench's one git helper: every git call goes through ``git`` (replace refs of a repaired
mirror apply: csbench.commits.asvconf.git_env; commits are made as csbench), and the
questions csbench asks of a repository: is it Collection Store, which commit does a
revision name, which commits does a range or a branch's first-parent history hold."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

from csbench.commits.asvconf import git_env
from csbench.measure.errors import UsageError

PACKAGE = "packages/collection-store/package.json"  # the monorepo layout (2023-12 on)
ASV_RANGE_WORDS = ("ALL", "NEW", "EXISTING")  # asv's own range names, not git revisions


class GitError(RuntimeError):
    """git failed; the message holds its command and first line of stderr."""


IDENTITY = ("-c", "user.name=csbench", "-c", "user.email=csbench@localhost")


def git(
    repo: Path | str | None, *args: str, stdin: str | None = None, replace_refs: bool = True
) -> str:
    """``git -C repo ARGS``'s stdout (no ``-C`` when ``repo`` is None); GitError with git's
    complaint when it fails. ``replace_refs=False``: without the extra fetch of replace refs
    (a ``clone --mirror`` fetches them already, and twice is an error)."""
    where = ["-C", str(repo)] if repo is not None else []
    out = subprocess.run(
        ["git", *where, *IDENTITY, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=git_env() if replace_refs else None,
    )
    if out.returncode != 0:
        first = (out.stderr.strip().splitlines() or ["(no message)"])[0]
        raise GitError(f"git {' '.join(args)}: {first}")
    return out.stdout


def has_object(repo: Path | str, name: str) -> bool:
    """Whether ``repo`` holds the object ``name`` (a hash, or REV:PATH)."""
    try:
        git(repo, "cat-file", "-e", name)
    except GitError:
        return False
    return True


def archive_into(repo: Path | str, commit: str, dest: Path) -> None:
    """The tree of ``commit`` written under ``dest`` (``git archive | tar``: replace refs
    apply, nothing is checked out in ``repo``); GitError naming what failed."""
    archive = subprocess.Popen(
        ["git", "-C", str(repo), "archive", "--format=tar", commit],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=git_env(),
    )
    assert archive.stdout is not None and archive.stderr is not None
    untar = subprocess.Popen(
        ["tar", "-x", "-C", str(dest)], stdin=archive.stdout, stderr=subprocess.PIPE, text=True
    )
    archive.stdout.close()  # tar alone reads it now: git gets SIGPIPE if tar stops early
    _, tar_err = untar.communicate()
    git_err = archive.stderr.read().decode(errors="replace")
    archive.stderr.close()
    if archive.wait() != 0 or untar.returncode != 0:
        raise GitError(f"git archive {commit} | tar: {(git_err + tar_err).strip()[-2000:]}")


def range_commits(repo: Path | str, spec: str) -> list[str]:
    """The full hashes ``asv run SPEC`` measures, as asv lists them (newest first): a
    HASHFILE's lines, else ``git rev-list --first-parent SPEC``; UsageError for asv's words
    (ALL, NEW, ...), whose commits depend on the stored results."""
    if spec in ASV_RANGE_WORDS:
        raise UsageError(f"{spec}: name a git range or HASHFILE:, not one of asv's words")
    if spec.startswith("HASHFILE:"):
        return _hashfile(repo, spec)
    try:
        return git(repo, "rev-list", "--first-parent", *shlex.split(spec), "--").split()
    except GitError as exc:
        raise UsageError(f"{repo}: unknown range {spec!r} ({exc})") from None


def first_parent(repo: Path | str, branch: str, fmt: str) -> list[str]:
    """One ``git log --format=FMT`` line per first-parent commit of ``branch``, oldest
    first."""
    return git(repo, "log", "--first-parent", "--reverse", f"--format={fmt}", branch).splitlines()


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


def resolve(repo: Path | str, rev: str) -> str:
    """The full hash of ``rev``; UsageError when the repository does not know it."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
    except GitError:
        raise UsageError(f"{repo}: unknown revision {rev!r}") from None


def _hashfile(repo: Path | str, spec: str) -> list[str]:
    """The full hashes of a ``HASHFILE:PATH`` range's lines (UsageError for a missing file or
    an unknown line)."""
    listed = Path(spec.removeprefix("HASHFILE:"))
    if not listed.is_file():
        raise UsageError(f"{spec}: no such file")
    return [resolve(repo, line) for line in listed.read_text().split()]


def check_range(repo: str, spec: str) -> None:
    """UsageError unless ``spec`` (asv's range: ``A^!``, ``A..B``, a revision, HASHFILE:,
    ALL / NEW / EXISTING) names at least one commit of ``repo``."""
    if is_url(repo) or spec in ASV_RANGE_WORDS:
        return
    if spec.startswith("HASHFILE:"):
        _hashfile(repo, spec)
        return
    try:
        first = git(repo, "rev-list", "--max-count=1", spec, "--").strip()
    except GitError as exc:
        raise UsageError(f"{repo}: unknown range {spec!r} ({exc})") from None
    if not first:
        raise UsageError(f"{repo}: range {spec!r} selects no commit")
