"""Write-ahead log of Collection Store (WALCollection: memory data, file WAL): a transaction
of WRITES updates on a 1,000-document collection, and recovery from a WAL of committed
inserts. At 2307c8d and f8a1929 recovery only reads and logs the WAL (FileWALManager's
replay is a stub), so the recovered collection is empty and ``time_recover`` fails its check.
"""

from __future__ import annotations

from typing import Any

from csbench.measure.bridge import Batch

from . import common

WRITES = 10  # updates per transaction; also inserts per transaction of the recovered WAL
ENTRIES = [10_000]  # committed inserts in the WAL that time_recover recovers


class WalTime(common.BusyClockTime):
    """Time inside Bun (busy clock) of beginTransaction + WRITES updateWithId +
    commitTransaction; the writes are checked visible afterwards. One sample is one batch.
    """

    timeout = 300
    version = "wal-time-1"

    def setup(self) -> None:
        self.session = common.area_session("wal_txn_commit", writes=WRITES)

    def time_txn_commit(self) -> Batch:
        return self.session.batch()


class WalRecovery(common.BusyClockTime):
    """Time of opening a WALCollection on a written WAL and performRecovery(); the WAL
    (``entries`` inserts, WRITES per transaction) is written once per process, untimed.
    """

    params = (ENTRIES,)
    param_names = ["entries"]
    timeout = 300
    version = "wal-recovery-1"

    def setup(self, entries: int) -> None:
        self.session = common.area_session("wal_recover", entries=entries, writes=WRITES)

    def time_recover(self, entries: int) -> Batch:
        return self.session.batch()


class WalLatency(common.LatencyTracks):
    """p50 / p95 / p99 latency of a WAL transaction commit in µs, of every commit of
    common.LATENCY_REPEATS batches."""

    timeout = 600
    version = "wal-latency-2"
    paired_time = "wal.WalTime.time_txn_commit"

    def setup_cache(self) -> dict[str, dict[str, Any]]:
        return {
            common.latency_key(): common.latency_entry(
                lambda: common.area_session("wal_txn_commit", writes=WRITES)
            )
        }
