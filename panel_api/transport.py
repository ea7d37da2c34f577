"""HTTP transport shared by every panel client: one session, timeouts, retries, 429 handling, a client-side limiter.

Panel modules decide what a status *means*; this module only decides whether a request may be sent again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from version import __version__

from .contact import PanelContact
from .errors import N_, PanelUnavailable, RateLimited

log = logging.getLogger(__name__)

USER_AGENT = f"PanelDesk/{__version__} (+discord bot)"

# Builds the authentication headers for one request from (method, absolute URL, body bytes).
# Most panels only need a bearer header; the legacy Pterodactyl API signs the URL and body.
Signer = Callable[[str, str, bytes], Mapping[str, str]]

# The transport whose requests, in the running task, are best-effort (see `Transport.best_effort`).
_BEST_EFFORT: ContextVar[Transport | None] = ContextVar("panel_api_best_effort", default=None)
_NOT_PARSED: Any = object()


# What a member reads when a request fails, by what failed and whether the request was safe to repeat (a change
# that failed may or may not have landed). {kind} is the panel's kind, "Pterodactyl".
_FAILED = {
    ("timed out", True): N_("The {kind} panel timed out; please try again later."),
    ("timed out", False): N_(
        "The {kind} panel timed out while handling a change; it may or may not have been applied, so check on the "
        "panel before trying again."
    ),
    ("connection failed", True): N_("The {kind} panel connection failed ({error}); please try again later."),
    ("connection failed", False): N_(
        "The {kind} panel connection failed ({error}) while handling a change; it may or may not have been "
        "applied, so check on the panel before trying again."
    ),
    ("answered", True): N_("The {kind} panel answered HTTP {status}; please try again later."),
    ("answered", False): N_(
        "The {kind} panel answered HTTP {status} while handling a change; it may or may not have been applied, so "
        "check on the panel before trying again."
    ),
}


@dataclass(frozen=True)
class TransportOptions:
    """Knobs for one panel connection. Defaults suit a panel on the public internet behind a proxy."""

    timeout: float = 15.0
    connect_timeout: float = 5.0
    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    # Client-side limit: at most `rate_limit` requests in any `rate_window` seconds. It must be a sliding window:
    # Laravel's limiter is a fixed window that starts at the first hit, and a token bucket can send twice its
    # capacity across one such window. `rate_window` is also taken as the length of the panel's own window where
    # the panel does not say when it resets (Laravel's successes carry X-RateLimit-Remaining, no Reset).
    rate_limit: int = 240
    rate_window: float = 60.0
    max_concurrency: int = 8
    # A 429 asking us to wait longer than this is raised as RateLimited instead of being waited out, so a slash
    # command can tell the user when to retry rather than hang past Discord's 15-minute token.
    max_rate_limit_wait: float = 30.0
    max_rate_limit_retries: int = 3
    # Best-effort requests (`Transport.best_effort`) may use this share of `rate_limit` in any `rate_window`, and
    # none once the panel says less than this share of its own window is left: the rest is kept for the requests
    # someone waits on. They never wait for room; they are refused with RateLimited at once.
    best_effort_share: float = 0.25


@dataclass
class Response:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    attempts: int = 1
    # False for a request that changes something and must not be repeated (a create): a success answer whose body
    # cannot be read then means the change may well have been made.
    idempotent: bool = True
    # A read (GET): a success it cannot parse has been asked for again already, as often as retries allow.
    read: bool = False
    # Every unreadable success the request got was a web page (a login page, a proxy's page): most likely the URL
    # points at the panel's website rather than its API, or something in front of the panel answers for it.
    only_web_pages: bool = False
    _json: Any = field(default=_NOT_PARSED, repr=False)
    _unreadable: bool = field(default=False, repr=False)

    def parses(self) -> bool:
        """Parse the body once (an empty body is None); False when it is not JSON."""
        if self._json is _NOT_PARSED and not self._unreadable:
            try:
                self._json = json.loads(self.body) if self.body else None
            except (ValueError, UnicodeDecodeError):
                self._unreadable = True
        return not self._unreadable

    @property
    def is_web_page(self) -> bool:
        content_type = self.headers.get("Content-Type", "").lower()
        return "html" in content_type or self.body.lstrip()[:1] == b"<"

    def parses_as_answer(self) -> bool:
        """`parses()`, and for a success other than 204 a body that is there at all: an empty one was cut short."""
        if 200 <= self.status < 300 and self.status != 204 and not self.body.strip():
            self._unreadable = True
        return self.parses()

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON means something other than the panel answered, or the answer
        was cut short."""
        if not self.parses():
            raise self._not_json()
        return self._json

    def _not_json(self) -> PanelUnavailable:
        success = 200 <= self.status < 300
        if success and not self.idempotent:
            return PanelUnavailable(
                f"The panel answered HTTP {self.status} to a change with something that is not JSON; the change "
                "may have been applied, so check on the panel before trying again.",
                status=self.status,
            )
        if success and self.only_web_pages:
            return PanelUnavailable(
                f"The panel answered HTTP {self.status} with a web page, not JSON "
                "(is the URL the panel's base address, and is a proxy in front of it healthy?).",
                status=self.status,
            )
        if success and self.read:
            tries = "once" if self.attempts == 1 else f"{self.attempts} times in a row"
            return PanelUnavailable(
                f"The panel's answer was garbled or cut short (HTTP {self.status}, not valid JSON), {tries}; "
                "try again in a moment.",
                status=self.status,
            )
        if success:
            return PanelUnavailable(
                f"The panel's answer to a change was garbled or cut short (HTTP {self.status}); the change was "
                "most likely made: check on the panel (sending it again is safe).",
                status=self.status,
            )
        return PanelUnavailable(
            f"The panel answered HTTP {self.status} with something that is not JSON "
            "(is the URL the panel's base address, and is a proxy in front of it healthy?).",
            status=self.status,
        )

    def json_or_none(self) -> Any:
        return self._json if self.parses() else None


