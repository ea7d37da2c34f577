"""An in-memory Calagopus panel (calagopus/panel, Rust/axum) served over real HTTP, for client tests, benchmarks and
trying the bot by hand.

It reproduces the user API as `shared/panels/ctrlpanel-convoy-calagopus.md` (section C) reads it from the panel's
source: the per-IP rate limit that counts every request and refuses the limit-th one, the 55-byte Authorization rule,
keys looked up by their first 16 characters, the admin middleware, per-key admin permissions intersected with the
owner's, the order in which a request is refused (query or payload before permission, permission before validation,
validation before uniqueness), `{"errors": [...]}` bodies with validation errors wrapped twice, `{}` answers to PATCH
and DELETE, UUID ids, `total: 0` past the last page, and unescaped `ILIKE` search on username or email.

Where the reference is silent or marked UNCONFIRMED, the simulator assumes: garde's and serde's wording as in their
current releases, with serde's error positions approximated by the end of the body for type errors; axum's bare 404
for an unknown route and bare 405 (with `Allow`) for a wrong method; JSON bodies only (msgpack, XML and YAML are
refused as unsupported); JSON answers whatever the Accept header asks; no 5-second cache of keys (a revoked key stops
working at once); the frontend languages in `DEFAULT_LANGUAGES`.

Run by hand: `python -m simulators calagopus --port 8080 [--users 50]`.
"""

from __future__ import annotations

import argparse
import ipaddress
import itertools
import json
import math
import re
import secrets
import string
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import unquote

from aiohttp import web

from simulators.laravel import Faults, RecordedRequest, front_door
from simulators.loopback import LoopbackServer, serve_until_stopped, settings_line
from simulators.passwords import hash_password, password_matches

__all__ = [
    "DEFAULT_LANGUAGES",
    "USERS_ADMIN_PERMISSIONS",
    "CalagopusSimulator",
    "Faults",
    "RecordedRequest",
    "SimKey",
    "SimRole",
    "SimUser",
]

KEY_PREFIX = "c7sp_"
KEY_LENGTH = 48
KEY_START_LENGTH = 16
# "Bearer " + a 48-character key: the middleware refuses any other header length before looking at the key.
AUTHORIZATION_LENGTH = 55

USERS_ADMIN_PERMISSIONS = (
    "users.create",
    "users.read",
    "users.update",
    "users.disable-two-factor",
    "users.delete",
    "users.email",
    "users.activity",
    "users.oauth-links",
    "users.impersonate",
)
DEFAULT_LANGUAGES = ("en", "de", "es", "fr", "it", "nl", "pl", "pt", "ru", "tr", "uk", "zh")
TOAST_POSITIONS = ("top_left", "top_center", "top_right", "bottom_left", "bottom_center", "bottom_right")

_ALPHANUMERIC = string.ascii_letters + string.digits
_USERNAME_PATTERN = "^[a-zA-Z0-9_]+$"
_USERNAME = re.compile(r"[a-zA-Z0-9_]+")
_EMAIL_USER = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+")
_EMAIL_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_I64 = re.compile(r"[+-]?\d+")
_I64_MAX = 2**63 - 1

TwoFactorRequirement = Literal["none", "admins", "all"]


def _now() -> datetime:
    return datetime.now(UTC)


def _rfc3339(moment: datetime) -> str:
    """chrono's `DateTime<Utc>` as serde writes it: `Z`, and only as many fraction digits as are not zero (3 or 6)."""
    moment = moment.astimezone(UTC)
    micro = moment.microsecond
    if micro == 0:
        fraction = ""
    elif micro % 1000 == 0:
        fraction = f".{micro // 1000:03d}"
    else:
        fraction = f".{micro:06d}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def _random_alphanumeric(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


# --- State ---------------------------------------------------------------------------------------------------------

# Postgres unique indexes: lower(username), lower(email), and external_id as it is (several NULLs allowed).
_INDEXED_FIELDS = ("username", "email", "external_id")


def _index_key(name: str, value: str) -> str:
    return value if name == "external_id" else value.lower()


class _UniqueIndex:
    """Who holds each indexed value. SimUser keeps it current, so tests may edit users in place."""

    def __init__(self) -> None:
        self._owners: dict[str, dict[str, str]] = {name: {} for name in _INDEXED_FIELDS}

    def add(self, user: SimUser) -> None:
        for name in _INDEXED_FIELDS:
            self.move(name, None, getattr(user, name), user.uuid)

    def remove(self, user: SimUser) -> None:
        for name in _INDEXED_FIELDS:
            self.move(name, getattr(user, name), None, user.uuid)

    def move(self, name: str, old: str | None, new: str | None, user_uuid: str) -> None:
        owners = self._owners[name]
        if old is not None and owners.get(_index_key(name, old)) == user_uuid:
            del owners[_index_key(name, old)]
        if new is not None:
            owners[_index_key(name, new)] = user_uuid

    def owner(self, name: str, value: str) -> str | None:
        return self._owners[name].get(_index_key(name, value))


