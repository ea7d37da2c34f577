"""Per-route rate limits as Discord documents them (https://discord.com/developers/docs/topics/rate-limits).

A bucket belongs to one route (method and path template) and one major parameter, the top-level resource in the
path: for the member-role routes, the guild. Each bucket is a fixed window: the first request after a reset
opens it, ``limit`` requests fit in it, and it resets ``window`` seconds after it opened. Every answer on such a
route carries the ``X-RateLimit-*`` headers discord.py's ``Ratelimit`` reads, so a client that paces itself on
them never sees a 429; one that does not gets the 429 Discord sends, and its change is not applied.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

# Headers when no limit is configured: a window so wide no test fills it, but real numbers all the same, so
# discord.py's bucket code (hash discovery, remaining, reset) runs exactly as it does against Discord.
UNLIMITED = (10_000, 1.0)

RATE_LIMITED_MESSAGE = "You are being rate limited."


def bucket_hash(route: str) -> str:
    """An opaque, stable id per route, like Discord's ``X-RateLimit-Bucket`` (which excludes the major
    parameter: discord.py joins the two itself)."""
    return hashlib.sha256(route.encode()).hexdigest()[:32]


@dataclass
class _Window:
    opened: float  # epoch seconds
    used: int = 0


@dataclass(frozen=True)
class Verdict:
    """What one request got from its bucket: let through or not, and the headers to answer with."""

    allowed: bool
    retry_after: float
    headers: dict[str, str]


class RouteRateLimits:
    """Fixed-window buckets keyed by (route, major parameter). ``limit`` is (requests, window seconds); None
    answers with the generous :data:`UNLIMITED` numbers and never refuses."""

    def __init__(self, limit: tuple[int, float] | None) -> None:
        self.limit = limit
        self._windows: dict[tuple[str, int], _Window] = {}

    def take(self, route: str, major: int, now: float | None = None) -> Verdict:
        """Spend one request of ``route``'s bucket for ``major``, or refuse it if the bucket is empty."""
        now = time.time() if now is None else now
        count, window = self.limit or UNLIMITED
        current = self._windows.get((route, major))
        if current is None or now >= current.opened + window:
            current = self._windows[(route, major)] = _Window(now)
        # Rounded up to Discord's millisecond precision: a client waiting out the figures sent never comes back
        # a fraction early.
        reset = _ceil_ms(current.opened + window)
        reset_after = _ceil_ms(max(current.opened + window - now, 0.0))
        allowed = current.used < count or self.limit is None
        if allowed:
            current.used += 1
        headers = {
            "X-RateLimit-Limit": str(count),
            "X-RateLimit-Remaining": str(max(count - current.used, 0)),
            "X-RateLimit-Reset": f"{reset:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash(route),
        }
        if not allowed:
            headers |= {
                # Discord's header is whole seconds; the body's retry_after is the precise figure.
                "Retry-After": str(math.ceil(reset_after)),
                "X-RateLimit-Scope": "user",
                # discord.py takes a 429 without Via for a Cloudflare ban and raises instead of retrying;
                # Discord's own answers come through Google's load balancer and carry this.
                "Via": "1.1 google",
            }
        return Verdict(allowed, reset_after, headers)


def _ceil_ms(seconds: float) -> float:
    return math.ceil(seconds * 1000) / 1000