RetryReason = Literal["connection refused", "connection failed", "timed out", "server error", "not json"]


class TransportObserver:
    """What a transport tells whoever watches it (the bot's metrics), so that this package needs no metrics library.

    Every method does nothing here; the bot subclasses it. They are called inline on the request path, so they must
    be quick and must not raise.
    """

    def request_done(self, method: str, status: int | None, seconds: float) -> None:
        """One request was answered with `status` (None: no answer: refused, timed out, cut) after `seconds`."""

    def rate_limited(self) -> None:
        """The panel answered 429 (whether it was waited out or not)."""

    def retried(self, reason: RetryReason) -> None:
        """A request is about to be sent again after a failure (a 429 waited out counts under `rate_limited`)."""

    def limiter_waited(self, seconds: float) -> None:
        """A request waited `seconds` for the client-side rate limit (or a pause the panel asked for) before going."""


class SlidingWindowLimiter:
    """At most `limit` acquisitions in any `window` seconds; waiters are served in arrival order."""

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = max(1, limit)
        self.window = window
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._paused_until = 0.0

    def pause_until(self, moment: float) -> None:
        """Hold every request until `moment` (the panel told us its window resets then)."""
        self._paused_until = max(self._paused_until, moment)

    def delay(self) -> float:
        """Seconds before an acquisition could go (0: it would go at once). Someone already waiting counts as no
        room: they go first."""
        now = self._clock()
        self._expire(now)
        waits = [self._paused_until - now]
        if len(self._stamps) >= self.limit:
            waits.append(self.window - (now - self._stamps[0]))
        wait = max(waits)
        if wait <= 0 and self._lock.locked():
            return min(1.0, self.window)  # the waiter is about to take what is free
        return max(wait, 0.0)

    def take(self) -> None:
        """Count an acquisition now, without waiting; callers check `delay()` first."""
        self._stamps.append(self._clock())

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._expire(now)
                wait = self._paused_until - now
                if wait <= 0 and len(self._stamps) < self.limit:
                    self._stamps.append(now)
                    return
                if wait <= 0:
                    wait = self.window - (now - self._stamps[0])
                await asyncio.sleep(max(wait, 0.001))

    def _expire(self, now: float) -> None:
        while self._stamps and now - self._stamps[0] >= self.window:
            self._stamps.popleft()


