"""Where csbench keeps things: the project checkout, local tools and caches."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/csbench
DRIVER_MAIN = PACKAGE_DIR / "driver" / "main.ts"


def project_root() -> Path:
    """The csbench checkout (the directory holding asv.conf.json)."""
    return PACKAGE_DIR.parents[1]


def work_dir() -> Path:
    """csbench's and asv's working files: asv's environments and site, derived configs,
    scratch results, the checkout lock ($CSBENCH_WORK overrides ``.asv/``; the tests point
    it at a temporary directory)."""
    return Path(os.environ.get("CSBENCH_WORK") or project_root() / ".asv")


def tools_dir() -> Path:
    """Project-local npm prefix holding the pinned Bun and the npm Collection Store."""
    return Path(os.environ.get("CSBENCH_TOOLS") or project_root() / ".tools")


def cache_dir() -> Path:
    """Cache for generated datasets and scratch files ($CSBENCH_CACHE overrides)."""
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "csbench"
    return Path(os.environ.get("CSBENCH_CACHE") or default)


def checkouts_dir() -> Path:
    """Built trees of single commits outside asv (csbench.commits.checkout), by full hash."""
    return cache_dir() / "checkouts"
