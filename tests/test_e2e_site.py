"""End to end: asv results of a throwaway repository (made from the npm package), published
by `csbench publish`, load in headless Chromium with every request off localhost aborted:
no console error, no CDN, the targets page lists every target and draws its plots, the
profiles page shows a stored bottleneck report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import MACHINE

from csbench.commits import asvconf
from csbench.guard.power import commit_all, package_repo
from csbench.measure.paths import project_root, work_dir
from csbench.observe import bottlenecks, calibration, results, site
from csbench.observe.targets import load_targets

pytestmark = pytest.mark.e2e

BENCH = [r"harness\.Floor", r"core\.Core\.time_op\('find_by_id', 'small-1000'\)"]
# The screenshots stay in the test session's work directory unless CSBENCH_SCREENSHOTS says
# where to keep them (README: docs/targets-history.png).
SCREENSHOT = (
    Path(os.environ.get("CSBENCH_SCREENSHOTS") or work_dir() / "screenshots") / "targets.png"
)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, npm_target: Path) -> Path:
    if not site.CHROMIUM.is_file() and not os.environ.get("CSBENCH_CHROMIUM"):
        pytest.skip("no Chromium: install Debian's package `chromium` (.ci/run does)")
    work = tmp_path_factory.mktemp("site")
    repo = package_repo(npm_target, work)
    first = commit_all(repo, "original npm package")
    second = commit_all(repo, "the same again")
    config = asvconf.derived_config(
        repo=str(repo),
        name="site",
        branches=["main"],
        results_dir=str(work / "results"),
        html_dir=str(work / "html"),
    )
    hashfile = work / "commits.txt"
    hashfile.write_text(f"{first}\n{second}\n")
    bench = [a for b in BENCH for a in ("--bench", b)]
    machine = asvconf.ensure_machine(MACHINE)
    run = asvconf.asv(["run", f"HASHFILE:{hashfile}", "--machine", machine, *bench], config)
    assert run.returncode == 0
    # A truncated and an empty result file: named once each, left out, the rest published.
    stored = sorted((work / "results" / machine).glob(f"{first[:8]}-*.json"))[0]
    (work / "results" / machine / f"{'0' * 8}-bad.json").write_text(stored.read_text()[:300])
    (work / "results" / machine / f"{'1' * 8}-empty.json").write_text("")
    # A stored bottleneck report of the first commit (csbench bottlenecks --store).
    chosen = [t for t in load_targets() if t.id in ("simple-query-p95", "concurrent-users")]
    items = bottlenecks.profile_targets(npm_target, chosen, {}, seconds=0.2, log=lambda m: None)
    bottlenecks.store(items, first, work / "results", machine)
    # csbench publish, with the throwaway repository's only branch.
    out = subprocess.run(
        [sys.executable, "-m", "csbench.cli", "publish", "--repo", str(repo),
         "--results", str(work / "results"), "--html", str(work / "html"), "--branch", "main"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    warnings = [line for line in out.stderr.splitlines() if "bad results file" in line]
    assert len(warnings) == 2 and "-bad.json" in warnings[0] and "-empty.json" in warnings[1]
    assert "Error parsing JSON" not in out.stdout  # asv itself never saw them
    return work / "html"


def test_site_works_offline_and_lists_every_target(published: Path) -> None:
    assert not site.CDN_PATTERN.search((published / "index.html").read_text())
    report = site.check_site(published, SCREENSHOT, site.CHECKED_PAGES)
    for page in site.CHECKED_PAGES:
        assert report[page]["errors"] == [], (page, report[page]["errors"])
        assert report[page]["external"] == [], (page, report[page]["external"])
    text = report["targets.html"]["text"]
    for target in load_targets():
        assert target.id in text and target.title in text, target.id
    assert report["targets.html"]["svg"] >= len(site.FLOOR)  # the floor has values
    assert "Targets" in report["index.html"]["text"]  # the link in asv's navigation bar
    assert "simple-query-p95" in report["profiles.html"]["text"]
    assert "simple-query-p95" in report["commits.html"]["text"]  # a measured commit's verdicts
    assert "<svg" in (published / "profiles.html").read_text()  # its flame graph
    assert SCREENSHOT.stat().st_size > 10_000


def test_the_committed_history_publishes_with_plots(tmp_path: Path) -> None:
    """The site of results/ itself (needs the Collection Store repository for commit
    order and dates): every page offline and clean, a plot per target with values, and
    the screenshot targets-history.png beside targets.png."""
    from csbench.commits.config import configured_repo

    repo = configured_repo()
    if not repo:
        pytest.skip("no Collection Store repository configured: set CSBENCH_REPO")
    if not site.CHROMIUM.is_file() and not os.environ.get("CSBENCH_CHROMIUM"):
        pytest.skip("no Chromium: install Debian's package `chromium` (.ci/run does)")
    html = tmp_path / "html"
    shot = SCREENSHOT.with_name("targets-history.png")
    out = subprocess.run(
        [sys.executable, "-m", "csbench.cli", "publish", "--repo", repo, "--html", str(html),
         "--check", str(shot)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    page = (html / "targets.html").read_text()
    for target in load_targets():
        assert f'id="{target.id}"' in page, target.id
    assert page.count("<polyline") >= 8  # the eight per-commit targets have series
    assert shot.stat().st_size > 50_000
    # asv listed a step only beyond that benchmark's calibrated history threshold (not
    # beyond its default 5 %): its latest value over its best exceeds 1 + threshold (its
    # best over its latest, where higher is better: csbench's asv plugin).
    stored = project_root() / "results"
    cals = [c for c in map(calibration.load, results.machines(stored)) if c is not None]
    assert cals
    listed = json.loads((html / "regressions.json").read_text())["regressions"]
    for name, _, _, _, last, best, _ in listed:
        factor = max(c.history_factor(name) for c in cals)
        if results.higher_is_better(name):
            last, best = best, last
        assert last > best * factor, (name, last, best, factor)  # best may be 0 (error rate)
