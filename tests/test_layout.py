"""The line between what asv's environment imports at every commit (csbench.measure,
csbench.load and the benchmark modules) and the rest of csbench: stdlib, numpy, psutil and
pyyaml only, never asv, the CLI or another csbench package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "csbench"
BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
THIRD_PARTY = {"numpy", "psutil", "yaml"}
# package -> the csbench packages it may import
ALLOWED = {"measure": ("csbench.measure",), "load": ("csbench.measure", "csbench.load")}
OUTSIDE = ("asv", "asv_runner", "tabulate", "csbench.cli", "csbench.commits", "csbench.guard",
           "csbench.observe")  # fmt: skip


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (top level and inside functions), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_the_asv_environment_packages_import_only_what_asv_installs(package: str) -> None:
    wrong = []
    for path in sorted((SRC / package).rglob("*.py")):
        for line, name in imports(path):
            top = name.split(".")[0]
            if name.startswith(ALLOWED[package]) or top == "__future__":
                continue
            if top in sys.stdlib_module_names or top in THIRD_PARTY:
                continue
            wrong.append(f"{path.relative_to(SRC)}:{line}: {name}")
    assert not wrong, wrong


def test_the_benchmarks_import_in_an_environment_without_asv_or_the_cli(tmp_path: Path) -> None:
    """Every benchmark module and every module of the two packages, imported with asv,
    tabulate and the CLI-side csbench packages made unimportable."""
    modules = [f"benchmarks.{p.stem}" for p in sorted(BENCHMARKS.glob("*.py"))]
    for package in ALLOWED:
        for path in sorted((SRC / package).rglob("*.py")):
            parts = path.relative_to(SRC.parent).with_suffix("").parts
            modules.append(".".join(p for p in parts if p != "__init__"))
    script = (
        "import importlib, sys\n"
        f"blocked = {OUTSIDE!r}\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if any(name == b or name.startswith(b + '.') for b in blocked):\n"
        "            raise ImportError(f'{name} is outside the asv environment')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.path.insert(0, {str(BENCHMARKS.parent)!r})\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(len([m for m in sys.modules if m.startswith(('csbench', 'benchmarks'))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout) >= len(modules)


def test_every_package_says_what_it_holds() -> None:
    for init in sorted(SRC.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc.split()) >= 20, f"{init}: a paragraph saying what it holds"