class Transport:
    """Sends requests to one panel. Owns its `aiohttp.ClientSession` unless one is passed in."""

    def __init__(
        self,
        base_url: str,
        signer: Signer,
        *,
        session: aiohttp.ClientSession | None = None,
        options: TransportOptions | None = None,
        panel_kind: str = "game",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.options = options or TransportOptions()
        self._signer = signer
        self._session = session
        self._owns_session = session is None
        # Given on every request, so a session passed in (with its own, often 5-minute, default) still obeys it.
        self._timeout = aiohttp.ClientTimeout(total=self.options.timeout, sock_connect=self.options.connect_timeout)
        self.limiter = SlidingWindowLimiter(self.options.rate_limit, self.options.rate_window)
        share = self.options.best_effort_share
        self._best_effort_limiter = SlidingWindowLimiter(
            math.floor(self.options.rate_limit * share), self.options.rate_window
        )
        # At most this many best-effort requests at once, so they never hold the connection slots others wait for.
        self._best_effort_slots = max(1, self.options.max_concurrency // 4)
        self._best_effort_in_flight = 0
        # Until when (monotonic) the panel's own window has less than the best-effort share left, as it last said.
        self._panel_low_until = 0.0
        # When an answer to our own key showed that it opened the panel's rate-limit window (monotonic time of
        # that answer, which is no earlier than the panel's first hit).
        self._panel_window_opened: float | None = None
        self._concurrency = asyncio.Semaphore(self.options.max_concurrency)
        self._kind = panel_kind
        self._label = f"the {panel_kind} panel"
        self.contact = PanelContact(self._label)
        self.requests_sent = 0
        # Called after every request that may have changed something on the panel (the client forgets cached
        # searches then).
        self.on_change: Callable[[], None] | None = None
        self.observer = TransportObserver()

    def _session_or_new(self) -> aiohttp.ClientSession:
        if self._session is None or (self._owns_session and self._session.closed):
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers={"User-Agent": USER_AGENT})
            self._owns_session = True
        return self._session

    async def close(self) -> None:
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    @contextmanager
    def best_effort(self) -> Iterator[None]:
        """Make the requests this task sends inside the block best-effort: worth sending only if it costs nothing
        anyone waits for (a search-as-you-type suggestion, say).

        A best-effort request uses at most `best_effort_share` of the rate limit, is never sent while the panel
        says its window is nearly spent or while the limiter holds requests, and never waits: where ordinary
        requests would wait (for the limiter, a 429, a backoff before a retry) it raises RateLimited or the error
        at once. So the requests someone waits on keep the rest of the budget and never queue behind these.
        """
        token = _BEST_EFFORT.set(self)
        try:
            yield
        finally:
            _BEST_EFFORT.reset(token)

    def best_effort_delay(self) -> float:
        """Seconds before a best-effort request could be sent (0: it would be sent now)."""
        waits = [
            self._best_effort_limiter.delay(),
            self.limiter.delay(),
            self._panel_low_until - time.monotonic(),
        ]
        if self._best_effort_in_flight >= self._best_effort_slots:
            waits.append(min(1.0, self.options.rate_window))
        return max(max(waits), 0.0)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        signer: Signer | None = None,
    ) -> Response:
        """`_request`, then `on_change` after anything but a read, whatever came of it (a change that failed may
        still have been made)."""
        try:
            response = await self._request(
                method, path, params=params, json_body=json_body, idempotent=idempotent, signer=signer
            )
        except PanelUnavailable as exc:
            if signer is None:
                self.contact.failed(str(exc))
            raise
        else:
            if signer is None:
                if response.status in (401, 403):
                    self.contact.failed(f"it refused the API key (HTTP {response.status})")
                else:
                    self.contact.succeeded()
            return response
        finally:
            if method.upper() != "GET" and self.on_change is not None:
                self.on_change()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None,
        json_body: Any,
        idempotent: bool | None,
        signer: Signer | None,
    ) -> Response:
        """Send one request, retrying where that is safe, and return the panel's answer whatever its status.

        5xx answers and connection errors are retried only for idempotent requests (GET, PUT, PATCH, DELETE by
        default): a create that timed out may have been applied, so it is never sent twice. A refused connection
        is retried for every method, since nothing reached the panel. 429 is always waited out when the wait is
        short, because the panel did not act on the request. A read (GET) whose success answer is not JSON is
        retried too: a proxy or a panel dying mid-answer garbles one answer, not the next; a change is not, since
        its answer says it was made.
        """
        if idempotent is None:
            idempotent = method.upper() != "POST"
        read = idempotent and method.upper() == "GET"
        best_effort = _BEST_EFFORT.get() is self
        retries = 0 if best_effort else self.options.max_retries
        body = b"" if json_body is None else json.dumps(json_body, separators=(",", ":")).encode()
        url = self.url(path)
        if params:
            url = str(URL(url).update_query({k: str(v) for k, v in params.items()}))
        sign = signer or self._signer
        attempt = 0
        rate_limit_retries = 0
        only_web_pages = True
        while True:
            attempt += 1
            headers = {"Accept": "application/json", **sign(method, url, body)}
            if body:
                headers["Content-Type"] = "application/json"
            try:
                response = await self._send_once(method, url, headers, body, best_effort=best_effort)
            except aiohttp.ClientConnectorError as exc:
                if attempt <= retries:
                    self.observer.retried("connection refused")
                    await self._backoff(attempt, f"connection refused ({type(exc).__name__})", method, path)
                    continue
                raise PanelUnavailable(
                    N_("Could not connect to the {kind} panel."), values={"kind": self._kind}
                ) from None
            except (TimeoutError, aiohttp.ClientError) as exc:
                failure: Literal["timed out", "connection failed"] = (
                    "timed out" if isinstance(exc, TimeoutError) else "connection failed"
                )
                reason = failure if isinstance(exc, TimeoutError) else f"{failure} ({type(exc).__name__})"
                if idempotent and attempt <= retries:
                    self.observer.retried(failure)
                    await self._backoff(attempt, reason, method, path)
                    continue
                raise self._failed(failure, idempotent, error=type(exc).__name__) from None
            response.attempts = attempt
            response.idempotent = idempotent
            response.read = read

            if response.status == 429:
                self.observer.rate_limited()
                hint = self._retry_after(response)
                # No hint (CtrlPanel 1.0.3+ answers with a bare HTML page): wait 1, 2, 4 s; giving up, the honest
                # "try again" is the panel's whole window.
                wait = hint if hint is not None else min(2.0**rate_limit_retries, self.options.max_rate_limit_wait)
                too_long = wait > self.options.max_rate_limit_wait
                if best_effort or too_long or rate_limit_retries >= self.options.max_rate_limit_retries:
                    if best_effort and signer is None and not too_long:
                        self.limiter.pause_until(time.monotonic() + wait)  # nor should anyone else walk into it
                    raise RateLimited(wait if hint is not None else self.options.rate_window)
                rate_limit_retries += 1
                attempt -= 1
                log.info("%s rate limited %s %s; waiting %.1f s", self._label, method, path, wait)
                if signer is None:
                    self.limiter.pause_until(time.monotonic() + wait)
                else:  # a member's key has a bucket of its own: staff commands need not wait for it
                    await asyncio.sleep(wait)
                continue
            if response.status >= 500:
                hint = self._retry_after(response)
                if idempotent and hint is not None and hint > self.options.max_rate_limit_wait:
                    # Laravel's maintenance mode (`artisan down --retry=N`) answers 503 with Retry-After: waiting
                    # that out would outlast the command, so say when it is worth trying again instead.
                    raise PanelUnavailable(
                        N_(
                            "The {kind} panel is down for maintenance or otherwise unavailable (HTTP {status}); "
                            "try again in about {wait}."
                        ),
                        status=response.status,
                        values={"kind": self._kind, "status": response.status, "wait": _duration(hint)},
                    )
                if idempotent and attempt <= retries:
                    self.observer.retried("server error")
                    await self._backoff(attempt, f"HTTP {response.status}", method, path, hint or 0.0)
                    continue
                raise self._failed("answered", idempotent, status=response.status)
            if signer is None:
                self._note_rate_limit(response)
            if read and 200 <= response.status < 300 and not response.parses_as_answer():
                only_web_pages = only_web_pages and response.is_web_page
                if attempt <= retries:
                    self.observer.retried("not json")
                    await self._backoff(attempt, f"HTTP {response.status} that is not JSON", method, path)
                    continue
                response.only_web_pages = only_web_pages
            elif not read and 200 <= response.status < 300:
                response.only_web_pages = response.is_web_page
            return response

    def _note_rate_limit(self, response: Response) -> None:
        """Hold requests until the panel's window ends once an answer says none are left in it, instead of walking
        into a 429; and keep best-effort requests back while it says less than their share is left. Only answers to
        our own key count: a member's key has a bucket of its own.

        Only short holds: where the window ends later than we would wait out a 429, the next request is sent and
        its 429 (which the panel does not count) says exactly when to retry, for RateLimited to pass on.
        """
        try:
            limit = int(response.headers["X-RateLimit-Limit"])
            remaining = int(response.headers["X-RateLimit-Remaining"])
        except (KeyError, ValueError):
            return
        now = time.monotonic()
        if remaining == limit - 1:
            self._panel_window_opened = now
        hint = self._retry_after(response)
        if hint is not None:
            ends: float | None = now + hint
        elif self._panel_window_opened is not None:
            # Laravel's window is fixed and starts at its first hit, which that answer's request was.
            ends = self._panel_window_opened + self.options.rate_window
        else:
            ends = None
        if remaining < limit * self.options.best_effort_share:
            # Not knowing when the window ends, it ends within a window's length of this answer.
            self._panel_low_until = ends if ends is not None and ends > now else now + self.options.rate_window
        else:
            self._panel_low_until = 0.0
        if remaining > 0 or ends is None:
            return
        if now < ends <= now + self.options.max_rate_limit_wait:
            self.limiter.pause_until(ends)

    async def _send_once(
        self, method: str, url: str, headers: dict[str, str], body: bytes, *, best_effort: bool = False
    ) -> Response:
        if best_effort:
            wait = self.best_effort_delay()
            if wait > 0:
                raise RateLimited(
                    wait,
                    f"Best-effort requests to {self._label} are held back to leave its rate limit to others; "
                    f"try again in {_duration(wait)}.",
                )
            self._best_effort_limiter.take()
            self.limiter.take()
            self._best_effort_in_flight += 1
        else:
            queued = time.perf_counter()
            await self.limiter.acquire()
            waited = time.perf_counter() - queued
            if waited > 0.001:  # a free limiter still takes a lock: only real waits count
                self.observer.limiter_waited(waited)
        try:
            async with self._concurrency:
                started = time.perf_counter()
                self.requests_sent += 1
                session = self._session_or_new()
                try:
                    async with session.request(
                        method, url, headers=headers, data=body or None, allow_redirects=False, timeout=self._timeout
                    ) as resp:
                        payload = await resp.read()
                except (TimeoutError, aiohttp.ClientError):
                    self.observer.request_done(method.upper(), None, time.perf_counter() - started)
                    raise
                self.observer.request_done(method.upper(), resp.status, time.perf_counter() - started)
                log.debug(
                    "%s %s %s -> %s in %.0f ms",
                    self._label,
                    method,
                    URL(url).path,
                    resp.status,
                    (time.perf_counter() - started) * 1000,
                )
                return Response(status=resp.status, headers=resp.headers, body=payload)
        finally:
            if best_effort:
                self._best_effort_in_flight -= 1

    async def _backoff(self, attempt: int, reason: str, method: str, path: str, at_least: float = 0.0) -> None:
        ceiling = min(self.options.backoff_max, self.options.backoff_base * 2 ** (attempt - 1))
        delay = max(at_least, random.uniform(0, ceiling))
        # DEBUG: a panel that keeps failing is one WARNING from `self.contact`, not one per retry.
        log.debug("%s %s on %s %s; retry %d in %.2f s", self._label, reason, method, path, attempt, delay)
        await asyncio.sleep(delay)

    def _failed(
        self, failure: str, idempotent: bool, *, status: int | None = None, error: str = ""
    ) -> PanelUnavailable:
        values = {"kind": self._kind, "status": status, "error": error}
        return PanelUnavailable(_FAILED[failure, idempotent], status=status, values=values)

    @staticmethod
    def _retry_after(response: Response) -> float | None:
        """Seconds to wait, from `Retry-After` (seconds or HTTP date) or `X-RateLimit-Reset` (unix time); None
        when the panel gave no hint."""
        value = response.headers.get("Retry-After")
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                try:
                    return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
                except (TypeError, ValueError):
                    pass
        reset = response.headers.get("X-RateLimit-Reset")
        if reset:
            try:
                return max(0.0, float(reset) - time.time())
            except ValueError:
                pass
        return None


def _duration(seconds: float) -> str:
    """A wait as staff would say it: seconds under a minute and a half, whole minutes (rounded up) above."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{math.ceil(seconds / 60)} min"
