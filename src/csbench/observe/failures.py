"""Why a benchmark failed at a commit.

asv keeps a failed benchmark's stderr in memory only: its results file holds a null. csbench's
asv plugin (csbench.commits.asvplugin) writes, beside each results file asv saves, the reason
of every benchmark that failed in that run: ``RESULTS/failures/MACHINE/COMMIT.json``, one
entry per benchmark (asv's name, without params). The reason is the final exception of the
benchmark's last traceback (its type and message, a driver's stderr tail included), else the
last lines of its stderr; no path of this machine. For a parameterized benchmark, whose
stderr asv writes as one block per parameter combination ("For parameters: 'a', 'b'"), it
is that block head and final exception for each combination that failed, so that
``of_params`` gives each its own reason. A benchmark measured again is recorded
again: its entry is replaced, or removed when it now succeeds; the others are kept.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from csbench.measure import atomic
from csbench.measure.paths import project_root
from csbench.observe.results import FAILURES_DIR, benchmark_of

MAX_CHARS = 1500  # of one reason (of one parameter combination)
MAX_PARAM_REASONS = 12  # combinations whose reasons a parameterized benchmark's record keeps
LAST_LINES = 8  # of a stderr without a traceback
PARAMS_HEAD = "For parameters: "  # asv's head of one combination's output (asv.runner)
TRACEBACK = "Traceback (most recent"


def path_of(results_dir: Path, machine: str, commit: str) -> Path:
    return results_dir / FAILURES_DIR / machine / f"{commit}.json"


def scrub(text: str) -> str:
    """``text`` without the paths of this machine: the csbench checkout, the home and the
    temporary directory."""
    text = text.replace(str(project_root()), "<csbench>").replace(str(Path.home()), "~")
    return re.sub(re.escape(tempfile.gettempdir()) + r"/[^\s'\":)]*", "<tmp>", text)


def why(stderr: str) -> str:
    """The reason in a failed benchmark's stderr (see the module's docstring)."""
    failed = [(label, text) for label, text in param_blocks(stderr) if TRACEBACK in text]
    if not failed:
        return _final_exception(stderr)
    kept = [f"{PARAMS_HEAD}{label}\n{_final_exception(text)}" for label, text in failed]
    more = len(kept) - MAX_PARAM_REASONS
    return "\n\n".join(kept[:MAX_PARAM_REASONS]) + (
        f"\n\n({more} more combinations failed)" if more > 0 else ""
    )


def param_blocks(text: str) -> list[tuple[str, str]]:
    """asv's per-combination blocks of ``text``: (its params as asv joins them, its
    output); empty when ``text`` has none."""
    blocks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith(PARAMS_HEAD):
            blocks.append((line[len(PARAMS_HEAD) :].strip(), []))
        elif blocks:
            blocks[-1][1].append(line)
    return [(label, "\n".join(lines).strip()) for label, lines in blocks]


def of_params(reason: str, label: str) -> str:
    """The part of a recorded ``reason`` for one parameter combination (``label``: its
    values as asv joins them, e.g. "'find_by_id', 'small-10000'"), else the whole reason."""
    return next((text for got, text in param_blocks(reason) if got == label), reason)


def reason_of(failed: dict[str, str], name: str) -> str | None:
    """Why the benchmark of display name ``name`` (``NAME(params)``, asv's, or a plain
    name) failed, from a commit's record (``read``): an entry under that very name, else
    its benchmark's reason for those params."""
    if name in failed:
        return failed[name]
    benchmark = benchmark_of(name)
    why = failed.get(benchmark)
    label = name[len(benchmark) + 1 : -1]
    return of_params(why, label) if why and label else why


def _final_exception(stderr: str) -> str:
    lines = stderr.rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(TRACEBACK)]
    if starts:
        rest = lines[starts[-1] + 1 :]
        # the frames are indented; the exception starts at the first line that is not
        first = next((i for i, line in enumerate(rest) if line and not line[0].isspace()), None)
        reason = rest[first:] if first is not None else rest
    else:
        reason = lines[-LAST_LINES:]
    text = scrub("\n".join(reason).strip())
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def read(results_dir: Path, machine: str, commit: str) -> dict[str, str]:
    """Benchmark -> why it failed at ``commit``; empty when nothing is recorded (a file that
    is not a failures record is named in the reason of an entry "?")."""
    path = path_of(results_dir, machine, commit)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        failed = data["benchmarks"]
        if not isinstance(failed, dict):
            raise TypeError("'benchmarks' is not an object")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return {"?": f"{path}: not a failures record: {exc}"}
    return {str(k): str(v) for k, v in failed.items()}


def record(
    results_dir: Path,
    machine: str,
    commit: str,
    errcode: dict[str, Any],
    stderr: dict[str, str],
) -> Path | None:
    """Update the commit's record from one asv run's exit codes and stderr per benchmark;
    returns the file, None when nothing failed (and no file is left)."""
    path = path_of(results_dir, machine, commit)
    failed = {k: v for k, v in read(results_dir, machine, commit).items() if k != "?"}
    for name, code in errcode.items():
        if code in (None, 0):
            failed.pop(name, None)
        else:
            failed[name] = why(stderr.get(name) or f"exit status {code}, no output")
    if not failed:
        path.unlink(missing_ok=True)
        return None
    data = {"commit": commit, "benchmarks": dict(sorted(failed.items()))}
    return atomic.write_json(path, data, indent=1)


def first_line(reason: str, limit: int = 160) -> str:
    """A reason's first line, short enough for a table cell."""
    line = reason.strip().splitlines()[0] if reason.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
