"""What every simulator of a Laravel-based panel shares.

Pterodactyl, Pelican, CtrlPanel and Convoy are Laravel applications, so the framework decides much of what a
client sees: how the router answers unknown paths and wrong methods, how ThrottleRequests counts, how TrimStrings
and ConvertEmptyStringsToNull rewrite input before validation, how the paginator reads `page` and `per_page`, and
in which order the validator runs and skips rules. Each panel wraps errors in its own envelope, so this module
produces the facts (status, exception name, message, headers) and leaves the rendering to the panel's simulator.

It also holds what sits in front of any panel in a test: injected faults (latency, dropped connections, a reverse
proxy's 502 page) and the request log.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import unquote_plus

from aiohttp import web

GENERIC_SERVER_ERROR = "An unexpected error was encountered while processing this request, please try again."


class HttpError(Exception):
    """An error the panel renders itself: `code` is the PHP exception's short class name, as panels report it."""

    def __init__(self, status: int, code: str, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})


def server_error(code: str) -> HttpError:
    """A PHP error Laravel does not map (TypeError, DivisionByZeroError): the client only sees the generic text."""
    return HttpError(500, code, GENERIC_SERVER_ERROR)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    rule: str
    message: str


class ValidationFailed(HttpError):
    def __init__(self, failures: list[FieldError]) -> None:
        super().__init__(422, "ValidationException", "The given data was invalid.")
        self.failures = failures


# --- PHP semantics the framework inherits ------------------------------------------------------------------------

_PHP_TRIM = " \t\n\r\0\x0b"
_NUMERIC = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[ \t\n\r\v\f]*")
_VALID_INT = re.compile(r"\s*[+-]?(?:0|[1-9]\d*)\s*")
_INT64 = 2**63


def php_string(value: Any) -> str:
    """PHP's string conversion, which validation rules and `mb_strtolower` apply to whatever JSON type arrives."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def php_numeric(value: Any) -> float | int | None:
    """The number a PHP numeric string stands for, or None where PHP 8 arithmetic would throw a TypeError."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    if isinstance(value, (int, float)):
        return value
    if not _NUMERIC.fullmatch(value):
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and re.fullmatch(r"\s*[+-]?\d+\s*", value) else number


def php_filter_int(value: Any) -> int | None:
    """`filter_var($value, FILTER_VALIDATE_INT)`: no leading zeros, surrounding whitespace allowed."""
    if value is True:
        return 1
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and _VALID_INT.fullmatch(value):
        number = int(value)
        return number if -_INT64 <= number < _INT64 else None
    return None


def parse_php_query(query: str) -> dict[str, Any]:
    """Parse a query string or form body as PHP's `parse_str` does, so `filter[email]=x` becomes a nested array.

    PHP arrays become dicts with string keys; `a[]=x` appends under the next integer key. Later duplicates win.
    """
    result: dict[str, Any] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition("=")
        name, value = unquote_plus(raw_name).lstrip(" "), unquote_plus(raw_value)
        if not name:
            continue
        base, path = _split_php_name(name)
        _assign_php(result, base, path, value)
    return result


def _split_php_name(name: str) -> tuple[str, list[str]]:
    bracket = name.find("[")
    if bracket <= 0 or "]" not in name[bracket:]:
        return name.replace(".", "_").replace(" ", "_"), []
    base, rest = name[:bracket], name[bracket:]
    path: list[str] = []
    while rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            break
        path.append(rest[1:end])
        rest = rest[end + 1 :]
    return base.replace(".", "_").replace(" ", "_"), path


def _assign_php(container: dict[str, Any], key: str, path: list[str], value: str) -> None:
    if not path:
        container[key] = value
        return
    child = container.get(key)
    if not isinstance(child, dict):
        child = {}
        container[key] = child
    next_key = path[0]
    if next_key == "":
        numeric = [int(k) for k in child if k.lstrip("-").isdigit()]
        next_key = str(max(numeric) + 1 if numeric else 0)
    _assign_php(child, next_key, path[1:], value)


def decode_json_body(raw: bytes) -> Any:
    """Decode a request body, failing with the message PHP's `json_decode` gives, as the IsValidJson middleware does."""

    def reject_constant(name: str) -> Any:
        raise ValueError(name)

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed_json("Malformed UTF-8 characters, possibly incorrectly encoded") from None
    try:
        return json.loads(text, parse_constant=reject_constant)
    except RecursionError:
        raise _malformed_json("Maximum stack depth exceeded") from None
    except ValueError as error:
        reason = "Control character error, possibly incorrectly encoded" if "control character" in str(error) else ""
        raise _malformed_json(reason or "Syntax error") from None


