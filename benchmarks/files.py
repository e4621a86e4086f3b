"""File storage of Collection Store: FileStorageManager upload and download of whole files
of 1 KiB, 100 KiB and 10 MiB (seeded random bytes) through its local backend, on a
temporary directory of the machine's temp file system.

An upload is timed until the stream is fully consumed and the file stored (renamed into
place); a download until its stream is read to the end. The driver checks the stored
checksum and the downloaded bytes against the payload, untimed, and deletes uploaded files.
"""

from __future__ import annotations

from typing import Any

from csbench.measure.bridge import Batch

from . import common

# Payload sizes: asv param labels -> bytes. Never rename, only append.
SIZES = {"1KB": 1024, "100KB": 102_400, "10MB": 10_485_760}
OPS = ["files_upload", "files_download"]


def throughput_entry(op: str, size: int) -> dict[str, Any]:
    """``common.batch_entry`` of ``op`` with each batch's busy ns per byte (mean / ``size``)."""
    return common.batch_entry(
        lambda: common.area_session(op, size=size),
        lambda batches: {"ns_per_byte": [b.mean_ns / size for b in batches]},
    )


def ns_per_byte(cache: dict[str, dict[str, Any]], key: str) -> float:
    """Median over repeats of the batch ns per byte; raises for a failed op."""
    return common.series_median(cache, key, "ns_per_byte")


class FilesTime(common.BusyClockTime):
    """Time inside Bun (busy clock) of one whole upload or download.

    One asv sample is one driver batch (up to common.BATCH_COUNT ops or
    common.BATCH_BUDGET_MS of busy time); the figure is the batch's mean op time.
    """

    params = list(SIZES)
    param_names = ["size"]
    version = "files-time-1"

    def setup(self, size: str) -> None:
        self.upload = common.area_session("files_upload", size=SIZES[size])
        self.download = common.area_session("files_download", size=SIZES[size])

    def time_upload(self, size: str) -> Batch:
        return self.upload.batch()

    def time_download(self, size: str) -> Batch:
        return self.download.batch()


class FileThroughput:
    """Throughput as busy ns per byte, lower is better (MB/s = 1000 / value).

    Every (op, size) pair runs once in ``setup_cache``: common.LATENCY_REPEATS batches of
    up to common.LATENCY_COUNT ops (or common.LATENCY_BUDGET_MS of busy time); a track
    reports the median over those batches of the batch's mean op time divided by the size.
    """

    params = list(SIZES)
    param_names = ["size"]
    timeout = 1800
    version = "files-throughput-1"
    paired_time = {
        "track_upload_ns_per_byte": "files.FilesTime.time_upload",
        "track_download_ns_per_byte": "files.FilesTime.time_download",
    }

    def setup_cache(self) -> dict[str, dict[str, Any]]:
        return {
            f"{op}/{label}": throughput_entry(op, size)
            for label, size in SIZES.items()
            for op in OPS
        }

    def setup(self, cache: dict[str, dict[str, Any]], size: str) -> None:
        for op in OPS:
            common.skip_if_unsupported(cache, f"{op}/{size}")

    def track_upload_ns_per_byte(self, cache: dict[str, dict[str, Any]], size: str) -> float:
        return ns_per_byte(cache, f"files_upload/{size}")

    def track_download_ns_per_byte(self, cache: dict[str, dict[str, Any]], size: str) -> float:
        return ns_per_byte(cache, f"files_download/{size}")

    track_upload_ns_per_byte.unit = "ns/B"  # type: ignore[attr-defined]
    track_download_ns_per_byte.unit = "ns/B"  # type: ignore[attr-defined]
