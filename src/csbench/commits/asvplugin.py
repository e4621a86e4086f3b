"""csbench's asv plugin (``plugins`` of the asv config csbench derives, csbench.commits.asvconf).

asv has no hook after a results file is saved, so ``setup`` (which asv calls when it loads
the plugin) wraps ``asv.results.Results.save``: after asv writes a commit's results, the
reasons of the benchmarks that failed in that run are written beside them
(csbench.observe.failures). A failure to record them is one line on stderr; asv's own
results are written first and never lost to it.

It also keeps asv's walk over the results directory out of csbench's records beside the
results (profiles, failures, triage: no machine.json), where asv would warn "Skipping
results: could not load .../machine.json" on every run and publish.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from asv import results as asv_results
from asv.results import Results

from csbench.observe import failures
from csbench.observe.results import SIDE_DIRS


def setup() -> None:
    _record_failures()
    _skip_side_records()


def _skip_side_records() -> None:
    original = asv_results.iter_results_paths
    if getattr(original, "csbench", False):
        return

    def iter_results_paths(results: str) -> Iterator[tuple[str, str, str]]:
        """asv's walk, each machine directory on its own when ``results`` holds csbench's
        records (asv's layout keeps no results file at the top)."""
        if not any(os.path.isdir(os.path.join(results, d)) for d in SIDE_DIRS):
            yield from original(results)
            return
        for entry in sorted(os.scandir(results), key=lambda e: e.name):
            if entry.is_dir() and entry.name not in SIDE_DIRS:
                yield from original(entry.path)

    iter_results_paths.csbench = True  # type: ignore[attr-defined]
    asv_results.iter_results_paths = iter_results_paths  # type: ignore[assignment]


def _record_failures() -> None:
    original = Results.save
    if getattr(original, "csbench", False):
        return

    def save(self: Results, result_dir: str) -> Any:
        out = original(self, result_dir)
        try:
            failures.record(
                Path(result_dir), self.params["machine"], self.commit_hash, self.errcode,
                self.stderr,
            )  # fmt: skip
        except Exception as exc:  # asv's results are saved: say ours are not, and go on
            print(f"csbench: failures of {self.commit_hash[:8]} not recorded: {exc}",
                  file=sys.stderr)  # fmt: skip
        return out

    save.csbench = True  # type: ignore[attr-defined]
    Results.save = save  # type: ignore[method-assign]
