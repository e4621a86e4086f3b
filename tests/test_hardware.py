"""One machine name, one hardware (csbench.commits.hardware): a name recorded on other hardware is
refused with one line and a free name; the default name comes from the hardware."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from csbench.commits import hardware
from csbench.measure.errors import UsageError

XEON = {"arch": "x86_64", "cpu": "Intel(R) Xeon(R) Processor", "num_cpu": "2",
        "ram": "25276510208"}  # fmt: skip
EPYC = {**XEON, "cpu": "AMD EPYC 7763 64-Core Processor", "num_cpu": "4", "ram": "8589934592"}


def record(results: Path, name: str, hw: dict[str, str]) -> Path:
    path = results / name / "machine.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**hw, "machine": name, "os": "Linux 6.1", "version": 1}))
    return path


@pytest.mark.parametrize(
    ("cpu", "name"),
    [
        ("Intel(R) Xeon(R) Processor", "xeon-2core-24g"),
        ("AMD EPYC 7763 64-Core Processor", "epyc-7763-2core-24g"),
        ("Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz", "xeon-platinum-8370c-2core-24g"),
        ("", "x86_64-2core-24g"),
    ],
)
def test_the_default_name_comes_from_the_hardware(cpu: str, name: str) -> None:
    assert hardware.default_name({**XEON, "cpu": cpu}) == name


def test_memory_a_few_megabytes_apart_and_another_kernel_are_the_same_hardware() -> None:
    assert hardware.differences(XEON, {**XEON, "ram": "25325268992"}) == []
    diff = hardware.differences(XEON, EPYC)
    assert [d.split()[0] for d in diff] == ["cpu", "num_cpu", "ram"]
    assert "23.5 GiB" in diff[2] and "8.0 GiB" in diff[2]


def test_a_name_recorded_on_other_hardware_is_refused_with_a_free_name(tmp_path: Path) -> None:
    results = tmp_path / "results"
    stored = record(results, "xeon-2core-24g", XEON)
    assert hardware.check_name("xeon-2core-24g", [results], host=XEON) == "xeon-2core-24g"
    assert hardware.check_name(None, [results], host=XEON) == "xeon-2core-24g"
    record(results, "epyc-7763-4core-8g", {**EPYC, "num_cpu": "64"})  # taken, other cores
    with pytest.raises(UsageError) as info:
        hardware.check_name("xeon-2core-24g", [results], host=EPYC)
    message = str(info.value)
    assert str(stored) in message and "cpu 'Intel(R) Xeon(R) Processor' there" in message
    assert message.endswith("use --machine epyc-7763-4core-8g-2 (README: a new host joins)")


def test_a_calibration_records_its_hardware_too(tmp_path: Path) -> None:
    thresholds = tmp_path / "thresholds"
    thresholds.mkdir()
    (thresholds / "box.json").write_text(json.dumps({"hardware": XEON}))
    assert hardware.check_name("box", [], thresholds, host=XEON) == "box"
    with pytest.raises(UsageError, match=r"box\.json: cpu"):
        hardware.check_name("box", [], thresholds, host=EPYC)


def test_run_refuses_a_name_of_other_hardware_before_writing_anything(tmp_path: Path) -> None:
    """The stored record says another CPU than this host's: one line, exit 2, the record
    and the results directory as they were."""
    results = tmp_path / "results"
    host = hardware.this_host()
    other = {**host, "cpu": host["cpu"] + " (another model)"}
    stored = record(results, "csbench-hw-test", other)
    before = stored.read_text()
    for args in (
        ["run", "--machine", "csbench-hw-test", "--results", str(results), "HEAD^!"],
        ["asv", "--results", str(results), "run", "--machine", "csbench-hw-test", "HEAD^!"],
    ):
        out = subprocess.run(
            [sys.executable, "-m", "csbench.cli", *args], capture_output=True, text=True
        )
        assert out.returncode == 2, out.stderr
        assert out.stderr.count("\n") == 1 and "recorded on other hardware" in out.stderr
        assert f"use --machine {hardware.default_name(host)}" in out.stderr
    assert stored.read_text() == before and sorted(results.rglob("*")) == [stored.parent, stored]


def test_a_registered_machine_records_its_hardware_for_asv() -> None:
    """asv copies ~/.asv-machine.json's entry into each results directory's machine.json:
    the entry holds the hardware, and a bare one (the name alone) is completed."""
    from csbench.commits import asvconf

    machine_file = Path.home() / ".asv-machine.json"  # the test session's HOME
    name = "csbench-hardware-test"
    data = json.loads(machine_file.read_text()) if machine_file.is_file() else {"version": 1}
    machine_file.write_text(json.dumps({**data, name: {"machine": name}}))
    assert asvconf.ensure_machine(name) == name
    entry = json.loads(machine_file.read_text())[name]
    assert {key: entry[key] for key in hardware.FIELDS} == hardware.this_host()
