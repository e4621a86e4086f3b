"""csbench's asv benchmarks: one module per performance area of Collection Store.

Rules (after scipy's and xarray's suites, stricter where they were loose):
- importable at every commit: nothing here imports Collection Store; the Bun driver does;
- params never depend on the commit; a feature the commit lacks raises NotImplementedError
  in ``setup()`` (never in ``setup_cache``);
- every timed op's result is checked by the driver, so a broken commit fails, not flies;
- ``version`` is set on every benchmark so that its history survives edits of this code.
"""

import sys
from pathlib import Path

_SRC = Path(__file__).resolve().parents[1] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))
