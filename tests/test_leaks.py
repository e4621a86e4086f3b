"""csbench.observe.leaks: a planted leak (driver/machine.ts's ``retain``) is seen with its
size per op; an op that keeps nothing (``pointer_chase``) retains nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from csbench.measure import sessions
from csbench.measure.bridge import Batch
from csbench.measure.pairs import Case
from csbench.observe import leaks

pytestmark = pytest.mark.integration


class Leaky:
    objects = 3

    def setup(self) -> None:
        self.session = sessions.area_session("retain", objects=self.objects)

    def time_retain(self) -> Batch:
        return self.session.batch()


class Chase:
    def setup(self) -> None:
        self.session = sessions.area_session("pointer_chase", kib=64, hops=2_000)

    def time_chase(self) -> Batch:
        return self.session.batch()


def test_a_planted_leak_is_retained_and_a_clean_op_is_not(npm_target: Path) -> None:
    leaky = leaks.measure(npm_target, Case("Leaky", "t.Leaky.time_retain", (), Leaky), n=3000)
    (kept,) = [g for g in leaky.retained if g.type == "Object"]
    assert kept.per_op == pytest.approx(Leaky.objects, rel=0.1), leaky.growth[:5]
    assert leaky.bytes_per_op() > 0 and sum(leaky.ops) >= 6000
    clean = leaks.measure(npm_target, Case("Chase", "t.Chase.time_chase", (), Chase), n=3000)
    assert clean.retained == [], clean.growth[:5]
    text = leaks.render([leaky, clean])
    assert "Object 3" in text and text.splitlines()[-1].split()[1] == str(sum(clean.ops))
    data = json.loads(leaks.to_json([leaky, clean]))
    assert data[0]["retained"][0]["type"] == "Object" and data[1]["retained"] == []
