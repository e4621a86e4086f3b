"""Results directories of shards (``csbench run --shard I/N`` on several machines of one
kind) merged into one history, with their stored profiles and failure reasons: ``csbench
merge``.

Shards are comparable when they ran the same suite (the same benchmarks.json: benchmark
names and versions; it replaces the destination's, as ``asv run``'s does) on machines of
one name and hardware (machine.json's CPU, cores and memory, within the few MB two VMs of
one kind differ by: ``hardware.differences``; the destination keeps its own record).
Anything else is refused in one line before a file is copied; so is a file that two sides
hold with different content (one commit measured twice).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from csbench.commits import hardware
from csbench.measure import atomic
from csbench.measure.errors import UsageError
from csbench.observe.results import (
    FAILURES_DIR,
    PROFILES_DIR,
    ResultsError,
    load_file,
    machines,
    result_paths,
)

# csbench's records beside the results, one file per machine and commit, and what two
# differing copies of one would mean
SIDE_RECORDS = ((PROFILES_DIR, "profiled twice"), (FAILURES_DIR, "one commit measured twice"))


class MergeError(UsageError):
    """Shards that cannot be merged; the message names the file and why."""


@dataclass
class Merged:
    copied: list[Path] = field(default_factory=list)  # in the destination
    same: int = 0  # files the destination held already, identical


def _json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MergeError(f"{path}: not readable JSON: {exc}") from None


def merge(sources: list[Path], dest: Path) -> Merged:
    """Every result file (and stored profile report) of ``sources`` into ``dest``."""
    plan: dict[Path, Path] = {}  # destination file -> its source
    for src in sources:
        meta = src / "benchmarks.json"
        if not meta.is_file():
            raise MergeError(f"{src}: no benchmarks.json: not an asv results directory")
        # the sources' benchmarks.json replaces the destination's, as asv run's does
        _claim(plan, dest / meta.name, meta, "another suite (benchmarks or versions)",
               _json_differs, replaces=True)  # fmt: skip
        for machine in machines(src):
            info = src / machine / "machine.json"
            _claim(plan, dest / machine / info.name, info, "another machine, one name",
                   _hardware_differs)  # fmt: skip
            for path in result_paths(src, machine):
                try:
                    load_file(path, machine)
                except ResultsError as exc:
                    raise MergeError(str(exc)) from None
                _claim(plan, dest / machine / path.name, path, "one commit measured twice")
            for side, why in SIDE_RECORDS:
                for path in sorted((src / side / machine).glob("*.json")):
                    _claim(plan, dest / side / machine / path.name, path, why)
    out = Merged()
    for target, path in sorted(plan.items()):
        if target.is_file() and target.read_bytes() == path.read_bytes():
            out.same += 1
            continue
        with atomic.atomic_open(target, "wb") as f:
            f.write(path.read_bytes())
        out.copied.append(target)
    return out


def _bytes_differ(a: Path, b: Path) -> list[str]:
    return [] if a.read_bytes() == b.read_bytes() else ["another content"]


def _json_differs(a: Path, b: Path) -> list[str]:
    return [] if _json(a) == _json(b) else ["another value"]


def _hardware_differs(a: Path, b: Path) -> list[str]:
    records = [_json(p) for p in (a, b)]
    for path, record in zip((a, b), records, strict=True):
        if not isinstance(record, dict):
            raise MergeError(f"{path}: not a machine record (a JSON object)")
    return hardware.differences(*records)


def _claim(
    plan: dict[Path, Path],
    target: Path,
    path: Path,
    why: str,
    differs: Callable[[Path, Path], list[str]] = _bytes_differ,
    replaces: bool = False,
) -> None:
    """``path`` goes to ``target``, unless another source, or the destination (unless
    ``path`` ``replaces`` it), holds something else there (what ``differs`` names). What
    is held already stays."""
    in_dest = target if target.is_file() and not replaces else None
    for held in (plan.get(target), in_dest):
        if held is not None and (found := differs(held, path)):
            raise MergeError(f"{path} differs from {held}: {why} ({'; '.join(found)})")
    plan.setdefault(target, in_dest or path)
