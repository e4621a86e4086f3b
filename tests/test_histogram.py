"""The log-linear histogram against PROTOCOL.md and numpy's inverted_cdf percentiles."""

from __future__ import annotations

import numpy as np
import pytest

from csbench.measure.histogram import (
    Histogram,
    bucket_bounds,
    bucket_index,
    bucket_value,
)

QS = (0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100)


def _distributions() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1234)
    return {
        "small-uniform": rng.integers(0, 128, 5_000),
        "lognormal": np.floor(rng.lognormal(mean=10, sigma=2, size=20_000)).astype(np.int64),
        "wide-log-uniform": np.floor(2.0 ** rng.uniform(0, 36, 20_000)).astype(np.int64),
        "exponential": np.floor(rng.exponential(50_000, 10_000)).astype(np.int64),
        "odd-size-tiny": np.array([5, 3_000_000_000, 17, 130, 9_999_999_999, 64, 127]),
        "single": np.array([2**40 + 12345]),
    }


def _hist(values: np.ndarray) -> Histogram:
    hist = Histogram()
    hist.record_many(values.tolist())
    return hist


@pytest.mark.parametrize("name", list(_distributions()))
def test_percentiles_match_numpy_inverted_cdf_within_one_bucket(name: str) -> None:
    values = _distributions()[name]
    hist = _hist(values)
    for q in QS:
        expected = int(np.percentile(values, q, method="inverted_cdf"))
        got = hist.percentile(q)
        lo, hi = bucket_bounds(bucket_index(expected))
        # The rank-th value's bucket is exactly the one reported: its midpoint.
        assert got == (lo + hi) / 2, (name, q, expected, got)
        assert abs(got - expected) <= (hi - lo + 1) / 2
        if expected < 128:
            assert got == expected


def test_wide_data_really_spans_both_regimes() -> None:
    values = _distributions()["wide-log-uniform"]
    assert values.min() < 128 and values.max() > 2**33


def test_relative_error_is_bounded() -> None:
    for v in [128, 1000, 65_535, 10**9, 2**33 + 7, 2**62 - 1]:
        assert abs(bucket_value(bucket_index(v)) - v) / v <= 1 / 128


def test_protocol_examples() -> None:
    assert [bucket_index(v) for v in (0, 1, 63, 64, 127)] == [0, 1, 63, 64, 127]
    assert bucket_index(128) == 128 and bucket_index(129) == 128 and bucket_index(130) == 129
    assert bucket_bounds(128) == (128, 129)
    assert bucket_bounds(191) == (254, 255)
    assert bucket_bounds(192) == (256, 259)
    assert bucket_value(192) == 257.5
    assert bucket_value(100) == 100.0


def _wide_sample() -> list[int]:
    sample = set(range(0, 1 << 14))
    for k in range(7, 63):
        sample.update(range((1 << k) - 3, (1 << k) + 4))
        sample.update(((1 << k) * m) // 64 + d for m in range(64, 128) for d in (-1, 0, 1))
    rng = np.random.default_rng(7)
    sample.update(int(x) for x in rng.integers(0, 2**62, 20_000))
    return sorted(sample)


def test_every_value_lies_in_its_bucket() -> None:
    for v in _wide_sample():
        lo, hi = bucket_bounds(bucket_index(v))
        assert lo <= v <= hi, v


def test_buckets_are_contiguous_and_consistent() -> None:
    last = bucket_index(2**62)
    for i in range(last):
        lo, hi = bucket_bounds(i)
        assert bucket_index(lo) == i and bucket_index(hi) == i
        assert bucket_bounds(i + 1)[0] == hi + 1, i


def test_index_is_monotonic() -> None:
    indices = [bucket_index(v) for v in _wide_sample()]
    assert indices == sorted(indices)


def test_merge_and_bucket_round_trip() -> None:
    rng = np.random.default_rng(3)
    a_vals = rng.integers(0, 10**7, 1000).tolist()
    b_vals = rng.integers(0, 10**10, 500).tolist()
    a, b, both = Histogram(), Histogram(), Histogram()
    a.record_many(a_vals)
    for v in b_vals:
        b.record(v)
    both.record_many(a_vals + b_vals)
    a.merge(b)
    assert a.to_buckets() == both.to_buckets()
    assert a.count == both.count == 1500
    copy = Histogram.from_buckets(both.to_buckets())
    assert copy.to_buckets() == both.to_buckets()
    assert [copy.percentile(q) for q in QS] == [both.percentile(q) for q in QS]


def test_from_buckets_accepts_tuples_sums_duplicates_and_drops_zeros() -> None:
    hist = Histogram.from_buckets([(5, 2), (200, 0), (5, 1), (130, 4)])
    assert hist.to_buckets() == [[5, 3], [130, 4]]
    assert hist.count == 7
    assert hist.percentile(50) == bucket_value(130)
    assert hist.percentile(0) == 5.0


def test_record_accepts_numpy_integers() -> None:
    hist = Histogram()
    hist.record_many(np.array([1, 2, 300], dtype=np.int64))
    assert hist.to_buckets() == [[1, 1], [2, 1], [bucket_index(300), 1]]


@pytest.mark.parametrize("bad", [-1, -(2**40)])
def test_negative_values_are_rejected(bad: int) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        bucket_index(bad)
    with pytest.raises(ValueError):
        Histogram().record(bad)


def test_non_integers_are_rejected() -> None:
    with pytest.raises(TypeError):
        bucket_index(1.5)  # type: ignore[arg-type]


def test_bad_bucket_pairs_are_rejected() -> None:
    with pytest.raises(ValueError):
        bucket_bounds(-1)
    with pytest.raises(ValueError):
        Histogram.from_buckets([[1, -2]])
    with pytest.raises(ValueError):
        Histogram.from_buckets([[1, 2, 3]])


def test_percentile_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        Histogram().percentile(50)
    hist = Histogram()
    hist.record(10)
    for q in (-0.1, 100.1, float("nan")):
        with pytest.raises(ValueError, match=r"\[0, 100\]"):
            hist.percentile(q)


def test_mean_is_within_half_a_bucket_of_numpy() -> None:
    values = np.random.default_rng(3).lognormal(mean=8, sigma=1.5, size=10_000).astype(np.int64)
    hist = Histogram()
    hist.record_many(values)
    assert abs(hist.mean() - values.mean()) / values.mean() < 1 / 128
    with pytest.raises(ValueError):
        Histogram().mean()
