"""The settings of ``csbench ci --paired`` (csbench.guard.paired), apart from its heavy imports:
the CLI builds its options from them at every start-up."""

from __future__ import annotations

from dataclasses import dataclass, field

PAIRS = 8
ROUNDS = 12
THRESHOLD = 0.05  # for a benchmark without a paired calibration
# A calibrated benchmark's threshold: max(MIN_THRESHOLD, SAFETY x its A/A spread), where the
# spread is the standard deviation of its case ratio in A/A (csbench.guard.calibrate).
MIN_THRESHOLD = 0.03
SAFETY = 3.0
ALPHA = 0.05
# "cpu": CPU time during the timed calls; "batch-cpu": CPU time of the whole batch (untimed
# preparation and checks included: csbench's clock until 2026-11-30, which diluted a slower
# op by its preparation); "busy": wall time of the timed calls (as asv's time_op).
CLOCKS = ("cpu", "batch-cpu", "busy")


@dataclass(frozen=True)
class Settings:
    """How ``csbench ci --paired`` measures and judges the ``time_`` benchmarks."""

    pairs: int = PAIRS
    rounds: int = ROUNDS
    threshold: float = THRESHOLD
    alpha: float = ALPHA
    clock: str = "cpu"  # one of CLOCKS
    # display name -> calibrated threshold (csbench calibrate --paired); others: ``threshold``
    calibrated: dict[str, float] = field(default_factory=dict, compare=False)

    def threshold_for(self, name: str) -> float:
        return self.calibrated.get(name, self.threshold)

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, not {self.clock!r}")

    def describe(self) -> str:
        beyond = (
            f"each benchmark's calibrated threshold ({len(self.calibrated)} calibrated; "
            f"{self.threshold:.0%} for the others)"
            if self.calibrated
            else f"{self.threshold:.0%} (not calibrated: csbench calibrate --paired)"
        )
        return (
            f"paired A/B: {self.pairs} process pairs x {self.rounds} rounds, "
            f"{self.clock} clock, flagged beyond {beyond} when the pairs agree "
            f"(sign test, p <= {self.alpha:g})"
        )
