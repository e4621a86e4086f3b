"""The profiler on real child processes; the child's phases are driven over stdin/stdout."""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import psutil
import pytest

from csbench.profile import Profiler, Sample, _stats

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
    c = child()
    with Profiler(c.pid, interval=0.05) as prof:
        with prof.phase("busy"):
            c("busy")
            time.sleep(1.0)
            c("idle")
        with prof.phase("idle"):
            time.sleep(1.0)
    busy, idle = prof.report().phases["busy"], prof.report().phases["idle"]
    # One spinning core is ~100 %; the mean leaves room for a machine shared with other load,
    # the max still tells core percent (one core) from machine percent (<= 50 on two cores).
    assert busy.cpu_core_mean > 40, busy
    assert busy.cpu_core_max > 70, busy
    assert idle.cpu_core_mean < 10, idle
    cpus = psutil.cpu_count()
    for s in prof.samples:
        assert s.cpu_machine_percent == pytest.approx(s.cpu_core_percent / cpus)
    assert busy.cpu_machine_mean == pytest.approx(busy.cpu_core_mean / cpus)


def test_a_late_sample_leaves_the_regular_ones_in_the_max() -> None:
    """The max ignores boundary slivers, not the regular samples beside a late one."""

    def sample(interval: float, core: float) -> Sample:
        return Sample(0.0, "p", interval, core, core / 2, 1, None, 1, 1, None, None)

    spans = [(0.05, 90.0), (0.05, 80.0), (0.2, 10.0), (0.002, 500.0)]  # late, then a sliver
    stats = _stats([(sample(i, c), None, None, 1) for i, c in spans], interval=0.05)
    assert stats.cpu_core_max == 90.0
    assert stats.cpu_core_mean == pytest.approx(sum(i * c for i, c in spans) / 0.302)
    sliver = _stats([(sample(0.002, 500.0), None, None, 1)], interval=0.05)
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
    with Profiler(c.pid, interval=0.05) as prof:
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
    for name in ("a", "b"):  # each phase closed by its own boundary sample
        assert report.phases[name].duration == pytest.approx(0.3, abs=0.05)


def test_interval_and_own_overhead(child: Callable[[], Child]) -> None:
    c = child()
    interval = 0.05
    with Profiler(c.pid, interval=interval) as prof:
        time.sleep(1.5)
    report = prof.report()
    expected = report.duration / interval
    assert 0.8 * expected <= len(prof.samples) <= expected + 2
    # Deadline-based: the typical gap is the interval itself, not interval + sampling cost.
    gaps = [b.t - a.t for a, b in itertools.pairwise(prof.samples[:-1])]  # last: stop()'s
    assert statistics.median(gaps) == pytest.approx(interval, abs=1.5e-4)
    assert report.sampler_cpu_seconds > 0
    assert report.sampler_cpu_percent < 10
    assert 0 <= report.python_cpu_percent < 50


def test_child_exiting_mid_run_ends_sampling(child: Callable[[], Child]) -> None:
    c = child()
    with Profiler(c.pid, interval=0.05) as prof:
        time.sleep(0.2)
        c("exit")  # not reaped yet: a zombie counts as gone
        deadline = time.monotonic() + 5
        while not prof.exited and time.monotonic() < deadline:
            time.sleep(0.02)
        assert prof.exited
        c.proc.wait()
        with prof.phase("after"):  # phase changes after the exit are harmless
            pass
    report = prof.report()
    assert report.exited
    assert report.overall.samples == len(prof.samples) >= 2
    assert "after" not in report.phases
    assert report.duration < 2
