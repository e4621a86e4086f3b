"""The ``csbench`` command: one module per command family, as asv's own ``asv/commands/``
(measure: setup, probe, machine, load; history: run, asv, mirror, publish, builds; guard:
ci, calibrate, thresholds, power; observe: targets, agreement), the parser and dispatch
(app), argument types (argtypes) and the checkout lock (lock)."""

from csbench.cli.app import main

__all__ = ["main"]
