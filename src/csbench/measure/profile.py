"""Resource profiler of the driver process (psutil): CPU, RSS, peak RSS, threads, files, I/O.

A background thread samples one process at a fixed interval (deadline-based, so the interval
does not drift) and labels every sample with the current phase. A phase change closes the
old phase with a boundary sample, so each sample's CPU share belongs to one phase only. The
suite's own cost is measured apart: the CPU time of the sampling itself and the whole Python
process's CPU share over the profiled span.

    with Profiler(driver._proc.pid) as prof:
        with prof.phase("load"):
            driver.load(...)
    prof.report().as_dict()
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import psutil

DEFAULT_PHASE = "default"
_LOGICAL_CPUS = psutil.cpu_count(logical=True) or 1


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of the process; CPU figures cover the ``interval`` seconds before ``t``."""

    t: float  # time.monotonic() of the reading
    phase: str
    interval: float  # seconds since the previous reading (the span the CPU figures cover)
    cpu_core_percent: float  # of one core: above 100 when several cores are busy
    cpu_machine_percent: float  # of all logical CPUs: core percent / CPU count
    rss_bytes: int
    peak_rss_bytes: int | None  # VmHWM of /proc/<pid>/status (Linux), else None
    threads: int
    open_files: int  # file descriptors (POSIX) or handles (Windows)
    read_bytes: int | None  # cumulative io_counters; None where unavailable
    write_bytes: int | None
    cpu_seconds: float = 0.0  # cumulative CPU time of the process (user + system)
    main_cpu_seconds: float | None = None  # of its main thread (Bun's JavaScript thread)


@dataclass(frozen=True, slots=True)
class PhaseStats:
    """Statistics of the samples of one phase (or of all of them)."""

    samples: int
    duration: float  # seconds covered by the samples
    cpu_core_mean: float  # time-weighted
    cpu_core_max: float
    cpu_machine_mean: float
    cpu_machine_max: float
    rss_mean: float
    rss_max: int
    peak_rss: int  # max of sampled RSS and of VmHWM rises during the phase
    threads_max: int
    open_files_max: int
    read_bytes: int | None  # delta over the phase
    write_bytes: int | None
    # the main thread's share of the process's CPU time over the phase (None: unreadable);
    # the rest ran on other threads (native add-ons' work, the collector, I/O)
    main_thread_share: float | None = None

    def per_1000_users(self, users: int) -> float:
        """Peak RSS in bytes per 1,000 users."""
        if users <= 0:
            raise ValueError(f"users must be > 0, got {users}")
        return self.peak_rss * 1000.0 / users


@dataclass(frozen=True, slots=True)
class ProfileReport:
    """Per-phase and overall statistics, and the suite's own overhead."""

    pid: int
    interval: float
    duration: float  # wall seconds from start() to stop() (or to the process's exit)
    exited: bool  # the process ended while being profiled
    overall: PhaseStats
    phases: dict[str, PhaseStats] = field(default_factory=dict)
    sampler_cpu_seconds: float = 0.0  # CPU time spent taking samples (Python side)
    python_cpu_seconds: float = 0.0  # CPU time of the whole Python process over the span
    python_cpu_percent: float = 0.0  # of one core, over the span

    @property
    def sampler_cpu_percent(self) -> float:
        """Sampler CPU time as a percentage of one core over the span."""
        return 100.0 * self.sampler_cpu_seconds / self.duration if self.duration > 0 else 0.0

    def per_1000_users(self, users: int, phase: str | None = None) -> float:
        """Peak RSS in bytes per 1,000 users, overall or of one phase."""
        return (self.phases[phase] if phase else self.overall).per_1000_users(users)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = asdict(self)
        out["sampler_cpu_percent"] = self.sampler_cpu_percent
        return out


