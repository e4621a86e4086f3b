"""Seeded data generators: documents (tiers), users, payloads, key streams, JSONL files.

RULE: datasets are append-only. Never change what an existing (name, seed) produces -- not
the draws, their order, the vocabularies nor CHUNK -- because the stored benchmark history
was measured on it. To change a dataset, add a new stream name (and bump the file version).

Every stream draws from its own `SeedSequence(seed, spawn_key=(hash(name), ...))`, so
streams are independent of each other and of the order they are used in. Documents and
users are built in chunks of CHUNK records, each chunk from its own seed, so the first n
records never depend on how many were asked for (1k, 10k and 100k datasets share data).
A medium document is the small one plus fields; a large one is the medium one plus fields.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from csbench.measure import atomic, paths

TIERS = ("small", "medium", "large")
CHUNK = 1024
DOCUMENTS_FILE_VERSION = 1
BIO_CHARS = 256
PAYLOAD_CHARS = 2048
HISTORY_LEN = 20

_CREATED_MIN_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
_CREATED_END_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z (exclusive)
_YEAR_MS = 365 * 24 * 3600 * 1000

_SYLLABLES = (
    "ka", "lo", "mi", "ra", "ten", "su", "vel", "do", "an", "ber",
    "ci", "mar", "no", "qui", "sa", "tor", "ul", "ven", "xi", "zo",
)  # fmt: skip
_WORDS = (
    "alpha", "amber", "apple", "arrow", "basin", "beacon", "birch", "bloom", "cable", "canal",
    "cedar", "chalk", "cloud", "coral", "delta", "drift", "eagle", "ember", "fable", "fern",
    "field", "flint", "frost", "glade", "grain", "harbor", "hazel", "island", "ivory", "jade",
    "kettle", "lantern", "lemon", "linen", "maple", "meadow", "mirror", "north", "ocean", "olive",
    "orbit", "pebble", "pine", "prism", "quartz", "quiet", "raven", "ridge", "river", "saddle",
    "signal", "silver", "stone", "summit", "timber", "topaz", "tunnel", "umber", "valley", "velvet",
    "willow", "winter", "yarrow", "zephyr", "and", "the", "of", "to", "in", "with",
)  # fmt: skip
_TAGS = (
    "new", "sale", "featured", "archived", "draft", "urgent", "review", "public",
    "private", "beta", "legacy", "premium", "free", "trial", "vip", "internal",
    "external", "red", "green", "blue", "small", "large", "north", "south",
    "east", "west", "alpha", "gamma", "hot", "cold", "local", "global",
)  # fmt: skip
_CITIES = (
    "Amsterdam", "Berlin", "Cairo", "Delhi", "Dublin", "Helsinki", "Lagos", "Lima",
    "Lisbon", "Madrid", "Nairobi", "Oslo", "Osaka", "Prague", "Quito", "Seoul",
    "Sydney", "Tokyo", "Toronto", "Vienna",
)  # fmt: skip
_ACTIONS = ("login", "logout", "view", "purchase", "refund", "update", "share", "comment")
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_PASSWORD_CHARS = _ALNUM + "!#$%&*+-=?@^_~"
_WORD_WIDTHS = np.array([len(w) + 1 for w in _WORDS])  # word plus the space after it

Doc = dict[str, Any]


# Indexes the benchmarks and load scenarios create on every dataset (driver `load` specs).
STANDARD_INDEXES: list[dict[str, Any]] = [
    {"name": "uid", "key": "uid", "unique": True},
    {"name": "group", "key": "group", "unique": False},
    {"name": "age", "key": "age", "unique": False},
]


def _stream(name: str, seed: int, *key: int) -> np.random.Generator:
    """Independent generator for stream `name` (plus integer sub-keys) under `seed`."""
    name_key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(name_key, *key)))


def _check_non_negative(what: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{what} must be >= 0, got {value!r}")


def _check_tier(tier: str) -> None:
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}; expected one of {', '.join(TIERS)}")


def _chunked(n: int, make_chunk: Callable[[int], list[Doc]]) -> list[Doc]:
    """First n records of the chunks make_chunk(0), make_chunk(1), ..."""
    records: list[Doc] = []
    for chunk in range(-(-n // CHUNK)):
        records.extend(make_chunk(chunk))
    del records[n:]
    return records


def _pseudo_words(rng: np.random.Generator, m: int) -> list[str]:
    """m capitalised words of 2..4 syllables."""
    counts = rng.integers(2, 5, m).tolist()
    picks = rng.integers(0, len(_SYLLABLES), (m, 4)).tolist()
    return [
        "".join([_SYLLABLES[j] for j in row[:k]]).capitalize()
        for row, k in zip(picks, counts, strict=True)
    ]


def _texts(rng: np.random.Generator, m: int, length: int) -> list[str]:
    """m texts of whole words, each about `length` characters long."""
    most_words = m * length // int(_WORD_WIDTHS.min()) + 1
    picks = rng.integers(0, len(_WORDS), most_words)
    ends = np.cumsum(_WORD_WIDTHS[picks])
    cuts = (np.searchsorted(ends, np.arange(1, m + 1) * length) + 1).tolist()
    words = [_WORDS[i] for i in picks[: cuts[-1]].tolist()]
    return [" ".join(words[a:b]) for a, b in zip([0, *cuts[:-1]], cuts, strict=True)]


def _random_strings(
    rng: np.random.Generator, alphabet: str, lengths: list[int], width: int
) -> list[str]:
    """Strings of the given lengths (each <= width) drawn uniformly from `alphabet`."""
    table = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    blob = table[rng.integers(0, len(table), (len(lengths), width))].tobytes().decode("ascii")
    return [blob[k * width : k * width + n] for k, n in enumerate(lengths)]


def _small_chunk(rng: np.random.Generator, start: int) -> list[Doc]:
    group = rng.integers(0, 100, CHUNK).tolist()
    age = rng.integers(18, 90, CHUNK).tolist()
    score = (rng.integers(0, 100_000, CHUNK) / 1000).tolist()
    names = _pseudo_words(rng, CHUNK)
    active = (rng.random(CHUNK) < 0.8).tolist()
    uids = range(start, start + CHUNK)
    return [
        {
            "uid": uid,
            "group": g,
            "age": a,
            "score": s,
            "email": f"user{uid}@example.org",
            "name": name,
            "active": act,
        }
        for uid, g, a, s, name, act in zip(uids, group, age, score, names, active, strict=True)
    ]


def _add_medium_fields(docs: list[Doc], rng: np.random.Generator) -> None:
    m = len(docs)
    n_tags = rng.integers(3, 9, m).tolist()
    tag_orders = rng.random((m, len(_TAGS))).argsort(axis=1)[:, :8].tolist()
    cities = rng.integers(0, len(_CITIES), m).tolist()
    zips = rng.integers(0, 100_000, m).tolist()
    created = rng.integers(_CREATED_MIN_MS, _CREATED_END_MS, m).tolist()
    bios = _texts(rng, m, BIO_CHARS)
    fields = zip(docs, n_tags, tag_orders, cities, zips, created, bios, strict=True)
    for doc, k, order, city, zip_code, at, bio in fields:
        doc["tags"] = [_TAGS[j] for j in order[:k]]
        doc["address"] = {"city": _CITIES[city], "zip": f"{zip_code:05d}"}
        doc["created"] = at
        doc["bio"] = bio


def _add_large_fields(docs: list[Doc], rng: np.random.Generator) -> None:
    m = len(docs)
    offsets = np.sort(rng.integers(0, _YEAR_MS, (m, HISTORY_LEN)), axis=1).tolist()
    actions = rng.integers(0, len(_ACTIONS), (m, HISTORY_LEN)).tolist()
    amounts = (rng.integers(0, 1_000_000, (m, HISTORY_LEN)) / 100).tolist()
    payloads = _random_strings(rng, _ALNUM, [PAYLOAD_CHARS] * m, PAYLOAD_CHARS)
    for doc, offs, acts, amts, text in zip(docs, offsets, actions, amounts, payloads, strict=True):
        created = doc["created"]
        doc["history"] = [
            {"at": created + o, "action": _ACTIONS[a], "amount": x}
            for o, a, x in zip(offs, acts, amts, strict=True)
        ]
        doc["payload"] = text


def documents(tier: str, n: int, seed: int = 0) -> list[Doc]:
    """n documents of `tier`; document i has uid i. Prefix-stable in n."""
    _check_tier(tier)
    _check_non_negative("n", n)
    _check_non_negative("seed", seed)

    def make_chunk(chunk: int) -> list[Doc]:
        docs = _small_chunk(_stream("documents.small", seed, chunk), chunk * CHUNK)
        if tier != "small":
            _add_medium_fields(docs, _stream("documents.medium", seed, chunk))
        if tier == "large":
            _add_large_fields(docs, _stream("documents.large", seed, chunk))
        return docs

    return _chunked(n, make_chunk)


def users(n: int, seed: int = 0) -> list[Doc]:
    """n users (email, password of 12..20 chars, name, roles). Prefix-stable in n."""
    _check_non_negative("n", n)
    _check_non_negative("seed", seed)

    def make_chunk(chunk: int) -> list[Doc]:
        rng = _stream("users", seed, chunk)
        lengths = rng.integers(12, 21, CHUNK).tolist()
        passwords = _random_strings(rng, _PASSWORD_CHARS, lengths, 20)
        names = _pseudo_words(rng, CHUNK)
        editor = (rng.random(CHUNK) < 0.10).tolist()
        admin = (rng.random(CHUNK) < 0.02).tolist()
        uids = range(chunk * CHUNK, (chunk + 1) * CHUNK)
        return [
            {
                "email": f"user{uid}@example.org",
                "password": password,
                "name": name,
                "roles": ["user"] + ["editor"] * ed + ["admin"] * ad,
            }
            for uid, password, name, ed, ad in zip(
                uids, passwords, names, editor, admin, strict=True
            )
        ]

    return _chunked(n, make_chunk)


def payload(size: int, seed: int = 0) -> bytes:
    """Exactly `size` random bytes (file payloads: 1 KiB, 100 KiB, 10 MiB)."""
    _check_non_negative("size", size)
    _check_non_negative("seed", seed)
    return _stream("payload", seed).bytes(size)


def keys(
    n_keys: int, count: int, dist: str = "uniform", seed: int = 0, s: float = 1.1
) -> np.ndarray:
    """`count` int64 keys in [0, n_keys), uniform or bounded Zipf with exponent `s`.

    Zipf draws a popularity rank r with P(r) proportional to (r + 1) ** -s and maps ranks
    to keys through a fixed permutation, so hot keys are spread over the key space.
    """
    if n_keys < 1:
        raise ValueError(f"n_keys must be >= 1, got {n_keys!r}")
    _check_non_negative("count", count)
    _check_non_negative("seed", seed)
    if dist == "uniform":
        return _stream("keys.uniform", seed).integers(0, n_keys, count)
    if dist != "zipf":
        raise ValueError(f"unknown dist {dist!r}; expected 'uniform' or 'zipf'")
    if not s > 0:
        raise ValueError(f"zipf exponent s must be > 0, got {s!r}")
    rng = _stream("keys.zipf", seed)
    key_of_rank = rng.permutation(n_keys)
    cdf = np.cumsum(np.arange(1, n_keys + 1, dtype=np.float64) ** -s)
    ranks = np.searchsorted(cdf / cdf[-1], rng.random(count), side="right")
    return key_of_rank[ranks]


def write_jsonl(records: Iterable[Doc], path: str | os.PathLike[str]) -> Path:
    """Write one JSON object per line, atomically: `path` is whole or untouched."""
    path = Path(path)
    encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    with atomic.atomic_open(path) as f:
        for record in records:
            f.write(encode(record))
            f.write("\n")
    return path


def dataset_file(
    tier: str, n: int, seed: int = 0, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Cached JSONL of documents(tier, n, seed), generated on first use.

    cache_dir defaults to <csbench cache>/datasets ($CSBENCH_CACHE, else ~/.cache/csbench).
    """
    _check_tier(tier)
    _check_non_negative("n", n)
    _check_non_negative("seed", seed)
    directory = Path(cache_dir) if cache_dir is not None else paths.cache_dir() / "datasets"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"documents-{tier}-{n}-s{seed}-v{DOCUMENTS_FILE_VERSION}.jsonl"
    if not path.exists():
        write_jsonl(documents(tier, n, seed), path)
    return path
