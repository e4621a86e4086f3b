"""Latency runs: an op's batches summarized for the ``…Latency`` and throughput tracks
(benchmarks/), and for csbench.observe.crosscheck, which sets them beside a plain Bun loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from csbench.measure.bridge import Batch, DriverError, Unsupported
from csbench.measure.histogram import Histogram
from csbench.measure.sessions import Session

# LATENCY_REPEATS batches of up to LATENCY_COUNT ops (or LATENCY_BUDGET_MS busy time) each,
# after one warm-up batch.
# Batch i has seed i; the warm-up has WARMUP_SEED.
LATENCY_REPEATS = 5
LATENCY_COUNT = 2_000
LATENCY_BUDGET_MS = 200.0
WARMUP_SEED = 99


def batch_entry(
    make_session: Callable[[], Session],
    summarize: Callable[[list[Batch]], dict[str, list[float]]],
) -> dict[str, Any]:
    """For ``setup_cache``: LATENCY_REPEATS batches after one warm-up batch, summarized into
    named series (one value per batch).

    Never raises: an op the commit lacks is recorded as ``unsupported``, a failed check or
    a driver crash as ``error`` (with its message), so one op cannot fail the others.
    """
    try:
        sess = make_session()
        sess.batch(count=LATENCY_COUNT, budget_ms=LATENCY_BUDGET_MS, seed=WARMUP_SEED)
        batches = [
            sess.batch(count=LATENCY_COUNT, budget_ms=LATENCY_BUDGET_MS, seed=i)
            for i in range(LATENCY_REPEATS)
        ]
    except (NotImplementedError, Unsupported) as exc:
        return {"status": "unsupported", "message": str(exc)}
    except DriverError as exc:
        return {"status": "error", "message": str(exc)}
    return {"status": "ok", "count": [b.count for b in batches], **summarize(batches)}


QUANTILES = (50, 95, 99)


def percentiles(batches: list[Batch]) -> dict[str, list[float]]:
    """Per quantile q, in µs: ``all_pq``, the percentile of every op of every batch (their
    merged histogram: what a target means), and ``pq``, each batch's own (their spread is
    the figure's uncertainty)."""
    merged = Histogram()
    for b in batches:
        merged.merge(b.hist)
    out = {f"all_p{q}": [merged.percentile(q) / 1000.0] for q in QUANTILES}
    out.update({f"p{q}": [b.percentile_us(q) for b in batches] for q in QUANTILES})
    return out


def latency_entry(make_session: Callable[[], Session]) -> dict[str, Any]:
    """``batch_entry`` summarized by ``percentiles``."""
    return batch_entry(make_session, percentiles)
