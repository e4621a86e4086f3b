"""Per-commit build and install of Collection Store, called by asv.

asv runs ``git clean -fdx`` on every checkout, so ``build`` installs the commit's
dependencies in asv's build directory and files the whole tree (source + node_modules,
hard-linked) into ``{build_cache_dir}``; ``install`` hard-links the cached tree into
``{env_dir}/collection-store``, where the benchmarks find it. A cache hit skips the build.

Usage (see asv.conf.json)::

    python -m csbench.measure.build build --commit C --src {build_dir} --cache {build_cache_dir}
    python -m csbench.measure.build install --cache {build_cache_dir} --env {env_dir}
    python -m csbench.measure.build uninstall --env {env_dir}
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from csbench.measure.bun import BUN_VERSION, find_bun

INSTALLED_NAME = "collection-store"
TREE_NAME = "tree"
BUILD_INFO = ".csbench-build.json"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
STDERR_TAIL_LINES = 30
# Lockfiles Bun installs from (it migrates the last three), and its complaint when one is stale.
LOCKFILES = ("bun.lock", "bun.lockb", "yarn.lock", "package-lock.json", "pnpm-lock.yaml")
STALE_LOCKFILE = "lockfile is frozen"
MONOREPO_PACKAGE = "packages/collection-store"
# A relative module specifier in an import, export or require of a source file.
RELATIVE_IMPORT = re.compile(r"""(?:from|import|require)\s*\(?\s*['"](\.{1,2}/[^'"]+)['"]""")
SOURCE_SUFFIXES = (".ts", ".tsx", ".js", ".mjs", ".cjs", ".json")


class BuildError(RuntimeError):
    """A commit that cannot be installed; the message names commit, command and stderr tail."""


@dataclass
class BuildInfo:
    """How a commit was built: stored beside the tree and shown in reports."""

    commit: str
    layout: str
    method: str
    bun: str = BUN_VERSION
    steps: list[dict[str, object]] = field(default_factory=list)
    seconds: float = 0.0


def detect_layout(src: Path) -> str:
    """``package-root`` (the npm tarball's layout) or ``monorepo`` (git checkouts, 2023-12 on)."""
    manifest = src / "package.json"
    has_entry = (src / "src" / "index.ts").is_file() and manifest.is_file()
    if has_entry:
        try:
            name = json.loads(manifest.read_text()).get("name")
        except (ValueError, AttributeError) as exc:
            raise BuildError(f"{manifest}: not a JSON object: {exc}") from None
        if name == "collection-store":
            return "package-root"
    if (src / "packages" / "collection-store" / "src").is_dir():
        return "monorepo"
    raise BuildError(
        f"{src}: no Collection Store layout found (no src/index.ts package, no packages/)"
    )


def _tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _run(cmd: list[str], cwd: Path, commit: str, info: BuildInfo, env: dict[str, str]) -> None:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = round(time.perf_counter() - start, 2)
    info.steps.append({"cmd": " ".join(cmd), "cwd": str(cwd), "seconds": elapsed})
    if proc.returncode != 0:
        shown = " ".join([Path(cmd[0]).name, *cmd[1:]])  # the tool, not where it lives here
        raise BuildError(
            f"commit {commit}: `{shown}` in {cwd} failed (exit {proc.returncode})\n"
            f"--- stderr tail ---\n{_tail(proc.stderr or proc.stdout)}"
        )


def _build_env(bun: Path) -> dict[str, str]:
    """PATH with Bun and the system tools node-gyp needs; asv's own PATH holds only the env."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(bun.parent), env.get("PATH", ""), SYSTEM_PATH])
    nodedir = os.environ.get("CSBENCH_NODEDIR") or (
        "/usr" if Path("/usr/include/node/node.h").is_file() else ""
    )
    if nodedir:
        env["npm_config_nodedir"] = nodedir
    return env


def _drop_dev_dependencies(manifest: Path) -> bool:
    """Remove devDependencies from a manifest in the (throwaway) build tree; False if it
    has none (or is not a JSON object: the install reports that).

    Bun resolves devDependencies even with --production, and the npm tarball pins
    ``typescript@next``, a tag the registry no longer serves; production code never uses them.
    """
    try:
        data = json.loads(manifest.read_text())
    except ValueError:
        return False
    if not isinstance(data, dict) or not data.pop("devDependencies", None):
        return False
    manifest.write_text(json.dumps(data, indent=2) + "\n")
    return True


def _only_collection_store_workspace(manifest: Path) -> bool:
    """Narrow a monorepo root's workspaces to packages/collection-store (the other packages
    are demos and adapters whose unlocked dependencies no longer resolve); False if the
    manifest has no other workspace to drop."""
    try:
        data = json.loads(manifest.read_text())
    except ValueError:
        return False
    if not isinstance(data, dict) or data.get("workspaces") in (None, [MONOREPO_PACKAGE]):
        return False
    data["workspaces"] = [MONOREPO_PACKAGE]
    manifest.write_text(json.dumps(data, indent=2) + "\n")
    return True


def _unlock(src: Path, layout: str, lockfiles: list[str], stale: bool, info: BuildInfo) -> None:
    """Prepare ``src`` for a plain install after its locked install failed, noting each
    change in ``info.method``.

    Old history: a lockfile that no longer matches package.json (--production freezes it),
    or one pinning versions the registry no longer serves. Resolve afresh from package.json,
    as a developer's plain install would, with the demo workspaces and devDependencies left
    out: unlocked, they pull versions that no longer resolve (typescript@next).
    """
    for name in lockfiles:
        (src / name).unlink()
    why = "is stale" if stale else "did not install"
    info.method = info.method.replace(
        f"({lockfiles[0]})", f"(no lockfile: the committed {lockfiles[0]} {why})"
    )
    if layout == "monorepo" and _only_collection_store_workspace(src / "package.json"):
        info.method += ", workspace packages/collection-store only"
    manifests = [src / "package.json", *sorted(src.glob("packages/*/package.json"))]
    if any([_drop_dev_dependencies(m) for m in manifests if m.is_file()]):
        info.method += ", devDependencies dropped"


def _resolves(path: Path) -> bool:
    """Bun would load ``path`` (a module specifier made absolute): as is, with a source
    suffix, or as a directory's index."""
    candidates = [path, *(path.with_name(path.name + s) for s in SOURCE_SUFFIXES)]
    candidates += [path / f"index{s}" for s in SOURCE_SUFFIXES]
    return any(c.is_file() for c in candidates)


def _case_links(path: Path, root: Path) -> list[tuple[Path, str]] | None:
    """The links (path, sibling's name) that make ``path`` under ``root`` name an existing
    file when its missing parts are found among their siblings but for letter case; None
    when ``path`` names no file that way."""
    here, links = root, []
    for part in path.relative_to(root).parts:
        step = here / part
        if not step.exists() and here.is_dir():
            same = [e.name for e in here.iterdir() if e.name.lower() == part.lower()]
            if len(same) != 1:
                return None
            links.append((step, same[0]))
            step = here / same[0]
        here = step
    return links if here.is_file() else None


def add_case_aliases(src: Path, layout: str) -> list[str]:
    """Symlink each part of a relative import of the library's sources that names a file or
    directory in another letter case (the tree was written on a case-insensitive
    filesystem: macOS, Windows), so that it loads on Linux as it did there; returns the
    aliases made (paths relative to ``src``)."""
    made: list[str] = []
    library = src / (MONOREPO_PACKAGE if layout == "monorepo" else "") / "src"
    for folder, dirs, files in os.walk(library):
        dirs[:] = sorted(d for d in dirs if d != "node_modules")
        for source in sorted(Path(folder) / f for f in files):
            if source.suffix not in SOURCE_SUFFIXES or source.is_symlink():
                continue
            for spec in RELATIVE_IMPORT.findall(source.read_text(errors="replace")):
                wanted = Path(os.path.normpath(source.parent / spec))
                if wanted.is_relative_to(src) and not _resolves(wanted):
                    made += _link_case(wanted, src)
    return made


def _link_case(wanted: Path, src: Path) -> list[str]:
    """Make ``wanted`` (an import that does not resolve) load the file it names but for
    letter case, trying the source suffixes first; the links made, relative to ``src``."""
    for name in [wanted.name + s for s in SOURCE_SUFFIXES] + [wanted.name]:
        links = _case_links(wanted.with_name(name), src)
        if links:
            for link, sibling in links:
                link.symlink_to(sibling)
            return [str(link.relative_to(src)) for link, _ in links]
    return []


def install_dependencies(src: Path, commit: str) -> BuildInfo:
    """Install the commit's production dependencies and native bcrypt in ``src``."""
    start = time.perf_counter()
    try:
        layout = detect_layout(src)
    except BuildError as exc:
        raise BuildError(f"commit {commit}: {exc}") from None
    bun = find_bun()
    if bun.name == "bun.exe" and not (bun.parent / "bun").exists():
        (bun.parent / "bun").symlink_to(bun.name)  # node-gyp and scripts look for `bun`
    env = _build_env(bun)
    lockfiles = [n for n in LOCKFILES if (src / n).is_file()]
    info = BuildInfo(
        commit=commit,
        layout=layout,
        method=f"bun install ({lockfiles[0] if lockfiles else 'no lockfile'})",
    )
    if layout == "package-root" and _drop_dev_dependencies(src / "package.json"):
        info.method += ", devDependencies dropped"
    install = [str(bun), "install", "--production", "--ignore-scripts"]
    try:
        _run(install, src, commit, info, env)
    except BuildError as locked:
        if not lockfiles:
            raise
        _unlock(src, layout, lockfiles, STALE_LOCKFILE in str(locked), info)
        try:
            _run(install, src, commit, info, env)
        except BuildError as plain:
            raise BuildError(f"{locked}\n--- then without {lockfiles[0]} ---\n{plain}") from None
    aliases = add_case_aliases(src, layout)
    if aliases:
        info.method += f", case aliases: {', '.join(aliases)}"
    bcrypt = src / "node_modules" / "bcrypt"
    if bcrypt.is_dir():
        _run([str(bun), "run", "install"], bcrypt, commit, info, env)
        info.method += " + native bcrypt"
    info.seconds = round(time.perf_counter() - start, 2)
    return info


def _link_tree(src: Path, dest: Path, exclude: tuple[str, ...] = ()) -> None:
    """Copy ``src`` to ``dest`` with hard links (falls back to a real copy across devices)."""
    dest.mkdir(parents=True)
    for entry in src.iterdir():
        if entry.name in exclude:
            continue
        proc = subprocess.run(["cp", "-al", str(entry), str(dest)], capture_output=True, text=True)
        if proc.returncode != 0:
            subprocess.run(["cp", "-a", str(entry), str(dest)], check=True)


def build(src: Path, cache: Path, commit: str) -> BuildInfo:
    """Build ``src`` and file the result atomically under ``cache/tree``."""
    info = install_dependencies(src, commit)
    staging = cache / (TREE_NAME + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    _link_tree(src, staging, exclude=(".git",))
    (staging / BUILD_INFO).write_text(json.dumps(asdict(info), indent=2) + "\n")
    final = cache / TREE_NAME
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return info


def install(cache: Path, env_dir: Path) -> Path:
    """Hard-link the cached tree into ``env_dir/collection-store``."""
    tree = cache / TREE_NAME
    if not (tree / BUILD_INFO).is_file():
        raise BuildError(f"{cache}: no finished build here (missing {TREE_NAME}/{BUILD_INFO})")
    target = env_dir / INSTALLED_NAME
    uninstall(env_dir)
    staging = env_dir / (INSTALLED_NAME + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    _link_tree(tree, staging)
    staging.rename(target)
    return target


def uninstall(env_dir: Path) -> None:
    shutil.rmtree(env_dir / INSTALLED_NAME, ignore_errors=True)


def read_build_info(root: Path) -> dict[str, object] | None:
    """The build record of an installed tree, if any."""
    path = root / BUILD_INFO
    return json.loads(path.read_text()) if path.is_file() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csbench.measure.build", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    p_build = sub.add_parser("build")
    p_build.add_argument("--commit", required=True)
    p_build.add_argument("--src", type=Path, required=True)
    p_build.add_argument("--cache", type=Path, required=True)
    p_install = sub.add_parser("install")
    p_install.add_argument("--cache", type=Path, required=True)
    p_install.add_argument("--env", type=Path, required=True)
    p_uninstall = sub.add_parser("uninstall")
    p_uninstall.add_argument("--env", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.action == "build":
            info = build(args.src, args.cache, args.commit)
            print(f"csbench build: {args.commit[:8]} built ({info.method}) in {info.seconds} s")
        elif args.action == "install":
            print(f"csbench build: installed into {install(args.cache, args.env)}")
        else:
            uninstall(args.env)
    except BuildError as exc:
        print(f"csbench build: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
