"""csbench's asv plugin (``plugins`` of the asv config csbench derives, csbench.commits.asvconf).

asv has no hook after a results file is saved, so ``setup`` (which asv calls when it loads
the plugin) wraps ``asv.results.Results.save``: after asv writes a commit's results, the
reasons of the benchmarks that failed in that run are written beside them
(csbench.observe.failures). A failure to record them is one line on stderr; asv's own
results are written first and never lost to it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from asv.results import Results

from csbench.observe import failures


def setup() -> None:
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
