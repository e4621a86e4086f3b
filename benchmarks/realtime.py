"""Realtime subscriptions of Collection Store: SubscriptionEngine.subscribe, and one
publishChange fanned out to 1 / 100 / 1,000 matching subscribers (plus as many that do not
match), each subscriber with its own user and connection.

At every commit that has the engine (b83eb79 onward) it is not wired to database writes
(the driver calls publishChange itself) and delivery to a connection is a console stub:
sendToConnection only calls ``console.log``. The driver silences that call and notes when
it happens. What is measured is therefore publish → scope match over every subscription →
per-subscriber permission check and filtering → the delivery call, awaited to the last
matching subscriber; no network send exists to measure. The engine is given an
authorization object that allows everything and an audit log that discards entries (what
its constructor really needs: see driver/realtime.ts).
"""

from __future__ import annotations

from typing import Any

from csbench.measure.bridge import Batch

from . import common

SUBSCRIBERS = [1, 100, 1000]


class RealtimeTime(common.BusyClockTime):
    """Time inside Bun (busy clock) of one subscribe, and of one publishChange until every
    matching subscriber's delivery call has happened (the fan-out cost).

    One asv sample is one driver batch (up to common.BATCH_COUNT ops or
    common.BATCH_BUDGET_MS of busy time); the figure is the batch's mean op time.
    """

    version = "realtime-time-1"

    def setup(self, subscribers: int | None = None) -> None:
        if subscribers is None:
            self.session = common.area_session("rt_subscribe")
        else:
            self.session = common.area_session("rt_publish", subscribers=subscribers)

    def time_subscribe(self) -> Batch:
        return self.session.batch()

    def time_publish(self, subscribers: int) -> Batch:
        return self.session.batch()

    time_publish.params = SUBSCRIBERS  # type: ignore[attr-defined]
    time_publish.param_names = ["subscribers"]  # type: ignore[attr-defined]


class RealtimeLatency(common.LatencyTracks):
    """p50 / p95 / p99 in µs from the start of publishChange to each delivery call.

    Every delivery is one sample (a publish to 1,000 subscribers gives 1,000), so the tail
    is the last subscribers served. Each count runs once in ``setup_cache``:
    common.LATENCY_REPEATS batches of up to common.LATENCY_COUNT publishes (or
    common.LATENCY_BUDGET_MS of busy time); a track reports the percentile of every
    delivery of those batches.
    """

    params = SUBSCRIBERS
    param_names = ["subscribers"]
    timeout = 1800
    version = "realtime-latency-2"
    paired_time = "realtime.RealtimeTime.time_publish"

    def setup_cache(self) -> dict[str, dict[str, Any]]:
        return {
            common.latency_key(n): common.latency_entry(
                lambda n=n: common.area_session("rt_delivery", subscribers=n)
            )
            for n in SUBSCRIBERS
        }
