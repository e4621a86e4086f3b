"""The realtime and files areas of the Bun driver against git checkouts of the configured
repository: every op passes its checks at 2307c8d (core-2025) and f8a1929 (flat-2025) and is
unsupported at 16d6348 (before both areas).

Skipped, with the reason, when no repository is configured (see csbench.commits.config).
"""

from __future__ import annotations

from typing import Any

import pytest

from csbench.measure.bridge import Driver, Unsupported

pytestmark = pytest.mark.integration

RUNS: list[tuple[str, dict[str, Any]]] = [
    ("rt_subscribe", {}),
    ("rt_publish", {"subscribers": 100}),
    ("rt_delivery", {"subscribers": 100}),
    ("files_upload", {"size": 102_400}),
    ("files_download", {"size": 102_400}),
    ("files_upload", {"size": 10_485_760}),
    ("files_download", {"size": 10_485_760}),
]


def test_probe_detects_the_areas(driver: Driver) -> None:
    probe = driver.probe()
    assert probe["capabilities"]["realtime"] is driver.has_areas
    assert probe["capabilities"]["files"] is driver.has_areas
    ops = {op for op, _ in RUNS}
    assert ops & set(probe["ops"]) == (ops if driver.has_areas else set())


@pytest.mark.parametrize(("op", "params"), RUNS, ids=[f"{op}-{p}" for op, p in RUNS])
def test_op_passes_its_checks_or_is_unsupported(
    driver: Driver, op: str, params: dict[str, Any]
) -> None:
    if not driver.has_areas:
        with pytest.raises(Unsupported, match=op):
            driver.run(op, count=3, **params)
        return
    batch = driver.run(op, count=3, **params)
    assert batch.count == 3
    assert batch.busy_ns > 0


def test_delivery_records_one_sample_per_delivery(driver: Driver) -> None:
    if not driver.has_areas:
        pytest.skip("no realtime at this commit")
    batch = driver.run("rt_delivery", count=4, subscribers=100)
    assert batch.count == 4  # publishes
    assert batch.hist.count == 400  # deliveries
    # Every delivery happens inside its publish, so within that publish's timed ns.
    assert batch.raw["max_ns"] <= batch.busy_ns
    assert batch.raw["mean_ns"] == pytest.approx(batch.busy_ns / 4)
