"""csbench triage: asv's regressions list read, each listed step mapped to the time_ benchmark
that measures it, verdicts kept and shown on the site; and one real step measured paired."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from csbench.guard import paired, triage
from csbench.observe import cpuprofile, site, suite, triaged

A, B, C = "a" * 40, "b" * 40, "c" * 40
GRAPH = "graphs/branch-master/machine-{m}/num_cpu-2/{name}.json"


def site_dir(tmp_path: Path, machine: str = "m1") -> Path:
    """A published site's regressions.json and index.json as asv writes them: a step of a
    track over a range (B..C) and one of a time_ benchmark at a single commit (C)."""
    html = tmp_path / "html"
    html.mkdir()
    track = "core.CoreLatency.track_p95('find_by_id', 'small-1000')"
    time_ = "wal.WalTime.time_txn_commit"
    regressions = [
        [track, GRAPH.format(m=machine, name="core.CoreLatency.track_p95"), {}, 0, 3.0, 2.0,
         [[1, 2, 2.0, 3.0]]],
        [time_, GRAPH.format(m=machine, name=time_), {}, None, 1e-4, 8e-5,
         [[None, 2, 8e-5, 1e-4]]],
        ["load.LoadScenario.track_p95('auth')", GRAPH.format(m="other", name="load"), {}, 0,
         5.0, 4.0, [[None, 2, 4.0, 5.0]]],
    ]  # fmt: skip
    (html / "regressions.json").write_text(json.dumps({"regressions": regressions}))
    (html / "index.json").write_text(json.dumps({"revision_to_hash": {"0": A, "1": B, "2": C}}))
    return html


def test_the_list_gives_each_step_its_commits_and_machine(tmp_path: Path) -> None:
    steps = triaged.listed(site_dir(tmp_path))
    assert [(s.machine, s.base, s.head) for s in steps] == [("m1", B, C), ("m1", None, C),
                                                            ("other", None, C)]  # fmt: skip
    assert steps[0].after / steps[0].before == 1.5
    with pytest.raises(triaged.TriageError, match="no asv regressions list"):
        triaged.listed(tmp_path)


def test_every_track_of_an_op_is_measured_on_its_time_benchmark() -> None:
    time_of = suite.paired_time_of()
    cases = {c.benchmark for c in suite.time_cases()}
    assert set(time_of.values()) <= cases
    for name in ("core.CoreLatency.track_p95", "auth.AuthLatency.track_p50",
                 "realtime.RealtimeLatency.track_p99", "wal.WalLatency.track_p95",
                 "computed.ComputedLatency.track_p95", "functions.FunctionLatency.track_p95",
                 "files.FileThroughput.track_upload_ns_per_byte"):  # fmt: skip
        assert name in time_of, name
    assert time_of["files.FileThroughput.track_download_ns_per_byte"] == (
        "files.FilesTime.time_download"
    )
    assert "load.LoadScenario.track_p95" not in time_of  # nothing measures a load paired
    assert time_of["core.Core.time_op"] == "core.Core.time_op"


def test_the_site_shows_each_listed_step_with_its_verdict(tmp_path: Path) -> None:
    html = site_dir(tmp_path)
    results = tmp_path / "results"
    name = "core.CoreLatency.track_p95('find_by_id', 'small-1000')"
    case = "core.Core.time_op('find_by_id', 'small-1000')"
    refuted = triaged.Verdict(
        name, B, C, "refuted", case=case, ratio=0.99, p=0.6, threshold=0.03, pairs=8
    )
    triaged.write(triaged.store_path(results, "m1"), {refuted.key: refuted})
    assert triaged.read(triaged.store_path(results, "m1"))[refuted.key] == refuted
    shown = triaged.on_site(html, results)
    assert [v for _, v in shown["m1"]] == [refuted, None] and shown["other"][0][1] is None
    page = site.triage_page(html, results)
    assert "1 listed steps: 1 refuted; 1 not triaged yet" in page
    assert '<tr class="refuted">' in page and "0.990" in page and "1.500" in page
    assert "No regressions list" in site.triage_page(tmp_path, results)


def test_a_confirmed_step_shows_where_the_time_went(tmp_path: Path) -> None:
    html = site_dir(tmp_path)
    results = tmp_path / "results"
    name = "core.CoreLatency.track_p95('find_by_id', 'small-1000')"
    case = "core.Core.time_op('find_by_id', 'small-1000')"
    explained = {
        "case": case, "cpu_per_op_us": [2.0, 3.0], "samples": [900, 1200],
        "changes": [{"function": "findById<x>", "kind": "collection-store", "package":
                     "collection-store", "file": "src/a.ts", "share": [0.1, 0.4],
                     "self_us": [0.2, 1.2], "total_us": [1.0, 2.0]}],
    }  # fmt: skip
    confirmed = triaged.Verdict(name, B, C, "confirmed", case=case, ratio=1.3, p=0.004,
                                threshold=0.05, pairs=8, explained=explained)  # fmt: skip
    triaged.write(triaged.store_path(results, "m1"), {confirmed.key: confirmed})
    assert triaged.read(triaged.store_path(results, "m1"))[confirmed.key] == confirmed
    page = site.triage_page(html, results)
    link = '<a href="#explained-m1-0">where the time went</a>'
    assert '<tr class="confirmed">' in page and link in page
    section = page.split('<h3 id="explained-m1-0">', 1)[1]
    assert "<table>" in section and "findById&lt;x&gt;" in section and "+30.0" in section


def test_a_confirmed_real_slowdown_is_explained_by_the_slowed_method(
    npm_target: Path, tmp_path: Path
) -> None:
    """The npm package with findBy made twice as slow, as a two-commit repository: the step
    is confirmed by paired A/B and its profiles at both commits name findBy first."""
    from csbench.guard import power

    core = power.AREAS["core"]
    repo, commits = power.power_repo(npm_target, tmp_path, core.method, 1.0, core.sources)
    name = "core.Core.time_op('find_by_indexed', 'small-10000')"
    step = triaged.Listed(name, "m1", commits["slow"], commits["base"], 1e-5, 2e-5)
    said: list[str] = []
    settings = paired.Settings(pairs=5, rounds=3)
    store, builds = tmp_path / "m1.json", tmp_path / "builds"
    [v] = triage.triage(str(repo), [step], settings, store, builds=builds, log=said.append)
    assert v.verdict == "confirmed" and v.ratio is not None and v.ratio > 1.3, (v, said)
    assert v.explained is not None and v.explained["case"] == name, said
    assert (cpuprofile.grew_most(v.explained) or "").endswith("findBy"), v.explained
    # the step back (slow -> base) is a speed-up: confirmed as an improvement, not profiled
    back = triaged.Listed(name, "m1", commits["base"], commits["slow"], 2e-5, 1e-5, "improvement")
    [better] = triage.triage(str(repo), [back], settings, store, builds=builds, log=said.append)
    assert better.verdict == "confirmed" and better.explained is None, better
    assert better.ratio is not None and better.ratio < 0.8, better


def test_a_bad_triage_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "m1.json"
    path.write_text('{"verdicts": [{"name": 1}]}')
    with pytest.raises(triaged.TriageError, match=f"{path}: not a triage file"):
        triaged.read(path)


def test_a_real_step_is_measured_once_and_reused(tmp_path: Path, repo_checkout) -> None:
    """wal.WalTime.time_txn_commit from 2f25167 to 2307c8d (their WAL code is the same):
    a verdict from paired pairs, kept in the file; asked again, nothing is measured."""
    from csbench.commits import git
    from csbench.commits.config import configured_repo

    repo_checkout("2307c8d")  # skips without a repository
    repo = configured_repo()
    assert repo is not None
    head, base = git.resolve(repo, "2307c8d"), git.resolve(repo, "2f25167")
    step = triaged.Listed("wal.WalTime.time_txn_commit", "m1", head, base, 1e-4, 1.2e-4)
    store = tmp_path / "triage" / "m1.json"
    settings = paired.Settings(pairs=2, rounds=3)
    said: list[str] = []
    [v] = triage.triage(repo, [step], settings, store, log=said.append)
    assert v.verdict in ("confirmed", "refuted") and v.pairs == 2 and v.ratio is not None
    assert v.case == "wal.WalTime.time_txn_commit" and v.listed_ratio == pytest.approx(1.2)
    assert triaged.read(store)[v.key] == v
    said.clear()
    assert triage.triage(repo, [step], settings, store, log=said.append) == [v]
    assert not said  # reused, not measured
