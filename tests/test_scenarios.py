"""Scenario files (benchmarks/scenarios/*.yaml): the shipped ones load with the plan's
numbers; a malformed one is refused with one single-line error naming file, scenario, key."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from csbench.load.scenarios import (
    KNOWN_OPS,
    ScenarioError,
    default_scenarios_dir,
    load_all,
    load_scenarios,
    read_directory,
)

SHIPPED = {
    "authentication",
    "database",
    "subscriptions",
    "files",
    "computed",
    "functions",
    "production-validation",
}
# The plan's scenarios: name -> (virtualUsers, rampUpTime, testDuration)
PLAN_LOAD = {
    "authentication": (1000, 60, 300),
    "database": (500, 30, 600),
    "subscriptions": (2000, 120, 900),
    "production-validation": (10000, 300, 3600),
}
VALID: dict[str, Any] = {
    "name": "tiny",
    "description": "A small valid scenario",
    "source": "test",
    "model": "closed",
    "users": 10,
    "think_time_ms": 100,
    "phases": {"ramp_up": 1, "steady": 5, "ramp_down": 0},
    "tier": "small",
    "documents": 1000,
    "operations": [
        {"op": "find", "weight": 60, "p95_ms": 5},
        {"op": "insert", "weight": 30},
        {"op": "update", "weight": 10, "p95_ms": 6},
    ],
    "criteria": {"p95_ms": 10, "min_throughput": 10, "max_error_rate": 0.1},
}


def write(path: Path, *scenarios: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"scenarios": list(scenarios)}, sort_keys=False))
    return path


def test_every_shipped_file_loads() -> None:
    files = sorted(default_scenarios_dir().glob("*.yaml"))
    assert {p.stem for p in files} == SHIPPED
    for path in files:
        (scenario,) = load_scenarios(path)
        assert scenario.name == path.stem == scenario.slug
        assert scenario.source
    assert {s.name for s in load_all()} == SHIPPED


@pytest.mark.parametrize("name", sorted(PLAN_LOAD))
def test_plan_users_and_durations(name: str) -> None:
    scenario = {s.name: s for s in load_all()}[name]
    users, ramp_up, duration = PLAN_LOAD[name]
    assert (scenario.users, scenario.phases.ramp_up, scenario.duration) == (
        users,
        ramp_up,
        duration,
    )


def test_production_validation_has_the_plan_mix() -> None:
    prod = {s.name: s for s in load_all()}["production-validation"]
    assert prod.users == 10_000
    assert prod.model == "closed"
    weights: Counter[str] = Counter()
    for op in prod.operations:
        weights[KNOWN_OPS[op.op]] += op.weight
    assert weights == {
        "auth": 20,
        "core": 40,
        "realtime": 20,
        "files": 10,
        "computed": 5,
        "functions": 5,
    }
    assert prod.criteria.p95_ms == 100
    assert prod.criteria.min_throughput == 1000
    assert prod.criteria.max_error_rate == 0.01
    assert prod.criteria.max_cpu_percent == 70


def test_valid_scenario_fields(tmp_path: Path) -> None:
    (s,) = load_scenarios(write(tmp_path / "ok.yaml", VALID))
    assert s.duration == 6
    assert s.arrival_rate is None and s.think_time_ms == 100
    assert s.operations[1].p95_ms is None
    assert s.criteria.max_rss_mb_per_1000_users is None
    opened = {**VALID, "model": "open", "arrival_rate": 50.5}
    del opened["think_time_ms"]
    (o,) = load_scenarios(write(tmp_path / "open.yaml", opened))
    assert (o.model, o.arrival_rate, o.think_time_ms) == ("open", 50.5, None)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting (or, for value ..., deleting) a dotted key such as operations.1.op."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if value is ...:
            del node[key]
        else:
            node[key] = value

    return mutate


def _weights_90(data: dict[str, Any]) -> None:
    data["operations"].pop()  # drop update's 10: 60 + 30


def _open_without_rate(data: dict[str, Any]) -> None:
    data["model"] = "open"
    del data["think_time_ms"]


MALFORMED = {
    "weights-90": (_weights_90, "operations", "weights sum to 90, not 100"),
    "unknown-op": (_set("operations.1.op", "fly"), "operations[1].op", "unknown op 'fly'"),
    "missing-key": (_set("phases.steady", ...), "phases.steady", "missing"),
    "missing-name": (_set("name", ...), "name", "missing"),
    "wrong-type": (_set("users", "many"), "users", "expected int, got str"),
    "bool-as-int": (_set("users", True), "users", "expected int, got bool"),
    "bool-as-number": (_set("operations.0.weight", True), "operations[0].weight", "got bool"),
    "unknown-key": (_set("colour", "red"), "colour", "unknown key"),
    "unknown-nested-key": (_set("criteria.p99_ms", 3), "criteria.p99_ms", "unknown key"),
    "open-without-arrival-rate": (_open_without_rate, "arrival_rate", "missing"),
    "closed-with-arrival-rate": (_set("arrival_rate", 5), "arrival_rate", "not allowed"),
    "zero-steady": (_set("phases.steady", 0), "phases.steady", "must be > 0"),
    "unknown-tier": (_set("tier", "huge"), "tier", "'huge' is not one of"),
    "bad-model": (_set("model", "mixed"), "model", "'mixed' is not one of"),
    "duplicate-op": (_set("operations.1.op", "find"), "operations[1].op", "duplicate op"),
    "not-kebab": (_set("name", "Tiny Load"), "name", "not kebab-case"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_scenario_is_refused(tmp_path: Path, case: str) -> None:
    mutate, key, problem = MALFORMED[case]
    data = copy.deepcopy(VALID)
    mutate(data)
    path = write(tmp_path / "bad.yaml", data)
    with pytest.raises(ScenarioError) as info:
        load_scenarios(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert f"key '{key}'" in message
    assert problem in message
    if "name" in data:
        assert f"scenario {data['name']!r} (scenarios[0])" in message
    else:
        assert "scenarios[0]" in message


FILE_LEVEL = {
    "not-yaml": ("scenarios: [\n  - name: x\n   bad: [1, 2\n", None, "not valid YAML"),
    "top-level-not-mapping": ("- name: x\n- name: y\n", "scenarios", "got list"),
    "scenarios-not-list": ("scenarios: {name: x}\n", "scenarios", "expected list"),
    "no-scenarios-key": ("scenario: []\n", "scenario", "unknown key"),
}


@pytest.mark.parametrize("case", sorted(FILE_LEVEL))
def test_malformed_file_is_refused(tmp_path: Path, case: str) -> None:
    text, key, problem = FILE_LEVEL[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenarios(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert problem in message
    if key:
        assert f"key '{key}'" in message


def test_duplicate_name_across_files(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", VALID)
    second = write(tmp_path / "b.yaml", {**VALID, "description": "another"})
    with pytest.raises(ScenarioError) as info:
        load_all(tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{second}: scenario 'tiny' (scenarios[0]): key 'name': ")
    assert f"duplicate of {first}" in message


def test_duplicate_name_in_one_file(tmp_path: Path) -> None:
    path = write(tmp_path / "a.yaml", VALID, VALID)
    with pytest.raises(ScenarioError, match=r"scenario 'tiny' \(scenarios\[1\]\): key 'name'"):
        load_scenarios(path)


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path: Path) -> None:
    text = yaml.safe_dump({"scenarios": [VALID]}, sort_keys=False)
    text = text.replace("  users: 10\n", "  users: 10\n  users: 1000000000\n")
    path = tmp_path / "twice.yaml"
    path.write_text(text)
    line = 1 + text.splitlines().index("  users: 10")
    with pytest.raises(ScenarioError) as info:
        load_scenarios(path)
    message = str(info.value)
    assert "\n" not in message
    assert message == f"{path}: key 'users' at line {line + 1} repeats the key of line {line}"


def _bad(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "operations": data["operations"][:1]}  # weights sum to 60


def test_read_directory_keeps_the_valid_files(tmp_path: Path) -> None:
    """One bad file among valid ones costs only its own scenarios; every name keeps its
    place in file order, so asv's params are those of the files."""
    write(tmp_path / "a.yaml", {**VALID, "name": "a"})
    bad = write(tmp_path / "b.yaml", _bad({**VALID, "name": "b"}), {**VALID, "name": "b-two"})
    write(tmp_path / "c.yaml", {**VALID, "name": "c"})
    catalog = read_directory(tmp_path)
    assert list(catalog.scenarios) == ["a", "c"]
    assert catalog.names == ("a", "b", "b-two", "c")
    (broken,) = catalog.bad_files
    assert broken.path == bad and broken.names == ("b", "b-two")
    assert broken.error.startswith(f"{bad}: scenario 'b' (scenarios[0]): key 'operations': ")
    assert catalog.error_of("b-two") == catalog.error_of("b") == broken.error
    assert catalog.error_of("a") is None and catalog.problem is None
    with pytest.raises(ScenarioError, match="weights sum to 60"):
        load_all(tmp_path)


