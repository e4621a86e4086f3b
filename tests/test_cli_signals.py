"""A real `csbench load` (npm Collection Store, a tiny scenario file) stopped by SIGTERM,
SIGINT, SIGHUP or SIGKILL: within 2 s no process of its Bun driver's group runs and no
temporary directory of it remains; one line on stderr; a killed csbench's directory is
swept by the next csbench start. Each run has a private TMPDIR, so the test sees exactly
the directories it made (and sweeps no one else's)."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from helpers import write_scenario

pytestmark = pytest.mark.integration

REQUIRED_S = 2.0  # the requirement: driver group gone and temp dirs removed within 2 s
POLL_S = 15.0  # how long the test waits before it gives up: the verdict is REQUIRED_S
PROGRESS = re.compile(r"^(setup|prepare|ramp_up|steady|ramp_down|drain)\s+t=")


class Load:
    """`csbench load tiny --duration 30` in a subprocess with its own TMPDIR."""

    def __init__(self, tmp_path: Path, quiet: bool = False) -> None:
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir()
        scenarios = write_scenario(tmp_path / "scenarios").parent
        cmd = [sys.executable, "-m", "csbench.cli", "load", "tiny", "--scenarios", str(scenarios)]
        self.proc = subprocess.Popen(
            [*cmd, "--duration", "30", *(["--quiet"] if quiet else [])],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "TMPDIR": str(self.tmp)},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def driver(self) -> psutil.Process:
        """The Bun driver (or setpriv about to exec it: same pid and group), once it runs."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"csbench load ended: {self.rest_of_stderr()}")
            for kid in psutil.Process(self.proc.pid).children():
                with contextlib.suppress(psutil.Error):  # exec'd, not just forked
                    if any(arg.endswith("main.ts") for arg in kid.cmdline()):
                        return kid
            time.sleep(0.05)
        raise AssertionError("no driver started within 120 s")

    def wait_progress(self) -> None:
        """Until the scenario runs: its first progress line."""
        while True:
            line = self.lines.get(timeout=120)
            assert line is not None, f"csbench load ended: {self.stderr}"
            self.stderr.append(line)
            if PROGRESS.match(line):
                return

    def rest_of_stderr(self) -> list[str]:
        while (line := self.lines.get(timeout=POLL_S)) is not None:
            self.stderr.append(line)
        return self.stderr


def group_running(pgid: int) -> bool:
    """Whether any process of group ``pgid`` runs (zombies have ended)."""
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(proc.pid) == pgid:
                return True
        except (psutil.Error, OSError):
            pass
    return False


def seconds_until(done: callable, limit: float = POLL_S) -> float:
    start = time.monotonic()
    while not done():
        assert time.monotonic() - start < limit, f"not done after {limit} s"
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_stops_the_busy_driver_and_removes_its_dirs(
    tmp_path: Path, npm_target: Path, signo: signal.Signals
) -> None:
    load = Load(tmp_path)
    driver = load.driver()
    pgid = os.getpgid(driver.pid)
    assert pgid == driver.pid != os.getpgid(load.proc.pid)  # the driver leads its own group
    load.wait_progress()  # the driver is busy running the scenario
    assert list(load.tmp.glob(f"csbench-drv-{load.proc.pid}-*"))  # its private TMPDIR
    os.kill(load.proc.pid, signo)
    took = seconds_until(
        lambda: (
            load.proc.poll() is not None and not group_running(pgid) and not any(load.tmp.iterdir())
        )
    )
    assert took < REQUIRED_S, took
    assert load.proc.returncode == 128 + signo
    lines = load.rest_of_stderr()
    # Progress lines printed before the signal, then one line and nothing else.
    assert all(PROGRESS.match(line) for line in lines[:-1]), lines
    assert lines[-1] == f"csbench load: interrupted ({signo.name})", lines


def test_ctrl_c_prints_exactly_one_line(tmp_path: Path, npm_target: Path) -> None:
    load = Load(tmp_path, quiet=True)
    driver = load.driver()
    time.sleep(1.0)  # into the data load or the scenario: either way one line
    os.kill(load.proc.pid, signal.SIGINT)
    took = seconds_until(lambda: load.proc.poll() is not None and not group_running(driver.pid))
    assert took < REQUIRED_S, took
    assert load.rest_of_stderr() == ["csbench load: interrupted (SIGINT)"]
    assert load.proc.returncode == 130
    assert not any(load.tmp.iterdir())


def test_a_killed_csbench_leaves_a_dir_that_the_next_start_sweeps(
    tmp_path: Path, npm_target: Path
) -> None:
    load = Load(tmp_path)
    driver = load.driver()
    load.wait_progress()
    left = list(load.tmp.glob(f"csbench-drv-{load.proc.pid}-*"))
    load.proc.kill()  # SIGKILL: no handler runs
    load.proc.wait()
    # The kernel kills the driver with its parent (setpriv --pdeathsig).
    assert seconds_until(lambda: not group_running(driver.pid)) < REQUIRED_S
    assert left and all(d.is_dir() for d in left)
    env = {**os.environ, "TMPDIR": str(load.tmp)}
    out = subprocess.run(
        [sys.executable, "-m", "csbench.cli", "--help"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert not any(d.exists() for d in left)
