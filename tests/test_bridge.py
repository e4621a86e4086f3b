"""Bridge error paths with a driver stand-in that crashes, hangs or answers garbage."""

from __future__ import annotations

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


def test_hang_times_out_kills_and_reports_stderr() -> None:
    timeout = 1.0
    drv = fake("hang", timeout=timeout)
    start = time.monotonic()
    with pytest.raises(DriverError, match="hung") as info:
        drv.request("run")
    # It waited out its timeout; the upper bound only tells a kill from a hang (the test
    # would otherwise hit pytest's own limit): killing a process takes milliseconds.
    assert timeout <= time.monotonic() - start < 10 * timeout
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
