"""An in-memory legacy Pterodactyl 0.5 panel (its dingo/api `/api/users` API) served over real HTTP.

Sources: the API page 0.5 users read (shared/seeds/001_011886ae9cf5b457.txt), shared/panels/pterodactyl-pelican.md
section 8, and the 0.5-era `APISecretToken`, `API\\UserController` and `UserRepository` with dingo/api's `Auth`. What a
client meets, in the order the panel's code meets it:

- unknown route 404 and wrong method 405 (`{"message": "404 Not Found", ...}`) before any authentication;
- no `Bearer` token: 401 `401 Unauthorized` (the middleware passes its text as the challenge, not the message);
- a token without a dot: 500 (`list($public, $hashed) = explode('.', …)` raises a PHP notice);
- an unknown public key 403 `Invalid API Key.`, then the key's IP allow-list 403, then its permission nodes 403;
- a wrong signature: 401 `Failed to authenticate because of bad credentials …` (the middleware throws a 400, which
  dingo's Auth swallows and replaces with its own 401).

The signature is `base64(HMAC-SHA256(urldecode($request->fullUrl()) . $request->getContent(), $secret))`, computed
here as Laravel 5.3 / Symfony 3 compute `fullUrl()`: scheme, Host header without a default port, the raw path with
trailing slashes trimmed, the query string normalised (each pair `rawurlencode(urldecode(…))`, sorted by name), and
the whole URL-decoded (`+` becomes a space).

Answers follow the seed: the list is paginated by the panel (`per_page` is not read), one user is `{"user": {...}}`
with `?fields=` selecting columns, `{id}` is an id or, when not numeric, an email. Create needs `email`, `password`
and `admin` (the repository validates all three) and answers 201 with `Location` and `{"id": N}`. PATCH validates
first, then answers 503 for an unknown user or a field that is not a column. DELETE answers 503 for an unknown user
or one who owns servers (the seed); `delete_refusal_status=422` gives the 0.5 source's `ResourceException` instead.
Users have no username and no external id. There is no rate limit (0.5 configured none for these routes).

Errors are dingo's: `{"message": …, "errors": {field: [messages]}, "status_code": N}`, `errors` only for validation.

Run by hand: `python -m simulators pterodactyl-legacy --port 8080 [--users 50] [--servers 0]`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hashlib
import hmac
import ipaddress
import itertools
import json
import re
import secrets
import string
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote_from_bytes, unquote_to_bytes

from aiohttp import web

from simulators import laravel
from simulators.laravel import Faults, HttpError, RecordedRequest, json_response
from simulators.loopback import LoopbackServer, serve_until_stopped, settings_line
from simulators.passwords import hash_password, password_matches

__all__ = ["Faults", "LegacyPterodactylSimulator", "RecordedRequest", "SimKey", "SimServer", "SimUser"]

USERS = "api/users"
ROUTE_NAMES = (
    "api.admin.users.list",
    "api.admin.users.create",
    "api.admin.users.view",
    "api.admin.users.update",
    "api.admin.users.delete",
)

BAD_CREDENTIALS = "Failed to authenticate because of bad credentials or an invalid authorization header."
MISSING_HEADER_CHALLENGE = "The authentication header was missing or malformed."
INVALID_KEY = "Invalid API Key."
NO_PERMISSION = "You do not have permission to access this resource."
USER_NOT_FOUND = "No user by that ID was found."
BAD_FIELDS = "There was an issue with the fields passed in the request."
VALIDATION_FAILED = "A validation error occured."  # sic, as the panel spells it
CREATE_FAILED = "Unable to create a user on the system due to an error."
UPDATE_FAILED = "Unable to update a user on the system due to an error."
DELETE_FAILED = "Unable to delete this user due to an error."
HAS_SERVERS = "Cannot delete a user with active servers attached to thier account."  # sic

_ALPHANUMERIC = string.ascii_letters + string.digits
_PASSWORD = re.compile(r"(?=.*\d)(?=.*[a-z])(?=.*[A-Z]).{8,}")
# PHP's FILTER_VALIDATE_EMAIL, approximately: a dot-atom local part and a host name with at least one dot.
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
)
# Columns of the 0.5 `users` table; `?fields=` may name any, PATCH fails on anything else. Hidden ones never show.
_COLUMNS = (
    "id",
    "uuid",
    "email",
    "password",
    "language",
    "root_admin",
    "use_totp",
    "totp_secret",
    "remember_token",
    "created_at",
    "updated_at",
)
_HIDDEN = frozenset({"password", "remember_token", "totp_secret"})
_MESSAGES = {  # Laravel 5.3's resources/lang/en/validation.php
    "required": "The :attribute field is required.",
    "email": "The :attribute must be a valid email address.",
    "unique": "The :attribute has already been taken.",
    "regex": "The :attribute format is invalid.",
    "boolean": "The :attribute field must be true or false.",
    "string": "The :attribute must be a string.",
    "min": "The :attribute must be at least :min characters.",
    "max": "The :attribute may not be greater than :max characters.",
    "size": "The :attribute must be :size characters.",
}


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _timestamp(moment: datetime) -> str:
    """`Y-m-d H:i:s` in the app timezone (UTC by default), as Eloquent serialises dates."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _random_alphanumeric(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


