"""Computed attributes and stored functions (driver/computed.ts, driver/functions.ts) against
git checkouts of the configured repository: every op passes its checks at 2307c8d
(core-2025) and f8a1929 (flat-2025), and is unsupported at 16d6348 (before both areas).

Skipped, with the reason, when no repository is configured (see csbench.commits.config).
"""

from __future__ import annotations

import pytest

from csbench.measure.bridge import Driver, DriverError, Unsupported

pytestmark = pytest.mark.integration

COMPUTED_OPS = ["computed_register", "computed_cold", "computed_cached", "computed_dependent"]
FUNCTION_OPS = ["fn_scalar", "fn_transform", "fn_aggregate"]
CALLS = ["first", "warm"]


def test_capabilities_follow_the_commit(driver: Driver) -> None:
    probe = driver.probe()
    present = driver.has_areas  # type: ignore[attr-defined]
    assert probe["capabilities"]["computed"] is present
    assert probe["capabilities"]["functions"] is present
    ours = set(COMPUTED_OPS + FUNCTION_OPS)
    assert ours & set(probe["ops"]) == (ours if present else set())


def test_computed_ops_pass_their_checks_or_are_unsupported(driver: Driver) -> None:
    for op in COMPUTED_OPS:
        if not driver.has_areas:  # type: ignore[attr-defined]
            with pytest.raises(Unsupported, match="computed"):
                driver.run(op, count=1)
        else:
            assert driver.run(op, count=200, seed=1).count == 200


def test_function_ops_pass_their_checks_or_are_unsupported(driver: Driver) -> None:
    for op in FUNCTION_OPS:
        for call in CALLS:
            if not driver.has_areas:  # type: ignore[attr-defined]
                with pytest.raises(Unsupported, match="functions"):
                    driver.run(op, count=1, call=call)
            else:
                assert driver.run(op, count=5, seed=2, call=call).count == 5


def test_function_ops_reject_an_unknown_call(driver: Driver) -> None:
    if not driver.has_areas:  # type: ignore[attr-defined]
        pytest.skip("no stored functions at this commit")
    with pytest.raises(DriverError, match='"call" must be'):
        driver.run("fn_scalar", count=1, call="cold")
