"""The profiler on real child processes; the child's phases are driven over stdin/stdout."""

from __future__ import annotations

import contextlib
import itertools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import psutil
import pytest

from csbench.measure.profile import Profiler, Sample, _stats

MiB = 2**20

# Commands, one a line; the child answers "ok" once started and after each command.
CHILD = r"""
import sys, tempfile, threading, time
spin = threading.Event()
keep = []

def busy():
    while True:
        spin.wait()
        while spin.is_set():
            pass

def touch(n):
    b = bytearray(n)
    for i in range(0, n, 4096):
        b[i] = 1
    return b

threading.Thread(target=busy, daemon=True).start()
print("ok", flush=True)  # started up: no more import-time CPU or files
for line in sys.stdin:
    cmd, *arg = line.split()
    if cmd == "busy":
        spin.set()
    elif cmd == "idle":
        spin.clear()
    elif cmd == "alloc":
        keep.append(touch(int(arg[0])))
    elif cmd == "spike":  # allocate, touch, free: only the peak (VmHWM) remembers it
        b = touch(int(arg[0]))
        del b
    elif cmd == "open":
        keep += [tempfile.TemporaryFile() for _ in range(int(arg[0]))]
    elif cmd == "threads":
        for _ in range(int(arg[0])):
            threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
    elif cmd == "mainbusy":  # spin on the main thread for arg seconds
        end = time.monotonic() + float(arg[0])
        while time.monotonic() < end:
            pass
    elif cmd == "exit":
        sys.exit(0)
    print("ok", flush=True)
"""


