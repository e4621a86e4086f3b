"""A built tree of one Collection Store commit outside asv (``csbench load --commit``).

The commit is exported with ``git archive`` from the configured repository (replace refs of
a repaired mirror apply) into the cache, built there as asv's build step does
(csbench.measure.build.install_dependencies), and filed atomically: a finished tree is reused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

from csbench.measure.build import BUILD_INFO, BuildError, install_dependencies
from csbench.measure.paths import cache_dir


def resolve_commit(repo: str, rev: str) -> str:
    """Full hash of ``rev`` in ``repo``; BuildError if unknown."""
    out = subprocess.run(
        ["git", "-C", repo, "rev-parse", "--verify", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise BuildError(f"{repo}: unknown revision {rev!r}: {out.stderr.strip()}")
    return out.stdout.strip()


def built_commit(repo: str, rev: str, root: Path | None = None) -> Path:
    """The built tree of ``rev`` under ``root`` (default <cache>/checkouts), made if missing."""
    commit = resolve_commit(repo, rev)
    root = root or cache_dir() / "checkouts"
    final = root / commit
    if (final / BUILD_INFO).is_file():
        return final
    staging = root / (commit + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    archive = subprocess.Popen(
        ["git", "-C", repo, "archive", "--format=tar", commit], stdout=subprocess.PIPE
    )
    assert archive.stdout is not None
    untar = subprocess.Popen(
        ["tar", "-x", "-C", str(staging)], stdin=archive.stdout, stderr=subprocess.PIPE, text=True
    )
    archive.stdout.close()  # tar alone reads it now: git gets SIGPIPE if tar stops early
    _, tar_err = untar.communicate()
    if archive.wait() != 0 or untar.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BuildError(f"{commit}: git archive | tar failed: {tar_err.strip()[-2000:]}")
    try:
        info = install_dependencies(staging, commit)
    except BuildError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    (staging / BUILD_INFO).write_text(json.dumps(asdict(info), indent=2) + "\n")
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return final
