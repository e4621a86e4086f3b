"""Which Collection Store tree the benchmarks measure."""

from __future__ import annotations

import os
from pathlib import Path

from csbench.measure.build import INSTALLED_NAME


class NoTarget(RuntimeError):
    """Neither $CSBENCH_TARGET nor an asv environment names a Collection Store tree."""


def target_root() -> Path:
    """$CSBENCH_TARGET, else the tree that measure.build installed into asv's environment."""
    explicit = os.environ.get("CSBENCH_TARGET")
    if explicit:
        root = Path(explicit)
    elif os.environ.get("ASV_ENV_DIR"):
        root = Path(os.environ["ASV_ENV_DIR"]) / INSTALLED_NAME
    else:
        raise NoTarget("set CSBENCH_TARGET to a Collection Store tree, or run under asv")
    if not root.is_dir():
        raise NoTarget(f"Collection Store tree {root} does not exist")
    return root
