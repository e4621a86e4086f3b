"""One machine name, one hardware. Figures are compared only within a machine name, so a
name is bound to the hardware it was first recorded on (CPU model, cores, memory, as asv's
``machine.json`` records them; the kernel may differ), and the default name is derived
from the hardware (``xeon-2core-24g``), never from the host name."""

from __future__ import annotations

import json
import re
from pathlib import Path

from asv.machine import Machine, MachineCollection

from csbench.measure.errors import UsageError

FIELDS = ("arch", "cpu", "num_cpu", "ram")
RAM_TOLERANCE = 0.05  # two VMs of one kind report memory a few MB apart
_NOISE_WORDS = {"intel", "amd", "cpu", "processor", "core", "with", "radeon", "graphics"}

Hardware = dict[str, str]


def this_host() -> Hardware:
    """This host's hardware as asv records it in machine.json."""
    found = Machine.get_defaults()
    return {key: str(found[key]) for key in FIELDS}


def register(name: str) -> None:
    """Record ``name`` with this host's hardware in asv's machine file (~/.asv-machine.json),
    as ``asv machine`` would with every answer its default."""
    MachineCollection.save(name, {**Machine.get_defaults(), "machine": name})


def differences(recorded: Hardware, host: Hardware) -> list[str]:
    """What differs between two records (memory within RAM_TOLERANCE counts as equal)."""
    out = []
    for key in FIELDS:
        old, new = str(recorded.get(key, "")), str(host.get(key, ""))
        if key == "ram" and old.isdigit() and new.isdigit():
            if abs(int(old) - int(new)) <= RAM_TOLERANCE * max(int(old), int(new)):
                continue
            old, new = f"{int(old) / 2**30:.1f} GiB", f"{int(new) / 2**30:.1f} GiB"
        if old != new:
            out.append(f"{key} {old!r} there, {new!r} here")
    return out


def default_name(host: Hardware) -> str:
    """A name from the hardware: the CPU model's telling words, cores, memory in GiB."""
    model = re.sub(r"\((r|tm)\)|@.*$|\d+-core", " ", host["cpu"].lower())
    words = [w for w in re.findall(r"[a-z0-9]+", model) if w not in _NOISE_WORDS][:3]
    ram = round(int(host["ram"]) / 2**30) if host["ram"].isdigit() else 0
    return "-".join([*(words or [host["arch"]]), f"{host['num_cpu']}core", f"{ram}g"])


def recorded(
    name: str, results_dirs: list[Path], thresholds: Path | None
) -> list[tuple[Path, Hardware]]:
    """Every record of ``name``'s hardware: machine.json in each results directory, and the
    ``hardware`` a calibration file stored."""
    found = []
    for results in results_dirs:
        path = results / name / "machine.json"
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except ValueError:
                raise UsageError(f"{path}: not JSON; cannot tell its hardware") from None
            if isinstance(data, dict) and all(key in data for key in FIELDS):
                found.append((path, {key: str(data[key]) for key in FIELDS}))
    if thresholds is not None and thresholds.is_file():
        try:
            data = json.loads(thresholds.read_text())
        except ValueError:
            data = {}  # a malformed thresholds file is named where it is read
        if isinstance(data, dict) and isinstance(data.get("hardware"), dict) and data["hardware"]:
            found.append((thresholds, {k: str(v) for k, v in data["hardware"].items()}))
    return found


def check_name(
    name: str | None,
    results_dirs: list[Path],
    thresholds_dir: Path | None = None,
    host: Hardware | None = None,
) -> str:
    """``name`` (default: derived from this host's hardware) if every record of it is of
    this host's hardware; UsageError naming the record, the difference and a free name."""
    host = host or this_host()
    name = name or default_name(host)

    def conflict(candidate: str) -> tuple[Path, list[str]] | None:
        thresholds = thresholds_dir / f"{candidate}.json" if thresholds_dir else None
        for source, hardware in recorded(candidate, results_dirs, thresholds):
            if diff := differences(hardware, host):
                return source, diff
        return None

    found = conflict(name)
    if found is None:
        return name
    source, diff = found
    base = default_name(host)
    free = next(n for n in (base, *(f"{base}-{i}" for i in range(2, 100))) if conflict(n) is None)
    raise UsageError(
        f"machine {name!r} was recorded on other hardware ({source}: {'; '.join(diff)}); "
        f"figures of two hardwares are not comparable: use --machine {free} "
        "(README: a new host joins)"
    )
