"""csbench.build with real Bun installs: layouts, the cache/install split, and failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from csbench import build


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
