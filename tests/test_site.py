"""csbench.observe.site without a browser: the targets page and the commits page from the
results of a real asv run (tests/fixtures), the build report linking the measured commits
to them, vendoring that leaves no CDN address behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from csbench.observe import site
from csbench.observe.targets import load_targets

FIXTURES = Path(__file__).parent / "fixtures" / "results"


def test_targets_page_lists_every_target_with_a_plot() -> None:
    page = site.targets_page(FIXTURES, load_targets(), thresholds_dir=FIXTURES / "none")
    for target in load_targets():
        assert f'id="{target.id}"' in page
    assert page.count('<div class="strip">') == len(load_targets())
    assert "not calibrated yet" in page
    assert "<script" not in page  # plain HTML and SVG: nothing to load


def test_the_build_report_links_each_measured_commit_to_its_targets(tmp_path: Path) -> None:
    import json
    from dataclasses import asdict

    from csbench.commits.builds import BuildRecord
    from csbench.observe.results import load_file

    stored = next((FIXTURES / "fixture-npm").glob("3c9235d5-*.json"))
    measured = load_file(stored, "fixture-npm").commit_hash
    page, shown = site.commits_page(FIXTURES, load_targets())
    assert set(shown) == {measured} and "core" in shown[measured]
    section = page.split(f'<h3 id="{measured}">', 1)[1]
    assert "<table>" in section and "simple-query-p95" in section and "benchmarks stored" in section
    report = tmp_path / "build-report.jsonl"
    records = [
        BuildRecord(measured, "2025-06-15T00:00:00Z", "measured", status="built"),
        BuildRecord("f" * 40, "2025-06-14T00:00:00Z", "only built", status="built"),
    ]
    report.write_text("".join(json.dumps(asdict(r)) + "\n" for r in records))
    builds = site.builds_page(report, shown)
    assert f'<a href="commits.html#{measured}"><code>{measured[:8]}</code></a>' in builds
    assert f"<td><code>{'f' * 8}</code></td>" in builds and "1 measured" in builds
    assert f"<td>{' '.join(shown[measured])}</td>" in builds  # the modules it stored
    assert "commits per benchmark module stored: " in builds and "core 1" in builds


def test_vendor_rewrites_every_cdn_address(tmp_path: Path) -> None:
    modules = site.ensure_assets()
    index = tmp_path / "index.html"
    tags = "".join(
        f'<script src="{url}" integrity="sha256-x" crossorigin="anonymous"></script>'
        for url in site.CDN_FILES
    )
    index.write_text(f"<html><head>{tags}</head></html>")
    assert site.vendor(tmp_path, modules) == ["index.html"]
    text = index.read_text()
    assert not site.CDN_PATTERN.search(text) and "integrity" not in text
    for rel in site.CDN_FILES.values():
        assert (tmp_path / "vendor" / rel).is_file()
    index.write_text('<script src="https://cdn.jsdelivr.net/npm/other@1/x.js"></script>')
    with pytest.raises(site.SiteError, match=r"cdn\.jsdelivr\.net"):
        site.vendor(tmp_path, modules)


def test_the_commits_page_says_why_a_benchmark_failed(tmp_path: Path) -> None:
    import shutil

    from csbench.observe import failures

    results = tmp_path / "results"
    shutil.copytree(FIXTURES, results)
    (commit,) = site.commits_page(results, load_targets())[1]
    page = site.commits_page(results, load_targets())[0]
    assert "benchmarks failed" not in page
    why = "csbench.measure.bridge.CheckFailed: run: find_by_id: <expected> 1, got 2"
    failures.record(
        results, "fixture-npm", commit, {"core.Core.time_op": 1}, {"core.Core.time_op": why}
    )
    page = site.commits_page(results, load_targets())[0]
    section = page.split(f'<h3 id="{commit}">', 1)[1]
    assert "<summary>1 benchmark failed: why</summary>" in section
    assert "run: find_by_id: &lt;expected&gt; 1, got 2" in section  # escaped
