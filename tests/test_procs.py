"""csbench.measure.procs with real processes and directories: the sweep of temporary directories
whose owner is gone, and stopping a process tree whose members lead their own groups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from csbench.measure import procs


def dead_pid() -> int:
    """The pid of a process that ran and is gone (reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def test_sweep_removes_only_directories_of_owners_that_are_gone(tmp_path: Path) -> None:
    gone = dead_pid()
    stale = [tmp_path / f"csbench-drv-{gone}-abcd", tmp_path / f"csbench-mem-{gone}-Xy12Zq"]
    live = [tmp_path / f"csbench-ci-{os.getpid()}-ef", tmp_path / f"csbench-files-{os.getppid()}-1"]
    other = [tmp_path / "csbench-mem-D0jndK", tmp_path / f"pytest-{gone}-x", tmp_path / "csbench-"]
    for d in stale + live + other:
        (d / "sub").mkdir(parents=True)
        (d / "sub" / "file").write_text("x")
    (tmp_path / f"csbench-drv-{gone}-file").write_text("a file, not a directory")
    assert sorted(procs.sweep([tmp_path])) == sorted(stale)
    assert not any(d.exists() for d in stale)
    assert all(d.is_dir() for d in live + other)
    assert (tmp_path / f"csbench-drv-{gone}-file").is_file()


def test_sweep_sees_a_reused_pid(tmp_path: Path) -> None:
    """A live process that started after the directory was last changed is not its owner."""
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as proc:
        try:
            mine = tmp_path / f"csbench-drv-{proc.pid}-new"
            reused = tmp_path / f"csbench-drv-{proc.pid}-old"
            mine.mkdir()
            reused.mkdir()
            old = time.time() - 3600
            os.utime(reused, (old, old))
            assert procs.sweep([tmp_path]) == [reused]
            assert mine.is_dir()
        finally:
            proc.kill()


def test_names_carry_the_owner_and_remove_own_removes_them(tmp_path: Path) -> None:
    made = procs.mkdtemp("paired", tmp_path)
    assert made.name.startswith(f"csbench-paired-{os.getpid()}-") and made.is_dir()
    with procs.temp_dir("ci") as tmp:
        assert Path(tmp).name.startswith(procs.temp_prefix("ci"))
    assert not procs.owner_gone(made)
    keep = tmp_path / f"csbench-drv-{os.getppid()}-x"
    keep.mkdir()
    procs.remove_own([tmp_path])
    assert not made.exists() and keep.is_dir()


# A process tree like `csbench run`'s: this script (csbench) -> a child (asv) -> a
# grandchild leading its own process group (asv_runner, or a Bun driver) -> a member of
# that group that ignores SIGTERM. The script stops its children and reports.
TREE = r"""
import json, os, signal, subprocess, sys, time
from csbench.measure import procs

ready = sys.argv[1]  # the member creates it once it ignores SIGTERM
member = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    f"open({ready!r}, 'w').close(); time.sleep(60)"
)
leader = (
    "import subprocess, sys, time;"
    f"subprocess.Popen([sys.executable, '-c', {member!r}]); time.sleep(60)"
)
child = (
    "import subprocess, sys, time;"
    f"subprocess.Popen([sys.executable, '-c', {leader!r}], process_group=0); time.sleep(60)"
)
subprocess.Popen([sys.executable, "-c", child])
import psutil
me = psutil.Process()
while not os.path.exists(ready):
    time.sleep(0.02)
tree = [p.pid for p in me.children(recursive=True)]
start = time.monotonic()
procs.stop_children()
print(json.dumps({"tree": tree, "seconds": time.monotonic() - start}))
"""


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_stop_children_stops_a_tree_across_process_groups(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", TREE, str(tmp_path / "ready")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert len(report["tree"]) == 3
    # SIGTERM, a grace of STOP_GRACE_S for the member that ignores it, SIGKILL: under 2 s.
    assert report["seconds"] < 2.0, report
    assert not [pid for pid in report["tree"] if running(pid)]
