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

from csbench.measure.bridge import Batch

from . import common

OPS = ["scalar", "transform", "aggregate"]  # driver ops fn_<op> (driver/functions.ts)
CALLS = ["first", "warm"]


def _session(op: str, call: str) -> common.Session:
    return common.area_session(f"fn_{op}", call=call)


class FunctionsTime(common.BusyClockTime):
    """Time of one call inside Bun (busy clock), without the pipe round trip.

    One asv sample is one driver batch; every result is checked against a value the
    driver computes itself.
    """

    params = (OPS, CALLS)
    param_names = ["op", "call"]
    version = "functions-time-1"

    def setup(self, op: str, call: str) -> None:
        self.session = _session(op, call)

    def time_op(self, op: str, call: str) -> Batch:
        return self.session.batch()


class FunctionLatency(common.LatencyTracks):
    """p50 / p95 / p99 latency of one call in µs, of every call of common.LATENCY_REPEATS
    batches."""

    params = (OPS, CALLS)
    param_names = ["op", "call"]
    timeout = 900
    version = "functions-latency-2"
    paired_time = "functions.FunctionsTime.time_op"

    def setup_cache(self) -> dict[str, dict[str, Any]]:
        return {
            f"{op}/{call}": common.latency_entry(lambda op=op, call=call: _session(op, call))
            for op in OPS
            for call in CALLS
        }