def _malformed_json(reason: str) -> HttpError:
    return HttpError(
        400, "BadRequestHttpException", f"The JSON data passed in the request appears to be malformed: {reason}"
    )


def php_json(value: Any, *, pretty: bool = False) -> bytes:
    """Encode as Laravel does: `response()->json()` escapes `/`; the exception handler pretty-prints and does not."""
    if pretty:
        return json.dumps(value, indent=4).encode()
    return json.dumps(value, separators=(",", ":")).replace("/", "\\/").encode()


def json_response(
    value: Any, status: int = 200, *, headers: Mapping[str, str] | None = None, pretty: bool = False
) -> web.Response:
    return web.Response(
        status=status,
        body=php_json(value, pretty=pretty),
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def html_error_page(status: int, *, headers: Mapping[str, str] | None = None) -> web.Response:
    """Laravel's minimal error view, what a browser-style request (no JSON Accept header) gets for most errors."""
    reason = HTTPStatus(status).phrase
    body = (
        f'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>{reason}</title></head>\n'
        f"<body><div>{status} | {reason}</div></body>\n</html>\n"
    )
    return web.Response(status=status, text=body, content_type="text/html", headers=headers)


# --- The HTTP kernel's global middleware and request helpers -------------------------------------------------------

_TRIMMABLE = re.compile(r"^[\s\ufeff\u200b]+|[\s\ufeff\u200b]+$")


def clean_input(data: Any, *, keep_untrimmed: Iterable[str] = ("password", "password_confirmation")) -> Any:
    """TrimStrings then ConvertEmptyStringsToNull, over query and body alike.

    Only top-level keys are exempt from trimming (Laravel compares the dotted key), and an empty password still
    becomes null.
    """
    exempt = frozenset(keep_untrimmed)

    def clean(key: str, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(f"{key}.{k}", v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(f"{key}.{i}", v) for i, v in enumerate(value)]
        if isinstance(value, str):
            if key not in exempt:
                value = _TRIMMABLE.sub("", value)
            return None if value == "" else value
        return value

    return {key: clean(key, value) for key, value in data.items()}


def as_input_array(decoded: Any) -> dict[str, Any]:
    """What `(array) json_decode($body, true)` gives: objects as they are, lists and scalars keyed by position."""
    if isinstance(decoded, dict):
        return decoded
    if isinstance(decoded, list):
        return {str(i): v for i, v in enumerate(decoded)}
    return {} if decoded is None else {"0": decoded}


def is_json_content(request: web.BaseRequest) -> bool:
    content_type = request.headers.get("Content-Type", "")
    return "/json" in content_type or "+json" in content_type


def expects_json(request: web.BaseRequest) -> bool:
    """`$request->expectsJson()`: decides between a JSON error and a redirect or HTML page.

    Only the most preferred Accept type counts, and the check is case-sensitive, as in Symfony.
    """
    acceptable = _acceptable_types(request.headers.get("Accept", ""))
    first = acceptable[0] if acceptable else ""
    ajax = request.headers.get("X-Requested-With") == "XMLHttpRequest" and not request.headers.get("X-PJAX")
    if ajax and (not acceptable or first in ("*/*", "*")):
        return True
    return "/json" in first or "+json" in first


def _acceptable_types(header: str) -> list[str]:
    items: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        if not media:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        items.append((-quality, position, media))
    return [media for _, _, media in sorted(items)]


# --- Routing -------------------------------------------------------------------------------------------------------

VERBS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    methods: frozenset[str]
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class RouteMatch:
    route: Route | None  # None: an OPTIONS request answered with the Allow list, as Laravel's router does
    params: dict[str, str]
    allowed: tuple[str, ...] = ()


class Router:
    """Laravel's route collection: first match in registration order, GET routes also answer HEAD, and a path
    known under other methods gives 405 (listing them) instead of 404. Parameters match one path segment."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, methods: Iterable[str], uri: str, name: str) -> None:
        verbs = set(methods)
        if "GET" in verbs:
            verbs.add("HEAD")
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(uri.strip("/")))
        self._routes.append(Route(name, frozenset(verbs), re.compile(pattern)))

    def match(self, method: str, path: str, raw_path: str) -> RouteMatch:
        """`path` is percent-decoded for matching; `raw_path` is what Laravel quotes back in its messages."""
        method = method.upper()
        uri = path.strip("/")
        found = self._first(method, uri)
        if found is not None:
            return found
        others = tuple(verb for verb in VERBS if verb != method and self._first(verb, uri) is not None)
        shown = raw_path.strip("/") or "/"
        if not others:
            raise HttpError(404, "NotFoundHttpException", f"The route {shown} could not be found.")
        if method == "OPTIONS":
            return RouteMatch(None, {}, others)
        raise HttpError(
            405,
            "MethodNotAllowedHttpException",
            f"The {method} method is not supported for route {shown}. Supported methods: {', '.join(others)}.",
            headers={"Allow": ", ".join(others)},
        )

    def _first(self, method: str, uri: str) -> RouteMatch | None:
        for route in self._routes:
            if method in route.methods:
                matched = route.pattern.fullmatch(uri)
                if matched:
                    return RouteMatch(route, matched.groupdict())
        return None


# --- ThrottleRequests ----------------------------------------------------------------------------------------------

TOO_MANY_ATTEMPTS = "Too Many Attempts."


@dataclass(slots=True)
class _Window:
    hits: int
    ends_at: float


class FixedWindowLimiter:
    """Laravel's RateLimiter as ThrottleRequests drives it: the hit counter and its timer both start at the first
    hit and expire together, so the window is fixed, not sliding, and a refused request is not counted."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[Hashable, _Window] = {}

    def hit(self, key: Hashable, max_attempts: int, decay_seconds: float) -> int | None:
        """Count one attempt. Returns None if allowed, else the whole seconds until the window ends."""
        now = self._clock()
        window = self._live(key, now)
        if window is not None and window.hits >= max_attempts:
            return max(0, math.ceil(window.ends_at - now))
        if window is None:
            window = self._windows[key] = _Window(0, now + decay_seconds)
        window.hits += 1
        return None

    def remaining(self, key: Hashable, max_attempts: int) -> int:
        window = self._live(key, self._clock())
        return max_attempts - (window.hits if window else 0)

    def reset(self) -> None:
        self._windows.clear()

    def _live(self, key: Hashable, now: float) -> _Window | None:
        window = self._windows.get(key)
        if window is not None and window.ends_at <= now:
            del self._windows[key]
            return None
        return window


def rate_limit_headers(limit: int, remaining: int) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining)}


