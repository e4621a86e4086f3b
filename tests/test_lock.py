"""One heavy command per checkout (csbench.cli.lock), with real processes: a second one names
the holder and exits 3, or waits with --wait; the lock goes with its holder however it
exits."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from csbench.cli.lock import lock_file

HOLD = (
    "import sys, time\n"
    "from csbench.cli.lock import checkout_lock\n"
    "with checkout_lock('csbench ci BASE HEAD (the test holder)'):\n"
    "    print('held', flush=True)\n"
    "    time.sleep(600)\n"
)


@pytest.fixture
def holder():
    proc = subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    yield proc
    proc.kill()
    proc.wait()


def csbench(*args: str) -> list[str]:
    return [sys.executable, "-m", "csbench.cli", *args]


@pytest.mark.parametrize("command", ["run", "ci", "calibrate", "power", "builds"])
def test_a_second_heavy_command_names_the_holder_and_exits_3(holder, command: str) -> None:
    args = {"run": ["HEAD^!"], "ci": ["A", "B"]}.get(command, [])
    out = subprocess.run(csbench(command, *args), capture_output=True, text=True)
    assert out.returncode == 3, out.stderr
    assert out.stderr.count("\n") == 1
    assert f"pid {holder.pid}: csbench ci BASE HEAD (the test holder)" in out.stderr
    assert "--wait" in out.stderr


def test_wait_waits_for_the_holder_then_runs(holder, tmp_path: Path) -> None:
    waiter = subprocess.Popen(
        csbench("builds", "--wait", "--repo", str(tmp_path / "missing")),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert waiter.stderr is not None
    line = waiter.stderr.readline()  # said before it blocks
    assert f"waiting for pid {holder.pid}" in line, line
    assert waiter.poll() is None
    holder.send_signal(signal.SIGKILL)  # the lock goes with its holder, however it exits
    holder.wait()
    rest = waiter.stderr.read()
    assert waiter.wait(timeout=60) == 2 and "no such directory" in rest  # it ran


def test_light_commands_take_no_lock(holder) -> None:
    out = subprocess.run(csbench("targets", "--format", "json"), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert lock_file().exists()
