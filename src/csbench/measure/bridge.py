"""The Python end of the Bun driver: JSON lines over a pipe, one driver per process.

The driver (driver/main.ts, see driver/PROTOCOL.md) times each Collection Store call
inside Bun and keeps a *busy clock*. ``op_clock`` turns it into an asv ``timer``: it
advances by the mean per-op busy time of every ``run`` batch, so asv's figure for a
benchmark that runs one batch per call is the time of one operation inside the runtime,
without the pipe round trip.

Each driver runs in its own process group with a private temporary directory
(``csbench-drv-PID-XXXX``, PID this process's, passed as TMPDIR so every directory the
driver makes lands inside it), both removed when the driver is closed or killed; it is
killed by the kernel if the thread that started it dies. Every read and write of the
pipe has a deadline: a stopped or wedged driver is a DriverError, never a hang.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csbench.measure import procs
from csbench.measure.bun import find_bun
from csbench.measure.histogram import Histogram
from csbench.measure.paths import DRIVER_MAIN

DEFAULT_TIMEOUT = 300.0
STDERR_TAIL_LINES = 40


class DriverError(RuntimeError):
    """The driver died, hung, answered garbage, or an op raised inside Collection Store."""

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        self.stderr_tail = stderr_tail
        super().__init__(
            message + (f"\n--- driver stderr tail ---\n{stderr_tail}" if stderr_tail else "")
        )


class CheckFailed(DriverError):
    """An op returned a wrong result: the commit is broken here, not fast."""


class Unsupported(DriverError):
    """The commit under test lacks what the op needs."""


_ERROR_TYPES: dict[str, type[DriverError]] = {"check": CheckFailed, "unsupported": Unsupported}


@dataclass(frozen=True)
class Batch:
    """One ``run`` reply: ``count`` ops of ``op`` and their latency histogram."""

    op: str
    count: int
    busy_ns: int
    hist: Histogram
    raw: dict[str, Any]
    cpu_ns: int = 0  # CPU time of the whole batch, preparation and checks included
    timed_cpu_ns: int = 0  # CPU time during the timed calls only (Driver.timed_cpu)

    @property
    def mean_ns(self) -> float:
        return self.busy_ns / self.count

    @property
    def cpu_mean_ns(self) -> float:
        return self.cpu_ns / self.count

    @property
    def timed_cpu_mean_ns(self) -> float:
        return self.timed_cpu_ns / self.count

    def percentile_us(self, q: float) -> float:
        return self.hist.percentile(q) / 1000.0

    @property
    def profile(self) -> dict[str, Any] | None:
        """The batch's sampled CPU profile, when its driver was profiling (PROTOCOL.md)."""
        return self.raw.get("profile")


