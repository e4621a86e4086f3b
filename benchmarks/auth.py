"""Auth of Collection Store (src/auth): login, JWT token pairs and validation, sessions and a
cached authorization check, under two configs of the commit's src/auth/config/defaults.ts
(identical at 2307c8d and f8a1929):

- ``production`` = DEFAULT_AUTH_CONFIG: bcrypt 12 salt rounds; passwords of 8+ characters
  with upper, lower, digit and special; ES256 JWTs (P-256 keys generated at import), access
  tokens 900 s, refresh tokens 7 days, revocation on, 5 concurrent sessions; session ttl 1 h.
- ``test`` = TEST_AUTH_CONFIG: bcrypt 4 rounds, passwords of 4+ characters, HS256, access
  tokens 60 s, refresh tokens 300 s; session ttl 300 s.

Each fixture holds USERS users made by UserManager.createUser (one bcrypt hash each: at
production rounds, the bulk of a fixture's cost). ``authorize_cached`` takes no auth config
(AuthorizationEngine has its own), so its two series measure the same call.
"""

from __future__ import annotations

from typing import Any

from csbench.measure.bridge import Batch

from . import common

# asv param value -> driver op (driver/auth.ts)
DRIVER_OPS = {
    "login": "auth_login",
    "token_pair": "auth_token_pair",
    "validate_token": "auth_validate_token",
    "session_create": "auth_session_create",
    "session_validate": "auth_session_validate",
    "authorize_cached": "auth_authorize_cached",
}
OPS = list(DRIVER_OPS)
SETTINGS = ["production", "test"]
USERS = 20
# A login at production rounds (one bcrypt verify) can take longer than a whole batch
# budget, so a budget-bound batch would hold a single login: its latency batches hold at
# least this many, so that a percentile is not one sample.
MIN_COUNT = {("login", "production"): 5}


def session(op: str, settings: str) -> common.Session:
    made = common.area_session(DRIVER_OPS[op], settings=settings, users=USERS)
    made.min_count = MIN_COUNT.get((op, settings), 1)
    return made


class AuthTime(common.BusyClockTime):
    """Time of one op inside Bun (busy clock), without the pipe round trip.

    ``login`` is getUserByEmail + verifyPassword timed together (there is no login());
    ``validate_token`` validates a pair issued untimed just before. Ops that write restore
    their fixture untimed afterwards. One asv sample is one driver batch (at production
    rounds, one login).
    """

    params = (OPS, SETTINGS)
    param_names = ["op", "settings"]
    timeout = 300
    version = "auth-time-1"

    def setup(self, op: str, settings: str) -> None:
        self.session = session(op, settings)

    def time_op(self, op: str, settings: str) -> Batch:
        return self.session.batch()


class AuthLatency(common.LatencyTracks):
    """p50 / p95 / p99 latency of one op in µs, of every op of common.LATENCY_REPEATS batches."""

    params = (OPS, SETTINGS)
    param_names = ["op", "settings"]
    timeout = 900
    version = "auth-latency-2"
    paired_time = "auth.AuthTime.time_op"

    def setup_cache(self) -> dict[str, dict[str, Any]]:
        return {
            f"{op}/{settings}": common.latency_entry(
                lambda op=op, settings=settings: session(op, settings)
            )
            for settings in SETTINGS
            for op in OPS
        }
