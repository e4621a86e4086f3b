"""csbench.observe.cpuprofile and driver/cpuprofile.ts: the samples of an op's batches, whose code
each function is, the .cpuprofile and flame graph made of them, and a planted hot function
found where it is."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from csbench.measure import sessions
from csbench.measure.bridge import Batch, Driver, DriverError
from csbench.measure.pairs import Case
from csbench.observe import cpuprofile
from csbench.observe.cpuprofile import Function, Origin, Profile

TREE = Path("/cs")


@pytest.mark.parametrize(
    ("url", "builtin", "want"),
    [
        ("/cs/node_modules/lodash-es/_baseGet.js", False,
         Origin("dependency", "lodash-es", "_baseGet.js")),
        ("/cs/node_modules/@scope/pkg/node_modules/inner/x.js", False,
         Origin("dependency", "inner", "x.js")),
        ("/cs/node_modules/@scope/pkg/lib/a.js", False,
         Origin("dependency", "@scope/pkg", "lib/a.js")),
        ("/cs/src/core/Collection.ts", False, Origin("collection-store", "collection-store",
                                                     "src/core/Collection.ts")),
        ("/cs/packages/collection-store/src/storage/List.ts", False,
         Origin("collection-store", "collection-store", "src/storage/List.ts")),
        (str(cpuprofile.DRIVER_DIR / "core.ts"), False, Origin("csbench", "csbench", "core.ts")),
        ("/npm/node_modules/collection-store/src/a.ts", False,  # the npm package as the tree
         Origin("collection-store", "collection-store", "src/a.ts")),
        ("/npm/node_modules/lodash-es/get.js", False, Origin("dependency", "lodash-es", "get.js")),
        ("", False, Origin("runtime", "runtime", "")),
        ("node:events", False, Origin("runtime", "runtime", "node:events")),
        ("/cs/src/x.ts", True, Origin("runtime", "runtime", "/cs/src/x.ts")),
    ],
)  # fmt: skip
def test_each_function_is_marked_by_whose_code_it_is(url: str, builtin: bool, want: Origin) -> None:
    tree = Path("/npm/node_modules/collection-store") if url.startswith("/npm/") else TREE
    assert cpuprofile.origin(Function("f", url, "#h", builtin), tree) == want


def compact(functions: list[list[Any]], stacks: list[list[int]], samples: list[int]) -> dict:
    return {"interval_us": 100, "functions": functions, "stacks": stacks, "samples": samples}


def test_merged_batches_give_self_and_total_shares_and_a_consistent_cpuprofile() -> None:
    """Two batches whose function tables differ in order: merged by function, a stack
    [leaf, caller] counts self for leaf and total for both."""
    leaf = ["leaf", "/cs/src/a.ts", "#L", 0]
    caller = ["caller", "/cs/src/b.ts", "#C", 0]
    one = compact([leaf, caller], [[0, 10, 1, 20], [1, 21]], [0, 0, 0, 1])
    two = compact([caller, leaf], [[1, 11, 0, 20]], [0, 0])
    merged = Profile.merge([one, two], 100)
    assert len(merged.functions) == 2 and len(merged.samples) == 6
    by_name = {s.function.name: s for s in cpuprofile.shares(merged, TREE)}
    assert (by_name["leaf"].self_samples, by_name["leaf"].total_samples) == (5, 5)
    assert (by_name["caller"].self_samples, by_name["caller"].total_samples) == (1, 6)
    assert by_name["leaf"].line == 10  # its most sampled line
    assert cpuprofile.by_origin(merged, TREE) == {"collection-store": 1.0}

    cpu = cpuprofile.to_cpuprofile(merged)
    ids = {n["id"] for n in cpu["nodes"]}
    assert all(c in ids for n in cpu["nodes"] for c in n["children"])
    assert sum(n["hitCount"] for n in cpu["nodes"]) == len(cpu["samples"]) == 6
    assert len(cpu["timeDeltas"]) == 6 and set(cpu["samples"]) <= ids
    names = {n["callFrame"]["functionName"]: n for n in cpu["nodes"]}
    assert names["caller"]["callFrame"]["lineNumber"] == 19  # 0-based first sampled line
    svg = ET.fromstring(cpuprofile.flamegraph_svg(merged, TREE, "t"))
    titles = [t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert any(t.startswith("leaf (collection-store: src/a.ts:10): 5 samples") for t in titles)


class Chase:
    """A benchmark class whose op is a planted hot function: driver/machine.ts's ``walk``
    (over 64 KiB, inside L2: its time is CPU time, whatever other tenants do to memory)."""

    hops = 20_000

    def setup(self) -> None:
        self.session = sessions.area_session("pointer_chase", kib=64, hops=self.hops)

    def time_chase(self) -> Batch:
        return self.session.batch()


class LongerChase(Chase):
    hops = 320_000


def test_a_planted_hot_function_is_found_and_the_set_up_is_not_sampled(
    npm_target: Path, tmp_path: Path
) -> None:
    case = Case("test_cpuprofile.Chase.time_chase", "test_cpuprofile.Chase.time_chase", (), Chase)
    run = cpuprofile.measure(npm_target, case, seconds=0.3)
    top = cpuprofile.shares(run.profile, npm_target)
    hot = top[0]
    # walk's own lines, or the line calling it where the JIT inlined it into the op's step
    source = (cpuprofile.DRIVER_DIR / "machine.ts").read_text().splitlines()
    start = source.index("function walk(next: Int32Array, hops: number): number {") + 1
    body = range(start, source.index("}", start) + 2)
    call = next(i for i, line in enumerate(source, 1) if "walk(next, hops)" in line)
    timed = range(call - 1, call + 1)  # clock.start() and the call (JSC's line of inlined code)
    assert hot.origin == Origin("csbench", "csbench", "machine.ts"), top[:5]
    assert (hot.function.name, hot.line in body) == ("walk", True) or (
        hot.function.name, hot.line in timed) == ("step", True), top[:5]  # fmt: skip
    assert hot.self_samples > 0.5 * len(run.profile.samples), top[:5]
    # the ring is built by the set-up's first batch, before any sampled one; later ops only
    # look it up
    build = range(source.index("    const n = Math.max(2, (kib * 1024) >> 2);") + 1,
                  source.index("    rings.set(kib, built);") + 2)  # fmt: skip
    ring_lines = {line for stack in run.profile.stacks for fn, line in stack
                  if run.profile.functions[fn].name == "ring"}  # fmt: skip
    assert not ring_lines & set(build), ring_lines
    assert len(run.overhead) >= cpuprofile.MIN_ROUNDS and all(r > 0 for r in run.overhead)
    written = cpuprofile.write(run, tmp_path)
    cpu = json.loads(written["cpuprofile"].read_text())
    assert sum(n["hitCount"] for n in cpu["nodes"]) == len(run.profile.samples)
    assert ET.parse(written["flamegraph"]).getroot().tag.endswith("svg")
    assert f"machine.ts:{hot.line}" in cpuprofile.render(run)
    assert json.loads(cpuprofile.to_json(run))["top"][0]["line"] == hot.line


def test_a_bad_profile_request_is_refused(npm_target: Path) -> None:
    drv = Driver(npm_target)
    try:
        with pytest.raises(DriverError, match="interval_us"):
            drv.request("run", {"op": "noop", "count": 1, "profile": {"interval_us": 1}})
        assert drv.run("noop", count=3).profile is None
    finally:
        drv.close()


def test_the_diff_of_two_profiles_gives_each_functions_cpu_time_per_op(npm_target: Path) -> None:
    """The head walks sixteen times as far per op: the walk's CPU time per op at least
    quadruples (two drivers measured one after the other differ by up to 2x here), its share
    stays about all of it (which function grew most is ranked by share: the
    ci summary's test plants a function whose share grows)."""
    runs = [
        cpuprofile.measure(npm_target, Case(f"test_cpuprofile.{c.__name__}.time_chase",
                                            f"test_cpuprofile.{c.__name__}.time_chase", (), c),
                           seconds=0.3)
        for c in (Chase, LongerChase)
    ]  # fmt: skip
    changes = cpuprofile.diff(*runs)
    (walk,) = [c for c in changes if c.origin.path == "machine.ts" and c.head_self > 10]
    assert walk.head_self > 4 * walk.base_self > 0, walk
    assert walk.base_share > 0.5 and walk.head_share > 0.5, walk
    assert [c.grew for c in changes] == sorted((c.grew for c in changes), reverse=True)
    assert "machine.ts" in cpuprofile.render_explanation(cpuprofile.explanation(*runs))


class Broken:
    def setup(self) -> None:
        raise RuntimeError("no fixture")

    def time_op(self) -> Batch:
        raise AssertionError("never measured")


def test_a_regression_whose_profile_fails_keeps_its_verdict(npm_target: Path) -> None:
    """ci --paired explains each regression by profiles; one that cannot be profiled is a
    log line, and the summary stands without it."""
    from csbench.guard import ci
    from csbench.guard.compare import Change

    name = "test_cpuprofile.Broken.time_op"
    result = ci.CiResult("a" * 40, "b" * 40, "m", [Change(name, "regression", 1.0, 1.2, 1.05)])
    said: list[str] = []
    ci._explain(result, [npm_target, npm_target], [Case(name, name, (), Broken)], said.append)
    assert result.explained == {} and any("no profile of" in s for s in said), said
    assert "### Regressions" in ci.markdown(result)
