"""csbench.measure.build with real Bun installs: layouts, the cache/install split, and failures."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from csbench.measure import build
from csbench.measure.bun import find_bun


def _package_copy(npm_target: Path, dest: Path) -> Path:
    shutil.copytree(npm_target, dest, ignore=shutil.ignore_patterns("node_modules"))
    return dest


def test_layouts(tmp_path: Path, npm_target: Path) -> None:
    assert build.detect_layout(_package_copy(npm_target, tmp_path / "pkg")) == "package-root"
    (tmp_path / "mono" / "packages" / "collection-store" / "src").mkdir(parents=True)
    assert build.detect_layout(tmp_path / "mono") == "monorepo"
    (tmp_path / "empty").mkdir()
    with pytest.raises(build.BuildError, match="no Collection Store layout"):
        build.detect_layout(tmp_path / "empty")


def test_build_then_install_links_a_complete_tree(tmp_path: Path, npm_target: Path) -> None:
    src = _package_copy(npm_target, tmp_path / "src")
    cache, env = tmp_path / "cache", tmp_path / "env"
    cache.mkdir()
    env.mkdir()
    assert (
        build.main(["build", "--commit", "abc123", "--src", str(src), "--cache", str(cache)]) == 0
    )
    tree = cache / build.TREE_NAME
    assert (tree / "node_modules" / "b-pl-tree" / "package.json").is_file()
    info = json.loads((tree / build.BUILD_INFO).read_text())
    assert info["commit"] == "abc123" and info["layout"] == "package-root"
    assert info["steps"][0]["cmd"].endswith("install --production --ignore-scripts")
    assert not (cache / (build.TREE_NAME + ".partial")).exists()

    shutil.rmtree(src)  # asv's `git clean -fdx` must not matter once the tree is cached
    assert build.main(["install", "--cache", str(cache), "--env", str(env)]) == 0
    installed = env / build.INSTALLED_NAME
    assert (installed / "src" / "index.ts").is_file()
    assert build.read_build_info(installed)["commit"] == "abc123"
    same = (installed / "src" / "index.ts").stat().st_ino == (
        tree / "src" / "index.ts"
    ).stat().st_ino
    assert same, "install should hard-link the cached tree, not copy it"

    assert build.main(["uninstall", "--env", str(env)]) == 0
    assert not installed.exists()


def test_failed_install_names_commit_command_and_stderr(
    tmp_path: Path, npm_target: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _package_copy(npm_target, tmp_path / "src")
    manifest = json.loads((src / "package.json").read_text())
    manifest["dependencies"]["csbench-no-such-package-xyzzy"] = "99.99.99"
    (src / "package.json").write_text(json.dumps(manifest))
    cache = tmp_path / "cache"
    cache.mkdir()
    code = build.main(["build", "--commit", "deadbeef", "--src", str(src), "--cache", str(cache)])
    err = capsys.readouterr().err
    assert code == 1
    assert "commit deadbeef" in err
    assert "install --production --ignore-scripts" in err
    assert "csbench-no-such-package-xyzzy" in err
    assert not (cache / build.TREE_NAME).exists()


def test_install_refuses_an_unfinished_cache(tmp_path: Path) -> None:
    (tmp_path / "cache" / build.TREE_NAME).mkdir(parents=True)
    with pytest.raises(build.BuildError, match="no finished build"):
        build.install(tmp_path / "cache", tmp_path / "env")


def test_malformed_package_json_is_a_build_error_naming_the_commit(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "index.ts").write_text("export {};\n")
    (tmp_path / "package.json").write_text("{ this is not JSON")
    with pytest.raises(build.BuildError, match=r"commit abc123: .*package\.json: not a JSON"):
        build.install_dependencies(tmp_path, "abc123")


def test_a_stale_lockfile_falls_back_to_a_plain_install(tmp_path: Path, npm_target: Path) -> None:
    """A commit whose lockfile no longer matches its package.json (old history) is installed
    from package.json alone, and the build says so."""
    src = _package_copy(npm_target, tmp_path / "src")
    manifest = json.loads((src / "package.json").read_text())
    manifest.pop("devDependencies", None)
    (src / "package.json").write_text(json.dumps(manifest))
    bun = str(find_bun())
    subprocess.run([bun, "install", "--lockfile-only", "--ignore-scripts"], cwd=src, check=True)
    assert build.install_dependencies(src, "abc123").method == "bun install (bun.lock)"
    dropped = next(d for d in sorted(manifest["dependencies"]) if d != "b-pl-tree")
    del manifest["dependencies"][dropped]  # package.json moves on, the lockfile does not
    (src / "package.json").write_text(json.dumps(manifest))
    shutil.rmtree(src / "node_modules")
    info = build.install_dependencies(src, "def456")
    assert info.method.startswith("bun install (no lockfile: the committed bun.lock is stale)")
    assert len(info.steps) >= 2 and info.steps[0]["cmd"] == info.steps[1]["cmd"]
    assert not (src / "node_modules" / dropped).exists()
    assert (src / "node_modules" / "b-pl-tree" / "package.json").is_file()


def test_a_lockfile_that_cannot_install_falls_back_and_both_failures_are_named(
    tmp_path: Path, npm_target: Path
) -> None:
    """A lockfile pinning what the registry no longer serves: retried without it; when that
    fails too, the error shows both attempts."""
    src = _package_copy(npm_target, tmp_path / "src")
    manifest = json.loads((src / "package.json").read_text())
    manifest.pop("devDependencies", None)
    manifest["dependencies"]["csbench-no-such-package-xyzzy"] = "99.99.99"
    (src / "package.json").write_text(json.dumps(manifest))
    (src / "yarn.lock").write_text("# yarn lockfile v1\n")
    with pytest.raises(build.BuildError) as caught:
        build.install_dependencies(src, "abc123")
    message = str(caught.value)
    assert "then without yarn.lock" in message and message.count("csbench-no-such-package") >= 2
    assert not (src / "yarn.lock").exists()


def test_an_unlocked_monorepo_installs_only_the_collection_store_workspace(
    tmp_path: Path,
) -> None:
    manifest = tmp_path / "package.json"
    manifest.write_text(json.dumps({"name": "root", "workspaces": ["packages/*"]}))
    assert build._only_collection_store_workspace(manifest)
    assert json.loads(manifest.read_text())["workspaces"] == ["packages/collection-store"]
    assert not build._only_collection_store_workspace(manifest)  # nothing left to drop
    manifest.write_text(json.dumps({"name": "collection-store"}))
    assert not build._only_collection_store_workspace(manifest)


def test_imports_written_on_a_case_insensitive_filesystem_load_on_linux(tmp_path: Path) -> None:
    """Commits of 2023 import './async/Collection' where the file is collection.ts: the
    build links the names they use to the files they mean, and Bun then loads the tree."""
    src = tmp_path / "tree"
    (src / "src" / "async").mkdir(parents=True)
    (src / "src" / "lib").mkdir()
    (src / "src" / "index.ts").write_text(
        "import Collection from './async/Collection'\nexport { Collection }\n"
    )
    (src / "src" / "async" / "collection.ts").write_text(
        "import { two } from '../Lib/Numbers'\nexport default class { n = two }\n"
    )
    (src / "src" / "lib" / "numbers.ts").write_text("export const two = 2\n")
    (src / "src" / "lib" / "same.ts").write_text("export * from './numbers'\n")  # resolves
    script = "const m = await import('./src/index.ts'); console.log(new m.Collection().n)"
    before = subprocess.run(
        [str(find_bun()), "-e", script], cwd=src, capture_output=True, text=True
    )
    assert before.returncode != 0 and "Collection" in before.stderr  # Linux: not found

    made = build.add_case_aliases(src, "package-root")

    assert made == ["src/async/Collection.ts", "src/Lib", "src/lib/Numbers.ts"]
    assert (src / "src" / "Lib").resolve() == (src / "src" / "lib").resolve()
    after = subprocess.run([str(find_bun()), "-e", script], cwd=src, capture_output=True, text=True)
    assert after.returncode == 0 and after.stdout.strip() == "2", after.stderr
    assert build.add_case_aliases(src, "package-root") == []  # once is enough
