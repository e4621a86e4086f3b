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


def checked_repo(explicit: str | None) -> str:
    """The configured repository, checked (csbench.commits.git.check_repo); UsageError if
    none is configured."""
    repo = configured_repo(explicit)
    if not repo:
        raise UsageError("name a repository (--repo, $CSBENCH_REPO or the config file)")
    return git.check_repo(repo)
