"""Write-ahead log of Collection Store (WALCollection: memory data, file WAL): a transaction
of WRITES updates on a 1,000-document collection, and recovery from a WAL of committed
inserts. At 2307c8d and f8a1929 recovery only reads and logs the WAL (FileWALManager's
replay is a stub), so the recovered collection is empty and ``time_recover`` fails its check.
"""

from __future__ import annotations

from typing import Any

from csbench.bridge import op_clock

from . import common

WRITES = 10  # updates per transaction; also inserts per transaction of the recovered WAL
ENTRIES = [10_000]  # committed inserts in the WAL that time_recover recovers


class WalTime:
    """Time inside Bun (busy clock) of beginTransaction + WRITES updateWithId +
    commitTransaction; the writes are checked visible afterwards. One sample is one batch.
    """

    timer = staticmethod(op_clock)
    number = 1
    repeat = (4, 12, 4.0)
    warmup_time = 0.5
    rounds = 2
    timeout = 300
    version = "wal-time-1"

    def setup(self) -> None:
        self.session = common.area_session("wal_txn_commit", writes=WRITES)

    def time_txn_commit(self) -> None:
        self.session.batch()


class WalRecovery:
    """Time of opening a WALCollection on a written WAL and performRecovery(); the WAL
    (``entries`` inserts, WRITES per transaction) is written once per process, untimed.
    """

    params = (ENTRIES,)
    param_names = ["entries"]
    timer = staticmethod(op_clock)
    number = 1
    repeat = (4, 12, 4.0)
    warmup_time = 0.5
    rounds = 2
    timeout = 300
    version = "wal-recovery-1"

    def setup(self, entries: int) -> None:
        self.session = common.area_session("wal_recover", entries=entries, writes=WRITES)

    def time_recover(self, entries: int) -> None:
        self.session.batch()


class WalLatency:
    """p50 / p95 / p99 latency of a WAL transaction commit in µs (median over
    common.LATENCY_REPEATS batches)."""

    timeout = 600
    version = "wal-latency-1"

    def setup_cache(self) -> dict[str, dict[str, Any]]:
        return {
            "txn_commit": common.latency_entry(
                lambda: common.area_session("wal_txn_commit", writes=WRITES)
            )
        }

    def setup(self, cache: dict[str, dict[str, Any]]) -> None:
        common.skip_if_unsupported(cache, "txn_commit")

    def track_p50(self, cache: dict[str, dict[str, Any]]) -> float:
        return common.latency(cache, "txn_commit", 50)

    def track_p95(self, cache: dict[str, dict[str, Any]]) -> float:
        return common.latency(cache, "txn_commit", 95)

    def track_p99(self, cache: dict[str, dict[str, Any]]) -> float:
        return common.latency(cache, "txn_commit", 99)

    track_p50.unit = track_p95.unit = track_p99.unit = "us"  # type: ignore[attr-defined]
