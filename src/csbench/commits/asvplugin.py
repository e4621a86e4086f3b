"""csbench's asv plugin (``plugins`` of the asv config csbench derives, csbench.commits.asvconf).

asv has no hook after a results file is saved, so ``setup`` (which asv calls when it loads
the plugin) wraps ``asv.results.Results.save``: after asv writes a commit's results, the
reasons of the benchmarks that failed in that run are written beside them
(csbench.observe.failures). A failure to record them is one line on stderr; asv's own
results are written first and never lost to it.

It also keeps asv's walk over the results directory out of csbench's records beside the
results (profiles, failures, triage: no machine.json), where asv would warn "Skipping
results: could not load .../machine.json" on every run and publish.

And it turns asv publish's regressions list the right way up for the series where higher
is better (csbench.observe.results.HIGHER_IS_BETTER: max users within the SLO): asv lists
upward steps of every series, which there are gains. Such a series goes to asv's step
detection as its reciprocal (users⁻¹, so a drop from 2,000 to 1,000 users is the same 2x
step), and the listed values are turned back into users.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from asv import results as asv_results
from asv.plugins.regressions import Regressions
from asv.results import Results

from csbench.observe import failures
from csbench.observe.results import SIDE_DIRS, higher_is_better

# a higher-is-better value of 0 (no load level met the SLO) goes to the detection as this,
# so that its reciprocal is finite and below every level the search can measure
ZERO_AS = 0.5


def setup() -> None:
    _record_failures()
    _skip_side_records()
    _list_higher_is_better_downwards()


def _list_higher_is_better_downwards() -> None:
    original = Regressions.__dict__["_process_regression"].__func__
    if getattr(original, "csbench", False):
        return

    def process(
        cls: type[Regressions],
        regressions: list[list[Any]],
        revision_to_hash: dict[int, str],
        repo: Any,
        all_params: dict[str, Any],
        graph_data: tuple[int | None, str, list[tuple[Any, ...]], float],
        graph: Any,
    ) -> None:
        """asv's, on the reciprocal of a higher-is-better series; its entry in users."""
        j, entry_name, steps, threshold = graph_data
        flipped = higher_is_better(entry_name)
        if flipped:
            graph_data = (j, entry_name, [_flip_step(*step) for step in steps], threshold)
        start = len(regressions)
        original(cls, regressions, revision_to_hash, repo, all_params, graph_data, graph)
        if flipped:
            for entry in regressions[start:]:  # [name, graph, params, j, last, best, jumps]
                entry[4], entry[5] = _unflip(entry[4]), _unflip(entry[5])
                entry[6] = [(a, b, _unflip(v), _unflip(w)) for a, b, v, w in entry[6]]

    process.csbench = True  # type: ignore[attr-defined]
    Regressions._process_regression = classmethod(process)  # type: ignore[assignment]


def _flip_step(
    left: int, right: int, value: float, _low: float, err: float
) -> tuple[int, int, float, float, float]:
    """A step (asv.step_detect: revisions, level, minimum, error) of the reciprocal series:
    its error to first order; its minimum, which asv's detection does not read, the level."""
    value = max(value, ZERO_AS)
    return left, right, 1 / value, 1 / value, err / value**2


def _unflip(value: float) -> float:
    out = 1 / value
    return 0.0 if out == ZERO_AS else out


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
