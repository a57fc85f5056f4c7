"""Per-caller rate limiting: one token bucket per authenticated caller.

A runaway script or a stolen token should slow down one caller, not the
service: each caller (principal actor) gets ``REVMENTOR_RATE_LIMIT_PER_SECOND``
calls per second (default 200) with bursts up to ``REVMENTOR_RATE_LIMIT_BURST``
(default 400); beyond that the call answers RESOURCE_EXHAUSTED with how long to
wait. The clock is injectable so the arithmetic is tested without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from revmentor.kernel.settings import env

DEFAULT_RATE = 200.0
DEFAULT_BURST = 400.0
#: Buckets kept before idle (full) ones are dropped, so many callers cannot exhaust memory.
MAX_BUCKETS = 10_000


@dataclass
class TokenBucket:
    """``rate`` tokens a second up to ``burst``; each call takes one."""

    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """0 when the call may go ahead, else the seconds until a token is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def full(self, now: float) -> bool:
        return self.tokens + (now - self.updated) * self.rate >= self.burst


class RateLimiter:
    """Token buckets by caller key."""

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: float = DEFAULT_BURST,
        clock: Callable[[], float] = time.monotonic,
    ):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, service: str = "") -> RateLimiter:
        return cls(
            rate=float(env("REVMENTOR_RATE_LIMIT_PER_SECOND", str(DEFAULT_RATE), service)),
            burst=float(env("REVMENTOR_RATE_LIMIT_BURST", str(DEFAULT_BURST), service)),
        )

    def retry_after(self, key: str) -> float:
        """Take a token for ``key``: 0 if allowed, else seconds to wait before retrying."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= MAX_BUCKETS:
                    self._forget_idle(now)
                bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.burst, now)
            return bucket.take(now)

    def _forget_idle(self, now: float) -> None:
        """A full bucket holds no information: dropping it changes nothing for its caller."""
        for key in [k for k, b in self._buckets.items() if b.full(now)]:
            del self._buckets[key]
