"""Bridge error paths with a driver stand-in that crashes, hangs or answers garbage; the
driver's process group and temporary directory; a real driver pinned to a CPU."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from csbench.bridge import CheckFailed, Driver, DriverError

FAKE = Path(__file__).parent / "fake_drivers" / "misbehave.py"


def fake(mode: str, timeout: float = 5.0) -> Driver:
    drv = Driver("/nonexistent", timeout=timeout, command=[sys.executable, str(FAKE), mode])
    assert drv.request("probe") == {"n": 0}
    return drv


def test_answers_are_returned_and_busy_clock_follows() -> None:
    drv = fake("echo")
    assert drv.request("anything") == {"n": 1}
    assert drv.busy_ns == 100
    drv.close()
    assert not drv.alive


def test_crash_raises_with_exit_code_and_stderr_tail() -> None:
    drv = fake("crash")
    with pytest.raises(DriverError) as info:
        drv.request("run")
    assert "exit 3" in str(info.value)
    assert "simulated crash in the driver" in info.value.stderr_tail
    assert not drv.tmp.exists()


def test_hang_times_out_kills_and_reports_stderr() -> None:
    drv = fake("hang", timeout=1.0)
    start = time.monotonic()
    with pytest.raises(DriverError, match="hung") as info:
        drv.request("run")
    assert time.monotonic() - start < 10
    assert "about to hang" in info.value.stderr_tail
    assert not drv.alive


def test_garbage_is_an_error_and_kills_the_driver() -> None:
    drv = fake("garbage")
    with pytest.raises(DriverError, match="garbage"):
        drv.request("run")
    assert not drv.alive


def test_reply_to_another_request_is_an_error() -> None:
    drv = fake("wrong_id")
    with pytest.raises(DriverError, match="answered request"):
        drv.request("run")


def test_failed_check_raises_check_failed_and_driver_lives_on() -> None:
    drv = fake("check")
    with pytest.raises(CheckFailed, match="expected uid 3, got 4"):
        drv.request("run")
    assert drv.alive
    drv.close()


def test_request_to_dead_driver_raises() -> None:
    drv = fake("crash")
    with pytest.raises(DriverError):
        drv.request("run")
    with pytest.raises(DriverError, match="not running"):
        drv.request("probe")


def test_driver_has_its_own_group_and_temp_dir_removed_on_close() -> None:
    drv = fake("env")
    env = drv.request("environment")
    tmp = Path(env["TMPDIR"])
    assert tmp == drv.tmp and tmp.is_dir()
    assert tmp.name.startswith(f"csbench-drv-{os.getpid()}-")
    assert os.getpgid(drv.pid) == drv.pid != os.getpgrp()
    drv.close()
    assert not tmp.exists()


def test_killed_driver_leaves_no_temp_dir() -> None:
    drv = fake("hang", timeout=0.5)
    with pytest.raises(DriverError, match="hung"):
        drv.request("run")
    assert not drv.alive and not drv.tmp.exists()


@pytest.mark.integration
def test_every_thread_of_a_pinned_driver_runs_on_its_cpus(npm_target: Path) -> None:
    cpu = max(os.sched_getaffinity(0))
    drv = Driver(npm_target, cpus={cpu})
    try:
        drv.probe()  # Bun's worker threads (JIT, GC, I/O) exist by now
        tasks = list(Path(f"/proc/{drv.pid}/task").iterdir())
        allowed = {
            t.name: next(
                line.split(":")[1].strip()
                for line in (t / "status").read_text().splitlines()
                if line.startswith("Cpus_allowed_list:")
            )
            for t in tasks
        }
    finally:
        drv.close()
    assert len(allowed) > 1, allowed
    assert set(allowed.values()) == {str(cpu)}, allowed