# --- State ---------------------------------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class SimUser:
    """A 0.5 account: an email and flags. `username` and `external_id` exist only for the common control API."""

    id: int
    uuid: str
    email: str
    language: str = "en"
    root_admin: bool = False
    use_totp: bool = False
    totp_secret: str | None = field(default=None, repr=False)
    password_hash: str | None = field(default=None, repr=False)
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)

    @property
    def username(self) -> None:
        return None

    @property
    def external_id(self) -> None:
        return None

    @property
    def two_factor(self) -> bool:
        return self.use_totp

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def password_matches(self, password: str) -> bool:
        """Lets a test check what a request did to the password without the API ever echoing it."""
        return password_matches(self.password_hash, password)


@dataclass(eq=False, slots=True)
class SimServer:
    id: int
    uuid: str
    name: str
    owner_id: int


@dataclass(eq=False, slots=True)
class SimKey:
    """A key pair. `permissions` holds route names (`api.admin.users.view`, …) or `*`."""

    public: str
    secret: str
    user_id: int
    permissions: frozenset[str] = frozenset({"*"})
    allowed_ips: tuple[str, ...] = ()


class DingoError(Exception):
    """An error as dingo/api renders it. An empty message becomes `"<status> <reason phrase>"`, as dingo does."""

    def __init__(
        self,
        status: int,
        message: str = "",
        *,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message or f"{status} {HTTPStatus(status).phrase}"
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})