def _linux_hwm(pid: int) -> int | None:
    """VmHWM (peak resident set) of ``pid`` in bytes, None where unreadable."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


Row = tuple[Sample, int | None, int | None, int, float, float | None]


def _stats(rows: list[Row], interval: float) -> PhaseStats:
    """Stats of (sample, read delta, write delta, peak contribution, CPU seconds delta, main
    thread CPU seconds delta) rows of a profiler sampling every ``interval`` seconds."""
    if not rows:
        return PhaseStats(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0, 0, None, None)
    cpu = sum(r[4] for r in rows)
    mains = [r[5] for r in rows]
    main = sum(m for m in mains if m is not None) if None not in mains else None
    samples = [r[0] for r in rows]
    duration = sum(s.interval for s in samples)
    # Boundary samples may cover a sliver of an interval, where tick-quantised CPU times
    # give wild percentages: they count in the (time-weighted) mean, not in the max. Half
    # the sampling interval tells them (not half the longest span: one late sample would
    # leave every regular one out); a phase of slivers only keeps its longest.
    full = [s for s in samples if s.interval >= interval / 2]
    full = full or [max(samples, key=lambda s: s.interval)]

    def wmean(values: list[float]) -> float:
        if duration <= 0:
            return sum(values) / len(values)
        return sum(v * s.interval for v, s in zip(values, samples, strict=True)) / duration

    def total(i: int) -> int | None:
        deltas = [r[i] for r in rows if r[i] is not None]
        return sum(deltas) if deltas else None

    return PhaseStats(
        samples=len(samples),
        duration=duration,
        cpu_core_mean=wmean([s.cpu_core_percent for s in samples]),
        cpu_core_max=max(s.cpu_core_percent for s in full),
        cpu_machine_mean=wmean([s.cpu_machine_percent for s in samples]),
        cpu_machine_max=max(s.cpu_machine_percent for s in full),
        rss_mean=sum(s.rss_bytes for s in samples) / len(samples),
        rss_max=max(s.rss_bytes for s in samples),
        peak_rss=max(r[3] for r in rows),
        threads_max=max(s.threads for s in samples),
        open_files_max=max(s.open_files for s in samples),
        read_bytes=total(1),
        write_bytes=total(2),
        main_thread_share=min(1.0, main / cpu) if main is not None and cpu > 0 else None,
    )


class Profiler:
    """Samples process ``pid`` every ``interval`` seconds in a background thread."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0, got {interval}")
        self.pid = pid
        self.interval = interval
        self.samples: list[Sample] = []
        self.exited = False
        self._proc = psutil.Process(pid)
        self._self = psutil.Process(os.getpid())
        self._phase = DEFAULT_PHASE
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sampler_cpu = 0.0
        self._start_t = self._stop_t = 0.0
        self._start_cpu = self._stop_cpu = 0.0
        self._last_t = 0.0
        self._base: tuple[int | None, int | None, int | None] = (None, None, None)
        self._cpu0: tuple[float, float | None] = (0.0, None)  # process, main thread at start

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Profiler:
        """Prime the counters and start sampling."""
        if self._thread is not None:
            raise RuntimeError("profiler already started")
        self._start_cpu = self._python_cpu()
        try:
            with self._proc.oneshot():
                self._proc.cpu_percent(None)  # first call only primes psutil's counters
                io = self._io()
                times = self._proc.cpu_times()
                self._cpu0 = (times.user + times.system, self._main_thread_cpu())
        except psutil.NoSuchProcess:
            self.exited = True
            io = (None, None)
        self._base = (*io, _linux_hwm(self.pid))
        self._start_t = self._last_t = self._stop_t = time.monotonic()
        self._stop_cpu = self._start_cpu
        self._thread = threading.Thread(target=self._run, name=f"profiler-{self.pid}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling; a last sample closes the current phase."""
        if self._thread is None or self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        self._boundary_sample()
        if not self.exited:  # else the span ended when the exit was noticed
            self._stop_t, self._stop_cpu = time.monotonic(), self._python_cpu()

    def __enter__(self) -> Profiler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- phases ----------------------------------------------------------------------------

    def set_phase(self, name: str) -> None:
        """Label later samples with ``name``; a sample first closes the current phase."""
        if name == self._phase:
            return
        if self._thread is not None and not self._stop.is_set():
            self._boundary_sample()
        with self._lock:
            self._phase = name

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Samples taken inside the block belong to ``name``; the previous phase resumes."""
        previous = self._phase
        self.set_phase(name)
        try:
            yield
        finally:
            self.set_phase(previous)

    # -- sampling --------------------------------------------------------------------------

    def _python_cpu(self) -> float:
        t = self._self.cpu_times()
        return t.user + t.system

    def _io(self) -> tuple[int | None, int | None]:
        try:
            io = self._proc.io_counters()
        except (psutil.AccessDenied, AttributeError, NotImplementedError):
            return None, None
        return io.read_bytes, io.write_bytes

    def _main_thread_cpu(self) -> float | None:
        """CPU seconds of the process's main thread (its id is the pid), None if unreadable."""
        try:
            threads = self._proc.threads()
        except (psutil.AccessDenied, AttributeError, NotImplementedError):
            return None
        main = next((t for t in threads if t.id == self.pid), None)
        return main.user_time + main.system_time if main else None

    def _boundary_sample(self) -> None:
        """Sample now from the calling thread, unless the last sample is just a tick old."""
        if not self.exited and time.monotonic() - self._last_t >= min(0.01, self.interval / 4):
            self._sample()

    def _sample(self) -> None:
        """Take one reading (any thread); mark the process exited when it is gone."""
        cpu0 = time.thread_time()
        try:
            with self._lock:
                if self.exited:
                    return
                try:
                    with self._proc.oneshot():
                        if self._proc.status() == psutil.STATUS_ZOMBIE:
                            raise psutil.ZombieProcess(self.pid)
                        core = self._proc.cpu_percent(None)
                        rss = self._proc.memory_info().rss
                        threads = self._proc.num_threads()
                        if hasattr(self._proc, "num_fds"):
                            files = self._proc.num_fds()
                        else:  # Windows
                            files = self._proc.num_handles()
                        read, write = self._io()
                        times = self._proc.cpu_times()
                        main = self._main_thread_cpu()
                except psutil.NoSuchProcess:  # includes ZombieProcess
                    self.exited = True
                    self._stop_t, self._stop_cpu = time.monotonic(), self._python_cpu()
                    return
                now = time.monotonic()
                self.samples.append(
                    Sample(
                        t=now,
                        phase=self._phase,
                        interval=now - self._last_t,
                        cpu_core_percent=core,
                        cpu_machine_percent=core / _LOGICAL_CPUS,
                        rss_bytes=rss,
                        peak_rss_bytes=_linux_hwm(self.pid),
                        threads=threads,
                        open_files=files,
                        read_bytes=read,
                        write_bytes=write,
                        cpu_seconds=times.user + times.system,
                        main_cpu_seconds=main,
                    )
                )
                self._last_t = now
        finally:
            self._sampler_cpu += time.thread_time() - cpu0

    def _run(self) -> None:
        deadline = self._start_t
        while not self.exited:
            deadline += self.interval
            now = time.monotonic()
            if deadline < now:  # fell behind (suspended, overloaded): skip the missed ticks
                deadline += (now - deadline) // self.interval * self.interval + self.interval
            if self._stop.wait(deadline - now):
                return
            self._sample()

    # -- report ----------------------------------------------------------------------------

    def report(self) -> ProfileReport:
        """Per-phase and overall statistics of the samples so far."""
        with self._lock:
            samples = list(self.samples)
        read0, write0, hwm0 = self._base
        cpu0, main0 = self._cpu0
        rows: list[Row] = []
        for s in samples:
            # A VmHWM rise since the previous sample is a peak inside this sample's interval.
            hwm = s.peak_rss_bytes
            peak = s.rss_bytes
            if hwm is not None and (hwm0 is None or hwm > hwm0):
                peak = max(peak, hwm)
            rows.append(
                (
                    s,
                    None if s.read_bytes is None or read0 is None else s.read_bytes - read0,
                    None if s.write_bytes is None or write0 is None else s.write_bytes - write0,
                    peak,
                    s.cpu_seconds - cpu0,
                    None
                    if s.main_cpu_seconds is None or main0 is None
                    else s.main_cpu_seconds - main0,
                )
            )
            read0, write0 = s.read_bytes, s.write_bytes
            cpu0, main0 = s.cpu_seconds, s.main_cpu_seconds
            hwm0 = hwm if hwm is not None else hwm0
        by_phase: dict[str, list[Row]] = {}
        for row in rows:
            by_phase.setdefault(row[0].phase, []).append(row)
        overall = _stats(rows, self.interval)
        if hwm0 is not None:  # the process's lifetime peak
            overall = replace(overall, peak_rss=max(overall.peak_rss, hwm0))
        running = self._thread is not None and not self._stop.is_set() and not self.exited
        end_t = time.monotonic() if running else self._stop_t
        end_cpu = self._python_cpu() if running else self._stop_cpu
        duration = max(end_t - self._start_t, 0.0)
        python_cpu = end_cpu - self._start_cpu
        return ProfileReport(
            pid=self.pid,
            interval=self.interval,
            duration=duration,
            exited=self.exited,
            overall=overall,
            phases={name: _stats(r, self.interval) for name, r in by_phase.items()},
            sampler_cpu_seconds=self._sampler_cpu,
            python_cpu_seconds=python_cpu,
            python_cpu_percent=100.0 * python_cpu / duration if duration > 0 else 0.0,
        )
