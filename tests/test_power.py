"""csbench.guard.power.slow_down: the injected slowdown keeps the method's result and costs the
asked fraction of its time, run by the pinned Bun on a small class."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from csbench.cli.guard import power_areas
from csbench.guard import power
from csbench.guard.power import PowerError, slow_down
from csbench.observe import suite

CLASS = """
export class Box {
  spent = 0;
  constructor(private readonly ms: number) {}

  async spin(label: string, times: number): Promise<string> {
    const started = performance.now();
    while (performance.now() < started + this.ms) {}
    this.spent = performance.now() - started;
    return `${label}x${times}`;
  }
}
"""

# Five calls, each timed from outside (ms) and by the method itself (spent).
MAIN = """
import { Box } from "./box.ts";
const box = new Box(100);
const calls = [];
for (let i = 0; i < 5; i++) {
  const started = performance.now();
  const result = await box.spin("a", 3);
  calls.push({ result, ms: performance.now() - started, spent: box.spent });
}
console.log(JSON.stringify(calls));
"""


def run(bun: Path, tmp_path: Path, source: str) -> list[dict]:
    (tmp_path / "box.ts").write_text(source)
    (tmp_path / "main.ts").write_text(MAIN)
    out = subprocess.run(
        [str(bun), "main.ts"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_slowed_method_keeps_its_result_and_costs_the_fraction(bun: Path, tmp_path) -> None:
    """A call costs the method's own time, and half of it again once slowed by 0.5. The
    method spins until a point in time, so it takes its 100 ms on any host. A call adds
    microseconds, but a host that preempts the spin as its time runs out adds a time slice
    (milliseconds): the least of five calls, within a tenth of the method's time."""
    plain = run(bun, tmp_path, CLASS)
    slowed = run(bun, tmp_path, slow_down(CLASS, "spin", 0.5))
    assert {c["result"] for c in plain + slowed} == {"ax3"}
    assert all(c["spent"] >= 100 for c in plain + slowed)
    eps = 1e-4  # rounding of performance.now(), as a fraction of the 100 ms
    for calls, factor in ((plain, 1.0), (slowed, 1.5)):
        ratios = [c["ms"] / c["spent"] for c in calls]
        assert all(r >= factor - eps for r in ratios), (factor, calls)
        assert min(ratios) < factor + 0.1, (factor, calls)


def test_a_missing_or_ambiguous_method_is_refused() -> None:
    with pytest.raises(PowerError, match="found 0"):
        slow_down(CLASS, "missing", 0.1)
    with pytest.raises(PowerError, match="found 2"):
        slow_down(CLASS + CLASS, "spin", 0.1)


MULTILINE = """
export class Engine {
  async run(
    id: string,
    params: Record<string, number>,
    ...rest: Array<(x: number, y: number) => void>
  ): Promise<string> {
    return `${id}:${Object.keys(params).length}:${rest.length}`;
  }
}
"""


def test_a_multiline_generic_signature_passes_each_argument_on() -> None:
    assert power.top_level("a: Record<string, any>, f: (x: T, y) => void, b?: V") == [
        "a: Record<string, any>",
        " f: (x: T, y) => void",
        " b?: V",
    ]
    assert [power.argument(p) for p in (" b?: V", "c = 5", " ...rest: T[]")] == [
        "b", "c", "...rest"
    ]  # fmt: skip
    slowed = slow_down(MULTILINE, "run", 0.1)
    assert "await this.__csbenchSlowed_run(id, params, ...rest);" in slowed


def test_slow_and_aa_trials_are_spread_over_the_run() -> None:
    assert power.interleaved(2, 2) == ["slow", "aa", "slow", "aa"]
    order = power.interleaved(5, 10)
    assert order.count("slow") == 5 and order.count("aa") == 10
    assert order[:4] == ["aa", "slow", "aa", "aa"] and order[-2:] == ["slow", "aa"]


def test_the_cli_knows_every_area() -> None:
    assert sorted(power_areas()) == sorted(power.AREAS)


@pytest.mark.parametrize("area", sorted(power.AREAS))
def test_each_areas_method_is_found_once_at_a_full_commit(repo_checkout, area: str) -> None:
    """The method exists once in its file at 2307c8d, and its area's selection holds the
    benchmarks it slows and at least one control, all defined by the suite."""
    tree = repo_checkout("2307c8d")
    spec = power.AREAS[area]
    source = tree / power.source_file(tree, spec.sources)
    assert f"__csbenchSlowed_{spec.method}" in slow_down(source.read_text(), spec.method, 0.1)
    chosen = suite.select(list(spec.bench))
    slowed = [c.name for c in chosen if re.search(spec.slowed, c.name)]
    assert slowed and len(slowed) < len(chosen), (area, [c.name for c in chosen])