def too_many_attempts(limit: int, retry_after: int) -> HttpError:
    headers = {
        **rate_limit_headers(limit, 0),
        "Retry-After": str(retry_after),
        "X-RateLimit-Reset": str(int(time.time()) + retry_after),
    }
    return HttpError(429, "ThrottleRequestsException", TOO_MANY_ATTEMPTS, headers=headers)


# --- Pagination (Eloquent `paginate()` and LengthAwarePaginator) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageWindow:
    page: int
    per_page: int  # as the paginator reports it: PHP's (int) cast of the requested value
    offset: int
    limit: int | None  # None: a negative per_page makes the query builder drop its LIMIT, so every row comes back


def resolve_page(raw_page: Any, raw_per_page: Any, *, default_per_page: int, model_per_page: int) -> PageWindow:
    """Read `page` and `per_page` as Eloquent does; neither is validated by the panels.

    `page` that is not an integer >= 1 becomes 1. `per_page`: absent uses the panel's default, `"0"` is falsy in
    PHP and so uses the model's default, a negative value removes the LIMIT, and anything non-numeric reaches
    arithmetic and throws (a 500).
    """
    page = php_filter_int(raw_page)
    page = page if page is not None and page >= 1 else 1
    if raw_per_page is None:
        requested: float | int = default_per_page
    elif raw_per_page == "0":
        requested = model_per_page
    else:
        number = php_numeric(raw_per_page)
        if number is None:
            raise server_error("TypeError")
        requested = number
    offset = max(0, int((page - 1) * requested))
    limit = int(requested) if requested >= 0 else None
    return PageWindow(page, int(requested), offset, limit)