def _missing(obj: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [k for k in keys if k not in obj]


def _clip(reply: dict[str, Any]) -> str:
    return repr(json.dumps(reply)[:200])


def _launcher(cpus: set[int] | None) -> list[str]:
    """The command prefix of a driver: ``setpriv --pdeathsig KILL`` (the kernel kills the
    driver when the thread that started it dies, even by SIGKILL) and, given ``cpus``,
    ``taskset`` (every thread of the driver pinned from its first instruction)."""
    prefix = []
    setpriv = shutil.which("setpriv")
    if setpriv:
        prefix += [setpriv, "--pdeathsig", "KILL"]
    if cpus:
        taskset = shutil.which("taskset")
        if not taskset:
            raise DriverError("pinning a driver to CPUs needs taskset (util-linux)")
        prefix += [taskset, "--cpu-list", ",".join(str(c) for c in sorted(cpus))]
    return prefix


class Driver:
    """A running Bun driver bound to one Collection Store tree.

    Start it from a thread that outlives it (the main thread, in csbench and in asv): the
    driver dies with the thread that started it."""

    def __init__(
        self,
        target: Path | str,
        timeout: float = DEFAULT_TIMEOUT,
        command: list[str] | None = None,
        cpus: set[int] | None = None,
    ) -> None:
        """Start the driver; ``cpus`` pins it (every thread) to those CPUs."""
        procs.sweep_once()
        self.target = Path(target)
        self.timeout = timeout
        self.busy_ns = 0
        self.op_clock_ns = 0.0
        # When set, every ``run`` batch is sampled by the CPU profiler at this interval
        # (µs) and its Batch carries the profile (csbench.observe.cpuprofile).
        self.profile_interval_us: int | None = None
        # When set, every ``run`` batch also sums the CPU time of its timed calls
        # (Batch.timed_cpu_ns: the paired guard's clock). Off by default: reading the CPU
        # time around each call slows calls of a few µs (PROTOCOL.md).
        self.timed_cpu = False
        self.datasets: dict[str, dict[str, Any]] = {}
        self._probe: dict[str, Any] | None = None
        self._next_id = 0
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._lines: queue.Queue[str | None] = queue.Queue()
        target_arg = str(self.target.resolve())
        cmd = command or [str(find_bun()), str(DRIVER_MAIN), "--target", target_arg]
        cmd = _launcher(cpus) + cmd
        self._owner = os.getpid()  # a forked child must not close its parent's driver
        self.tmp = procs.mkdtemp("drv")
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "TMPDIR": str(self.tmp)},
                cwd=self.tmp,  # a file the library writes at a relative path goes nowhere else
                process_group=0,
            )
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        assert self._proc.stdin is not None
        os.set_blocking(self._proc.stdin.fileno(), False)  # writes keep a deadline: _send
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()

    def _pump_stdout(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _pump_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    def stderr_tail(self) -> str:
        time.sleep(0.05)  # let the stderr pump catch the last lines of a dying driver
        return "\n".join(self._stderr)

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def _fail(self, message: str) -> DriverError:
        self.kill()
        return DriverError(message, self.stderr_tail())

    def request(
        self,
        op: str,
        args: dict[str, Any] | None = None,
        timeout: float | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        expect: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Send one request and return its ``result``; raise on any failure.

        Interim ``progress`` lines of the request go to ``on_progress``; ``timeout`` bounds
        sending the request and the wait for each line, so a long request that reports
        progress never times out. A result without a field named in ``expect`` is a
        DriverError.
        """
        if not self.alive:
            raise DriverError(
                f"driver for {self.target} is not running (exit {self._proc.returncode})",
                self.stderr_tail(),
            )
        self._next_id += 1
        req_id = self._next_id
        limit = self.timeout if timeout is None else timeout
        line = json.dumps({"id": req_id, "op": op, "args": args or {}}) + "\n"
        self._send(line.encode(), op, limit)
        while True:
            reply = self._next_reply(op, limit)
            if reply.get("id") != req_id:
                raise self._fail(
                    f"driver answered request {reply.get('id')} to request {req_id} ({op!r})"
                )
            if "progress" not in reply:
                break
            if on_progress is not None:
                on_progress(reply["progress"])
        missing = _missing(reply, ("ok", "busy_ns"))
        if missing:
            raise self._fail(f"driver answered {op!r} without {missing}: {_clip(reply)}")
        try:
            ok = bool(reply["ok"])
            busy = int(reply["busy_ns"])
        except (TypeError, ValueError):
            raise self._fail(f"driver answered garbage to {op!r}: {_clip(reply)}") from None
        self.busy_ns = busy
        if not ok:
            err = reply.get("error") or {}
            cls = _ERROR_TYPES.get(err.get("type", ""), DriverError)
            detail = err.get("message", "no message")
            if err.get("stack") and cls is DriverError:
                detail += "\n" + err["stack"]
            raise cls(f"{op}: {detail}", self.stderr_tail() if cls is DriverError else "")
        result = reply.get("result") or {}
        if not isinstance(result, dict):
            raise self._fail(f"driver answered {op!r} with a result that is no object: "
                             f"{_clip(reply)}")  # fmt: skip
        missing = _missing(result, expect)
        if missing:
            raise self._fail(f"driver answered {op!r} without {missing}: {_clip(reply)}")
        return result

    def _send(self, data: bytes, op: str, limit: float) -> None:
        """Write ``data`` to the driver within ``limit`` s: a stopped or busy driver reads
        nothing, and a request larger than the pipe buffer would block for ever."""
        assert self._proc.stdin is not None
        fd = self._proc.stdin.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        deadline = time.monotonic() + limit
        sent = 0
        while sent < len(data):
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._fail(
                    f"driver hung: request {op!r} not taken within {limit:g} s "
                    f"({sent:,} of {len(data):,} bytes sent)"
                )
            try:
                if poller.poll(max(1, int(left * 1000))):
                    sent += os.write(fd, data[sent:])
            except BlockingIOError:
                continue
            except OSError as exc:  # BrokenPipeError: the driver is gone
                raise self._fail(f"driver pipe closed while sending {op!r}: {exc}") from exc

    def _next_reply(self, op: str, limit: float) -> dict[str, Any]:
        """The next stdout line as a JSON object; raise if none comes within ``limit`` s."""
        try:
            line = self._lines.get(timeout=limit)
        except queue.Empty:
            raise self._fail(f"driver hung: no answer to {op!r} within {limit:g} s") from None
        if line is None:
            code = self._proc.wait(timeout=10)
            self.kill()  # its group and temporary directory
            raise DriverError(f"driver died (exit {code}) during {op!r}", self.stderr_tail())
        try:
            reply = json.loads(line)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            raise self._fail(f"driver answered garbage to {op!r}: {line[:200]!r}")
        return reply

    def probe(self) -> dict[str, Any]:
        """What the commit under test offers (asked once per driver)."""
        if self._probe is None:
            self._probe = self.request("probe")
        return self._probe

    def load(
        self,
        handle: str,
        path: Path,
        storage: str = "memory",
        directory: Path | None = None,
        indexes: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Load a dataset under ``handle`` unless the same spec is already loaded."""
        spec = {
            "dataset": handle,
            "path": str(path),
            "storage": storage,
            "dir": str(directory) if directory else None,
            "indexes": indexes or [],
        }
        if self.datasets.get(handle) == spec:
            return {"cached": True}
        self.datasets.pop(handle, None)
        result = self.request("load", spec)
        self.datasets[handle] = spec
        return result

    def run(
        self,
        op: str,
        dataset: str | None = None,
        count: int = 1,
        min_count: int = 1,
        budget_ms: float | None = None,
        seed: int = 0,
        **params: Any,
    ) -> Batch:
        """Run a batch of ``op``; advances the op clock by the batch's mean op time."""
        args = {
            "op": op,
            "dataset": dataset,
            "count": count,
            "min_count": min_count,
            "budget_ms": budget_ms,
            "seed": seed,
            "params": params,
        }
        if self.profile_interval_us is not None:
            args["profile"] = {"interval_us": self.profile_interval_us}
        if self.timed_cpu:
            args["timed_cpu"] = True
        result = self.request("run", args)
        missing = _missing(result, ("count", "busy_ns", "hist"))
        if missing:
            raise self._fail(f"driver answered 'run' of {op!r} without {missing}: {_clip(result)}")
        try:
            batch = Batch(
                op=op,
                count=int(result["count"]),
                busy_ns=int(result["busy_ns"]),
                hist=Histogram.from_buckets(result["hist"]["buckets"]),
                raw=result,
                cpu_ns=int(result.get("cpu_ns", 0)),
                timed_cpu_ns=int(result.get("timed_cpu_ns", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise self._fail(
                f"driver answered 'run' of {op!r} with a malformed result ({exc!r}): "
                f"{_clip(result)}"
            ) from None
        if batch.count > 0:
            self.op_clock_ns += batch.mean_ns
        return batch

    def close(self) -> None:
        """Ask the driver to exit and let it run its exit clean-up; kill it only if it lingers
        (or at once while a stop signal is handled)."""
        if os.getpid() == self._owner and self.alive and not procs.stopping():
            with contextlib.suppress(DriverError):
                self.request("close", timeout=10)
            with contextlib.suppress(OSError):
                self._proc.stdin.close()  # type: ignore[union-attr]  # EOF: exit in any case
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=5)
        self.kill()

    def kill(self) -> None:
        """Kill the driver's whole process group and remove its temporary directory."""
        if os.getpid() != self._owner:
            return
        if self._proc.returncode is None:  # not reaped yet: the group id is still ours
            with contextlib.suppress(OSError):
                os.killpg(self._proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=10)
        shutil.rmtree(self.tmp, ignore_errors=True)


_drivers: dict[Path, Driver] = {}


def get_driver(target: Path | str) -> Driver:
    """The process-wide driver for ``target``, started on first use and restarted if dead."""
    key = Path(target).resolve()
    drv = _drivers.get(key)
    if drv is None or not drv.alive:
        drv = _drivers[key] = Driver(key)
    return drv


def current_driver() -> Driver | None:
    """The most recently started live driver of this process, if any."""
    live = [d for d in _drivers.values() if d.alive]
    return live[-1] if live else None


def op_clock() -> float:
    """asv ``timer``: seconds of per-op busy time accumulated by this process's driver."""
    drv = current_driver()
    return drv.op_clock_ns / 1e9 if drv else 0.0


@atexit.register
def _close_all() -> None:
    for drv in _drivers.values():
        drv.close()
