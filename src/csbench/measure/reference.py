"""The reference of the history's ratio tracks: benchmarks/reference.yaml, read once here for
benchmarks/reference.py (inside asv) and for csbench run, which builds the reference before
asv starts."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from csbench.measure import yamlfile
from csbench.measure.build import BUILD_INFO
from csbench.measure.errors import UsageError
from csbench.measure.paths import checkouts_dir, project_root

NAME = re.compile(r"(?P<module>\w+)\.(?P<cls>\w+)\.(?P<method>time_\w+)(?:\((?P<args>.*)\))?")


class ReferenceError(UsageError):
    """A malformed reference file; the message names the file and the key."""


@dataclass(frozen=True)
class Reference:
    commit: str  # full hash
    benchmarks: tuple[str, ...]  # display names of time_ benchmarks

    @property
    def tree(self) -> Path:
        """Where csbench run builds it (csbench.commits.checkout)."""
        return checkouts_dir() / self.commit

    @property
    def built(self) -> bool:
        return (self.tree / BUILD_INFO).is_file()


def parse_name(name: str) -> tuple[str, str, str, tuple[object, ...]]:
    """(module, class, method, params) of a display name such as
    ``core.Core.time_op('find_by_id', 'small-10000')``; ValueError if it is not one."""
    m = NAME.fullmatch(name)
    if m is None:
        raise ValueError(f"{name!r} is not module.Class.time_method(params)")
    params = ast.literal_eval(f"({m['args']},)") if m["args"] else ()
    return m["module"], m["cls"], m["method"], tuple(params)


def declared() -> Path:
    return project_root() / "benchmarks" / "reference.yaml"


def load(path: Path | None = None) -> Reference:
    """The reference file (default benchmarks/reference.yaml); ReferenceError names the
    file and key of anything malformed."""
    path = path or declared()
    data = yamlfile.load(path)
    if not isinstance(data, dict) or set(data) != {"commit", "benchmarks"}:
        raise ReferenceError(f"{path}: expected the keys commit and benchmarks")
    commit, names = data["commit"], data["benchmarks"]
    if not isinstance(commit, str) or not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise ReferenceError(f"{path}: key 'commit': {commit!r} is not a full commit hash")
    if not isinstance(names, list) or not names:
        raise ReferenceError(f"{path}: key 'benchmarks': expected a list of benchmarks")
    for name in names:
        try:
            parse_name(str(name))
        except (ValueError, SyntaxError) as exc:
            raise ReferenceError(f"{path}: key 'benchmarks': {exc}") from None
    return Reference(commit, tuple(str(n) for n in names))
