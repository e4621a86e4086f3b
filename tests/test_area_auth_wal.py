"""The auth and WAL areas of the Bun driver against git checkouts of the configured
repository: every op passes its checks at 2307c8d (core-2025) and f8a1929 (flat-2025), except
WAL recovery, which restores no documents there; all are unsupported at 16d6348 (before both).

Skipped, with the reason, when no repository is configured (see csbench.commits.config).
"""

from __future__ import annotations

import pytest

from csbench.measure.bridge import CheckFailed, Driver, Unsupported

pytestmark = pytest.mark.integration

AUTH_OPS = [
    "auth_login",
    "auth_token_pair",
    "auth_validate_token",
    "auth_session_create",
    "auth_session_validate",
    "auth_authorize_cached",
]
# Ops per batch: a login at production settings runs bcrypt at 12 rounds, by far the
# slowest op, so its batches stay small.
COUNTS = {("auth_login", "production"): 2}
USERS = 4  # per fixture: each is one bcrypt hash at the settings' rounds


def test_probe_detects_the_areas(driver: Driver) -> None:
    caps = driver.probe()["capabilities"]
    for cap in ("auth", "auth_authz_cache", "wal"):
        assert caps[cap] is driver.has_areas
    ops = {*AUTH_OPS, "wal_txn_commit", "wal_recover"}
    assert ops & set(driver.probe()["ops"]) == (ops if driver.has_areas else set())


@pytest.mark.parametrize("settings", ["production", "test"])
@pytest.mark.parametrize("op", AUTH_OPS)
def test_auth_op_passes_its_checks(driver: Driver, op: str, settings: str) -> None:
    count = COUNTS.get((op, settings), 20)
    if not driver.has_areas:
        with pytest.raises(Unsupported, match=op):
            driver.run(op, count=count, settings=settings, users=USERS)
        return
    batch = driver.run(op, count=count, settings=settings, users=USERS, seed=1)
    assert batch.count == count
    assert batch.busy_ns > 0


def test_wal_txn_commit_passes_its_checks(driver: Driver) -> None:
    if not driver.has_areas:
        with pytest.raises(Unsupported, match="wal_txn_commit"):
            driver.run("wal_txn_commit", count=20)
        return
    assert driver.run("wal_txn_commit", count=20, writes=10).count == 20


def test_wal_recovery_restores_no_documents(driver: Driver) -> None:
    """FileWALManager.replayTransaction only logs each entry: the collection stays empty."""
    if not driver.has_areas:
        with pytest.raises(Unsupported, match="wal_recover"):
            driver.run("wal_recover", count=1)
        return
    with pytest.raises(CheckFailed, match=r'expected \{"documents":1000,.*got \{"documents":0'):
        driver.run("wal_recover", count=1, entries=1_000)
