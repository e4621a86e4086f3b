"""The build report: how every first-parent commit of the branches was built, or why not.

``csbench builds`` exports each commit (csbench.commits.checkout), installs it the way asv's build
step does (csbench.measure.build: from the committed lockfile if there is one, else a plain
``bun install``), records the outcome, and removes the tree. The report,
results/build-report.jsonl (one JSON object per commit, not *.json, so asv ignores it), is
rewritten atomically after every commit, so an interrupted run loses nothing and the next
one resumes; the site shows it as builds.html.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from csbench.commits import git
from csbench.commits.checkout import built_commit
from csbench.measure import atomic, procs
from csbench.measure.build import BUILD_INFO, BuildError
from csbench.measure.errors import UsageError
from csbench.measure.paths import project_root

REPORT_NAME = "build-report.jsonl"
LOG_FORMAT = "%H%x09%cI%x09%s"


@dataclass
class BuildRecord:
    commit: str
    date: str  # commit date, ISO 8601
    subject: str
    branches: list[str] = field(default_factory=list)
    status: str = "failed"  # built | failed
    layout: str = ""
    method: str = ""
    seconds: float = 0.0
    bun: str = ""
    error: str = ""

    @property
    def moment(self) -> datetime:
        """The commit date as an instant: dates of other UTC offsets order by time."""
        return datetime.fromisoformat(self.date)


def first_parent_commits(repo: str, branches: list[str]) -> list[BuildRecord]:
    """Every first-parent commit of ``branches``, oldest first, with the branches it is on."""
    seen: dict[str, BuildRecord] = {}
    order: dict[str, int] = {}  # position in its branch's history, oldest first
    for branch in branches:
        for i, line in enumerate(git.first_parent(repo, branch, LOG_FORMAT)):
            commit, date, subject = [*line.split("\t", 2), ""][:3]
            record = seen.setdefault(commit, BuildRecord(commit, date, subject))
            record.branches.append(branch)
            order.setdefault(commit, i)
    return sorted(seen.values(), key=lambda r: (r.moment, order[r.commit]))


class ReportError(UsageError):
    """A build report line that is not a record; the message names the file and line."""


def read_report(path: Path) -> dict[str, BuildRecord]:
    if not path.is_file():
        return {}
    records = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = BuildRecord(**json.loads(line))
            record.moment  # noqa: B018 -- a date that is not ISO 8601 is refused here
        except (ValueError, TypeError) as exc:
            raise ReportError(f"{path}: line {number}: not a build record: {exc}") from None
        records[record.commit] = record
    return records


# csbench run's range word: every commit the build report records as built (BUILT: the
# project's results/build-report.jsonl; BUILT:PATH another report)
BUILT = "BUILT"


def report_of(spec: str) -> Path | None:
    """The build report a ``BUILT[:PATH]`` range names; None for any other range."""
    if spec == BUILT:
        return project_root() / "results" / REPORT_NAME
    return Path(spec.removeprefix(f"{BUILT}:")) if spec.startswith(f"{BUILT}:") else None


def built_commits(path: Path) -> list[str]:
    """The commits the report at ``path`` records as built, newest first (as asv lists a
    range); UsageError when it records none."""
    if not path.is_file():
        raise UsageError(f"{path}: no build report (csbench builds --output {path})")
    built = [r for r in read_report(path).values() if r.status == "built"]
    if not built:
        raise UsageError(f"{path}: no commit recorded as built (csbench builds writes it)")
    return [r.commit for r in sorted(built, key=lambda r: r.moment, reverse=True)]


def write_report(path: Path, records: dict[str, BuildRecord]) -> None:
    lines = [json.dumps(asdict(r)) for r in records.values()]  # in the order built
    atomic.write_text(path, "".join(f"{line}\n" for line in lines))


def build_one(repo: str, record: BuildRecord, scratch: Path) -> BuildRecord:
    """Build ``record.commit`` under ``scratch`` and fill in how it went; removes the tree."""
    try:
        tree = built_commit(repo, record.commit, root=scratch)
    except BuildError as exc:  # the scratch directory's path is this machine's: left out
        record.status, record.error = "failed", str(exc).replace(f"{scratch}/", "")[-2000:]
        return record
    info = json.loads((tree / BUILD_INFO).read_text())
    record.status = "built"
    record.layout, record.method = info["layout"], info["method"]
    record.seconds, record.bun, record.error = info["seconds"], info["bun"], ""
    shutil.rmtree(tree, ignore_errors=True)
    return record


def build_report(
    repo: str,
    branches: list[str],
    path: Path,
    limit: int | None = None,
    log: Callable[[str], None] = print,
    retry_failed: bool = False,
) -> dict[str, BuildRecord]:
    """Build every commit not yet in the report at ``path`` (at most ``limit`` of them);
    with ``retry_failed``, the commits it records as failed too."""
    records = read_report(path)
    todo = [
        r
        for r in first_parent_commits(repo, branches)
        if r.commit not in records or (retry_failed and records[r.commit].status == "failed")
    ]  # a failed record stays until its commit is built again: --limit never drops one
    for i, record in enumerate(todo[:limit] if limit else todo):
        with procs.temp_dir("builds") as scratch:
            done = build_one(repo, record, Path(scratch))
        records[done.commit] = done
        write_report(path, records)
        log(f"csbench builds: {i + 1}/{len(todo)} {done.commit[:8]} {done.date[:10]} {done.status}")
    return records