def last_page(total: int, per_page: int, *, guard_zero: bool) -> int:
    """`max(ceil(total / per_page), 1)`. Laravel 10 divides by zero when (int) per_page is 0 (e.g. "0.5");
    Laravel 11+ divides by `max(per_page, 1)`."""
    if per_page == 0 and not guard_zero:
        raise server_error("DivisionByZeroError")
    return max(math.ceil(total / (max(per_page, 1) if guard_zero else per_page)), 1)


def _page_url(path: str, page: int) -> str:
    return f"{path}?page={max(page, 1)}"


def paginator_links(path: str, page: int, last: int, *, on_each_side: int = 3) -> list[dict[str, Any]]:
    """LengthAwarePaginator::linkCollection(): Previous, the page numbers UrlWindow shows (all of them for a short
    list, else the start, a slider around the current page and the end, with "..." between), Next."""
    window = on_each_side + 4
    if last < on_each_side * 2 + 8:
        parts: list[range | None] = [range(1, last + 1)]
    elif page <= window:
        parts = [range(1, window + on_each_side + 1), None, range(last - 1, last + 1)]
    elif page > last - window:
        parts = [range(1, 3), None, range(last - (window + on_each_side - 1), last + 1)]
    else:
        slider = range(page - on_each_side, page + on_each_side + 1)
        parts = [range(1, 3), None, slider, None, range(last - 1, last + 1)]
    links: list[dict[str, Any]] = [
        {"url": _page_url(path, page - 1) if page > 1 else None, "label": "&laquo; Previous", "active": False}
    ]
    for part in parts:
        if part is None:
            links.append({"url": None, "label": "...", "active": False})
        else:
            links += [{"url": _page_url(path, n), "label": str(n), "active": n == page} for n in part]
    links.append({"url": _page_url(path, page + 1) if page < last else None, "label": "Next &raquo;", "active": False})
    return links


def length_aware_page(
    items: list[Any], *, path: str, page: int, per_page: int, total: int, last: int
) -> dict[str, Any]:
    """`LengthAwarePaginator::toArray()`, what a controller returning `->paginate()` sends. The page URLs carry only
    `page`: nothing else of the query unless the panel calls `appends()`."""
    first_item = (page - 1) * per_page + 1 if items else None
    return {
        "current_page": page,
        "data": items,
        "first_page_url": _page_url(path, 1),
        "from": first_item,
        "last_page": last,
        "last_page_url": _page_url(path, last),
        "links": paginator_links(path, page, last),
        "next_page_url": _page_url(path, page + 1) if page < last else None,
        "path": path,
        "per_page": per_page,
        "prev_page_url": _page_url(path, page - 1) if page > 1 else None,
        "to": first_item + len(items) - 1 if first_item is not None else None,
        "total": total,
    }


def resource_page(items: list[Any], *, path: str, page: int, per_page: int, total: int, last: int) -> dict[str, Any]:
    """A paginated `JsonResource::collection()`: `data`, then `links` (first/last/prev/next) and `meta` (the
    paginator's other keys)."""
    paginator = length_aware_page(items, path=path, page=page, per_page=per_page, total=total, last=last)
    return {
        "data": items,
        "links": {
            "first": paginator["first_page_url"],
            "last": paginator["last_page_url"],
            "prev": paginator["prev_page_url"],
            "next": paginator["next_page_url"],
        },
        "meta": {
            name: paginator[name]
            for name in ("current_page", "from", "last_page", "links", "path", "per_page", "to", "total")
        },
    }


# --- spatie/laravel-query-builder (`filter[...]` and `include`) ---------------------------------------------------


def filter_needles(value: Any) -> list[str] | None:
    """What a filter value becomes (QueryBuilderRequest::getFilterValue + FiltersPartial), or None for no filter.

    The literal strings `true`/`false` become booleans first, which then match as "1" and "" (any non-null value).
    A comma splits the value into needles that are ORed together.
    """

    def scalar(item: Any) -> str:
        if item == "true":
            return "1"
        if item == "false":
            return ""
        return php_string(item).lower()

    if isinstance(value, dict):
        needles = [needle for needle in (scalar(item) for item in value.values() if item is not None) if needle]
        return needles or None
    if not isinstance(value, str):
        return None
    if "," in value:
        return [part.lower() for part in value.split(",") if part] or None
    return [scalar(value)]