class Child:
    """A Python child process obeying CHILD's commands."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.pid = self.proc.pid
        self._ok()

    def _ok(self) -> None:
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ok"

    def __call__(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        if command != "exit":
            self._ok()


@pytest.fixture
def child() -> Iterator[Callable[[], Child]]:
    children: list[Child] = []

    def make() -> Child:
        children.append(Child())
        return children[-1]

    yield make
    for c in children:
        c.proc.kill()
        c.proc.wait()


def test_cpu_busy_and_idle_phases(child: Callable[[], Child]) -> None:
    """Each phase's CPU share is the child's CPU time over the phase, read apart in the test
    (whatever share of a core the host gives the spinning child), in percent of one core."""
    c = child()
    proc = psutil.Process(c.pid)
    measured: dict[str, float] = {}

    @contextlib.contextmanager
    def share(name: str) -> Iterator[None]:
        t0, cpu0 = time.monotonic(), sum(proc.cpu_times()[:2])
        yield
        t1, cpu1 = time.monotonic(), sum(proc.cpu_times()[:2])
        measured[name] = 100 * (cpu1 - cpu0) / (t1 - t0)

    with Profiler(c.pid, interval=0.05) as prof:
        with prof.phase("busy"), share("busy"):
            c("busy")
            time.sleep(1.0)
            c("idle")
        with prof.phase("idle"), share("idle"):
            time.sleep(1.0)
    busy, idle = prof.report().phases["busy"], prof.report().phases["idle"]
    # The child spun on a fifth of a core at least, or a profiler reading nothing would
    # pass the comparison below.
    assert measured["busy"] > 20 and measured["idle"] < measured["busy"] / 4, measured
    # CPU times tick in hundredths of a second and the profiler's phase starts and ends a
    # sample's cost away from the test's window: a few points over a 1 s phase.
    assert busy.cpu_core_mean == pytest.approx(measured["busy"], abs=10), (busy, measured)
    assert idle.cpu_core_mean == pytest.approx(measured["idle"], abs=10), (idle, measured)
    # Some full sample is at least about the phase's mean.
    assert busy.cpu_core_max > 0.8 * measured["busy"], (busy, measured)
    cpus = psutil.cpu_count()
    for s in prof.samples:
        assert s.cpu_machine_percent == pytest.approx(s.cpu_core_percent / cpus)
    assert busy.cpu_machine_mean == pytest.approx(busy.cpu_core_mean / cpus)


def test_the_main_threads_share_tells_which_thread_burned_the_cpu(
    child: Callable[[], Child],
) -> None:
    """The child spins on another thread, then on its main thread: each phase's main-thread
    share of the child's CPU time says which (a Bun driver's main thread runs JavaScript)."""
    c = child()
    with Profiler(c.pid, interval=0.05) as prof:
        with prof.phase("other"):
            c("busy")
            time.sleep(0.6)
            c("idle")
        with prof.phase("main"):
            c("mainbusy 0.6")
    phases = prof.report().phases
    other, main = phases["other"].main_thread_share, phases["main"].main_thread_share
    assert other is not None and main is not None, phases
    assert other < 0.25 < 0.75 < main, (other, main)


def test_a_late_sample_leaves_the_regular_ones_in_the_max() -> None:
    """The max ignores boundary slivers, not the regular samples beside a late one."""

    def sample(interval: float, core: float) -> Sample:
        return Sample(0.0, "p", interval, core, core / 2, 1, None, 1, 1, None, None)

    spans = [(0.05, 90.0), (0.05, 80.0), (0.2, 10.0), (0.002, 500.0)]  # late, then a sliver
    stats = _stats([(sample(i, c), None, None, 1, 0.0, None) for i, c in spans], interval=0.05)
    assert stats.cpu_core_max == 90.0
    assert stats.cpu_core_mean == pytest.approx(sum(i * c for i, c in spans) / 0.302)
    sliver = _stats([(sample(0.002, 500.0), None, None, 1, 0.0, None)], interval=0.05)
    assert sliver.cpu_core_max == 500.0  # a phase of slivers only: its longest


def test_peak_rss_grows_with_allocation(child: Callable[[], Child]) -> None:
    c = child()
    with Profiler(c.pid, interval=0.05) as prof:
        with prof.phase("start"):
            time.sleep(0.3)
        with prof.phase("alloc"):
            c(f"alloc {200 * MiB}")
            time.sleep(0.3)
    report = prof.report()
    start, alloc = report.phases["start"], report.phases["alloc"]
    assert alloc.rss_max - start.rss_max >= 150 * MiB
    assert alloc.peak_rss - start.peak_rss >= 150 * MiB
    assert report.overall.peak_rss >= alloc.rss_max
    assert report.per_1000_users(2000) == report.overall.peak_rss / 2
    json.dumps(report.as_dict())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux only")
def test_peak_rss_catches_a_spike_between_samples(child: Callable[[], Child]) -> None:
    c = child()
    with Profiler(c.pid, interval=5.0) as prof:  # no regular sample during the run
        with prof.phase("before"):
            time.sleep(0.05)
        with prof.phase("spike"):
            c(f"spike {200 * MiB}")  # freed before the phase's closing sample
    phases = prof.report().phases
    assert phases["spike"].rss_max - phases["before"].rss_max < 50 * MiB
    assert phases["spike"].peak_rss - phases["before"].peak_rss >= 150 * MiB


def test_threads_and_open_files(child: Callable[[], Child]) -> None:
    c = child()
    with Profiler(c.pid, interval=0.05) as prof:
        with prof.phase("before"):
            time.sleep(0.2)
        with prof.phase("open"):
            c("open 20")
            c("threads 5")
            time.sleep(0.2)
    before, opened = prof.report().phases["before"], prof.report().phases["open"]
    assert opened.open_files_max >= 20
    assert opened.open_files_max - before.open_files_max >= 20
    assert opened.threads_max - before.threads_max >= 5


def test_phases_split_samples(child: Callable[[], Child]) -> None:
    c = child()
    windows: dict[str, tuple[float, float]] = {}
    interval = 0.05
    with Profiler(c.pid, interval=interval) as prof:
        time.sleep(0.2)
        for name in ("a", "b"):
            t0 = time.monotonic()
            with prof.phase(name):
                time.sleep(0.3)
            windows[name] = (t0, time.monotonic())
        time.sleep(0.2)
    order = [s.phase for s in prof.samples]
    runs = [p for i, p in enumerate(order) if i == 0 or order[i - 1] != p]
    assert runs == ["default", "a", "b", "default"]
    for s in prof.samples:
        if s.phase in windows:
            t0, t1 = windows[s.phase]
            assert t0 <= s.t <= t1
    report = prof.report()
    assert sum(p.samples for p in report.phases.values()) == report.overall.samples
    # Each phase spans its 0.3 s sleep and lies inside the test's window around the block,
    # give or take the boundary sample skipped when the last one is this fresh.
    fresh = min(0.01, interval / 4)
    for name in ("a", "b"):
        t0, t1 = windows[name]
        assert 0.3 - fresh <= report.phases[name].duration <= t1 - t0 + fresh, (name, t1 - t0)


def test_interval_and_own_overhead(child: Callable[[], Child]) -> None:
    c = child()
    interval = 0.05
    with Profiler(c.pid, interval=interval) as prof:
        time.sleep(1.5)
    report = prof.report()
    expected = report.duration / interval
    # Never more samples than intervals; fewer only for ticks skipped a whole interval late.
    assert 0.8 * expected <= len(prof.samples) <= expected + 2
    # Deadline-based: sample k stays near the first sample + k intervals, however late each
    # one wakes. A sampler sleeping an interval after each sample would drift by at least a
    # sample's cost per sample. The drift per sample is the median slope between every two
    # samples of different ticks (robust to a few late wake-ups, even ones placed on the
    # wrong tick).
    assert report.sampler_cpu_seconds > 0
    cost = report.sampler_cpu_seconds / len(prof.samples)
    regular = prof.samples[:-1]  # the last is stop()'s
    ticks = [round((s.t - regular[0].t) / interval) for s in regular]
    offsets = [s.t - regular[0].t - k * interval for s, k in zip(regular, ticks, strict=True)]
    pairs = itertools.combinations(zip(ticks, offsets, strict=True), 2)
    drift = statistics.median((o2 - o1) / (k2 - k1) for (k1, o1), (k2, o2) in pairs if k1 != k2)
    assert abs(drift) < cost / 2, (drift, cost)
    # Budgets, not speeds: a sample reads a few /proc files, far under a tenth of an interval
    # on a host several times slower than any we know; the Python process only samples.
    assert report.sampler_cpu_percent < 10
    assert 0 <= report.python_cpu_percent < 50


def test_child_exiting_mid_run_ends_sampling(child: Callable[[], Child]) -> None:
    c = child()
    interval = 0.05
    started = time.monotonic()
    with Profiler(c.pid, interval=interval) as prof:
        time.sleep(0.2)
        c("exit")  # not reaped yet: a zombie counts as gone
        deadline = time.monotonic() + 5
        while not prof.exited and time.monotonic() < deadline:
            time.sleep(0.02)
        assert prof.exited
        noticed = time.monotonic()
        c.proc.wait()
        with prof.phase("after"):  # phase changes after the exit are harmless
            pass
        time.sleep(4 * interval)
    report = prof.report()
    assert report.exited
    assert report.overall.samples == len(prof.samples) >= 2
    assert "after" not in report.phases
    # The span ends when the exit was noticed, not at stop() four intervals later (the
    # exit is marked a moment before the span's end is read: an interval of slack).
    assert 0.2 <= report.duration < noticed - started + interval, (report.duration, noticed)
