"""Load scenarios as data (benchmarks/scenarios/*.yaml): weighted operations run by virtual
users against one database inside one Bun process, with phases, a data tier and criteria.

A virtual user is a concurrent session in the driver's process. ``closed``: ``users``
sessions, each waiting ``think_time_ms`` after every operation. ``open``: operations start
at ``arrival_rate`` per second, spread over at most ``users`` sessions. Units: seconds for
phases, ms for latencies, operations/s for throughput, percent for error rate and CPU, MiB
for memory. A malformed file is refused with one single-line ScenarioError naming the file,
the scenario and the dotted key; ``read_directory`` reads a directory file by file, so that a
bad file costs only its own scenarios.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from csbench.measure import yamlfile
from csbench.measure.datagen import TIERS
from csbench.measure.paths import project_root

MODELS = ("closed", "open")
NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
WEIGHT_TOTAL = 100

# load op -> area (the driver adapter that runs it)
KNOWN_OPS: dict[str, str] = {
    "login": "auth",
    "validate_token": "auth",
    "refresh_token": "auth",
    "logout": "auth",
    "find": "core",
    "insert": "core",
    "update": "core",
    "range_query": "core",
    "subscribe": "realtime",
    "publish": "realtime",
    "cross_tab_sync": "realtime",
    "unsubscribe": "realtime",
    "upload": "files",
    "download": "files",
    "compute": "computed",
    "call_function": "functions",
}


def default_scenarios_dir() -> Path:
    return project_root() / "benchmarks" / "scenarios"


class ScenarioError(ValueError):
    """A malformed scenario file; the one-line message names the file, scenario and key."""


@dataclass(frozen=True)
class Operation:
    op: str
    weight: float  # percent of the operations
    p95_ms: float | None = None

    @property
    def area(self) -> str:
        return KNOWN_OPS[self.op]


@dataclass(frozen=True)
class Phases:
    ramp_up: float
    steady: float
    ramp_down: float

    @property
    def total(self) -> float:
        return self.ramp_up + self.steady + self.ramp_down


@dataclass(frozen=True)
class Criteria:
    p95_ms: float
    min_throughput: float  # operations/s in the steady phase
    max_error_rate: float  # percent of operations
    max_rss_mb_per_1000_users: float | None = None
    max_cpu_percent: float | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    source: str
    model: str
    users: int
    think_time_ms: float | None  # closed model
    arrival_rate: float | None  # open model, operations/s
    phases: Phases
    tier: str
    documents: int
    operations: tuple[Operation, ...]
    criteria: Criteria

    @property
    def slug(self) -> str:
        """The asv param value (names are validated kebab-case, so the name itself)."""
        return self.name

    @property
    def duration(self) -> float:
        """Seconds of ramp-up, steady and ramp-down."""
        return self.phases.total


class _Invalid(Exception):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(key, problem)
        self.key, self.problem = key, problem


def _type_name(value: Any) -> str:
    return {bool: "bool", dict: "mapping", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where and not key.startswith("[") else f"{where}{key}"


def _only(data: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(str(k) for k in set(data) - set(allowed))
    if unknown:
        raise _Invalid(_join(where, unknown[0]), f"unknown key (expected: {', '.join(allowed)})")


def _value(data: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    dotted = _join(where, key)
    if key not in data:
        raise _Invalid(dotted, "missing")
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        expected = {dict: "mapping", list: "list", str: "str", int: "int"}.get(kind, "number")
        raise _Invalid(dotted, f"expected {expected}, got {_type_name(value)}")
    if isinstance(value, str) and not value.strip():
        raise _Invalid(dotted, "empty")
    return value


def _number(
    data: dict[str, Any],
    key: str,
    where: str = "",
    *,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
) -> float:
    value = _value(data, key, where, (int, float))
    dotted = _join(where, key)
    if not math.isfinite(value):
        raise _Invalid(dotted, f"expected a finite number, got {value}")
    if above is not None and not value > above:
        raise _Invalid(dotted, f"must be > {above:g}, got {value:g}")
    if at_least is not None and value < at_least:
        raise _Invalid(dotted, f"must be >= {at_least:g}, got {value:g}")
    if at_most is not None and value > at_most:
        raise _Invalid(dotted, f"must be <= {at_most:g}, got {value:g}")
    return value


def _optional_number(data: dict[str, Any], key: str, where: str, **bounds: float) -> float | None:
    """``_number``, or None when the key is absent or null."""
    return None if data.get(key) is None else _number(data, key, where, **bounds)


def _count(data: dict[str, Any], key: str) -> int:
    value = _value(data, key, "", int)
    if value < 1:
        raise _Invalid(key, f"must be >= 1, got {value}")
    return value


def _choice(data: dict[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = _value(data, key, "", str)
    if value not in choices:
        raise _Invalid(key, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _operations(data: dict[str, Any]) -> tuple[Operation, ...]:
    entries = _value(data, "operations", "", list)
    if not entries:
        raise _Invalid("operations", "expected a non-empty list")
    ops: list[Operation] = []
    for i, entry in enumerate(entries):
        where = f"operations[{i}]"
        if not isinstance(entry, dict):
            raise _Invalid(where, f"expected mapping, got {_type_name(entry)}")
        _only(entry, tuple(Operation.__dataclass_fields__), where)
        op = _value(entry, "op", where, str)
        if op not in KNOWN_OPS:
            raise _Invalid(f"{where}.op", f"unknown op {op!r} (known: {', '.join(KNOWN_OPS)})")
        if any(o.op == op for o in ops):
            raise _Invalid(f"{where}.op", f"duplicate op {op!r}")
        weight = _number(entry, "weight", where, above=0)
        p95 = _optional_number(entry, "p95_ms", where, above=0)
        ops.append(Operation(op, weight, p95))
    total = sum(o.weight for o in ops)
    if not math.isclose(total, WEIGHT_TOTAL, abs_tol=1e-9):
        raise _Invalid("operations", f"weights sum to {total:g}, not {WEIGHT_TOTAL}")
    return tuple(ops)


def _phases(data: dict[str, Any]) -> Phases:
    phases = _value(data, "phases", "", dict)
    _only(phases, tuple(Phases.__dataclass_fields__), "phases")
    return Phases(
        ramp_up=_number(phases, "ramp_up", "phases", at_least=0),
        steady=_number(phases, "steady", "phases", above=0),
        ramp_down=_number(phases, "ramp_down", "phases", at_least=0),
    )


def _criteria(data: dict[str, Any]) -> Criteria:
    crit = _value(data, "criteria", "", dict)
    w = "criteria"
    _only(crit, tuple(Criteria.__dataclass_fields__), w)
    return Criteria(
        p95_ms=_number(crit, "p95_ms", w, above=0),
        min_throughput=_number(crit, "min_throughput", w, at_least=0),
        max_error_rate=_number(crit, "max_error_rate", w, at_least=0, at_most=100),
        max_rss_mb_per_1000_users=_optional_number(crit, "max_rss_mb_per_1000_users", w, above=0),
        max_cpu_percent=_optional_number(crit, "max_cpu_percent", w, above=0, at_most=100),
    )


def _scenario(data: dict[str, Any]) -> Scenario:
    _only(data, tuple(Scenario.__dataclass_fields__), "")
    name = _value(data, "name", "", str)
    if not NAME_PATTERN.match(name):
        raise _Invalid("name", f"{name!r} is not kebab-case")
    description = _value(data, "description", "", str)
    source = _value(data, "source", "", str)
    model = _choice(data, "model", MODELS)
    users = _count(data, "users")
    needed, forbidden = (
        ("think_time_ms", "arrival_rate")
        if model == "closed"
        else ("arrival_rate", "think_time_ms")
    )
    if forbidden in data:
        raise _Invalid(forbidden, f"not allowed with model {model!r} (it uses {needed})")
    think = _number(data, "think_time_ms", at_least=0) if model == "closed" else None
    rate = _number(data, "arrival_rate", above=0) if model == "open" else None
    return Scenario(
        name=name,
        description=description,
        source=source,
        model=model,
        users=users,
        think_time_ms=think,
        arrival_rate=rate,
        phases=_phases(data),
        tier=_choice(data, "tier", TIERS),
        documents=_count(data, "documents"),
        operations=_operations(data),
        criteria=_criteria(data),
    )


def _where(path: Path, index: int, entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    named = f"scenario {name!r} (scenarios[{index}])" if isinstance(name, str) else None
    return f"{path}: {named or f'scenarios[{index}]'}"


def _check_unique(seen: dict[str, tuple[Path, int]], path: Path, scenarios: list[Scenario]) -> None:
    for i, scenario in enumerate(scenarios):
        if scenario.name in seen:
            other, j = seen[scenario.name]
            raise ScenarioError(
                f"{path}: scenario {scenario.name!r} (scenarios[{i}]): key 'name': "
                f"duplicate of {other} (scenarios[{j}])"
            )
        seen[scenario.name] = (path, i)


def load_scenarios(path: Path | str) -> list[Scenario]:
    """Read and validate one file holding ``scenarios: [...]``."""
    path = Path(path)
    try:
        data = yamlfile.load(path)
    except yamlfile.YamlFileError as exc:
        raise ScenarioError(str(exc)) from None
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{path}: key 'scenarios': expected a mapping holding it, got {_type_name(data)}"
        )
    try:
        _only(data, ("scenarios",), "")
        entries = _value(data, "scenarios", "", list)
    except _Invalid as exc:
        raise ScenarioError(f"{path}: key '{exc.key}': {exc.problem}") from None
    if not entries:
        raise ScenarioError(f"{path}: key 'scenarios': expected a non-empty list")
    scenarios = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ScenarioError(
                f"{path}: scenarios[{i}]: expected a mapping, got {_type_name(entry)}"
            )
        try:
            scenarios.append(_scenario(entry))
        except _Invalid as exc:
            raise ScenarioError(
                f"{_where(path, i, entry)}: key '{exc.key}': {exc.problem}"
            ) from None
    _check_unique({}, path, scenarios)
    return scenarios


def load_all(directory: Path | str | None = None) -> list[Scenario]:
    """Every scenario of ``directory``/*.yaml (default benchmarks/scenarios), names unique;
    the first bad file raises its ScenarioError."""
    catalog = read_directory(directory)
    if catalog.problem:
        raise ScenarioError(catalog.problem)
    if catalog.bad_files:
        raise ScenarioError(catalog.bad_files[0].error)
    return list(catalog.scenarios.values())


@dataclass(frozen=True)
class BadFile:
    """A scenario file that does not load: its one-line error and the scenario names it
    still shows (the ``name`` of each entry that has one, else the file's stem)."""

    path: Path
    error: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    """The scenario files of a directory, read one by one: a bad file costs only its own
    scenarios. ``names`` lists every scenario name in file order, the bad files' included
    (so asv's param values stay those of the files, whichever of them is broken)."""

    directory: Path
    scenarios: dict[str, Scenario]  # the valid ones
    bad_files: tuple[BadFile, ...]
    names: tuple[str, ...]
    problem: str | None = None  # the directory itself: missing, or no *.yaml in it

    def error_of(self, name: str) -> str | None:
        """The error of the bad file that shows scenario ``name``, if one does."""
        return next((bad.error for bad in self.bad_files if name in bad.names), None)


def _names_shown(path: Path) -> tuple[str, ...]:
    """The scenario names a bad file still shows: each entry's string ``name`` if the YAML
    parses (PyYAML's plain loader, so a repeated key does not hide them), else none."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ()
    entries = data.get("scenarios") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return ()
    names = (e.get("name") for e in entries if isinstance(e, dict))
    return tuple(dict.fromkeys(n for n in names if isinstance(n, str) and n.strip()))


def read_directory(directory: Path | str | None = None) -> Catalog:
    """Every *.yaml of ``directory`` (default benchmarks/scenarios), file by file; never
    raises for a bad file. A name two files define is an error of the later file, and the
    name goes with the bad file (a name claimed twice is no valid scenario's)."""
    directory = Path(directory) if directory is not None else default_scenarios_dir()
    if not directory.is_dir():
        return Catalog(directory, {}, (), (), problem=f"{directory}: no such directory")
    files = sorted(directory.glob("*.yaml"))
    if not files:
        return Catalog(directory, {}, (), (), problem=f"{directory}: no *.yaml scenario files")
    seen: dict[str, tuple[Path, int]] = {}
    loaded: dict[Path, list[Scenario] | BadFile] = {}
    for path in files:
        try:
            found = load_scenarios(path)
            _check_unique(dict(seen), path, found)
        except ScenarioError as exc:
            loaded[path] = BadFile(path, str(exc), _names_shown(path))
            continue
        seen.update((s.name, (path, i)) for i, s in enumerate(found))
        loaded[path] = found
    claimed = {n for f in loaded.values() if isinstance(f, BadFile) for n in f.names}
    valid = {
        s.name: s
        for f in loaded.values()
        if not isinstance(f, BadFile)
        for s in f
        if s.name not in claimed
    }
    for path, f in loaded.items():
        if isinstance(f, BadFile) and not f.names:  # nothing readable: the stem stands for it
            stand_in = path.stem if path.stem not in valid else path.name
            loaded[path] = BadFile(path, f.error, (stand_in,))
    bad = tuple(f for f in loaded.values() if isinstance(f, BadFile))
    order = [n for f in loaded.values() for n in _file_names(f)]
    return Catalog(directory, valid, bad, tuple(dict.fromkeys(order)))


def _file_names(loaded: list[Scenario] | BadFile) -> tuple[str, ...]:
    return loaded.names if isinstance(loaded, BadFile) else tuple(s.name for s in loaded)
