"""Find (and if asked, install) the pinned Bun without relying on the user's PATH."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from csbench.measure.paths import tools_dir

BUN_VERSION = "1.4.5"
NPM_COLLECTION_STORE = "collection-store@3.0.0-beta.23"
# The driver's type check (`make lint`): TypeScript, the types of this Bun, and the Node types
# of the Node version this Bun reports (process.version v26.3.0).
TYPE_CHECK_PACKAGES = ("typescript@7.0.2", "@types/bun@1.4.5", "@types/node@26.3.0")


class BunNotFound(RuntimeError):
    """No usable Bun of the pinned version."""


def _local_bun() -> Path:
    return tools_dir() / "node_modules" / "bun" / "bin" / "bun.exe"


def bun_version(path: Path | str) -> str:
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def find_bun() -> Path:
    """$CSBENCH_BUN as is, else the project's pinned Bun, else a pinned Bun on PATH."""
    explicit = os.environ.get("CSBENCH_BUN")
    if explicit:
        if not Path(explicit).is_file():
            raise BunNotFound(f"CSBENCH_BUN={explicit} is not a file")
        return Path(explicit)
    local = _local_bun()
    if local.is_file():
        return local
    on_path = shutil.which("bun")
    if on_path and bun_version(on_path) == BUN_VERSION:
        return Path(on_path)
    raise BunNotFound(
        f"Bun {BUN_VERSION} not found: run `csbench setup` (installs it under {tools_dir()}) "
        "or set CSBENCH_BUN"
    )


def npm_install(*specs: str) -> None:
    """Install npm packages into the project-local tools prefix."""
    prefix = tools_dir()
    prefix.mkdir(parents=True, exist_ok=True)
    manifest = prefix / "package.json"
    if not manifest.exists():
        manifest.write_text('{"name": "csbench-tools", "private": true}\n')
    npm = shutil.which("npm")
    if npm is None:
        raise BunNotFound("npm is needed to install Bun and the npm Collection Store")
    options = ["--no-audit", "--no-fund", "--save-exact", "--prefix", str(prefix)]
    subprocess.run([npm, "install", *options, *specs], check=True)


def _npm_installed(spec: str) -> bool:
    """Whether the tools prefix holds package ``name@version`` at that version."""
    name, _, version = spec.rpartition("@")
    manifest = tools_dir() / "node_modules" / name / "package.json"
    try:
        return json.loads(manifest.read_text()).get("version") == version
    except (OSError, ValueError):
        return False


def ensure_tools() -> Path:
    """Install the pinned Bun, the npm Collection Store and the driver's type-check packages if
    missing; return Bun's path."""
    missing = []
    if not _local_bun().is_file() or bun_version(_local_bun()) != BUN_VERSION:
        missing.append(f"bun@{BUN_VERSION}")
    if not npm_collection_store().is_dir():
        missing.append(NPM_COLLECTION_STORE)
    missing += [spec for spec in TYPE_CHECK_PACKAGES if not _npm_installed(spec)]
    if missing:
        npm_install(*missing)
    return find_bun()


def npm_collection_store() -> Path:
    """The npm-published Collection Store installed by `ensure_tools` (a package-root tree)."""
    return tools_dir() / "node_modules" / "collection-store"
