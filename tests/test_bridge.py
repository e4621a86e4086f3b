"""Bridge error paths with a driver stand-in that crashes, hangs or answers garbage; and a
real driver stopped (SIGSTOP) or pinned to a CPU."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from csbench.measure.bridge import CheckFailed, Driver, DriverError

FAKE = Path(__file__).parent / "fake_drivers" / "misbehave.py"


def fake(mode: str, timeout: float = 5.0) -> Driver:
    drv = Driver("/nonexistent", timeout=timeout, command=[sys.executable, str(FAKE), mode])
    assert drv.request("probe", timeout=60) == {"n": 0}  # started, however loaded the host
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


# A request far larger than a pipe buffer (64 KiB, at most /proc/sys/fs/pipe-max-size).
BIG = 4 * 2**20


def test_reply_ok_without_busy_clock_is_an_error_naming_the_request() -> None:
    drv = fake("no_busy")
    with pytest.raises(DriverError, match=r"answered 'load' without \['busy_ns'\]"):
        drv.request("load")
    assert not drv.alive


def test_run_result_without_its_fields_is_an_error_naming_the_op() -> None:
    drv = fake("no_fields")
    with pytest.raises(DriverError) as info:
        drv.run("find_by_id", dataset="d", count=10)
    assert "'run' of 'find_by_id' without ['count', 'busy_ns', 'hist']" in str(info.value)


def test_result_without_an_expected_field_is_an_error() -> None:
    drv = fake("echo")
    with pytest.raises(DriverError, match=r"answered 'load_run' without \['phases'\]"):
        drv.request("load_run", expect=("phases",))


def test_write_to_a_driver_that_reads_nothing_keeps_the_deadline() -> None:
    drv = fake("deaf", timeout=1.0)
    start = time.monotonic()
    with pytest.raises(DriverError, match=r"driver hung: request 'load' not taken within 1 s"):
        drv.request("load", {"blob": "x" * BIG})
    elapsed = time.monotonic() - start
    assert 1.0 <= elapsed < 6.0, elapsed  # the deadline, plus the kill, on a slow host
    assert not drv.alive


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
def test_stopped_driver_and_a_request_larger_than_the_pipe(npm_target: Path) -> None:
    drv = Driver(npm_target)
    drv.probe()  # started (under the default deadline: a loaded host starts Bun slowly)
    os.kill(drv.pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        with pytest.raises(DriverError, match=r"driver hung: request 'hist_selftest' not taken"):
            drv.request("hist_selftest", {"values": [1] * (BIG // 2)}, timeout=2.0)
        elapsed = time.monotonic() - start
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(drv.pid, signal.SIGCONT)
        drv.close()
    assert 2.0 <= elapsed < 7.0, elapsed  # the deadline, plus the kill, on a slow host
    assert not drv.alive and not drv.tmp.exists()


@pytest.mark.integration
def test_stopped_driver_and_a_small_request_time_out(npm_target: Path) -> None:
    drv = Driver(npm_target)
    drv.probe()
    os.kill(drv.pid, signal.SIGSTOP)
    with pytest.raises(DriverError, match=r"driver hung: no answer to 'probe' within 1 s"):
        drv.request("probe", timeout=1.0)
    assert not drv.alive


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


@pytest.mark.integration
def test_a_reply_larger_than_the_pipe_waits_for_a_slow_reader(
    npm_target: Path, tmp_path: Path
) -> None:
    """The driver's stdout is a non-blocking pipe: a reply of megabytes (a load run's
    profile) meets a full pipe while its reader is busy, and must wait, not break the line."""
    import json
    import subprocess

    from csbench.measure import datagen
    from csbench.measure.bun import find_bun
    from csbench.measure.paths import DRIVER_MAIN

    proc = subprocess.Popen(
        [str(find_bun()), str(DRIVER_MAIN), "--target", str(npm_target)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        path = datagen.dataset_file("small", 1_000)
        requests = [
            {"id": 1, "op": "load", "args": {"dataset": "r", "path": str(path)}},
            {"id": 2, "op": "plain", "args": {"dataset": "r", "op": "find_by_id",
                                              "count": 100_000, "samples": True}},
        ]  # fmt: skip
        proc.stdin.write(b"".join(json.dumps(r).encode() + b"\n" for r in requests))
        proc.stdin.flush()
        time.sleep(3.0)  # a reader busy elsewhere: the reply fills the pipe meanwhile
        replies = [json.loads(proc.stdout.readline()) for _ in requests]
    finally:
        proc.kill()
        proc.wait()
    assert [r["id"] for r in replies] == [1, 2] and replies[1]["ok"], replies[1].get("error")
    assert len(replies[1]["result"]["samples_ns"]) == 100_000