def dingo_body(status: int, message: str, errors: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if errors:
        body["errors"] = dict(errors)
    body["status_code"] = status
    return body


# --- PHP and Symfony pieces the signature depends on -------------------------------------------------------------


def php_urldecode(text: str) -> bytes:
    """PHP `urldecode`: `%XX` escapes and `+` as a space."""
    return unquote_to_bytes(text.replace("+", " "))


def php_rawurlencode(data: bytes) -> str:
    return quote_from_bytes(data, safe="-_.~")


def normalize_query_string(query: str) -> str:
    """Symfony 3's `Request::normalizeQueryString`, which `getQueryString()` (and so `fullUrl()`) applies."""
    parts: list[tuple[bytes, str]] = []
    for param in query.split("&"):
        if param == "" or param.startswith("="):
            continue
        name, has_value, value = param.partition("=")
        encoded = php_rawurlencode(php_urldecode(name))
        if has_value:
            encoded += "=" + php_rawurlencode(php_urldecode(value))
        parts.append((php_urldecode(name), encoded))
    parts.sort()  # array_multisort($order, SORT_ASC, $parts): by decoded name, then by the encoded pair
    return "&".join(encoded for _, encoded in parts)


def full_url(scheme: str, host_header: str, raw_path: str, raw_query: str) -> str:
    """Laravel 5.3 `Request::fullUrl()`: no default port, trailing slashes trimmed, normalised query."""
    scheme = scheme.lower()
    host = host_header.lower()
    default_port = {"http": ":80", "https": ":443"}.get(scheme)
    if default_port and host.endswith(default_port):
        host = host[: -len(default_port)]
    url = f"{scheme}://{host}{raw_path}".rstrip("/")
    query = normalize_query_string(raw_query)
    if not query:
        return url
    return url + ("/?" if raw_path in ("", "/") else "?") + query


def php_base64_decode(text: str) -> bytes:
    """Non-strict `base64_decode`: characters outside the alphabet are skipped, padding is optional."""
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def _is_php_numeric(value: str) -> bool:
    """`is_numeric` as PHP 7 reads a string: optional leading whitespace, no trailing characters."""
    return re.fullmatch(r"[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", value) is not None


# --- The simulator -------------------------------------------------------------------------------------------------


class LegacyPterodactylSimulator(LoopbackServer):
    """A stateful 0.5 panel: users, servers and key pairs live in memory for the simulator's life.

    `api_key` is what a hosting company puts in PANEL_API_KEY for this panel kind: `<public>:<secret>`.
    """

    def __init__(
        self,
        *,
        page_size: int = 15,
        delete_refusal_status: int = 503,
        create_returns_id: bool = True,
        seen_scheme: str | None = None,
    ) -> None:
        super().__init__()
        if delete_refusal_status not in (422, 503):
            raise ValueError("delete_refusal_status must be 503 (the seed) or 422 (the 0.5 source)")
        self.page_size = page_size  # Eloquent's paginate() size; the API has no per_page parameter
        self.delete_refusal_status = delete_refusal_status
        self.create_returns_id = create_returns_id  # False: 201 with Location and an empty body, as some 0.5 builds
        # The scheme the panel believes requests arrive on: "https" mimics a panel behind a TLS proxy it does not trust,
        # which signs `http://…` URLs while clients sign `https://…` ones.
        self.seen_scheme = seen_scheme
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self.record_requests = True
        self.users: dict[int, SimUser] = {}
        self.servers: dict[int, SimServer] = {}
        self._keys: dict[str, SimKey] = {}
        self._emails: dict[str, int] = {}  # casefolded email → id: MySQL's `_ci` collation for unique and lookups
        self._last_user_id = 0
        self._server_ids = itertools.count(1)
        self._router = laravel.Router()
        self._actions: dict[str, Callable[[web.Request, dict[str, str], bytes], web.StreamResponse]] = {}
        self._register_routes()
        self.app = web.Application(middlewares=[laravel.front_door(self)])
        self.app.router.add_route("*", "/{path:.*}", self._dispatch)
        self.admin = self.add_user(username="admin", email="admin@example.com", root_admin=True)
        self.api_key = self.create_key()

    # --- Control API -----------------------------------------------------------------------------------------------

    def add_user(
        self,
        *,
        username: str | None = None,
        email: str,
        root_admin: bool = False,
        language: str = "en",
        use_totp: bool = False,
        password: str | None = None,
    ) -> SimUser:
        """Create a user directly. `username` is accepted for the common control API and dropped: 0.5 has none."""
        if email.casefold() in self._emails:
            raise ValueError(f"email {email!r} is already taken")
        user = SimUser(
            id=self._last_user_id + 1,
            uuid=str(uuid.uuid4()),
            email=email,
            root_admin=root_admin,
            language=language,
            use_totp=use_totp,
        )
        if password:
            user.set_password(password)
        self._insert(user)
        return user

    def seed_users(self, count: int, *, prefix: str = "user") -> list[SimUser]:
        """Add `count` ordinary users with emails `<prefix><id>@example.com`, quickly enough for benchmarks."""
        now = _now()
        created = []
        for _ in range(count):
            user_id = self._last_user_id + 1
            user = SimUser(
                id=user_id,
                uuid=str(uuid.uuid4()),
                email=f"{prefix}{user_id}@example.com",
                created_at=now,
                updated_at=now,
            )
            self._insert(user)
            created.append(user)
        return created

    def add_server(self, owner_id: int, name: str = "server") -> int:
        """Give a user a server; while they own one the panel refuses to delete them."""
        if owner_id not in self.users:
            raise KeyError(f"no user {owner_id}")
        server = SimServer(id=next(self._server_ids), uuid=str(uuid.uuid4()), name=name, owner_id=owner_id)
        self.servers[server.id] = server
        return server.id

    def remove_server(self, server_id: int) -> None:
        del self.servers[server_id]

    def create_key(
        self,
        user_id: int | None = None,
        *,
        permissions: Iterable[str] = ("*",),
        allowed_ips: Sequence[str] | None = None,
    ) -> str:
        """A key pair as PANEL_API_KEY carries it, `<public>:<secret>`, owned by the admin unless `user_id` is given.

        The public key is 16 letters and digits; the secret is `str_random(16).'.'.str_random(7).'.'.str_random(7)`,
        as 0.5's APIKeyRepository makes it.
        """
        owner = self.admin.id if user_id is None else user_id
        if owner not in self.users:
            raise KeyError(f"no user {owner}")
        public = _random_alphanumeric(16)
        while public in self._keys:
            public = _random_alphanumeric(16)
        secret = f"{_random_alphanumeric(16)}.{_random_alphanumeric(7)}.{_random_alphanumeric(7)}"
        self._keys[public] = SimKey(public, secret, owner, frozenset(permissions), tuple(allowed_ips or ()))
        return f"{public}:{secret}"

    def revoke_key(self, key: str) -> None:
        """Delete a key pair, given as `<public>:<secret>` (or the public key alone)."""
        public, _, secret = key.partition(":")
        stored = self._keys.get(public)
        if stored is not None and (not secret or stored.secret == secret):
            del self._keys[public]

    def key_for(self, key: str) -> SimKey | None:
        public, _, secret = key.partition(":")
        stored = self._keys.get(public)
        return stored if stored is not None and stored.secret == secret else None

    def user_by_email(self, email: str) -> SimUser | None:
        user_id = self._emails.get(email.casefold())
        return self.users.get(user_id) if user_id is not None else None

    def server_error_response(self, status: int) -> web.Response:
        """What dingo renders for an unexpected error (used by `Faults.fail_next`)."""
        return json_response(dingo_body(status, f"{status} {HTTPStatus(status).phrase}"), status)

    def _insert(self, user: SimUser) -> None:
        self.users[user.id] = user
        self._emails[user.email.casefold()] = user.id
        self._last_user_id = max(self._last_user_id, user.id)

    def _set_email(self, user: SimUser, email: str) -> None:
        if self._emails.get(user.email.casefold()) == user.id:
            del self._emails[user.email.casefold()]
        user.email = email
        self._emails[email.casefold()] = user.id

    def _remove_user(self, user: SimUser) -> None:
        del self.users[user.id]
        self._emails.pop(user.email.casefold(), None)
        for public in [k.public for k in self._keys.values() if k.user_id == user.id]:
            del self._keys[public]

    # --- Routing and authentication --------------------------------------------------------------------------------

    def _register_routes(self) -> None:
        routes = [
            ("GET", USERS, "api.admin.users.list", self._list_users),
            ("POST", USERS, "api.admin.users.create", self._create_user),
            ("GET", f"{USERS}/{{id}}", "api.admin.users.view", self._view_user),
            ("PATCH", f"{USERS}/{{id}}", "api.admin.users.update", self._update_user),
            ("DELETE", f"{USERS}/{{id}}", "api.admin.users.delete", self._delete_user),
        ]
        for method, uri, name, action in routes:
            self._router.add([method], uri, name)
            self._actions[name] = action

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw_body = await request.read()
        try:
            try:
                match = self._router.match(request.method, request.path, request.rel_url.raw_path)
            except HttpError as error:  # Laravel's router under dingo: no message, so dingo's "<status> <phrase>"
                raise DingoError(error.status, headers=error.headers) from None
            if match.route is None:
                return web.Response(headers={"Allow": ",".join(match.allowed)})
            self._authenticate(request, match.route.name, raw_body)
            return self._actions[match.route.name](request, match.params, raw_body)
        except DingoError as error:
            body = dingo_body(error.status, error.message, error.errors)
            return json_response(body, error.status, headers=error.headers)

    def _authenticate(self, request: web.Request, route_name: str, raw_body: bytes) -> SimKey:
        """APISecretToken::authenticate, as dingo's Auth runs it."""
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        if not token:
            raise DingoError(401, headers={"WWW-Authenticate": MISSING_HEADER_CHALLENGE})
        pieces = token.split(".")
        if len(pieces) < 2:
            raise DingoError(500, "Undefined offset: 1")
        public, hashed = pieces[0], pieces[1]
        key = self._keys.get(public)
        if key is None:
            raise DingoError(403, INVALID_KEY)
        if key.allowed_ips and not _ip_allowed(request.remote or "", key.allowed_ips):
            raise DingoError(403, f"This IP address <{request.remote}> does not have permission to use this API key.")
        if "*" not in key.permissions and route_name not in key.permissions:
            raise DingoError(403, NO_PERMISSION)
        scheme = self.seen_scheme or request.scheme
        url = full_url(scheme, request.host, request.rel_url.raw_path, request.rel_url.raw_query_string)
        expected = hmac.new(key.secret.encode(), php_urldecode(url) + raw_body, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, php_base64_decode(hashed)):
            raise DingoError(401, BAD_CREDENTIALS)
        return key

    # --- Endpoints -------------------------------------------------------------------------------------------------

    def _list_users(self, request: web.Request, params: dict[str, str], raw_body: bytes) -> web.StreamResponse:
        page = laravel.php_filter_int(_input(request, raw_body).get("page"))
        page = page if page is not None and page >= 1 else 1
        rows = list(self.users.values())
        total = len(rows)
        last = max(1, -(-total // self.page_size))
        start = (page - 1) * self.page_size
        chunk = rows[start : start + self.page_size]
        base = str(request.url.with_query(None).with_fragment(None)).rstrip("/")
        links: dict[str, str] = {}
        if page > 1:
            links["previous"] = f"{base}?page={page - 1}"
        if page < last:
            links["next"] = f"{base}?page={page + 1}"
        pagination: dict[str, Any] = {
            "total": total,
            "count": len(chunk),
            "per_page": self.page_size,
            "current_page": page,
            "total_pages": last,
            "links": links or [],  # an empty PHP array encodes as []
        }
        return json_response({"data": [_user_json(user) for user in chunk], "meta": {"pagination": pagination}})

    def _view_user(self, request: web.Request, params: dict[str, str], raw_body: bytes) -> web.StreamResponse:
        raw_fields = _input(request, raw_body).get("fields")
        selected: list[str] = []
        if isinstance(raw_fields, str):
            selected = [name for name in raw_fields.split(",") if name]
        if any(name not in _COLUMNS for name in selected):
            raise DingoError(400, BAD_FIELDS)  # the query fails before the not-found check runs
        user = self._resolve(params["id"])
        if user is None:
            raise DingoError(404, USER_NOT_FOUND)
        document = _user_json(user)
        if selected:
            document = {name: document[name] for name in selected if name in document}
        return json_response({"user": document})

    def _create_user(self, request: web.Request, params: dict[str, str], raw_body: bytes) -> web.StreamResponse:
        data = _input(request, raw_body)
        candidate = {"email": data.get("email"), "password": data.get("password"), "root_admin": data.get("admin")}
        rules = {
            "email": [laravel.required(), _email_rule(), self._unique_email(ignore_id=None)],
            "password": [laravel.required(), _password_rule()],
            "root_admin": [laravel.required(), laravel.boolean()],
        }
        _validate(candidate, rules)
        user = SimUser(id=self._last_user_id + 1, uuid=str(uuid.uuid4()), email=str(candidate["email"]))
        user.root_admin = candidate["root_admin"] in (True, 1, "1")
        user.set_password(str(candidate["password"]))
        self._insert(user)
        location = f"{request.url.origin()}/{USERS}/{user.id}"
        if self.create_returns_id:
            return json_response({"id": user.id}, 201, headers={"Location": location})
        return web.Response(status=201, headers={"Location": location})

    def _update_user(self, request: web.Request, params: dict[str, str], raw_body: bytes) -> web.StreamResponse:
        data = _input(request, raw_body)  # $request->all(): the query string counts too
        user = self._resolve(params["id"])
        rules = {
            "email": [_email_rule(), self._unique_email(ignore_id=user.id if user else None)],
            "password": [_password_rule()],
            "root_admin": [laravel.boolean()],
            "language": [laravel.string(), _min_length(1), laravel.max_length(5)],
            "use_totp": [laravel.boolean()],
            "totp_secret": [_exact_length(16)],
        }
        _validate(data, rules)
        if user is None or any(name not in _COLUMNS for name in data):
            raise DingoError(503, UPDATE_FAILED)  # findOrFail() or an unknown column, caught as \Exception
        if "email" in data:
            self._set_email(user, str(data["email"]))
        if "password" in data:
            user.set_password(str(data["password"]))
        for flag in ("root_admin", "use_totp"):
            if flag in data:
                setattr(user, flag, data[flag] in (True, 1, "1"))
        if "language" in data:
            user.language = str(data["language"])
        if "totp_secret" in data:
            user.totp_secret = str(data["totp_secret"])
        user.updated_at = _now()
        return json_response({"user": _user_json(user)})

    def _delete_user(self, request: web.Request, params: dict[str, str], raw_body: bytes) -> web.StreamResponse:
        user = self._resolve(params["id"])
        if user is None:
            raise DingoError(503, DELETE_FAILED)
        if any(server.owner_id == user.id for server in self.servers.values()):
            if self.delete_refusal_status == 422:
                raise DingoError(422, HAS_SERVERS)
            raise DingoError(503, DELETE_FAILED)
        self._remove_user(user)
        return web.Response(status=204)

    # --- Helpers ---------------------------------------------------------------------------------------------------

    def _resolve(self, reference: str) -> SimUser | None:
        """`{id}`: `where(is_numeric($id) ? 'id' : 'email', $id)`; MySQL compares the email case-insensitively."""
        if _is_php_numeric(reference):
            number = float(reference)
            return self.users.get(int(number)) if number.is_integer() else None
        return self.user_by_email(reference)

    def _unique_email(self, *, ignore_id: int | None) -> laravel.Rule:
        def taken(value: Any) -> bool:
            if isinstance(value, (list, dict)):
                return False
            owner = self._emails.get(laravel.php_string(value).casefold())
            return owner is not None and owner != ignore_id

        return laravel.unique(taken)


def _user_json(user: SimUser) -> dict[str, Any]:
    """The user as the seed shows it: flags as 0/1 integers, dates as `Y-m-d H:i:s`."""
    return {
        "id": user.id,
        "uuid": user.uuid,
        "email": user.email,
        "language": user.language,
        "root_admin": int(user.root_admin),
        "use_totp": int(user.use_totp),
        "created_at": _timestamp(user.created_at),
        "updated_at": _timestamp(user.updated_at),
    }


def _input(request: web.Request, raw_body: bytes) -> dict[str, Any]:
    """Laravel 5.3's `$request->all()`: the body over the query string. Laravel 5.3 has no IsValidJson, TrimStrings or
    ConvertEmptyStringsToNull: a malformed JSON body is simply no input."""
    data: dict[str, Any] = laravel.parse_php_query(request.rel_url.raw_query_string)
    if laravel.is_json_content(request):
        try:
            decoded = json.loads(raw_body) if raw_body else None
        except ValueError:
            decoded = None
        data.update(laravel.as_input_array(decoded))
    elif request.content_type == "application/x-www-form-urlencoded" and request.method not in ("GET", "HEAD"):
        data.update(laravel.parse_php_query(raw_body.decode("utf-8", "replace")))
    return data


def _validate(data: Mapping[str, Any], rules: dict[str, list[laravel.Rule]]) -> None:
    failures = laravel.validate(data, rules, messages=_MESSAGES, attributes={})
    if failures:
        errors: dict[str, list[str]] = {}
        for failure in failures:
            errors.setdefault(failure.field, []).append(failure.message)
        raise DingoError(422, VALIDATION_FAILED, errors=errors)


def _email_rule() -> laravel.Rule:
    return laravel.Rule("email", lambda value: isinstance(value, str) and _EMAIL.fullmatch(value) is not None)


def _password_rule() -> laravel.Rule:
    """`regex:((?=.*\\d)(?=.*[a-z])(?=.*[A-Z]).{8,})`: the outer parentheses are the PHP delimiters, so unanchored."""

    def passes(value: Any) -> bool:
        return not isinstance(value, (list, dict)) and _PASSWORD.search(laravel.php_string(value)) is not None

    return laravel.Rule("regex", passes)


def _min_length(low: int) -> laravel.Rule:
    return laravel.Rule("min", lambda value: len(laravel.php_string(value)) >= low, placeholders={"min": str(low)})


def _exact_length(size: int) -> laravel.Rule:
    return laravel.Rule("size", lambda value: len(laravel.php_string(value)) == size, placeholders={"size": str(size)})


def _ip_allowed(remote: str, allowed: Iterable[str]) -> bool:
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    for entry in allowed:
        with contextlib.suppress(ValueError):
            if address in ipaddress.ip_network(entry, strict=False):
                return True
    return False


# --- By hand -------------------------------------------------------------------------------------------------------


async def serve(args: argparse.Namespace) -> None:
    simulator = LegacyPterodactylSimulator()
    simulator.record_requests = False
    members = simulator.seed_users(args.users)
    for member in members[: args.servers]:
        simulator.add_server(member.id, f"{member.email}'s server")

    def welcome(url: str) -> Iterator[str]:
        yield f"Pterodactyl 0.5 simulator on {url} with {len(simulator.users)} users (state is lost on exit)"
        yield f"API key (user {simulator.admin.email}, root admin): {simulator.api_key}"
        yield settings_line("pterodactyl-legacy", url, simulator.api_key)
        yield "Requests must be signed (Authorization: Bearer <public>.<base64 HMAC-SHA256 of URL + body>)."

    await serve_until_stopped(simulator, args.host, args.port, welcome)