@dataclass(eq=False, slots=True)
class SimUser:
    """A panel user, keyed by `uuid` (also readable as `id`, the contract's name). `password_hash` is never shown."""

    uuid: str
    username: str
    email: str
    name_first: str = "First"
    name_last: str = "Last"
    external_id: str | None = None
    admin: bool = False
    frozen: bool = False
    suspended: bool = False
    totp_enabled: bool = False
    totp_last_used: datetime | None = None
    language: str = "en"
    toast_position: str = "top_right"
    start_on_grouped_servers: bool = False
    role_uuid: str | None = None
    password_hash: str | None = field(default=None, repr=False)
    created: datetime = field(default_factory=_now)
    _index: _UniqueIndex | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.uuid

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _INDEXED_FIELDS:
            index = getattr(self, "_index", None)  # unset while __init__ runs
            if index is not None:
                index.move(name, getattr(self, name), value, self.uuid)
        object.__setattr__(self, name, value)

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def set_password(self, password: str | None) -> None:
        self.password_hash = None if password is None else hash_password(password)

    def password_matches(self, password: str) -> bool:
        """Lets a test check what a request did to the password without the API ever echoing it."""
        return password_matches(self.password_hash, password)


@dataclass(eq=False, slots=True)
class SimRole:
    """A role. Holding one with any admin permission lets a non-admin through the admin middleware."""

    uuid: str
    name: str
    description: str | None = None
    require_two_factor: bool = False
    admin_permissions: tuple[str, ...] = ()
    server_permissions: tuple[str, ...] = ()
    created: datetime = field(default_factory=_now)


@dataclass(eq=False, slots=True)
class SimKey:
    """An API key. The panel stores a bcrypt hash and the first 16 characters; the simulator keeps the key itself
    (never shown, never logged) so that a lookup costs nothing."""

    uuid: str
    name: str
    key: str = field(repr=False)
    user_uuid: str
    admin_permissions: tuple[str, ...] = ()
    user_permissions: tuple[str, ...] = ()
    server_permissions: tuple[str, ...] = ()
    allowed_ips: tuple[str, ...] = ()
    enabled: bool = True
    expires: datetime | None = None
    last_used: datetime | None = None
    created: datetime = field(default_factory=_now)

    @property
    def key_start(self) -> str:
        return self.key[:KEY_START_LENGTH]