def test_an_unreadable_file_stands_as_its_stem(tmp_path: Path) -> None:
    """A file with no readable name is its stem, or its file name when a valid file
    defines a scenario of that name."""
    write(tmp_path / "a.yaml", {**VALID, "name": "a"})
    (tmp_path / "b.yaml").write_text("scenarios: [\n  - name: b\n   x: [1\n")
    write(tmp_path / "c.yaml", {**VALID, "name": "b"})
    (tmp_path / "d.yaml").write_text("")
    catalog = read_directory(tmp_path)
    assert list(catalog.scenarios) == ["a", "b"]
    assert catalog.names == ("a", "b.yaml", "b", "d")
    assert "not valid YAML" in (catalog.error_of("b.yaml") or "")
    assert catalog.error_of("b") is None
    assert "key 'scenarios'" in (catalog.error_of("d") or "")


def test_a_name_two_files_define_is_the_bad_files(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", VALID)
    second = write(tmp_path / "b.yaml", {**VALID, "description": "another"})
    catalog = read_directory(tmp_path)
    assert catalog.scenarios == {} and catalog.names == ("tiny",)
    error = catalog.error_of("tiny") or ""
    assert error.startswith(f"{second}: scenario 'tiny' (scenarios[0]): key 'name': ")
    assert f"duplicate of {first}" in error


def test_read_directory_without_files(tmp_path: Path) -> None:
    assert read_directory(tmp_path).problem == f"{tmp_path}: no *.yaml scenario files"
    missing = tmp_path / "missing"
    assert read_directory(missing).problem == f"{missing}: no such directory"
    with pytest.raises(ScenarioError, match="no such directory"):
        load_all(missing)