def like_test(needle: str, *, wildcards: bool) -> Callable[[str], bool]:
    """`LIKE '%needle%'` on a lowercased column. With wildcards (query-builder 5.x, which does not escape them), `%`
    and `_` match anything and `\\` escapes the next character, as MySQL reads them; 6.x escapes them."""
    if not wildcards or not any(char in needle for char in "%_\\"):
        return lambda haystack: needle in haystack
    pattern = []
    position = 0
    while position < len(needle):
        char = needle[position]
        if char == "\\" and position + 1 < len(needle):
            pattern.append(re.escape(needle[position + 1]))
            position += 2
            continue
        pattern.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        position += 1
    compiled = re.compile("".join(pattern), re.DOTALL)
    return lambda haystack: compiled.search(haystack) is not None


def requested_includes(raw: Any) -> list[str]:
    """`?include=a,b` (or `include[]=a`) as QueryBuilderRequest::includes() reads it: empty names dropped."""
    if isinstance(raw, str):
        parts: Iterable[Any] = raw.split(",")
    elif isinstance(raw, dict):
        parts = raw.values()
    else:
        parts = ()
    return [part for part in parts if isinstance(part, str) and part]


def invalid_query(kind: str, unknown: Iterable[str], allowed: Iterable[str]) -> HttpError:
    """InvalidFilterQuery / InvalidIncludeQuery: a 400 whose message lists what was refused and what is allowed."""
    code = {"filter": "InvalidFilterQuery", "include": "InvalidIncludeQuery"}[kind]
    detail = (
        f"Requested {kind}(s) `{', '.join(unknown)}` are not allowed. Allowed {kind}(s) are `{', '.join(allowed)}`."
    )
    return HttpError(400, code, detail)


# --- Validation ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    """One validation rule. `name` is how Laravel reports it (`meta.rule`) and picks its message template."""

    name: str
    passes: Callable[[Any], bool] | None = None  # None for the markers `sometimes` and `nullable`
    implicit: bool = False  # runs even when the field is absent or blank, and stops the field's rules on failure
    placeholders: Mapping[str, str] = field(default_factory=dict)
    message: str | None = None  # a rule object's own message instead of a template


def _required(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip(_PHP_TRIM) != ""
    if isinstance(value, (list, dict)):
        return len(value) > 0
    return True


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (list, dict)) else len(php_string(value))


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+"
_LOCAL_PART = re.compile(rf'{_ATEXT}(?:\.{_ATEXT})*|"(?:[^"\\\r\n]|\\.)*"')
_DOMAIN_LABEL = re.compile(
    r"[A-Za-z0-9\u0080-\U0010ffff](?:[A-Za-z0-9\-\u0080-\U0010ffff]*[A-Za-z0-9\u0080-\U0010ffff])?"
)


def is_rfc_email(value: Any) -> bool:
    """An approximation of Laravel's default `email` rule (egulias RFCValidation), which is looser than most
    expect: no length limits, no dot needed in the domain, quoted local parts and address literals allowed."""
    if not isinstance(value, str):
        return False
    local, at, domain = value.rpartition("@")
    if not at or not _LOCAL_PART.fullmatch(local):
        return False
    if domain.startswith("[") and domain.endswith("]"):
        return bool(re.fullmatch(r"\[(?:IPv6:[0-9A-Fa-f:.]+|\d{1,3}(?:\.\d{1,3}){3})\]", domain))
    return all(_DOMAIN_LABEL.fullmatch(label) for label in domain.split("."))


def required() -> Rule:
    return Rule("required", _required, implicit=True)


def sometimes() -> Rule:
    return Rule("sometimes")


def nullable() -> Rule:
    return Rule("nullable")


def string() -> Rule:
    return Rule("string", lambda value: isinstance(value, str))


def email() -> Rule:
    return Rule("email", is_rfc_email)


def between(low: int, high: int) -> Rule:
    return Rule("between", lambda value: low <= _size(value) <= high, placeholders={"min": str(low), "max": str(high)})


def max_length(high: int) -> Rule:
    return Rule("max", lambda value: _size(value) <= high, placeholders={"max": str(high)})


def boolean() -> Rule:
    """Strict `in_array($value, [true, false, 0, 1, '0', '1'], true)`: 1.0 and "true" fail."""
    return Rule("boolean", lambda value: value in ("0", "1") or (type(value) in (bool, int) and value in (0, 1)))


def one_of(values: Iterable[str]) -> Rule:
    allowed = frozenset(values)
    return Rule("in", lambda value: not isinstance(value, (list, dict)) and php_string(value) in allowed)


