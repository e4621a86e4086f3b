"""csbench.observe.bottlenecks on the npm package: each target's op profiled through its
time_ benchmark, failing targets first, load scenarios named as not profiled."""

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
    assert (
        "no single op" in by_id["concurrent-users"].reason and by_id["concurrent-users"].run is None
    )
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
    assert "simple-query-p95" in page and "<svg" in page and "no single op" in page
    top = query.functions()[0]
    assert f"<code>{html.escape(top.function.label)}</code>" in page  # the same top function
