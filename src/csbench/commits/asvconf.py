"""Run asv with csbench's asv.conf.json, optionally against a local repository.

asv has no option to override ``repo``; csbench writes a derived config under
``.asv/`` with the repository replaced and every path made absolute (asv resolves paths
and ``{conf_dir}`` against the config file's directory), and runs asv with it.
asv.conf.json itself is never edited.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from asv import util

from csbench.commits import hardware
from csbench.measure import atomic, procs
from csbench.measure.paths import project_root, work_dir

PATH_KEYS = ("benchmark_dir", "env_dir", "results_dir", "html_dir")
PROMPTING = ("machine", "quickstart", "rm")  # asv commands that may ask on the terminal
REPLACE_REFSPEC = "+refs/replace/*:refs/replace/*"
# csbench's asv plugin (the leading "." makes asv import a module of its own, not asv's)
ASV_PLUGIN = ".csbench.commits.asvplugin"


def load_conf(path: Path | None = None) -> dict[str, Any]:
    """asv.conf.json as a dict, read as asv reads it (// comments allowed)."""
    return util.load_json(str(path or project_root() / "asv.conf.json"), js_comments=True)


def derived_config(repo: str | None = None, name: str = "run", **overrides: Any) -> Path:
    """Write ``WORK/<name>.conf.json`` (csbench.measure.paths.work_dir): asv.conf.json with
    ``repo`` and ``overrides`` applied, its ``.asv/`` paths under the work directory."""
    root, work = project_root(), work_dir()
    conf = load_conf()
    for key in ("env_dir", "html_dir"):  # asv.conf.json's ".asv/env", ".asv/html"
        conf[key] = str(work / Path(conf[key]).relative_to(".asv"))
    if repo:
        local = Path(repo).expanduser()
        conf["repo"] = str(local.resolve()) if local.exists() else repo
    conf["plugins"] = [*conf.get("plugins", []), ASV_PLUGIN]
    conf.update(overrides)
    for key in PATH_KEYS:
        conf[key] = str((root / conf[key]).resolve())
    for key in ("build_command", "install_command", "uninstall_command"):
        conf[key] = [cmd.replace("{conf_dir}", str(root)) for cmd in conf[key]]
    return atomic.write_json(work / f"{name}.conf.json", conf, indent=2)


def git_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment that makes every git clone also fetch replace refs (repaired mirrors)."""
    env = dict(os.environ if base is None else base)
    n = int(env.get("GIT_CONFIG_COUNT", "0"))
    env[f"GIT_CONFIG_KEY_{n}"] = "remote.origin.fetch"
    env[f"GIT_CONFIG_VALUE_{n}"] = REPLACE_REFSPEC
    env["GIT_CONFIG_COUNT"] = str(n + 1)
    return env


def asv(
    args: list[str],
    config: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = False,
    capture: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m asv ARGS --config CONFIG`` (the subcommand must be ``args[0]``).

    asv runs in its own process group (unless it may prompt), so a Ctrl-C reaches csbench
    alone, which stops asv and its benchmark processes (csbench.measure.procs) and prints one line;
    its temporary files, and its benchmark processes' and drivers', go to a private TMPDIR
    removed when it ends."""
    cmd = [
        sys.executable,
        "-m",
        "asv",
        args[0],
        "--config",
        str(config or derived_config()),
        *args[1:],
    ]
    own_group = args[0] not in PROMPTING
    with procs.temp_dir("asv") as tmp:
        return subprocess.run(
            cmd,
            env={**git_env(env), "TMPDIR": tmp},
            check=check,
            text=True,
            capture_output=capture,
            stdin=subprocess.DEVNULL if own_group else None,  # a prompt fails, never stops
            process_group=0 if own_group else None,
        )


def ensure_machine(name: str | None = None, results_dirs: list[Path] | None = None) -> str:
    """Check ``name`` (default: derived from the hardware) against the hardware recorded
    for it (csbench.commits.hardware: results/NAME/machine.json, ``results_dirs``, its calibration)
    and register it with asv non-interactively."""
    root = project_root()
    dirs = [root / "results", *(results_dirs or [])]
    name = hardware.check_name(name, dirs, root / "benchmarks" / "thresholds")
    machine_file = Path.home() / ".asv-machine.json"
    known: dict[str, Any] = json.loads(machine_file.read_text()) if machine_file.is_file() else {}
    entry = known.get(name)
    # asv writes machine.json from this entry: without the hardware, a results directory
    # would not record what measured it (`asv machine --yes --machine NAME` stores the
    # name alone, and keeps a bare entry bare)
    if not isinstance(entry, dict) or any(key not in entry for key in hardware.FIELDS):
        hardware.register(name)
    return name
