"""csbench.power.slow_down: the injected slowdown keeps the method's result and costs the
asked fraction of its time, run by the pinned Bun on a small class."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from csbench.power import PowerError, slow_down

CLASS = """
export class Box {
  constructor(private readonly ms: number) {}

  async spin(label: string, times: number): Promise<string> {
    const until = performance.now() + this.ms;
    while (performance.now() < until) {}
    return `${label}x${times}`;
  }
}
"""

MAIN = """
import { Box } from "./box.ts";
const box = new Box(20);
const started = performance.now();
const result = await box.spin("a", 3);
console.log(JSON.stringify({ result, ms: performance.now() - started }));
"""


def run(bun: Path, tmp_path: Path, source: str) -> dict:
    (tmp_path / "box.ts").write_text(source)
    (tmp_path / "main.ts").write_text(MAIN)
    out = subprocess.run(
        [str(bun), "main.ts"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_slowed_method_keeps_its_result_and_costs_the_fraction(bun: Path, tmp_path) -> None:
    plain = run(bun, tmp_path, CLASS)
    slowed = run(bun, tmp_path, slow_down(CLASS, "spin", 0.5))
    assert plain["result"] == slowed["result"] == "ax3"
    assert 20 <= plain["ms"] < 30
    assert 30 <= slowed["ms"] < 45  # 20 ms of work, then half of that again


def test_a_missing_or_ambiguous_method_is_refused() -> None:
    with pytest.raises(PowerError, match="found 0"):
        slow_down(CLASS, "missing", 0.1)
    with pytest.raises(PowerError, match="found 2"):
        slow_down(CLASS + CLASS, "spin", 0.1)
