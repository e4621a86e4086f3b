"""Seeded generators: determinism, prefix stability, shapes, skew and atomic files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from csbench.measure import datagen
from csbench.measure.datagen import dataset_file, documents, keys, payload, users, write_jsonl

SMALL_FIELDS = {"uid", "group", "age", "score", "email", "name", "active"}
MEDIUM_FIELDS = SMALL_FIELDS | {"tags", "address", "created", "bio"}
LARGE_FIELDS = MEDIUM_FIELDS | {"history", "payload"}
FIELDS = {"small": SMALL_FIELDS, "medium": MEDIUM_FIELDS, "large": LARGE_FIELDS}
MS_2020 = 1_577_836_800_000
MS_2026 = 1_767_225_600_000


def _plain(value: object) -> bool:
    """Only built-in JSON types, recursively (no numpy scalars)."""
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return type(value) in (int, float, str, bool)


@pytest.mark.parametrize("tier", datagen.TIERS)
def test_documents_are_deterministic_and_seed_dependent(tier: str) -> None:
    a, b = documents(tier, 50, seed=1), documents(tier, 50, seed=1)
    other = documents(tier, 50, seed=2)
    assert a == b
    assert [d["uid"] for d in other] == [d["uid"] for d in a]
    for field in FIELDS[tier] - {"uid", "email"}:
        assert [d[field] for d in other] != [d[field] for d in a], field


@pytest.mark.parametrize("tier", datagen.TIERS)
def test_documents_are_prefix_stable_across_n(tier: str) -> None:
    big = documents(tier, 2 * datagen.CHUNK + 77, seed=3)
    for n in (0, 1, 10, datagen.CHUNK - 1, datagen.CHUNK, datagen.CHUNK + 1, 2 * datagen.CHUNK):
        assert documents(tier, n, seed=3) == big[:n]


def test_bigger_tiers_extend_smaller_ones() -> None:
    small, medium, large = (documents(t, 300, seed=5) for t in datagen.TIERS)
    for s, m, lg in zip(small, medium, large, strict=True):
        assert {k: m[k] for k in SMALL_FIELDS} == s
        assert {k: lg[k] for k in MEDIUM_FIELDS} == m


@pytest.mark.parametrize("tier", datagen.TIERS)
def test_document_fields_types_and_ranges(tier: str) -> None:
    docs = documents(tier, 1500)
    assert [d["uid"] for d in docs] == list(range(1500))
    for d in docs:
        assert set(d) == FIELDS[tier]
        assert _plain(d), d
        assert type(d["group"]) is int and 0 <= d["group"] < 100
        assert type(d["age"]) is int and 18 <= d["age"] < 90
        assert type(d["score"]) is float and 0 <= d["score"] < 100
        assert round(d["score"], 3) == d["score"]
        assert d["email"] == f"user{d['uid']}@example.org"
        assert d["name"].isalpha() and d["name"][0].isupper() and len(d["name"]) >= 4
        assert type(d["active"]) is bool
    assert len({d["group"] for d in docs}) == 100
    assert 0.7 < np.mean([d["active"] for d in docs]) < 0.9
    assert len({d["name"] for d in docs}) > 500
    assert json.loads(json.dumps(docs)) == docs


def test_medium_and_large_fields() -> None:
    docs = documents("large", 400)
    for d in docs:
        assert 3 <= len(d["tags"]) <= 8 and len(set(d["tags"])) == len(d["tags"])
        assert set(d["address"]) == {"city", "zip"}
        assert len(d["address"]["zip"]) == 5 and d["address"]["zip"].isdigit()
        assert MS_2020 <= d["created"] < MS_2026
        assert 200 <= len(d["bio"]) <= 320 and "  " not in d["bio"]
        assert d["bio"] == d["bio"].strip()
        assert len(d["history"]) == 20
        ats = [h["at"] for h in d["history"]]
        assert ats == sorted(ats) and ats[0] >= d["created"]
        for h in d["history"]:
            assert set(h) == {"at", "action", "amount"}
            assert type(h["amount"]) is float and h["amount"] >= 0
        assert len(d["payload"]) == 2048 and d["payload"].isalnum()
    assert len({d["payload"] for d in docs}) == len(docs)
    assert len({d["bio"] for d in docs}) == len(docs)


def test_users() -> None:
    a = users(1100, seed=4)
    assert a == users(1100, seed=4)
    assert users(7, seed=4) == a[:7]
    assert [u["password"] for u in users(50, seed=5)] != [u["password"] for u in a[:50]]
    for i, u in enumerate(a):
        assert set(u) == {"email", "password", "name", "roles"}
        assert _plain(u)
        assert u["email"] == f"user{i}@example.org"
        assert 12 <= len(u["password"]) <= 20
        assert u["roles"][0] == "user" and set(u["roles"]) <= {"user", "editor", "admin"}
    assert len({u["password"] for u in a}) == len(a)
    assert any("admin" in u["roles"] for u in a) and any(u["roles"] == ["user"] for u in a)


@pytest.mark.parametrize("size", [0, 1, 1024, 100 * 1024, 10 * 1024 * 1024])
def test_payload_sizes_are_exact(size: int) -> None:
    data = payload(size)
    assert isinstance(data, bytes) and len(data) == size
    assert payload(size) == data


def test_payload_depends_on_seed_and_looks_random() -> None:
    data = payload(100 * 1024)
    assert payload(100 * 1024, seed=1) != data
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256)
    assert counts.min() > 250 and counts.max() < 560  # ~400 each if uniform


def test_uniform_keys() -> None:
    k = keys(1000, 50_000)
    assert k.dtype == np.int64 and k.shape == (50_000,)
    assert k.min() == 0 and k.max() == 999
    assert np.bincount(k).max() < 100  # mean 50
    assert np.array_equal(keys(1000, 50_000), k)
    assert not np.array_equal(keys(1000, 50_000, seed=1), k)


def test_zipf_keys_are_skewed_bounded_and_stable() -> None:
    n_keys, count = 10_000, 100_000
    k = keys(n_keys, count, "zipf")
    assert k.dtype == np.int64 and k.min() >= 0 and k.max() < n_keys
    freq = np.sort(np.bincount(k, minlength=n_keys))[::-1]
    # Bounded Zipf(1.1) over 10k keys: P(rank 1) = 0.151, P(top 100) = 0.648 and about
    # 2,600 keys are never drawn (a uniform draw of 100k would leave ~0.5 unused).
    assert 0.14 < freq[0] / count < 0.163
    assert 0.63 < freq[:100].sum() / count < 0.67
    assert 2_400 < (freq == 0).sum() < 2_800
    assert np.array_equal(keys(n_keys, 1000, "zipf"), k[:1000])
    steeper = np.bincount(keys(n_keys, count, "zipf", s=2.0)).max()
    assert steeper > freq[0]
    assert keys(1, 10, "zipf").tolist() == [0] * 10


def test_hot_zipf_keys_are_spread_over_the_key_space() -> None:
    freq = np.bincount(keys(10_000, 50_000, "zipf"), minlength=10_000)
    hottest = np.argsort(freq)[::-1][:20]
    assert hottest.max() > 1000


@pytest.mark.parametrize(
    ("call", "bad"),
    [
        (lambda: documents("huge", 10), "'huge'"),
        (lambda: documents("small", -1), "-1"),
        (lambda: documents("small", 1, seed=-3), "-3"),
        (lambda: users(-2), "-2"),
        (lambda: payload(-5), "-5"),
        (lambda: keys(0, 10), "0"),
        (lambda: keys(10, -4), "-4"),
        (lambda: keys(10, 4, "pareto"), "'pareto'"),
        (lambda: keys(10, 4, "zipf", s=0.0), "0.0"),
        (lambda: dataset_file("tiny", 10), "'tiny'"),
    ],
)
def test_bad_arguments_are_named(call, bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        call()


def test_write_jsonl_round_trips_and_leaves_no_temp_file(tmp_path: Path) -> None:
    records = [*documents("medium", 30), {"text": "ünïcode ✓", "n": None}]
    path = write_jsonl(records, tmp_path / "out.jsonl")
    assert path == tmp_path / "out.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == records
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_write_jsonl_failure_keeps_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text('{"old": true}\n')

    def broken():
        yield {"a": 1}
        raise RuntimeError("generator died")

    with pytest.raises(RuntimeError, match="died"):
        write_jsonl(broken(), path)
    with pytest.raises(ValueError):
        write_jsonl([{"x": float("nan")}], path)
    assert path.read_text() == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_dataset_file_is_generated_once_and_reused(tmp_path: Path, monkeypatch) -> None:
    path = dataset_file("small", 25, seed=2, cache_dir=tmp_path / "cache")
    assert path == tmp_path / "cache" / "documents-small-25-s2-v1.jsonl"
    lines = path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == documents("small", 25, seed=2)

    def no_regeneration(*args, **kwargs):
        raise AssertionError("dataset regenerated although cached")

    monkeypatch.setattr(datagen, "documents", no_regeneration)
    assert dataset_file("small", 25, seed=2, cache_dir=tmp_path / "cache") == path
    with pytest.raises(AssertionError, match="regenerated"):
        dataset_file("small", 26, seed=2, cache_dir=tmp_path / "cache")


def test_dataset_file_default_dir_honours_csbench_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CSBENCH_CACHE", str(tmp_path))
    path = dataset_file("medium", 3)
    assert path == tmp_path / "datasets" / "documents-medium-3-s0-v1.jsonl"
    assert path.is_file()