def array() -> Rule:
    return Rule("array", lambda value: isinstance(value, (list, dict)))


def integer() -> Rule:
    return Rule("integer", lambda value: php_filter_int(value) is not None)


def numeric() -> Rule:
    return Rule("numeric", lambda value: php_numeric(value) is not None)


def _numeric_size(value: Any) -> float | int:
    """The size `between`/`min` compare for a field that also has `numeric`: the number, or the length of text
    that is not one."""
    number = php_numeric(value)
    return number if number is not None else _size(value)


def numeric_between(low: int, high: int) -> Rule:
    """`between` on a numeric field: the value itself is compared, and the message has no "characters"."""
    return Rule(
        "between.numeric",
        lambda value: low <= _numeric_size(value) <= high,
        placeholders={"min": str(low), "max": str(high)},
    )


def numeric_min(low: int) -> Rule:
    return Rule("min.numeric", lambda value: _numeric_size(value) >= low, placeholders={"min": str(low)})


def alpha_num() -> Rule:
    """`/\\A[\\pL\\pM\\pN]+\\z/u` on a string or number: letters (any script), marks and digits only."""

    def passes(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return False
        text = php_string(value)
        return text != "" and all(unicodedata.category(char)[0] in "LMN" for char in text)

    return Rule("alpha_num", passes)


def unique(is_taken: Callable[[Any], bool]) -> Rule:
    return Rule("unique", lambda value: not is_taken(value))


def exists(is_known: Callable[[Any], bool]) -> Rule:
    return Rule("exists", is_known)


_PRESENCE_RULES = frozenset({"unique", "exists"})


def validate(
    data: Mapping[str, Any],
    rules: Mapping[str, Sequence[Rule]],
    *,
    messages: Mapping[str, str],
    attributes: Mapping[str, str],
) -> list[FieldError]:
    """Run rules the way Laravel's Validator does, so errors come out in the same order and number.

    A field that is absent runs only implicit rules (`required`), or nothing with `sometimes`; a field that is
    present runs every rule even when it is null, unless it is `nullable`. A failed implicit rule stops that
    field. `unique`/`exists` are skipped once the field has an error. `name.*` rules apply to each element.
    """
    failures: list[FieldError] = []
    for attribute, attribute_rules in _expand_wildcards(rules, data):
        present, value = _lookup(data, attribute)
        markers = {rule.name for rule in attribute_rules if rule.passes is None}
        if "sometimes" in markers and not present:
            continue
        blank = isinstance(value, str) and value.strip(_PHP_TRIM) == ""
        failed = False
        for rule in attribute_rules:
            if rule.passes is None:
                continue
            if not rule.implicit and (blank or not present or (value is None and "nullable" in markers)):
                continue
            if rule.name in _PRESENCE_RULES and failed:
                continue
            if rule.passes(value):
                continue
            failures.append(FieldError(attribute, rule.name, _message(rule, attribute, messages, attributes)))
            failed = True
            if rule.implicit:
                break
    return failures


def _expand_wildcards(rules: Mapping[str, Sequence[Rule]], data: Mapping[str, Any]) -> list[tuple[str, Sequence[Rule]]]:
    expanded: list[tuple[str, Sequence[Rule]]] = []
    for attribute, attribute_rules in rules.items():
        if not attribute.endswith(".*"):
            expanded.append((attribute, attribute_rules))
            continue
        _, parent = _lookup(data, attribute[:-2])
        keys = range(len(parent)) if isinstance(parent, list) else parent.keys() if isinstance(parent, dict) else ()
        expanded.extend((f"{attribute[:-2]}.{key}", attribute_rules) for key in keys)
    return expanded


def _lookup(data: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    current: Any = data
    for segment in dotted.split("."):
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            return False, None
    return True, current


def _message(rule: Rule, attribute: str, messages: Mapping[str, str], attributes: Mapping[str, str]) -> str:
    text = rule.message or messages[rule.name]
    text = text.replace(":attribute", attributes.get(attribute, attribute.replace("_", " ")))
    for placeholder, value in rule.placeholders.items():
        text = text.replace(f":{placeholder}", value)
    return text


def validation_body(failures: Sequence[FieldError]) -> dict[str, Any]:
    """The JSON Laravel's handler gives a ValidationException: the first message, how many more, and every message
    grouped by field in the order they failed."""
    errors: dict[str, list[str]] = {}
    for failure in failures:
        errors.setdefault(failure.field, []).append(failure.message)
    message = failures[0].message if failures else "The given data was invalid."
    more = len(failures) - 1
    if more > 0:
        message += f" (and {more} more error{'s' if more > 1 else ''})"
    return {"message": message, "errors": errors}


# --- In front of the panel: injected faults and the request log -------------------------------------------------


@dataclass
class Faults:
    """Failures of the network or the hosting around a panel. Counters apply to the next requests in the order
    drop, HTML 502, HTML login page, error status, malformed body; a faulted request never reaches the panel (no
    state changes, no rate-limit hit).

    aiohttp's client retries GET, HEAD, OPTIONS, PUT and DELETE once by itself when the server disconnects, so a
    single drop is invisible to those methods: use `drop_next=2` to make one such call fail.
    """

    latency: float = 0.0  # seconds added before every answer
    fail_next: int = 0  # the next N requests answer `fail_status` with the panel's generic JSON error body
    fail_status: int = 500  # e.g. 500, 502, 503
    # Seconds sent as Retry-After with those answers, as maintenance mode (`artisan down --retry=N`) does; None: none
    fail_retry_after: float | None = None
    drop_next: int = 0  # the next N requests: the server closes the connection without answering
    malformed_next: int = 0  # the next N requests: status 200 with truncated JSON labelled application/json
    html_errors_next: int = 0  # the next N requests: a 502 HTML page, as a reverse proxy in front of a dead panel sends
    # The next N requests: status 200 with the website's HTML login page, as a URL that is not the API's base (or a
    # single-sign-on wall in front of the panel) answers every path.
    login_page_next: int = 0
    after: int = 0  # let this many requests through untouched before the counters above apply (a mid-walk failure)

    def take(self) -> str | None:
        """Consume and name the fault for one request, if any is pending."""
        if self.after > 0:
            self.after -= 1
            return None
        for name in ("drop_next", "html_errors_next", "login_page_next", "fail_next", "malformed_next"):
            pending = getattr(self, name)
            if pending > 0:
                setattr(self, name, pending - 1)
                return name
        return None


@dataclass(slots=True)
class RecordedRequest:
    """One request as the simulator saw it. The Authorization header is deliberately not kept."""

    method: str
    path: str
    query: dict[str, str]
    json: Any  # the parsed body, or None when there was none or it was not JSON
    status: int | None = None  # the answer's status; None when the connection was dropped


class FrontDoorState(Protocol):
    faults: Faults
    requests: list[RecordedRequest]
    record_requests: bool

    def server_error_response(self, status: int) -> web.Response: ...


PROXY_BAD_GATEWAY = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
TRUNCATED_JSON = b'{"object":"user","attributes":{"id":1,"uuid":"'
LOGIN_PAGE = (
    '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Login</title></head>\n<body>\n'
    '<form method="POST" action="/auth/login"><input name="user"><input name="password" type="password">'
    "<button>Login</button></form>\n</body>\n</html>\n"
)


def front_door(state: FrontDoorState) -> Callable[..., Any]:
    """aiohttp middleware that logs each request, then applies latency and any pending fault before the panel."""

    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        raw = await request.read()
        record = None
        if state.record_requests:
            record = RecordedRequest(request.method, request.path, dict(request.query), _parse_for_log(raw))
            state.requests.append(record)
        faults = state.faults
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        fault = faults.take()
        if fault == "drop_next":
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)  # never sent: the transport is closed
        if fault == "html_errors_next":
            response: web.StreamResponse = web.Response(
                status=502, text=PROXY_BAD_GATEWAY, content_type="text/html", headers={"Server": "nginx"}
            )
        elif fault == "login_page_next":
            response = web.Response(status=200, text=LOGIN_PAGE, content_type="text/html")
        elif fault == "fail_next":
            response = state.server_error_response(faults.fail_status)
            if faults.fail_retry_after is not None:
                response.headers["Retry-After"] = format(faults.fail_retry_after, "g")
        elif fault == "malformed_next":
            response = web.Response(status=200, body=TRUNCATED_JSON, headers={"Content-Type": "application/json"})
        else:
            response = await handler(request)
        if record is not None:
            record.status = response.status
        return response

    return middleware


def _parse_for_log(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
