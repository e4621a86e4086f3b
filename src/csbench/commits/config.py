"""User configuration: which local Collection Store repository to use.

Precedence: an explicit ``--repo``, then $CSBENCH_REPO, then ``repo = "..."`` in
``$XDG_CONFIG_HOME/csbench/config.toml`` (default ``~/.config/csbench/config.toml``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path


def user_config_file() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "csbench" / "config.toml"


def configured_repo(explicit: str | None = None) -> str | None:
    """The local repository to benchmark, or None for asv.conf.json's upstream URL."""
    if explicit:
        return explicit
    if os.environ.get("CSBENCH_REPO"):
        return os.environ["CSBENCH_REPO"]
    path = user_config_file()
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from exc
        repo = data.get("repo")
        if repo is not None and not isinstance(repo, str):
            raise ValueError(f"{path}: key 'repo' must be a string path, got {type(repo).__name__}")
        return repo
    return None
