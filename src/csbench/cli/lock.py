"""One heavy command per checkout: ``run``, ``ci``, ``calibrate``, ``power`` and ``builds``
share ``.asv/env`` and fixed-name files, so each holds an fcntl lock on ``.asv/csbench.lock``
while it runs. The file says who holds it; the kernel releases the lock when the holder
exits, however it exits."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from csbench.measure.errors import UsageError
from csbench.measure.paths import work_dir


class Busy(UsageError):
    """Another heavy command holds the checkout's lock: exit 3."""

    exit_code = 3


def lock_file() -> Path:
    return work_dir() / "csbench.lock"


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode(errors="replace").strip()
    return text or "a process that has not yet written its name"


@contextlib.contextmanager
def checkout_lock(
    command: str, wait: bool = False, say: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the checkout's lock for the block; Busy naming the holder when another command
    holds it, unless ``wait`` (then ``say`` is told whom we wait for)."""
    path = lock_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise Busy(
                    f"another csbench command holds this checkout ({path}): {holder}; "
                    "run it with --wait to wait for it"
                ) from None
            (say or (lambda m: print(m, file=sys.stderr, flush=True)))(
                f"waiting for {holder} (the lock {path})"
            )
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}: {command}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
