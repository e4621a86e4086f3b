"""A built tree of one Collection Store commit outside asv (``csbench load --commit``).

The commit is exported with ``git archive`` from the configured repository (replace refs of
a repaired mirror apply) into the cache, built there as asv's build step does
(csbench.measure.build.install_dependencies), and filed atomically: a finished tree is reused.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from csbench.commits import git
from csbench.measure import atomic, reference
from csbench.measure.build import BUILD_INFO, BuildError, install_dependencies
from csbench.measure.errors import UsageError
from csbench.measure.paths import checkouts_dir


def built_commit(repo: str, rev: str, root: Path | None = None) -> Path:
    """The built tree of ``rev`` under ``root`` (default <cache>/checkouts), made if missing."""
    commit = git.resolve(repo, rev)
    root = root or checkouts_dir()
    final = root / commit
    if (final / BUILD_INFO).is_file():
        return final
    staging = root / (commit + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        git.archive_into(repo, commit, staging)
    except git.GitError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BuildError(f"{commit}: {exc}") from None
    try:
        info = install_dependencies(staging, commit)
    except BuildError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    atomic.write_json(staging / BUILD_INFO, asdict(info), indent=2)
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return final


def build_reference(repo: str, log: Callable[[str], None]) -> None:
    """Build the reference of the ratio tracks (benchmarks/reference.yaml) unless built; a
    repository without it, or a failed build, is one line (those tracks are then skipped)."""
    try:
        ref = reference.load()
        if not ref.built:
            log(f"csbench: building the reference {ref.commit[:8]} (benchmarks/reference.yaml)")
            built_commit(repo, ref.commit)
    except (UsageError, BuildError) as exc:
        log(f"csbench: reference not built, its ratio tracks are skipped: {exc}")
