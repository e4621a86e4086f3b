"""Log-linear (HDR-like) latency histogram, identical to the Bun driver's (see PROTOCOL.md).

Values are non-negative integer nanoseconds. With SUB_BITS = 6 every value below 128 has a
bucket of its own; above that each power of two is split into 64 equal buckets, so a bucket's
midpoint is within 1/128 of any value in it.
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import accumulate

SUB_BITS = 6
SUB = 1 << SUB_BITS
EXACT_LIMIT = 2 * SUB  # values (and indices) below this are exact


def bucket_index(v: int) -> int:
    """Index of the bucket holding the integer value `v` (>= 0)."""
    v = operator.index(v)
    if v < 0:
        raise ValueError(f"histogram values must be >= 0, got {v}")
    if v < EXACT_LIMIT:
        return v
    shift = v.bit_length() - 1 - SUB_BITS
    return shift * SUB + (v >> shift)


def bucket_bounds(i: int) -> tuple[int, int]:
    """Smallest and largest value (both inclusive) of bucket `i`."""
    i = operator.index(i)
    if i < 0:
        raise ValueError(f"bucket indices must be >= 0, got {i}")
    if i < EXACT_LIMIT:
        return i, i
    shift = i // SUB - 1
    mant = i - shift * SUB
    return mant << shift, ((mant + 1) << shift) - 1


def bucket_value(i: int) -> float:
    """Representative value of bucket `i`: its midpoint (exact for i < 128)."""
    lo, hi = bucket_bounds(i)
    return (lo + hi) / 2


class Histogram:
    """Counts of values per bucket; mergeable and convertible to the driver's JSON form."""

    def __init__(self) -> None:
        self._counts: Counter[int] = Counter()

    @classmethod
    def from_buckets(cls, pairs: Sequence[Sequence[int]]) -> Histogram:
        """Build from `[[index, count], ...]` (the driver's `hist.buckets`)."""
        hist = cls()
        for pair in pairs:
            if len(pair) != 2:
                raise ValueError(f"bucket pairs are [index, count], got {pair!r}")
            index, count = operator.index(pair[0]), operator.index(pair[1])
            if index < 0 or count < 0:
                raise ValueError(f"bucket index and count must be >= 0, got {pair!r}")
            if count:
                hist._counts[index] += count
        return hist

    def to_buckets(self) -> list[list[int]]:
        """Non-empty buckets as `[[index, count], ...]` in index order."""
        return [[i, self._counts[i]] for i in sorted(self._counts)]

    def record(self, v: int) -> None:
        """Add one value."""
        self._counts[bucket_index(v)] += 1

    def record_many(self, values: Iterable[int]) -> None:
        """Add every value of `values`."""
        self._counts.update(map(bucket_index, values))

    def merge(self, other: Histogram) -> None:
        """Add all of `other`'s counts to this histogram."""
        self._counts.update(other._counts)

    @property
    def count(self) -> int:
        """Number of values recorded."""
        return sum(self._counts.values())

    def mean(self) -> float:
        """Mean of the bucket values: within half a bucket (<= 1/128) of the true mean."""
        n = self.count
        if n == 0:
            raise ValueError("mean of an empty histogram")
        return sum(bucket_value(i) * c for i, c in self._counts.items()) / n

    def percentile(self, q: float) -> float:
        """Value of the first bucket whose cumulative count reaches rank max(1, ceil(q/100*N))."""
        if not 0 <= q <= 100:
            raise ValueError(f"percentile must be in [0, 100], got {q}")
        total = self.count
        if total == 0:
            raise ValueError("percentile of an empty histogram")
        rank = max(1, math.ceil(q / 100 * total))
        indices = sorted(self._counts)
        cumulative = accumulate(self._counts[i] for i in indices)
        return next(bucket_value(i) for i, c in zip(indices, cumulative, strict=True) if c >= rank)
