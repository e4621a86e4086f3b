"""csbench.observe.bottlenecks on the npm package: each target's op profiled through its
time_ benchmark, failing targets first; a load scenario run under the sampler, its CPU time
and queue per operation class (one the package cannot run named as not profiled)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from csbench.observe import bottlenecks, site
from csbench.observe import targets as tg

pytestmark = pytest.mark.integration


def test_each_targets_op_is_profiled_and_a_failing_one_comes_first(
    npm_target: Path, tmp_path: Path
) -> None:
    wanted = ("simple-query-p95", "stored-function-p95", "concurrent-users")
    targets = [t for t in tg.load_targets() if t.id in wanted]
    failing = targets[1]  # a verdict from stored results, made up: it failed
    verdicts = {failing.id: tg.Verdict(failing, "fail", 250.0)}
    items = bottlenecks.profile_targets(
        npm_target, targets, verdicts, seconds=0.2, log=lambda m: None
    )
    order = [b.target.id for b in items]
    assert order == [failing.id, "simple-query-p95", "concurrent-users"]  # failing first
    by_id = {b.target.id: b for b in items}
    query = by_id["simple-query-p95"]
    assert query.case == "core.Core.time_op('find_by_indexed', 'small-10000')"
    assert query.run is not None and len(query.run.profile.samples) > 0
    assert sum(query.packages().values()) == pytest.approx(1.0)
    users = by_id["concurrent-users"]  # production validation: auth etc., not in the package
    assert users.reason.startswith("not profiled: ") and users.load is None, users.reason
    text = bottlenecks.render(items, "f" * 40, markdown=True)
    assert text.index(failing.id) < text.index("simple-query-p95")
    assert "250 ms, bound < 100 ms: fail" in text
    data = json.loads(bottlenecks.to_json(items, "f" * 40))
    assert [t["target"] for t in data["targets"]] == order

    # stored for the site: pruned, without a path of this machine, read back the same
    path = bottlenecks.store(items, "f" * 40, tmp_path, "somehost")
    assert path == tmp_path / "profiles" / "somehost" / f"{'f' * 40}.json"
    text = path.read_text()
    assert str(npm_target) not in text and str(Path.home()) not in text
    (tmp_path / "profiles" / "somehost" / "broken.json").write_text("{")
    newest = bottlenecks.stored(tmp_path)["somehost"]
    assert [t["target"] for t in newest["targets"]] == order
    page = site.profiles_page(tmp_path)
    assert "simple-query-p95" in page and "<svg" in page and users.reason in page
    top = query.functions()[0]
    assert f"<code>{html.escape(top.function.label)}</code>" in page  # the same top function


def test_a_load_run_says_which_class_and_op_hold_the_cpu_and_the_queue(
    npm_target: Path, tmp_path: Path
) -> None:
    """The database scenario (core ops only) under the sampler: nearly every sample is
    attributed to an op, and a range query, which scans every document (and at this
    package returns them all: a failed check), costs more CPU per request than an indexed
    find."""
    load = bottlenecks.profile_load(npm_target, "database", seconds=4.0)
    assert isinstance(load, bottlenecks.LoadRun), load
    assert [c.name for c in load.classes] == ["core"]
    core = load.classes[0]
    assert core.cpu_share == pytest.approx(1 - load.unattributed)
    assert load.unattributed < 0.2 and load.framed > 0, load.summary()
    assert core.in_flight > 0 and core.throughput > 0
    assert load.js_thread_share is not None and 0 < load.js_thread_share <= 1
    ops = {o.name: o for o in load.ops}
    assert sum(o.cpu_share for o in ops.values()) == pytest.approx(core.cpu_share)
    per_request = {k: o.cpu_share / o.requests for k, o in ops.items() if o.requests}
    assert per_request["range_query"] > 3 * per_request["find"], per_request
    text = bottlenecks.load_table(load.summary())
    assert text.splitlines()[1].split()[:2] == ["core", f"{core.cpu_share:.1%}"]
    # two targets read the one run: its tables are rendered once
    two = [bottlenecks.Bottleneck(t, None, None, load=load) for t in tg.load_targets()[:2]]
    report = bottlenecks.render(two, "f" * 40)
    assert report.count(text.splitlines()[1]) == 1, report
    assert report.endswith("load scenario database: its profile is shown above"), report
    bottlenecks.store(two, "f" * 40, tmp_path, "somehost")
    page = site.profiles_page(tmp_path)
    assert page.count("<svg") == 1 and page.count("its profile is shown above") == 1
