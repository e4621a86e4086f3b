"""Stored functions of Collection Store (StoredFunctionEngine: esbuild transpile, vm sandbox):
a scalar function, a transformation and an aggregate over the 10,000 documents of a real
CSDatabase collection (read once, passed as a parameter: the sandbox gives functions a mock
database), each called ``first`` or ``warm``.

``first`` is the time to the first result of a function never seen before: its
registerFunction (where these commits transpile) plus its first executeFunction. ``warm``
is executeFunction of a function registered earlier.
"""

from __future__ import annotations

from typing import Any

from csbench.bridge import op_clock

from . import common

OPS = ["scalar", "transform", "aggregate"]  # driver ops fn_<op> (driver/functions.ts)
CALLS = ["first", "warm"]


def _session(op: str, call: str) -> common.Session:
    return common.area_session(f"fn_{op}", call=call)


class FunctionsTime:
    """Time of one call inside Bun (busy clock), without the pipe round trip.

    One asv sample is one driver batch; every result is checked against a value the
    driver computes itself.
    """

    params = (OPS, CALLS)
    param_names = ["op", "call"]
    timer = staticmethod(op_clock)
    number = 1
    repeat = (4, 12, 4.0)
    warmup_time = 0.5
    rounds = 2
    timeout = 600
    version = "functions-time-1"

    def setup(self, op: str, call: str) -> None:
        self.session = _session(op, call)

    def time_op(self, op: str, call: str) -> None:
        self.session.batch()


class FunctionLatency:
    """p50 / p95 / p99 latency of one call in µs (median over common.LATENCY_REPEATS batches)."""

    params = (OPS, CALLS)
    param_names = ["op", "call"]
    timeout = 900
    version = "functions-latency-1"

    def setup_cache(self) -> dict[str, dict[str, Any]]:
        return {
            f"{op}/{call}": common.latency_entry(lambda op=op, call=call: _session(op, call))
            for op in OPS
            for call in CALLS
        }

    def setup(self, cache: dict[str, dict[str, Any]], op: str, call: str) -> None:
        common.skip_if_unsupported(cache, f"{op}/{call}")

    def track_p50(self, cache: dict[str, dict[str, Any]], op: str, call: str) -> float:
        return common.latency(cache, f"{op}/{call}", 50)

    def track_p95(self, cache: dict[str, dict[str, Any]], op: str, call: str) -> float:
        return common.latency(cache, f"{op}/{call}", 95)

    def track_p99(self, cache: dict[str, dict[str, Any]], op: str, call: str) -> float:
        return common.latency(cache, f"{op}/{call}", 99)

    track_p50.unit = track_p95.unit = track_p99.unit = "us"  # type: ignore[attr-defined]
