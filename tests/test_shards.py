"""csbench merge (csbench.observe.shards): the results directories of shards, made of real
committed asv result files, merged into one; what cannot be merged is one line and copies
nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import csbench

from csbench.observe import failures
from csbench.observe.shards import MergeError, merge

RESULTS = Path(__file__).parents[1] / "results"


def shard(root: Path, name: str, files: list[Path]) -> Path:
    """A results directory holding the committed benchmarks.json, one machine's
    machine.json and ``files`` of that machine."""
    out = root / name
    machine = files[0].parent.name
    (out / machine).mkdir(parents=True)
    shutil.copy(RESULTS / "benchmarks.json", out)
    shutil.copy(files[0].parent / "machine.json", out / machine)
    for f in files:
        shutil.copy(f, out / machine)
    return out


@pytest.fixture()
def committed() -> list[Path]:
    files = sorted(
        p for p in RESULTS.glob("*/*.json") if (p.parent / "machine.json").is_file()
        and p.name != "machine.json"
    )  # fmt: skip
    if len(files) < 3:
        pytest.skip("fewer than three committed result files")
    return files[:3]


def test_shards_merge_into_one_history_and_again_copy_nothing(
    tmp_path: Path, committed: list[Path]
) -> None:
    a = shard(tmp_path, "a", committed[:2])
    b = shard(tmp_path, "b", committed[2:])
    machine = committed[0].parent.name
    commit = json.loads(committed[2].read_text())["commit_hash"]
    failures.record(b, machine, commit, {"core.Core.time_op": 1}, {"core.Core.time_op": "E: x"})
    dest = tmp_path / "results"
    merged = merge([a, b], dest)
    assert sorted(p.name for p in (dest / machine).iterdir()) == sorted(
        ["machine.json", *(f.name for f in committed)]
    )
    assert len(merged.copied) == 6 and merged.same == 0  # 3 results, 2 metadata, 1 failures
    assert failures.read(dest, machine, commit) == {"core.Core.time_op": "E: x"}
    assert (dest / "benchmarks.json").read_bytes() == (RESULTS / "benchmarks.json").read_bytes()
    again = merge([a, b], dest)
    assert again.copied == [] and again.same == 6


def test_a_shard_whose_machine_reports_a_few_mb_more_memory_merges(
    tmp_path: Path, committed: list[Path]
) -> None:
    """Two VMs of one kind report memory a few MB apart (and another kernel): one machine;
    the destination keeps its own record. A tenth more memory is another machine."""
    a = shard(tmp_path, "a", committed[:1])
    machine = committed[0].parent.name
    b = shard(tmp_path, "b", committed[1:2])
    info = json.loads((b / machine / "machine.json").read_text())
    near = {**info, "ram": str(int(info["ram"]) + 48 * 2**20), "os": "Linux 9.9"}
    (b / machine / "machine.json").write_text(json.dumps(near))
    dest = tmp_path / "results"
    merge([a], dest)
    merged = merge([b], dest)
    assert [p.name for p in merged.copied] == [committed[1].name] and merged.same == 2
    assert json.loads((dest / machine / "machine.json").read_text()) == info
    far = {**info, "ram": str(int(int(info["ram"]) * 1.1))}
    (b / machine / "machine.json").write_text(json.dumps(far))
    with pytest.raises(MergeError, match=r"another machine, one name \(ram "):
        merge([b], dest)


def test_what_cannot_be_merged_is_named_and_nothing_is_copied(
    tmp_path: Path, committed: list[Path]
) -> None:
    a = shard(tmp_path, "a", committed[:1])
    machine = committed[0].parent.name
    other = shard(tmp_path, "other", committed[1:2])
    info = json.loads((other / machine / "machine.json").read_text())
    (other / machine / "machine.json").write_text(json.dumps({**info, "cpu": "another"}))
    twice = shard(tmp_path, "twice", committed[:1])
    result = twice / machine / committed[0].name
    result.write_text(result.read_text().replace('"date":', '"date": 1, "x":', 1))
    bad = shard(tmp_path, "bad", committed[1:2])
    (bad / machine / committed[1].name).write_text("{")
    dest = tmp_path / "results"
    for sources, says in [
        ([a, other], "another machine, one name"),
        ([a, twice], "one commit measured twice"),
        ([a, bad], f"{bad / machine / committed[1].name}"),
        ([a, tmp_path], "no benchmarks.json"),
    ]:
        with pytest.raises(MergeError, match=says):
            merge(sources, dest)
        assert not dest.exists()
    out = csbench(tmp_path, "merge", str(a), str(other), "--results", str(dest))
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith("csbench merge: ") and "another machine" in out.stderr
