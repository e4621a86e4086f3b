"""What the command families share: the handler type, the progress log and the checked
repository."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from csbench.commits import git
from csbench.commits.config import configured_repo
from csbench.measure.errors import UsageError

Handler = Callable[[argparse.Namespace], int]


def log(message: str) -> None:
    """A progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


def add_tree_options(parser: argparse.ArgumentParser, verb: str, required: bool = False) -> None:
    """--commit REV | --checkout DIR, and --repo: the Collection Store tree a command runs on
    (neither, unless ``required``: the npm package)."""
    where = parser.add_mutually_exclusive_group(required=required)
    where.add_argument("--commit", help=f"build and {verb} this commit of the repository")
    where.add_argument("--checkout", help="a Collection Store tree with node_modules installed")
    parser.add_argument("--repo", help="repository for --commit (else $CSBENCH_REPO or config)")


def failed(command: str, exc: Exception) -> int:
    """``exc`` as the command's error on stderr (a DriverError's message holds the driver's
    stderr tail); exit code 2."""
    print(f"csbench {command}: {exc}", file=sys.stderr)
    return 2


def checked_repo(explicit: str | None) -> str:
    """The configured repository, checked (csbench.commits.git.check_repo); UsageError if
    none is configured."""
    repo = configured_repo(explicit)
    if not repo:
        raise UsageError("name a repository (--repo, $CSBENCH_REPO or the config file)")
    return git.check_repo(repo)