class _Refusal(Exception):
    """An answer other than success: `{"errors": messages}`, or a bare body for axum's own rejections."""

    def __init__(
        self,
        status: int,
        *messages: str,
        headers: dict[str, str] | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(messages[0] if messages else text)
        self.status = status
        self.messages = list(messages)
        self.headers = headers or {}
        self.text = text

    def response(self) -> web.Response:
        if self.text is not None:
            return web.Response(status=self.status, text=self.text, headers=self.headers)
        return _json({"errors": self.messages}, self.status, headers=self.headers)


def _validation_refusal(messages: list[str]) -> _Refusal:
    """garde errors raised inside a model: the `{"errors": [...]}` document becomes the one message of another."""
    return _Refusal(400, json.dumps({"errors": messages}, separators=(",", ":"), ensure_ascii=False))


def _json(value: Any, status: int = 200, *, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return web.Response(
        status=status,
        body=body,
        headers={**(headers or {}), "Content-Type": "application/json", "Vary": "Accept"},
    )


@dataclass(frozen=True, slots=True)
class _Route:
    methods: frozenset[str]
    segments: tuple[str, ...]  # "{}" matches one path segment, percent-decoded
    action: Callable[[_Call], web.Response]
    admin: bool  # behind the admin middleware too
    account_exempt: bool = False  # the suspended and two-factor checks skip /api/client/account


@dataclass(slots=True)
class _Call:
    request: web.Request
    raw_body: bytes
    param: str | None
    user: SimUser | None = None
    key: SimKey | None = None
    target: SimUser | None = None


@dataclass(slots=True)
class _Window:
    hits: int
    ends_at: float  # monotonic
    ends_unix: int


# --- Payloads: serde's view of a JSON body --------------------------------------------------------------------------

FieldKind = Literal["string", "bool", "uuid", "toast"]


@dataclass(frozen=True, slots=True)
class _Field:
    kind: FieldKind
    required: bool = False  # no serde default: absent is "missing field"
    nullable: bool = False  # Option<T>: null is None


_CREATE_FIELDS: dict[str, _Field] = {
    "role_uuid": _Field("uuid", nullable=True),
    "external_id": _Field("string", nullable=True),
    "username": _Field("string", required=True),
    "email": _Field("string", required=True),
    "name_first": _Field("string", required=True),
    "name_last": _Field("string", required=True),
    "password": _Field("string", nullable=True),
    "admin": _Field("bool", required=True),
    "frozen": _Field("bool"),
    "suspended": _Field("bool"),
    "send_email": _Field("bool"),
    "language": _Field("string", required=True),
}
_UPDATE_FIELDS: dict[str, _Field] = {
    "role_uuid": _Field("uuid", nullable=True),
    "external_id": _Field("string", nullable=True),
    "username": _Field("string", nullable=True),
    "email": _Field("string", nullable=True),
    "name_first": _Field("string", nullable=True),
    "name_last": _Field("string", nullable=True),
    "password": _Field("string", nullable=True),
    "toast_position": _Field("toast", nullable=True),
    "start_on_grouped_servers": _Field("bool", nullable=True),
    "admin": _Field("bool", nullable=True),
    "frozen": _Field("bool", nullable=True),
    "suspended": _Field("bool", nullable=True),
    "language": _Field("string", nullable=True),
}
# Only these two use serde_with's double_option, so only for them does an explicit null mean "clear". A null
# password reads as "absent" (the reference says it removes the password; the struct says otherwise).
_CLEARABLE = frozenset({"role_uuid", "external_id"})
_EXPECTED = {"string": "a string", "bool": "a boolean", "uuid": "a UUID string", "toast": "variant identifier"}


def _describe(value: Any) -> str:
    """How serde_json names an unexpected value in "invalid type: …, expected …"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {json.dumps(value, ensure_ascii=False)}"
    return "sequence" if isinstance(value, list) else "map"


def _position(text: str) -> str:
    """serde's "at line L column C" for the last character it read; for a missing field that is the closing brace."""
    stripped = text.rstrip()
    line = stripped.count("\n") + 1
    column = len(stripped) - (stripped.rfind("\n") + 1)
    return f"at line {line} column {max(column, 0)}"


def _read_payload(call: _Call, fields: dict[str, _Field], struct: str) -> dict[str, Any]:
    """`shared::Payload`: content type, then serde. Returns the fields present (a cleared one maps to None)."""
    content_type = call.request.headers.get("Content-Type")
    if content_type is None or not content_type.strip():
        raise _Refusal(400, "invalid payload: missing content type header")
    # mime equality includes parameters, so `application/json; charset=utf-8` is not accepted.
    if content_type.strip().lower() != "application/json":
        raise _Refusal(400, "invalid payload: unsupported content type")
    try:
        text = (call.raw_body or b"{}").decode("utf-8")
    except UnicodeDecodeError:
        raise _Refusal(400, "invalid payload: invalid unicode code point at line 1 column 1") from None
    pairs_seen: list[list[tuple[str, Any]]] = []

    def keep_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        pairs_seen.append(pairs)
        return dict(pairs)

    try:
        document = json.loads(text, object_pairs_hook=keep_pairs)
    except json.JSONDecodeError as error:
        problem = "EOF while parsing a value" if error.pos >= len(text.rstrip()) else "expected value"
        raise _Refusal(400, f"invalid payload: {problem} at line {error.lineno} column {error.colno}") from None
    if not isinstance(document, dict):
        raise _Refusal(
            400, f"invalid payload: invalid type: {_describe(document)}, expected struct {struct} {_position(text)}"
        )
    top_level = pairs_seen[-1]  # the hook runs innermost first, so the document itself comes last
    where = _position(text)
    present: dict[str, Any] = {}
    for name, value in top_level:
        spec = fields.get(name)
        if spec is None:
            continue  # serde ignores unknown fields unless told otherwise
        if name in present:
            raise _Refusal(400, f"invalid payload: duplicate field `{name}` {where}")
        if value is None and spec.nullable:
            if name in _CLEARABLE:
                present[name] = None
            continue
        wrong = _type_problem(spec, value)
        if wrong:
            raise _Refusal(400, f"invalid payload: {wrong} {where}")
        present[name] = value
    for name, spec in fields.items():
        if spec.required and name not in present:
            raise _Refusal(400, f"invalid payload: missing field `{name}` {where}")
    return present


def _type_problem(spec: _Field, value: Any) -> str | None:
    if spec.kind == "bool":
        ok = isinstance(value, bool)
    elif spec.kind == "toast":
        if isinstance(value, str) and value not in TOAST_POSITIONS:
            expected = ", ".join(f"`{p}`" for p in TOAST_POSITIONS)
            return f"unknown variant `{value}`, expected one of {expected}"
        ok = isinstance(value, str)
    else:
        ok = isinstance(value, str)
    if not ok:
        return f"invalid type: {_describe(value)}, expected {_EXPECTED[spec.kind]}"
    if spec.kind == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            return f"UUID parsing failed: invalid length: expected length 32 for simple format, found {len(value)}"
    return None


# --- garde ----------------------------------------------------------------------------------------------------------


def _length(name: str, value: str, low: int | None, high: int, *, chars: bool = True) -> list[str]:
    """garde `length`: `chars` counts characters, the default counts bytes."""
    size = len(value) if chars else len(value.encode())
    if low is not None and size < low:
        return [f"{name}: length is lower than {low}"]
    if size > high:
        return [f"{name}: length is greater than {high}"]
    return []


def _email_problem(value: str) -> str | None:
    user, at, domain = value.rpartition("@")
    if not at:
        return "value is missing `@`"
    if not user:
        return "user part is empty"
    if not domain:
        return "domain part is empty"
    if not _EMAIL_USER.fullmatch(user):
        return "user part is not valid"
    labels = domain.split(".")
    if not all(_EMAIL_LABEL.fullmatch(label) for label in labels):
        return "domain part is not valid"
    return None


# --- The simulator -------------------------------------------------------------------------------------------------


class CalagopusSimulator(LoopbackServer):
    """A stateful panel: users, roles, keys, servers and rate-limit windows live in memory for the simulator's life."""

    def __init__(
        self,
        *,
        rate_limit: int = 360,
        rate_window: float = 30.0,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        two_factor_requirement: TwoFactorRequirement = "none",
    ) -> None:
        super().__init__()
        self.rate_limit = rate_limit  # setting `ratelimits.client`: hits per window, per client IP
        self.rate_window = rate_window
        self.languages = frozenset(languages)
        self.two_factor_requirement: TwoFactorRequirement = two_factor_requirement
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self.record_requests = True
        self.users: dict[str, SimUser] = {}  # insertion order is `created` order, which the list endpoint relies on
        self.roles: dict[str, SimRole] = {}
        self.servers: dict[int, str] = {}  # server id -> owner uuid
        self._servers_by_owner: dict[str, set[int]] = {}
        self._keys: dict[str, list[SimKey]] = {}  # by key_start
        self._index = _UniqueIndex()
        self._server_ids = itertools.count(1)
        self._seed_numbers = itertools.count(1)
        self._last_created = datetime(2000, 1, 1, tzinfo=UTC)
        self._windows: dict[str, _Window] = {}
        self._routes = self._build_routes()
        self.app = web.Application(middlewares=[front_door(self)])
        self.app.router.add_route("*", "/{path:.*}", self._dispatch)
        self.admin = self.add_user(
            username="admin", email="admin@example.com", name_first="Admin", name_last="User", admin=True
        )
        # Every users permission, and `api-keys.read` so a client can read which permissions its key holds.
        self.api_key = self.create_api_key(self.admin.uuid)

    # --- Control API -----------------------------------------------------------------------------------------------

    def add_user(
        self,
        *,
        username: str,
        email: str,
        name_first: str = "First",
        name_last: str = "Last",
        external_id: str | None = None,
        admin: bool = False,
        language: str = "en",
        password: str | None = None,
        suspended: bool = False,
        frozen: bool = False,
        totp_enabled: bool = False,
        role_uuid: str | None = None,
    ) -> SimUser:
        """Create a user directly, stored as given (the panel keeps the case of usernames and emails)."""
        if role_uuid is not None and role_uuid not in self.roles:
            raise KeyError(f"no role {role_uuid}")
        user = SimUser(
            uuid=str(uuid.uuid4()),
            username=username,
            email=email,
            name_first=name_first,
            name_last=name_last,
            external_id=external_id,
            admin=admin,
            language=language,
            suspended=suspended,
            frozen=frozen,
            totp_enabled=totp_enabled,
            role_uuid=role_uuid,
            created=self._next_created(),
        )
        user.set_password(password)
        self._insert(user)
        return user

    def seed_users(self, count: int, *, prefix: str = "user") -> list[SimUser]:
        """Add `count` ordinary users named `<prefix><n>` with `<prefix><n>@example.com`, quickly enough for
        benchmarks (no validation beyond uniqueness, no password)."""
        created = []
        for number in itertools.islice(self._seed_numbers, count):
            user = SimUser(
                uuid=str(uuid.uuid4()),
                username=f"{prefix}{number}",
                email=f"{prefix}{number}@example.com",
                name_first=prefix.title(),
                name_last=str(number),
                created=self._next_created(),
            )
            self._insert(user)
            created.append(user)
        return created

    def add_server(self, owner_id: str, name: str = "server") -> int:
        """Give a user a server; while they own one the panel refuses to delete them. `name` is not kept."""
        if owner_id not in self.users:
            raise KeyError(f"no user {owner_id}")
        server_id = next(self._server_ids)
        self.servers[server_id] = owner_id
        self._servers_by_owner.setdefault(owner_id, set()).add(server_id)
        return server_id

    def remove_server(self, server_id: int) -> None:
        owner = self.servers.pop(server_id)
        owned = self._servers_by_owner.get(owner, set())
        owned.discard(server_id)
        if not owned:
            self._servers_by_owner.pop(owner, None)

    def add_role(
        self,
        name: str,
        *,
        admin_permissions: Iterable[str] = (),
        server_permissions: Iterable[str] = (),
        require_two_factor: bool = False,
    ) -> str:
        """A role; give it to a user with `user.role_uuid = role_uuid`. Returns the role's uuid."""
        role = SimRole(
            uuid=str(uuid.uuid4()),
            name=name,
            require_two_factor=require_two_factor,
            admin_permissions=tuple(admin_permissions),
            server_permissions=tuple(server_permissions),
        )
        self.roles[role.uuid] = role
        return role.uuid

    def create_api_key(
        self,
        user_id: str,
        *,
        admin_permissions: Iterable[str] = USERS_ADMIN_PERMISSIONS,
        user_permissions: Iterable[str] = ("api-keys.read",),
        allowed_ips: Iterable[str] = (),
        expires: datetime | None = None,
        name: str = "panel desk",
    ) -> str:
        """A `c7sp_` key of `user_id` with these scopes. What it may do is also bounded by its owner's rights."""
        if user_id not in self.users:
            raise KeyError(f"no user {user_id}")
        key = KEY_PREFIX + _random_alphanumeric(KEY_LENGTH - len(KEY_PREFIX))
        record = SimKey(
            uuid=str(uuid.uuid4()),
            name=name,
            key=key,
            user_uuid=user_id,
            admin_permissions=tuple(admin_permissions),
            user_permissions=tuple(user_permissions),
            allowed_ips=tuple(allowed_ips),
            expires=expires,
            created=self._next_created(),
        )
        self._keys.setdefault(record.key_start, []).append(record)
        return key

    def create_client_key(self, user_id: str) -> str:
        """A member's own key with no permission at all: still enough for `/api/client/account`."""
        return self.create_api_key(user_id, admin_permissions=(), user_permissions=(), name="my key")

    def revoke_key(self, key: str) -> None:
        candidates = self._keys.get(key[:KEY_START_LENGTH], [])
        candidates[:] = [record for record in candidates if record.key != key]

    def key_record(self, key: str) -> SimKey | None:
        """The stored record of a key, e.g. to change its permissions or read `last_used`."""
        return next((record for record in self._keys.get(key[:KEY_START_LENGTH], []) if record.key == key), None)

    def reset_rate_limits(self) -> None:
        self._windows.clear()

    def server_error_response(self, status: int) -> web.Response:
        """What the panel answers an unexpected error (used by `Faults.fail_next`)."""
        return _json({"errors": ["internal server error"]}, status)

    def _next_created(self) -> datetime:
        """Strictly increasing, so `ORDER BY created` is insertion order."""
        moment = max(_now(), self._last_created + timedelta(microseconds=1))
        self._last_created = moment
        return moment

    def _insert(self, user: SimUser) -> None:
        for name in _INDEXED_FIELDS:
            value = getattr(user, name)
            if value is not None and self._taken(name, value, ignore=None):
                raise ValueError(f"{name} {value!r} is already taken")
        self.users[user.uuid] = user
        self._index.add(user)
        user._index = self._index

    def _remove_user(self, user: SimUser) -> None:
        """Deleting a user cascades to their API keys."""
        del self.users[user.uuid]
        self._index.remove(user)
        user._index = None
        for records in self._keys.values():
            records[:] = [record for record in records if record.user_uuid != user.uuid]

    def _taken(self, name: str, value: str, *, ignore: str | None) -> bool:
        owner = self._index.owner(name, value)
        return owner is not None and owner != ignore and owner in self.users

    # --- Routing and middleware ------------------------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        users = ("api", "admin", "users")
        account = ("api", "client", "account")

        def route(
            methods: str, segments: tuple[str, ...], action: Callable[[_Call], web.Response], **kw: Any
        ) -> _Route:
            verbs = set(methods.split())
            if "GET" in verbs:
                verbs.add("HEAD")
            return _Route(frozenset(verbs), segments, action, **kw)

        return [
            route("GET", users, self._list_users, admin=True),
            route("POST", users, self._create_user, admin=True),
            route("GET", (*users, "external", "{}"), self._external_user, admin=True),
            route("GET", (*users, "{}"), self._view_user, admin=True),
            route("PATCH", (*users, "{}"), self._update_user, admin=True),
            route("DELETE", (*users, "{}"), self._delete_user, admin=True),
            route("GET", account, self._account, admin=False, account_exempt=True),
            route("GET", (*account, "api-keys"), self._api_keys, admin=False),
        ]

    def _match(self, method: str, raw_path: str) -> tuple[_Route, str | None] | _Refusal:
        segments = raw_path.split("/")[1:]
        allowed: set[str] = set()
        for route in self._routes:
            if len(route.segments) != len(segments):
                continue
            param = None
            for pattern, segment in zip(route.segments, segments, strict=True):
                if pattern == "{}" and segment:
                    param = unquote(segment)
                elif pattern != segment:
                    break
            else:
                if method in route.methods:
                    return route, param
                allowed |= route.methods
        if allowed:  # axum's method router: an empty 405 naming what the path accepts
            return _Refusal(405, headers={"Allow": ",".join(sorted(allowed))}, text="")
        return _Refusal(404, text="")

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        matched = self._match(request.method, request.rel_url.raw_path)
        if isinstance(matched, _Refusal):
            return matched.response()
        route, param = matched
        call = _Call(request, await request.read(), param)
        try:
            self._rate_limit(request)
            self._authenticate(call, route)
            if route.admin:
                self._require_admin(call)
            return route.action(call)
        except _Refusal as refusal:
            return refusal.response()

    def _rate_limit(self, request: web.Request) -> None:
        """`cache.ratelimit("client", …)` keyed by IP: INCR every hit (refused ones too), the window starts at the first
        hit, and the limit-th hit is already refused. The headers come only with the 429."""
        now = time.monotonic()
        client = request.remote or ""
        window = self._windows.get(client)
        if window is None or window.ends_at <= now:
            window = _Window(0, now + self.rate_window, int(time.time() + self.rate_window))
            self._windows[client] = window
        window.hits += 1
        if window.hits >= self.rate_limit:
            retry_after = max(0, math.ceil(window.ends_at - now))
            raise _Refusal(
                429,
                f"you are ratelimited, retry in {retry_after}s",
                headers={
                    "X-RateLimit-Limit": str(self.rate_limit),
                    "X-RateLimit-Remaining": str(max(0, self.rate_limit - window.hits)),
                    "X-RateLimit-Reset": str(window.ends_unix),
                    "Retry-After": str(retry_after),
                },
            )

    def _authenticate(self, call: _Call, route: _Route) -> None:
        raw = next((value for name, value in call.request.raw_headers if name.lower() == b"authorization"), None)
        if raw is None:
            raise _Refusal(401, "missing authorization")
        if len(raw) != AUTHORIZATION_LENGTH:
            raise _Refusal(401, "invalid authorization header")
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            text = ""  # HeaderValue::to_str fails on anything but visible ASCII, and the code goes on with ""
        token = text
        while token.startswith("Bearer "):  # trim_start_matches removes the prefix as often as it repeats
            token = token[len("Bearer ") :]
        record = self._find_key(token)
        if record is None:
            raise _Refusal(401, "invalid api key")
        if record.allowed_ips and not _ip_allowed(call.request.remote or "", record.allowed_ips):
            raise _Refusal(403, "ip address not allowed for this api key")
        user = self.users[record.user_uuid]
        record.last_used = _now()
        if not route.account_exempt:
            if user.suspended:
                raise _Refusal(403, "account is suspended")
            if self._requires_two_factor(user) and not user.totp_enabled:
                raise _Refusal(403, "two-factor authentication required")
        call.user, call.key = user, record

    def _find_key(self, token: str) -> SimKey | None:
        if len(token) < KEY_START_LENGTH:
            return None
        now = _now()
        for record in self._keys.get(token[:KEY_START_LENGTH], []):
            if record.key == token and (record.expires is None or record.expires > now):
                return record if record.user_uuid in self.users else None
        return None

    def _require_admin(self, call: _Call) -> None:
        """The admin middleware: an admin, or a role with at least one admin permission; else a 401."""
        assert call.user is not None
        role = self.roles.get(call.user.role_uuid or "")
        if not call.user.admin and not (role and role.admin_permissions):
            raise _Refusal(401, "unauthorized")

    def _require(self, call: _Call, permission: str) -> None:
        """PermissionManager::has_admin_permission: the owner must hold it (admin, or through the role) and the
        key's own admin_permissions must list it."""
        assert call.user is not None and call.key is not None
        role = self.roles.get(call.user.role_uuid or "")
        granted = call.user.admin or (role is not None and permission in role.admin_permissions)
        if not (granted and permission in call.key.admin_permissions):
            raise _Refusal(403, f"you do not have permission to perform this action: {permission}")

    def _require_user_permission(self, call: _Call, permission: str) -> None:
        """has_user_permission: every account holds these, so only the key's scope can withhold one."""
        assert call.key is not None
        if permission not in call.key.user_permissions:
            raise _Refusal(403, f"you do not have permission to perform this action: {permission}")

    def _requires_two_factor(self, user: SimUser) -> bool:
        role = self.roles.get(user.role_uuid or "")
        if role is not None:
            return role.require_two_factor
        if self.two_factor_requirement == "admins":
            return user.admin
        return self.two_factor_requirement == "all"

    def _bind_user(self, call: _Call) -> SimUser:
        """The `{user}` middleware: users.read first, then the uuid, then the row."""
        self._require(call, "users.read")
        try:
            user_uuid = str(uuid.UUID(call.param or ""))
        except ValueError:
            raise _Refusal(400, "invalid user uuid") from None
        user = self.users.get(user_uuid)
        if user is None:
            raise _Refusal(404, "user not found")
        return user

    # --- Endpoints -------------------------------------------------------------------------------------------------

    def _list_users(self, call: _Call) -> web.Response:
        page, per_page, search = _pagination(call.request)
        self._require(call, "users.read")
        rows = list(self.users.values())
        if search is not None:
            matches = _ilike(search)
            rows = [user for user in rows if matches(user.username) or matches(user.email)]
        offset = (page - 1) * per_page
        page_rows = rows[offset : offset + per_page]
        # COUNT(*) OVER() is computed on the returned rows, so a page past the end counts nothing.
        total = len(rows) if page_rows else 0
        data = [self._admin_user(user) for user in page_rows]
        return _json({"users": {"total": total, "per_page": per_page, "page": page, "data": data}})

    def _view_user(self, call: _Call) -> web.Response:
        user = self._bind_user(call)
        self._require(call, "users.read")
        return _json({"user": self._admin_user(user)})

    def _external_user(self, call: _Call) -> web.Response:
        self._require(call, "users.read")
        owner = self._index.owner("external_id", call.param or "")
        user = self.users.get(owner) if owner is not None else None
        if user is None:
            raise _Refusal(404, "user not found")
        return _json({"user": self._admin_user(user)})

    def _create_user(self, call: _Call) -> web.Response:
        assert call.user is not None
        data = _read_payload(call, _CREATE_FIELDS, "CreateUserOptions")
        self._require(call, "users.create")
        if not call.user.admin:
            if data["admin"]:
                raise _Refusal(403, "you cannot grant admin status")
            if data.get("role_uuid") is not None:
                raise _Refusal(403, "you cannot assign roles")
        problems = self._validate(data, creating=True)
        if problems:
            raise _validation_refusal(problems)
        role_uuid = data.get("role_uuid")
        if role_uuid is not None and str(uuid.UUID(role_uuid)) not in self.roles:
            raise _Refusal(400, "invalid relation `role` provided")
        if any(data.get(name) is not None and self._taken(name, data[name], ignore=None) for name in _INDEXED_FIELDS):
            raise _Refusal(409, "user with email/username already exists")
        user = SimUser(
            uuid=str(uuid.uuid4()),
            username=data["username"],
            email=data["email"],
            name_first=data["name_first"],
            name_last=data["name_last"],
            external_id=data.get("external_id"),
            admin=data["admin"],
            frozen=data.get("frozen", False),
            suspended=data.get("suspended", False),
            language=data["language"],
            role_uuid=None if role_uuid is None else str(uuid.UUID(role_uuid)),
            created=self._next_created(),
        )
        user.set_password(data.get("password"))
        self._insert(user)
        return _json({"user": self._admin_user(user)})

    def _update_user(self, call: _Call) -> web.Response:
        target = self._bind_user(call)
        caller = call.user
        assert caller is not None
        data = _read_payload(call, _UPDATE_FIELDS, "UpdateUserOptions")
        self._require(call, "users.update")
        role_uuid = None if data.get("role_uuid") is None else str(uuid.UUID(data["role_uuid"]))
        if not caller.admin:
            if data.get("admin") is not None and data["admin"] != target.admin:
                raise _Refusal(403, "you cannot change admin status")
            if "role_uuid" in data and role_uuid != target.role_uuid:
                raise _Refusal(403, "you cannot change a user's role")
            if target.admin:
                raise _Refusal(403, "you cannot modify an administrator")
            if caller.uuid != target.uuid:
                if "password" in data:
                    raise _Refusal(403, "you cannot change another user's password")
                if data.get("email") is not None and data["email"] != target.email:
                    raise _Refusal(403, "you cannot change another user's email")
        problems = self._validate(data, creating=False)
        if problems:
            raise _validation_refusal(problems)
        if role_uuid is not None and role_uuid not in self.roles:
            raise _Refusal(400, "invalid relation `role` provided")
        if any(
            data.get(name) is not None and self._taken(name, data[name], ignore=target.uuid) for name in _INDEXED_FIELDS
        ):
            raise _Refusal(409, "user with email/username/external_id already exists")
        for name in (
            "external_id",
            "username",
            "email",
            "name_first",
            "name_last",
            "admin",
            "frozen",
            "suspended",
            "language",
            "toast_position",
            "start_on_grouped_servers",
        ):
            if name in data:
                setattr(target, name, data[name])
        if "role_uuid" in data:
            target.role_uuid = role_uuid
        if "password" in data:
            target.set_password(data["password"])
        return _json({})

    def _delete_user(self, call: _Call) -> web.Response:
        target = self._bind_user(call)
        self._require(call, "users.delete")
        if self._servers_by_owner.get(target.uuid):
            raise _Refusal(400, "user has servers, cannot delete")
        self._remove_user(target)
        return _json({})

    def _account(self, call: _Call) -> web.Response:
        assert call.user is not None
        return _json({"user": self._full_user(call.user)})

    def _api_keys(self, call: _Call) -> web.Response:
        assert call.user is not None
        page, per_page, search = _pagination(call.request)
        self._require_user_permission(call, "api-keys.read")
        now = _now()
        rows = [
            record
            for records in self._keys.values()
            for record in records
            if record.user_uuid == call.user.uuid and (record.expires is None or record.expires > now)
        ]
        rows.sort(key=lambda record: record.created)
        if search is not None:
            matches = _ilike(search)
            rows = [record for record in rows if matches(record.name)]
        offset = (page - 1) * per_page
        page_rows = rows[offset : offset + per_page]
        data = [_api_key_object(record) for record in page_rows]
        total = len(rows) if page_rows else 0
        return _json({"api_keys": {"total": total, "per_page": per_page, "page": page, "data": data}})

    # --- Validation ------------------------------------------------------------------------------------------------

    def _validate(self, data: dict[str, Any], *, creating: bool) -> list[str]:
        """garde over CreateUserOptions / UpdateUserOptions, field by field in declaration order."""
        problems: list[str] = []
        external_id = data.get("external_id")
        if external_id is not None:
            # Create: `length(max = 255)` in bytes, so "" passes; update: 1–255 characters.
            problems += _length("external_id", external_id, None if creating else 1, 255, chars=not creating)
        username = data.get("username")
        if username is not None:
            problems += _length("username", username, 3, 15)
            if not _USERNAME.fullmatch(username):
                problems.append(f"username: does not match pattern /{_USERNAME_PATTERN}/")
        email = data.get("email")
        if email is not None:
            problem = _email_problem(email)
            if problem:
                problems.append(f"email: not a valid email: {problem}")
            problems += _length("email", email, None, 255, chars=False)
        for name in ("name_first", "name_last"):
            if data.get(name) is not None:
                problems += _length(name, data[name], 1, 255)
        password = data.get("password")
        if password is not None:
            problems += _length("password", password, 1 if creating else 8, 512)
        language = data.get("language")
        if language is not None:
            problems += _length("language", language, 2, 15)
            if language not in self.languages:
                problems.append(f"language: invalid language: {language}")
        return problems

    # --- Rendering -------------------------------------------------------------------------------------------------

    def _admin_user(self, user: SimUser) -> dict[str, Any]:
        """AdminApiUser, fields in the struct's order."""
        role = self.roles.get(user.role_uuid or "")
        return {
            "uuid": user.uuid,
            "external_id": user.external_id,
            "username": user.username,
            "role": None if role is None else _role_object(role),
            "avatar": None,
            "email": user.email,
            "name_first": user.name_first,
            "name_last": user.name_last,
            "admin": user.admin,
            "frozen": user.frozen,
            "suspended": user.suspended,
            "totp_enabled": user.totp_enabled,
            "totp_last_used": None if user.totp_last_used is None else _rfc3339(user.totp_last_used),
            "require_two_factor": self._requires_two_factor(user),
            "language": user.language,
            "toast_position": user.toast_position,
            "start_on_grouped_servers": user.start_on_grouped_servers,
            "has_password": user.has_password,
            "created": _rfc3339(user.created),
        }

    def _full_user(self, user: SimUser) -> dict[str, Any]:
        """ApiFullUser, what `/api/client/account` shows: AdminApiUser without `external_id`."""
        document = self._admin_user(user)
        del document["external_id"]
        return document


def _role_object(role: SimRole) -> dict[str, Any]:
    return {
        "uuid": role.uuid,
        "name": role.name,
        "description": role.description,
        "require_two_factor": role.require_two_factor,
        "admin_permissions": list(role.admin_permissions),
        "server_permissions": list(role.server_permissions),
        "created": _rfc3339(role.created),
    }


def _api_key_object(record: SimKey) -> dict[str, Any]:
    return {
        "uuid": record.uuid,
        "name": record.name,
        "key_start": record.key_start,
        "allowed_ips": list(record.allowed_ips),
        "enabled": record.enabled,
        "user_permissions": list(record.user_permissions),
        "admin_permissions": list(record.admin_permissions),
        "server_permissions": list(record.server_permissions),
        "last_used": None if record.last_used is None else _rfc3339(record.last_used),
        "expires": None if record.expires is None else _rfc3339(record.expires),
        "created": _rfc3339(record.created),
    }


def _pagination(request: web.Request) -> tuple[int, int, str | None]:
    """`Query<PaginationParamsWithSearch>` then `validate_data`: a value that is not an i64 is axum's plain-text
    rejection; a range error is a JSON 400 listing every problem. An empty search counts as none."""
    query = request.rel_url.query
    values: dict[str, int] = {"page": 1, "per_page": 25}
    for name in ("page", "per_page", "search"):
        if len(query.getall(name, [])) > 1:
            raise _query_rejection(f"duplicate field `{name}`")
    for name in ("page", "per_page"):
        raw = query.get(name)
        if raw is None:
            continue
        if raw == "":
            raise _query_rejection("cannot parse integer from empty string")
        if not _I64.fullmatch(raw):
            raise _query_rejection("invalid digit found in string")
        number = int(raw)
        if abs(number) > _I64_MAX:
            raise _query_rejection(f"number too {'large' if number > 0 else 'small'} to fit in target type")
        values[name] = number
    search = query.get("search") or None
    problems = []
    if values["page"] < 1:
        problems.append("page: lower than 1")
    if values["per_page"] < 1:
        problems.append("per_page: lower than 1")
    elif values["per_page"] > 100:
        problems.append("per_page: greater than 100")
    if search is not None and len(search) > 128:
        problems.append("search: length is greater than 128")
    if problems:
        raise _Refusal(400, *problems)
    return values["page"], values["per_page"], search


def _query_rejection(reason: str) -> _Refusal:
    return _Refusal(400, text=f"Failed to deserialize query string: {reason}")


def _ilike(pattern: str) -> Callable[[str], bool]:
    """Postgres `ILIKE '%' || $1 || '%'` with the term unescaped: `%` and `_` are wildcards, `\\` escapes."""
    parts = []
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\" and position + 1 < len(pattern):
            parts.append(re.escape(pattern[position + 1]))
            position += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        position += 1
    compiled = re.compile("".join(parts), re.DOTALL | re.IGNORECASE)
    return lambda value: compiled.search(value) is not None


def _ip_allowed(remote: str, allowed: Iterable[str]) -> bool:
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


# --- By hand -------------------------------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    simulator = CalagopusSimulator()
    simulator.record_requests = False
    members = simulator.seed_users(args.users)
    for member in members[: args.servers]:
        simulator.add_server(member.uuid)

    def welcome(url: str) -> Iterator[str]:
        yield f"Calagopus simulator on {url} with {len(simulator.users)} users (state is lost on exit)"
        yield f"API key (user {simulator.admin.username}, every users.* permission): {simulator.api_key}"
        yield settings_line("calagopus", url, simulator.api_key)
        if members:
            member = members[0]
            client_key = simulator.create_client_key(member.uuid)
            yield f"Client API key of {member.username} (uuid {member.uuid}, not an admin): {client_key}"
        yield f'Try: curl -H "Authorization: Bearer {simulator.api_key}" {url}/api/admin/users'

    await serve_until_stopped(simulator, args.host, args.port, welcome)
