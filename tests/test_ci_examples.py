"""The example workflows (.ci/examples): valid YAML, and every csbench command they run is
one that csbench's parser accepts, options and all."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from csbench.cli.app import PASSTHROUGH, build_parser

EXAMPLES = sorted((Path(__file__).parents[1] / ".ci" / "examples").glob("*.yml"))
COMMAND = re.compile(r"csbench/\.venv/bin/csbench ((?:\\\n|[^|\n])+)")


def commands(workflow: dict) -> list[str]:
    runs = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    return [m.replace("\\\n", " ") for r in runs for m in COMMAND.findall(r)]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_each_example_runs_commands_csbench_accepts(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())
    found = commands(workflow)
    assert found, path
    for command in found:
        words = shlex.split(re.sub(r"\$\{\{[^}]*\}\}|\$\w+", "X", command))
        words = [w.replace("X/X", "1/2") for w in words]  # --shard I/N
        args, rest = build_parser().parse_known_args(words)
        assert args.command in PASSTHROUGH or not rest, (command, rest)
