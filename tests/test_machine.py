"""csbench.observe.machine: the rank correlation and spreads on known data; the driver's
pointer_chase and `csbench machine` against the npm-published Collection Store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from csbench.cli.app import main
from csbench.measure.bridge import Driver, DriverError
from csbench.observe import machine


def test_spearman_on_monotone_and_reversed_series() -> None:
    a = [1.0, 5.0, 2.0, 9.0, 4.0]
    assert machine.spearman(a, [x**3 for x in a]) == pytest.approx(1.0)
    assert machine.spearman(a, [-x for x in a]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="same length"):
        machine.spearman(a, a[:4])


def test_series_quantiles_and_spread_are_numpy_percentiles() -> None:
    values = list(np.random.default_rng(3).lognormal(size=501))
    series = machine.Series("x", "ns", values)
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    assert series.quantiles() == pytest.approx((p5, p50, p95))
    assert series.spread == pytest.approx(p95 / p5)


@pytest.fixture(scope="module")
def driver(npm_target: Path):
    drv = Driver(npm_target)
    yield drv
    drv.close()


def _ns_per_hop(drv: Driver, kib: int) -> float:
    drv.run("pointer_chase", count=20, kib=kib, hops=100_000)  # builds the ring, warms up
    batches = [drv.run("pointer_chase", count=20, kib=kib, hops=100_000) for _ in range(5)]
    return float(np.median([b.mean_ns for b in batches])) / 100_000


@pytest.mark.integration
def test_a_chase_beyond_the_caches_is_slower_per_hop_than_one_inside_l1(driver: Driver) -> None:
    """Each hop is a dependent load: 64 MiB goes to DRAM, 16 KiB stays in L1. A walk the
    engine could skip or overlap would make the two alike."""
    small, large = _ns_per_hop(driver, 16), _ns_per_hop(driver, 64 * 1024)
    assert large > 3 * small, (small, large)


@pytest.mark.integration
def test_pointer_chase_refuses_a_bad_size(driver: Driver) -> None:
    with pytest.raises(DriverError, match='"kib" must be a positive integer'):
        driver.run("pointer_chase", count=1, kib=0)


@pytest.mark.integration
def test_csbench_machine_reports_each_series(
    npm_target: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["machine", "--target", str(npm_target), "--seconds", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = [s["name"] for s in report["series"]]
    assert names == ["find_by_id", "chase 256 KiB", "chase 16 MiB"]
    assert report["rounds"] >= 3
    for s in report["series"]:
        assert len(s["values"]) == report["rounds"]
        assert 0 < s["p5"] <= s["p50"] <= s["p95"]
        assert s["spread"] >= 1.0
    by_name = {s["name"]: s for s in report["series"]}
    assert by_name["chase 16 MiB"]["p50"] > by_name["chase 256 KiB"]["p50"]
    assert set(report["correlation"]) == {"chase 256 KiB", "chase 16 MiB"}
    assert all(-1.0 <= c <= 1.0 for c in report["correlation"].values())


def test_csbench_machine_refuses_an_unknown_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["machine", "--dataset", "tiny-5"]) == 2
    assert "unknown dataset 'tiny-5'" in capsys.readouterr().err


@pytest.mark.integration
def test_csbench_machine_names_an_op_the_commit_lacks(
    npm_target: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["machine", "--target", str(npm_target), "--op", "no_such_op", "--seconds", "1"]
    assert main(argv) == 2
    assert "no_such_op is not available at this commit" in capsys.readouterr().err
