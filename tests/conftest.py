"""Shared fixtures: the pinned Bun and the npm-published Collection Store, installed by the
test set-up itself; a configured 2025 checkout when there is one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from csbench.commits.config import configured_repo
from csbench.measure.bridge import Driver
from csbench.measure.bun import ensure_tools, npm_collection_store


@pytest.fixture(scope="session")
def bun() -> Path:
    return ensure_tools()


@pytest.fixture(scope="session")
def npm_target(bun: Path) -> Path:
    """collection-store@3.0.0-beta.23 from npm (a package-root tree, deps hoisted beside it)."""
    return npm_collection_store()


@pytest.fixture(scope="session")
def repo_checkout(tmp_path_factory: pytest.TempPathFactory, bun: Path):
    """Factory: a built git checkout of ``commit`` from the configured repository.

    Skips with the reason when no repository is configured ($CSBENCH_REPO or the user
    config file, see csbench.commits.config).
    """
    try:
        repo = configured_repo()
    except ValueError as exc:
        pytest.skip(str(exc))
    if not repo:
        pytest.skip(
            "no Collection Store repository configured: set CSBENCH_REPO or "
            "`repo` in ~/.config/csbench/config.toml"
        )
    from csbench.commits import git
    from csbench.measure.build import install_dependencies

    built: dict[str, Path] = {}

    def checkout(commit: str) -> Path:
        if commit not in built:
            dest = tmp_path_factory.mktemp(f"cs-{commit}")
            git.git(None, "clone", "--quiet", "--shared", "--no-checkout", repo, str(dest))
            git.git(dest, "checkout", "--quiet", commit)
            install_dependencies(dest, commit)
            built[commit] = dest
        return built[commit]

    return checkout


# 2025 commits of the configured repository, and whether they have the areas of 2025-06
# (auth, WAL, realtime, files, computed attributes, stored functions).
AREA_COMMITS = {"2307c8d": True, "f8a1929": True, "16d6348": False}


@pytest.fixture(scope="module", params=sorted(AREA_COMMITS))
def driver(request: pytest.FixtureRequest, repo_checkout):
    """A driver on each of AREA_COMMITS (``.commit``, ``.has_areas``); modules that need
    another target define their own ``driver`` fixture."""
    drv = Driver(repo_checkout(request.param))
    drv.commit = request.param  # type: ignore[attr-defined]
    drv.has_areas = AREA_COMMITS[request.param]  # type: ignore[attr-defined]
    yield drv
    drv.close()


def pytest_report_header(config: pytest.Config) -> str:
    return f"csbench: CSBENCH_REPO={os.environ.get('CSBENCH_REPO', '(unset)')}"
