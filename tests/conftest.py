"""Shared fixtures: the pinned Bun and the npm-published Collection Store, installed by the
test set-up itself; a configured 2025 checkout when there is one. The whole session writes
inside one temporary directory (its HOME with asv's machine file, csbench's work directory
and cache), and a test that starts Bun or asv is marked for the tiers of `make test-fast`
and `make test`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from asv import results as asv_results
from asv.plugins.regressions import Regressions
from asv.results import Results

from csbench.commits.config import configured_repo
from csbench.measure import procs
from csbench.measure.bridge import Driver
from csbench.measure.bun import ensure_tools, npm_collection_store

_SESSION: dict[str, Path] = {}
# Fixtures that start Bun (or need what it runs): their tests are integration tests.
BUN_FIXTURES = {"bun", "npm_target", "repo_checkout", "driver"}


def pytest_configure(config: pytest.Config) -> None:
    """Point HOME (asv's ~/.asv-machine.json), csbench's work directory (asv environments,
    derived configs, the lock) and its cache (datasets, built checkouts) at a temporary
    directory; package managers keep their real download caches, and the user's
    configuration is still read."""
    home = Path.home()
    root = procs.mkdtemp("tests")
    _SESSION["root"] = root
    keep = {
        "XDG_CONFIG_HOME": os.environ.get("XDG_CONFIG_HOME") or str(home / ".config"),
        "BUN_INSTALL_CACHE_DIR": os.environ.get("BUN_INSTALL_CACHE_DIR")
        or str(home / ".bun" / "install" / "cache"),
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR") or str(home / ".cache" / "pip"),
        "NPM_CONFIG_CACHE": os.environ.get("NPM_CONFIG_CACHE") or str(home / ".npm"),
    }
    os.environ.update(keep)
    for name, sub in (("HOME", "home"), ("CSBENCH_WORK", "work"), ("CSBENCH_CACHE", "cache")):
        (root / sub).mkdir()
        os.environ[name] = str(root / sub)


def pytest_unconfigure(config: pytest.Config) -> None:
    if "root" in _SESSION:
        shutil.rmtree(_SESSION["root"], ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a Bun fixture is an integration test, unless it is end to end; one
    that uses the configured repository's checkouts is also a ``repo`` test."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if BUN_FIXTURES & used and not item.get_closest_marker("e2e"):
            item.add_marker(pytest.mark.integration)
        if "repo_checkout" in used:
            item.add_marker(pytest.mark.repo)


@pytest.fixture
def asv_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """asv's own functions again after a test that loads csbench's asv plugin
    (csbench.commits.asvplugin.setup)."""
    monkeypatch.setattr(Results, "save", Results.save)
    monkeypatch.setattr(asv_results, "iter_results_paths", asv_results.iter_results_paths)
    monkeypatch.setattr(Regressions, "_process_regression",
                        Regressions.__dict__["_process_regression"])  # fmt: skip


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
