"""Named benchmark selections of ``csbench run --profile NAME``: benchmarks/presets.yaml,
the one place where they are kept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from csbench.measure import yamlfile
from csbench.measure.errors import UsageError
from csbench.measure.paths import project_root


class PresetError(UsageError):
    """A malformed presets file or an unknown preset; the message names the file and key."""


@dataclass(frozen=True)
class Preset:
    name: str
    about: str
    bench: tuple[str, ...]  # asv --bench regexes; none: every benchmark


def declared() -> Path:
    return project_root() / "benchmarks" / "presets.yaml"


def load(path: Path | None = None) -> dict[str, Preset]:
    """Every preset of the file (default benchmarks/presets.yaml), by name."""
    path = path or declared()
    try:
        data = yamlfile.load(path)
    except yamlfile.YamlFileError as exc:
        raise PresetError(str(exc)) from None
    if not isinstance(data, dict) or not data:
        raise PresetError(f"{path}: expected a mapping of preset names")
    out = {}
    for name, body in data.items():
        if not isinstance(body, dict) or set(body) != {"about", "bench"}:
            raise PresetError(f"{path}: key {name!r}: expected the keys about and bench")
        if not isinstance(body["bench"], list):
            raise PresetError(f"{path}: key '{name}.bench': expected a list of regexes")
        for pattern in body["bench"]:
            try:
                re.compile(str(pattern))
            except re.error as exc:
                raise PresetError(f"{path}: key '{name}.bench': {pattern!r}: {exc}") from None
        out[str(name)] = Preset(str(name), str(body["about"]), tuple(map(str, body["bench"])))
    return out


def named(name: str, path: Path | None = None) -> Preset:
    presets = load(path)
    if name not in presets:
        known = ", ".join(sorted(presets))
        raise PresetError(f"no preset {name!r} in {path or declared()} (known: {known})")
    return presets[name]
