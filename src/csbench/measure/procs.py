"""Nothing left running or behind: csbench's temporary directories and child processes.

Every temporary directory csbench (or its Bun driver) makes is named
``csbench-KIND-PID-XXXX``, PID being the process that owns it, so :func:`sweep` can remove
the ones whose owner is gone (a csbench that was killed). :func:`stop_signals` turns
SIGINT, SIGTERM and SIGHUP into :class:`Interrupted` after stopping every child process
tree, so ``finally`` blocks and context managers run. Stdlib and psutil only: asv's
environment imports this module too (through csbench.measure.bridge).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from csbench.measure.paths import cache_dir

if TYPE_CHECKING:
    import psutil  # imported where used: the CLI starts without it

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_GRACE_S = 1.0  # SIGTERM, then this long, then SIGKILL: a stop takes well under 2 s
_NAME = re.compile(r"^csbench-[a-z]+-(\d+)-")
# A process that started this long after a directory was last modified did not make it
# (psutil's start times rest on the boot time, known to the second).
_START_SLACK_S = 2.0

_stopping = False


class Interrupted(BaseException):
    """A stop signal arrived: the command unwinds (children already stopped) and exits
    128 + signal number. A BaseException, so ``except Exception`` does not swallow it."""

    def __init__(self, signo: int) -> None:
        super().__init__(signo)
        self.signo = signo


def stopping() -> bool:
    """True while a stop signal is being handled: drivers are killed, not asked to close."""
    return _stopping


def temp_prefix(kind: str) -> str:
    """``csbench-KIND-PID-``: the name start of every temporary directory this process owns."""
    return f"csbench-{kind}-{os.getpid()}-"


def mkdtemp(kind: str, root: str | os.PathLike[str] | None = None) -> Path:
    """A new directory ``csbench-KIND-PID-XXXX`` in ``root`` (default: the temp dir)."""
    return Path(tempfile.mkdtemp(prefix=temp_prefix(kind), dir=root))


def temp_dir(kind: str) -> tempfile.TemporaryDirectory[str]:
    """A ``tempfile.TemporaryDirectory`` named ``csbench-KIND-PID-XXXX``."""
    return tempfile.TemporaryDirectory(prefix=temp_prefix(kind))


def sweep_roots() -> list[Path]:
    """Where csbench's temporary directories live: the temp dir and the cache's scratch."""
    return [Path(tempfile.gettempdir()), cache_dir() / "scratch"]


def owner_gone(path: Path) -> bool:
    """Whether the process named in ``path`` (``csbench-KIND-PID-...``) no longer runs.

    A live process with that pid that started after the directory was last modified is
    another process (the pid was reused): the owner is gone."""
    match = _NAME.match(path.name)
    if not match:
        return False
    import psutil

    try:
        proc = psutil.Process(int(match.group(1)))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return True
        return proc.create_time() > path.stat().st_mtime + _START_SLACK_S
    except psutil.NoSuchProcess:
        return True
    except (psutil.Error, OSError):
        return False


def sweep(roots: list[Path] | None = None) -> list[Path]:
    """Remove the ``csbench-*`` directories of owners that are gone; return them."""
    removed = []
    for root in roots or sweep_roots():
        with contextlib.suppress(OSError):
            for entry in os.scandir(root):
                path = Path(entry.path)
                if entry.is_dir(follow_symlinks=False) and owner_gone(path):
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path)
    return removed


_swept = False


def sweep_once() -> None:
    """:func:`sweep`, the first time this process calls it."""
    global _swept
    if not _swept:
        _swept = True
        sweep()


def remove_own(roots: list[Path] | None = None) -> None:
    """Remove every directory this process owns (for a process about to exit)."""
    for root in roots or sweep_roots():
        for path in root.glob(f"csbench-*-{os.getpid()}-*"):
            if _NAME.match(path.name) and path.is_dir():
                shutil.rmtree(path, ignore_errors=True)


def _signal(proc: psutil.Process, signo: int, own_group: int) -> None:
    """``signo`` to ``proc``, and to its whole process group when it leads one (a driver)."""
    import psutil

    with contextlib.suppress(psutil.Error, OSError):
        if os.getpgid(proc.pid) == proc.pid != own_group and proc.is_running():
            os.killpg(proc.pid, signo)
        else:
            proc.send_signal(signo)


def stop_children(grace: float = STOP_GRACE_S) -> None:
    """Stop every descendant process, and the process group of each that leads one.

    SIGTERM to all at once, up to ``grace`` seconds, then SIGKILL to what is left
    (including children started meanwhile). Descendants are found through parent links,
    so Bun drivers in their own process groups under asv's benchmark processes are found
    too; the snapshot is taken before any of them dies and orphans its own children."""
    import psutil

    me = psutil.Process()
    own_group = os.getpgrp()
    seen: dict[int, psutil.Process] = {}
    for signo, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        with contextlib.suppress(psutil.Error):
            for proc in me.children(recursive=True):
                seen.setdefault(proc.pid, proc)
        alive = _alive(list(seen.values()))
        if not alive:
            return
        for proc in alive:
            _signal(proc, signo, own_group)
        deadline = time.monotonic() + wait
        while _alive(alive) and time.monotonic() < deadline:
            time.sleep(0.02)


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of ``processes`` still running; a zombie has ended (its parent reaps it: the
    Popen that started it, or init, which may take its time)."""
    import psutil

    alive = []
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
    return alive


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP stop every child process tree and then
    raise :class:`Interrupted` (further stop signals are ignored while it unwinds).

    Does nothing outside the main thread (Python delivers signals there only)."""
    global _stopping
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signo: int, frame: FrameType | None) -> None:
        global _stopping
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        _stopping = True
        stop_children()
        raise Interrupted(signo)

    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _stopping = False


def interrupted(exc: BaseException, command: str) -> int:
    """End ``command`` after a stop signal (or a stray KeyboardInterrupt): stop what still
    runs, remove this process's directories and its children's, print one line; return the
    exit code, 128 + the signal number."""
    signo = exc.signo if isinstance(exc, Interrupted) else signal.SIGINT
    stop_children()  # the signal handler did, unless this is a KeyboardInterrupt
    remove_own()
    sweep()  # the directories of the children just stopped
    clear = "\r\x1b[K" if sys.stderr.isatty() else ""  # over a live progress line
    with contextlib.suppress(OSError):  # SIGHUP: the terminal may be gone
        print(f"{clear}{command}: interrupted ({signal.Signals(signo).name})", file=sys.stderr)
    return 128 + signo
