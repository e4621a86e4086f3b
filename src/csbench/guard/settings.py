"""The settings of ``csbench ci --paired`` (csbench.guard.paired), apart from its heavy imports:
the CLI builds its options from them at every start-up."""

from __future__ import annotations

from dataclasses import dataclass

PAIRS = 8
ROUNDS = 12
# Before the measured rounds each side runs this much busy time (at least WARMUP_ROUNDS,
# at most MAX_WARMUP_ROUNDS rounds): a fresh driver's op time falls while Bun's JIT tiers
# up, and the rounds must compare warm code with warm code (the fall this covers, as
# measured: docs/figures.md, "Warm-up of a fresh driver").
WARMUP_S = 0.6
WARMUP_ROUNDS = 2
MAX_WARMUP_ROUNDS = 60
THRESHOLD = 0.05
ALPHA = 0.05
CLOCKS = ("cpu", "busy")


@dataclass(frozen=True)
class Settings:
    """How ``csbench ci --paired`` measures and judges the core ops."""

    pairs: int = PAIRS
    rounds: int = ROUNDS
    threshold: float = THRESHOLD
    alpha: float = ALPHA
    clock: str = "cpu"  # "cpu": batch CPU time; "busy": the busy clock (as asv's time_op)

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, not {self.clock!r}")

    def describe(self) -> str:
        return (
            f"paired A/B: {self.pairs} process pairs x {self.rounds} rounds, "
            f"{self.clock} clock, flagged beyond "
            f"{self.threshold:.0%} when the pairs agree (sign test, p <= {self.alpha:g})"
        )
