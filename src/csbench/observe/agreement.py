"""``csbench agreement``: does the busy-clock figure match the per-op histogram, per commit?

The self-check of the measurement model, read from stored results: for one op and dataset
(find_by_id at 10,000 documents), ``core.Core.time_op`` (a batch's mean op time on the
busy clock; asv's median over batches) against ``core.CoreLatency.track_p50`` (the median
of the driver's per-op histogram). Both leave the pipe round trip out
(``harness.Floor.track_roundtrip``), which is many times the op's own time.
asv takes them in separate processes, minutes apart; ``harness.ClockAgreement`` makes the
same comparison inside one process and is shown beside them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from csbench.observe import tables
from csbench.observe import targets as tg

TOLERANCE = 0.10
TIME = "core.Core.time_op"
P50 = "core.CoreLatency.track_p50"
IN_PROCESS = "harness.ClockAgreement.track_clock_vs_histogram"


@dataclass(frozen=True)
class Row:
    commit: str
    date: int | None  # ms since the epoch, as asv stores it
    time_us: float | None
    p50_us: float | None
    in_process_pct: float | None
    reason: str = ""  # why time_us or p50_us is missing

    @property
    def ratio(self) -> float | None:
        return self.time_us / self.p50_us if self.time_us and self.p50_us else None

    def agrees(self, tolerance: float) -> bool | None:
        return None if self.ratio is None else abs(self.ratio - 1.0) <= tolerance


def row(results: tg.CommitResults, op: str, dataset: str) -> Row:
    params = {"op": op, "dataset": dataset}
    time_us, why_time = tg.measured(results, TIME, params, "us")
    p50_us, why_p50 = tg.measured(results, P50, params, "us")
    in_process, _ = tg.measured(results, IN_PROCESS, {}, "%")
    reason = "; ".join(f"{n}: {w}" for n, w in ((TIME, why_time), (P50, why_p50)) if w)
    return Row(results.commit, results.date, time_us, p50_us, in_process, reason)


def rows(
    results_dir: Path,
    machine: str | None = None,
    commit: str | None = None,
    op: str = "find_by_id",
    dataset: str = "small-10000",
) -> tuple[str, list[Row]]:
    """The machine and a row per commit, oldest first (only ``commit``'s when given)."""
    if commit is not None:
        one = tg.load_commit_results(results_dir, machine, commit)
        return one.machine, [row(one, op, dataset)]
    machine, every = tg.all_commit_results(results_dir, machine)
    if not every:
        raise tg.ResultsNotFound(f"{results_dir / machine}: no result files")
    return machine, [row(results, op, dataset) for results in every]


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render(machine: str, table: list[Row], op: str, dataset: str, tolerance: float) -> str:
    """A line per commit, then how many agree within ``tolerance``."""
    header = ("commit", "date", "time_op", "p50", "ratio", "within", "in one process", "")
    rows = []
    for r in table:
        agrees = r.agrees(tolerance)
        rows.append((
            r.commit[:8], tables.day(r.date, "-"), _fmt(r.time_us, ".3f"), _fmt(r.p50_us, ".3f"),
            _fmt(r.ratio, ".3f"),
            "-" if agrees is None else "yes" if agrees else "no",
            _fmt(r.in_process_pct, ".1f") + " %" if r.in_process_pct is not None else "-",
            f"({r.reason})" if r.reason else "",
        ))  # fmt: skip
    align = ("left", "left", "right", "right", "right", "left", "right", "left")
    lines = [
        f"{op} at {dataset} on {machine}: busy-clock time_op against histogram p50 (µs), "
        f"separate processes; in one process: {IN_PROCESS}",
        tables.render(header, rows, align=align),
    ]
    ratios = [r.ratio for r in table if r.ratio is not None]
    inside = [r.in_process_pct for r in table if r.in_process_pct is not None]
    if ratios:
        within = sum(abs(x - 1.0) <= tolerance for x in ratios)
        lines.append(
            f"{within} of {len(ratios)} commits within ±{tolerance:.0%}: ratios "
            f"{min(ratios):.3f} to {max(ratios):.3f}, median {statistics.median(ratios):.3f}"
        )
    if inside:
        lines.append(
            f"in one process: |mean / median - 1| {min(inside):.1f} to {max(inside):.1f} %, "
            f"median {statistics.median(inside):.1f} % over {len(inside)} commits"
        )
    return "\n".join(lines)
