"""An in-memory Pterodactyl or Pelican panel served over real HTTP, for client tests, benchmarks and trying the bot
by hand.

It reproduces the user API as `shared/panels/pterodactyl-pelican.md` reads it from the panels' source, including the
parts a client gets wrong: the order in which middleware refuses a request (401, then 400 for bad JSON, then the IP
check, the throttle, the bound model's 404, the admin check, the key's permissions, validation), the exact error
bodies, Laravel's validator quirks, and pagination with no maximum. Pelican differences (section 7) are a flavour.

Run by hand: `python -m simulators pterodactyl|pelican --port 8080 [--users 50]`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import ipaddress
import itertools
import re
import secrets
import string
import uuid
import zoneinfo
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from operator import attrgetter
from typing import Any, Literal

from aiohttp import web

from simulators import laravel
from simulators.laravel import Faults, HttpError, RecordedRequest, ValidationFailed, json_response
from simulators.loopback import LoopbackServer, serve_until_stopped, settings_line
from simulators.passwords import hash_password, password_matches

__all__ = ["Faults", "PterodactylSimulator", "RecordedRequest", "SimKey", "SimRole", "SimServer", "SimUser"]

Flavor = Literal["pterodactyl", "pelican"]

READ = 1
WRITE = 2
ROOT_ADMIN_ROLE_ID = 1  # Pelican's seeded "Root Admin" role; role changes through the API skip it

_IDENTIFIER_LENGTH = 16
_ALPHANUMERIC = string.ascii_letters + string.digits
_KEY_PREFIXES = {
    ("pterodactyl", "application"): "ptla_",
    ("pterodactyl", "account"): "ptlc_",
    ("pelican", "application"): "papp_",
    ("pelican", "account"): "pacc_",
}
_DEFAULT_RATE_LIMITS = {"pterodactyl": (240, 720), "pelican": (256, 256)}

_NOT_FOUND = "The requested resource could not be found on the server."
_NOT_AN_ADMIN = "This account does not have permission to access the API."
_UNAUTHORIZED_ACTION = "This action is unauthorized."
_APPLICATION_KEY_ON_CLIENT_API = (
    "You are attempting to use an application API key on an endpoint that requires a client API key."
)
_TWO_FACTOR_REQUIRED = "Two-factor authentication is required on this account in order to access this endpoint."
_HAS_SERVERS = (
    "Cannot delete a user with active servers attached to their account. Please delete their servers before continuing."
)
_DELETE_SELF = "Cannot delete your own user account."
_USERNAME_MESSAGE = (
    "The username must start and end with alpha-numeric characters and\n"
    "                contain only letters, numbers, dashes, underscores, and periods."
)
_USERNAME = re.compile(r"[a-z0-9][\w.-]+[a-z0-9]", re.ASCII)

_FILTERABLE = ("email", "uuid", "username", "external_id")
_SORTABLE = ("id", "uuid")

_MESSAGES = {
    "required": "The :attribute field is required.",
    "email": "The :attribute must be a valid email address.",
    "unique": "The :attribute has already been taken.",
    "between": "The :attribute must be between :min and :max characters.",
    "max": "The :attribute may not be greater than :max characters.",
    "string": "The :attribute must be a string.",
    "boolean": "The :attribute field must be true or false.",
    "in": "The selected :attribute is invalid.",
    # Laravel 13 defaults, reached only by Pelican's role routes.
    "array": "The :attribute field must be an array.",
    "integer": "The :attribute field must be an integer.",
    "exists": "The selected :attribute is invalid.",
}
_ATTRIBUTES = {
    "pterodactyl": {"external_id": "Third Party Identifier", "root_admin": "Root Administrator Status"},
    "pelican": {"external_id": "Third Party Identifier", "is_managed_externally": "Is managed by Third Party?"},
}


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _timestamp(moment: datetime) -> str:
    """ATOM in UTC without fractions, as BaseTransformer::formatTimestamp writes it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _random_alphanumeric(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


# --- State ---------------------------------------------------------------------------------------------------------

_INDEXED_FIELDS = frozenset({"username", "email", "external_id"})


class _UniqueIndex:
    """Case-insensitive lookups by username, email and external id, as MySQL's `*_ci` collations compare them for
    `unique` rules and the external-id route. SimUser keeps it current, so tests may edit users in place."""

    def __init__(self) -> None:
        self._owners: dict[str, dict[str, int]] = {name: {} for name in _INDEXED_FIELDS}

    def add(self, user: SimUser) -> None:
        for name in _INDEXED_FIELDS:
            self.move(name, None, getattr(user, name), user.id)

    def remove(self, user: SimUser) -> None:
        for name in _INDEXED_FIELDS:
            self.move(name, getattr(user, name), None, user.id)

    def move(self, name: str, old: Any, new: Any, user_id: int) -> None:
        owners = self._owners[name]
        if old is not None and owners.get(_fold(old)) == user_id:
            del owners[_fold(old)]
        if new is not None:
            owners[_fold(new)] = user_id

    def owner(self, name: str, value: Any) -> int | None:
        return self._owners[name].get(_fold(value))


def _fold(value: Any) -> str:
    return (value if isinstance(value, str) else laravel.php_string(value)).casefold()


@dataclass(eq=False, slots=True)
class SimUser:
    """A panel user. Which fields the API shows depends on the flavour; `password_hash` is never shown."""

    id: int
    uuid: str
    username: str
    email: str
    first_name: str = "First"
    last_name: str = "Last"
    external_id: str | None = None
    root_admin: bool = False
    language: str = "en"
    two_factor: bool = False
    is_managed_externally: bool = False
    password_hash: str | None = field(default=None, repr=False)
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    timezone: str = "UTC"
    role_ids: set[int] = field(default_factory=set)  # Pelican roles besides the root-admin one
    _index: _UniqueIndex | None = field(default=None, repr=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _INDEXED_FIELDS:
            index = getattr(self, "_index", None)  # unset while __init__ runs
            if index is not None:
                index.move(name, getattr(self, name), value, self.id)
        object.__setattr__(self, name, value)

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def password_matches(self, password: str) -> bool:
        """Lets a test check what a PATCH did to the password without the API ever echoing it."""
        return password_matches(self.password_hash, password)


@dataclass(eq=False, slots=True)
class SimServer:
    id: int
    uuid: str
    name: str
    owner_id: int
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(eq=False, slots=True)
class SimRole:
    """A Pelican role. Holding one with any permission makes a user an admin for the application API."""

    id: int
    name: str
    permissions: tuple[str, ...] = ()
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(eq=False, slots=True)
class SimKey:
    """An API key. Permissions are READ=1 / WRITE=2 bitmasks (Pterodactyl's `r_*` columns, Pelican's map)."""

    identifier: str
    secret: str
    user_id: int
    kind: Literal["application", "account"]
    r_users: int = 0
    r_servers: int = 0
    r_roles: int = 0
    allowed_ips: tuple[str, ...] = ()
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Endpoint:
    action: Callable[[_Call], web.Response]
    api: Literal["application", "client"]
    binds_user: bool = False
    permission: int = READ


@dataclass(slots=True)
class _Call:
    """One request on its way through the panel's middleware."""

    request: web.Request
    endpoint: _Endpoint
    params: dict[str, str]
    raw_body: bytes
    query: dict[str, Any] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)  # Laravel's `$request->all()`: body over query, cleaned
    key: SimKey | None = None
    user: SimUser | None = None
    target: SimUser | None = None
    throttle: tuple[Hashable, int] | None = None  # set once the request has passed the limiter


# --- The simulator -------------------------------------------------------------------------------------------------


class PterodactylSimulator(LoopbackServer):
    """A stateful panel: users, servers, keys and rate-limit buckets live in memory for the simulator's life."""

    def __init__(
        self,
        *,
        flavor: Flavor = "pterodactyl",
        rate_limit: int | None = None,
        client_rate_limit: int | None = None,
        rate_window: float = 60.0,
        languages: tuple[str, ...] = ("en",),
    ) -> None:
        super().__init__()
        if flavor not in _DEFAULT_RATE_LIMITS:
            raise ValueError(f"unknown flavor {flavor!r}")
        default_application, default_client = _DEFAULT_RATE_LIMITS[flavor]
        self.flavor: Flavor = flavor
        self.rate_limit = default_application if rate_limit is None else rate_limit
        self.client_rate_limit = default_client if client_rate_limit is None else client_rate_limit
        self.rate_window = rate_window
        self.languages = tuple(languages)  # Pelican accepts every ICU locale; tests pass what they need
        self.two_factor_required: Literal["none", "admins", "all"] = "none"  # Pterodactyl's 2FA enforcement
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self.record_requests = True
        self.users: dict[int, SimUser] = {}  # insertion order is id order, which the list endpoint relies on
        self.servers: dict[int, SimServer] = {}
        self.roles: dict[int, SimRole] = {}
        self._keys: dict[str, SimKey] = {}
        self._index = _UniqueIndex()
        self._servers_by_owner: dict[int, dict[int, SimServer]] = {}
        self._last_user_id = 0
        self._server_ids = itertools.count(1)
        self._role_ids = itertools.count(1)
        self._limiter = laravel.FixedWindowLimiter()
        self._timezones: frozenset[str] | None = None
        self._endpoints: dict[str, _Endpoint] = {}
        self._router = laravel.Router()
        self._register_routes()
        self.app = web.Application(middlewares=[laravel.front_door(self)])
        self.app.router.add_route("*", "/{path:.*}", self._dispatch)
        if flavor == "pelican":
            self.add_role("Root Admin", permissions=("*",))
        self.admin = self.add_user(
            username="admin", email="admin@example.com", first_name="Admin", last_name="User", root_admin=True
        )
        self.admin_key = self.create_application_key()
        self.api_key = self.admin_key  # the name every simulator gives its ready-to-use key

    # --- Control API -----------------------------------------------------------------------------------------------

    def add_user(
        self,
        *,
        username: str,
        email: str,
        first_name: str = "First",
        last_name: str = "Last",
        external_id: str | None = None,
        root_admin: bool = False,
        language: str = "en",
        two_factor: bool = False,
        password: str | None = None,
        is_managed_externally: bool = False,
    ) -> SimUser:
        """Create a user directly, stored as the panel would store it (username lowercased, Pelican email too)."""
        user = SimUser(
            id=self._last_user_id + 1,
            uuid=str(uuid.uuid4()),
            username=username.lower(),
            email=email.lower() if self.flavor == "pelican" else email,
            first_name=first_name,
            last_name=last_name,
            external_id=external_id,
            root_admin=root_admin,
            language=language,
            two_factor=two_factor,
            is_managed_externally=is_managed_externally,
        )
        if password:
            user.set_password(password)
        self._insert(user)
        return user

    def seed_users(self, count: int, *, prefix: str = "user") -> list[SimUser]:
        """Add `count` ordinary users named `<prefix><id>` with `<prefix><id>@example.com`, quickly enough for
        benchmarks (no per-user validation beyond uniqueness)."""
        now = _now()
        name = prefix.lower()
        created = []
        for _ in range(count):
            user_id = self._last_user_id + 1
            user = SimUser(
                id=user_id,
                uuid=str(uuid.uuid4()),
                username=f"{name}{user_id}",
                email=f"{name}{user_id}@example.com",
                first_name=prefix.title(),
                last_name=str(user_id),
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
        self._servers_by_owner.setdefault(owner_id, {})[server.id] = server
        return server.id

    def remove_server(self, server_id: int) -> None:
        server = self.servers.pop(server_id)
        owned = self._servers_by_owner.get(server.owner_id, {})
        owned.pop(server_id, None)
        if not owned:
            self._servers_by_owner.pop(server.owner_id, None)

    def add_role(self, name: str, *, permissions: Sequence[str] = ("viewList user",)) -> int:
        """A Pelican role; assign it with `user.role_ids.add(role_id)` or the roles/assign route."""
        role = SimRole(id=next(self._role_ids), name=name, permissions=tuple(permissions))
        self.roles[role.id] = role
        return role.id

    def create_application_key(
        self,
        user_id: int | None = None,
        *,
        r_users: int = 3,
        allowed_ips: list[str] | None = None,
        r_servers: int = 3,
        r_roles: int = 3,
    ) -> str:
        """An application key (`ptla_`/`papp_`), owned by the admin unless `user_id` is given."""
        owner = self.admin.id if user_id is None else user_id
        return self._issue_key(owner, "application", allowed_ips, r_users=r_users, r_servers=r_servers, r_roles=r_roles)

    def create_client_key(self, user_id: int, *, allowed_ips: list[str] | None = None) -> str:
        """A client (account) key (`ptlc_`/`pacc_`). A root admin's one also works on the application API."""
        return self._issue_key(user_id, "account", allowed_ips)

    def revoke_key(self, key: str) -> None:
        stored = self._keys.get(key[:_IDENTIFIER_LENGTH])
        if stored is not None and stored.secret == key[_IDENTIFIER_LENGTH:]:
            del self._keys[stored.identifier]

    def key_for(self, key: str) -> SimKey | None:
        """The stored record of a key, e.g. to read `last_used_at`."""
        stored = self._keys.get(key[:_IDENTIFIER_LENGTH])
        return stored if stored is not None and stored.secret == key[_IDENTIFIER_LENGTH:] else None

    def reset_rate_limits(self) -> None:
        self._limiter.reset()

    def server_error_response(self, status: int) -> web.Response:
        """The body Laravel's handler gives an unexpected error (used by `Faults.fail_next`)."""
        code, detail = "ErrorException", laravel.GENERIC_SERVER_ERROR
        if status != 500:
            code = "HttpException"
            with contextlib.suppress(ValueError):
                detail = HTTPStatus(status).phrase
        return json_response({"errors": [{"code": code, "status": str(status), "detail": detail}]}, status, pretty=True)

    def _insert(self, user: SimUser) -> None:
        for name in _INDEXED_FIELDS:
            value = getattr(user, name)
            if value is not None and self._taken(name, value, ignore_id=None):
                raise ValueError(f"{name} {value!r} is already taken")
        self.users[user.id] = user
        self._last_user_id = max(self._last_user_id, user.id)
        self._index.add(user)
        user._index = self._index

    def _remove_user(self, user: SimUser) -> None:
        del self.users[user.id]
        self._index.remove(user)
        user._index = None
        for identifier in [k.identifier for k in self._keys.values() if k.user_id == user.id]:
            del self._keys[identifier]  # api_keys.user_id cascades on delete

    def _taken(self, name: str, value: Any, *, ignore_id: int | None) -> bool:
        if isinstance(value, (list, dict)):
            return False
        owner = self._index.owner(name, value)
        return owner is not None and owner != ignore_id and owner in self.users

    def _issue_key(
        self, user_id: int, kind: Literal["application", "account"], allowed_ips: list[str] | None, **permissions: int
    ) -> str:
        if user_id not in self.users:
            raise KeyError(f"no user {user_id}")
        prefix = _KEY_PREFIXES[(self.flavor, kind)]
        identifier = prefix + _random_alphanumeric(_IDENTIFIER_LENGTH - len(prefix))
        while identifier in self._keys:
            identifier = prefix + _random_alphanumeric(_IDENTIFIER_LENGTH - len(prefix))
        secret = _random_alphanumeric(32)
        self._keys[identifier] = SimKey(
            identifier,
            secret,
            user_id,
            kind,
            r_users=permissions.get("r_users", 0),
            r_servers=permissions.get("r_servers", 0),
            r_roles=permissions.get("r_roles", 0),
            allowed_ips=tuple(allowed_ips or ()),
        )
        return identifier + secret

    # --- Routing and middleware ------------------------------------------------------------------------------------

    def _register_routes(self) -> None:
        users = "api/application/users"
        routes: list[tuple[str, str, str, _Endpoint]] = [
            ("GET", users, "users.index", _Endpoint(self._list_users, "application")),
            ("GET", f"{users}/{{user}}", "users.view", _Endpoint(self._view_user, "application", binds_user=True)),
            (
                "GET",
                f"{users}/external/{{external_id}}",
                "users.external",
                _Endpoint(self._view_external, "application"),
            ),
            ("POST", users, "users.store", _Endpoint(self._store_user, "application", permission=WRITE)),
            (
                "PATCH",
                f"{users}/{{user}}",
                "users.update",
                _Endpoint(self._update_user, "application", binds_user=True, permission=WRITE),
            ),
            (
                "DELETE",
                f"{users}/{{user}}",
                "users.delete",
                _Endpoint(self._delete_user, "application", binds_user=True, permission=WRITE),
            ),
            ("GET", "api/client/account", "client.account", _Endpoint(self._account, "client")),
        ]
        if self.flavor == "pelican":
            for action in ("assign", "remove"):
                endpoint = _Endpoint(
                    functools.partial(self._change_roles, assign=action == "assign"),
                    "application",
                    binds_user=True,
                    permission=WRITE,
                )
                routes.append(("PATCH", f"{users}/{{user}}/roles/{action}", f"users.roles.{action}", endpoint))
        for method, uri, name, endpoint in routes:
            self._router.add([method], uri, name)
            self._endpoints[name] = endpoint

    def _pipeline(self, endpoint: _Endpoint) -> list[Callable[[_Call], None]]:
        """Middleware in the order each panel resolves it (spec 4.3 for Pterodactyl, 7.5 for Pelican)."""
        bind = [self._bind_user] if endpoint.binds_user else []
        if self.flavor == "pterodactyl":
            if endpoint.api == "client":
                return [self._authenticate, self._read_input, self._check_ip, self._throttle, self._require_client_key]
            return [
                self._authenticate,
                self._read_input,
                self._require_two_factor,
                self._check_ip,
                self._throttle,
                *bind,
                self._require_admin,
                self._authorize,
            ]
        if endpoint.api == "client":
            return [self._authenticate, self._read_input, self._check_ip, self._require_client_key, self._throttle]
        return [
            *bind,
            self._authenticate,
            self._read_input,
            self._check_ip,
            self._require_admin,
            self._throttle,
            self._authorize,
        ]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw_body = await request.read()
        call: _Call | None = None
        try:
            match = self._router.match(request.method, request.path, request.rel_url.raw_path)
            if match.route is None:
                return web.Response(headers={"Allow": ",".join(match.allowed)})
            endpoint = self._endpoints[match.route.name]
            call = _Call(request, endpoint, match.params, raw_body)
            for step in self._pipeline(endpoint):
                step(call)
            response = endpoint.action(call)
        except HttpError as error:
            response = self._render_error(request, error)
        if call is not None and call.throttle is not None:
            bucket, limit = call.throttle
            response.headers.update(laravel.rate_limit_headers(limit, self._limiter.remaining(bucket, limit)))
        return response

    def _authenticate(self, call: _Call) -> None:
        """Sanctum: the token after the last `Bearer `; the first 16 characters find the key, the rest must match."""
        header = call.request.headers.get("Authorization", "")
        position = header.rfind("Bearer ")
        token = header[position + 7 :].split(",", 1)[0] if position >= 0 else ""
        key = self._keys.get(token[:_IDENTIFIER_LENGTH]) if token else None
        if key is None or key.secret != token[_IDENTIFIER_LENGTH:] or key.user_id not in self.users:
            raise HttpError(401, "AuthenticationException", "Unauthenticated.")
        key.last_used_at = _now()
        call.key, call.user = key, self.users[key.user_id]

    def _read_input(self, call: _Call) -> None:
        """IsValidJson, then the input Laravel validates: a JSON or form body over the query string, trimmed and
        with empty strings made null."""
        request = call.request
        body: dict[str, Any] = {}
        if laravel.is_json_content(request):
            if call.raw_body and call.raw_body != b"0":  # PHP's empty("0") is true, so IsValidJson skips it
                body = laravel.as_input_array(laravel.decode_json_body(call.raw_body))
        elif request.content_type == "application/x-www-form-urlencoded" and request.method not in ("GET", "HEAD"):
            body = laravel.parse_php_query(call.raw_body.decode("utf-8", "replace"))
        call.query = laravel.clean_input(laravel.parse_php_query(request.rel_url.raw_query_string))
        call.input = {**call.query, **laravel.clean_input(body)}

    def _require_two_factor(self, call: _Call) -> None:
        assert call.user is not None
        level = self.two_factor_required
        if level == "none" or call.user.two_factor or (level == "admins" and not call.user.root_admin):
            return
        raise HttpError(400, "TwoFactorAuthRequiredException", _TWO_FACTOR_REQUIRED)

    def _check_ip(self, call: _Call) -> None:
        assert call.key is not None
        if call.key.allowed_ips and not _ip_allowed(call.request.remote or "", call.key.allowed_ips):
            detail = (
                f"This IP address ({call.request.remote}) does not have permission to access the API "
                "using these credentials."
            )
            raise HttpError(403, "AccessDeniedHttpException", detail)

    def _throttle(self, call: _Call) -> None:
        """Keyed by the key owner's uuid, so all keys of one user share a bucket per API."""
        assert call.user is not None
        if call.endpoint.api == "application":
            name, limit = "api.application", self.rate_limit
        else:
            name, limit = "api.client", self.client_rate_limit
        bucket = (name, call.user.uuid)
        retry_after = self._limiter.hit(bucket, limit, self.rate_window)
        if retry_after is not None:
            raise laravel.too_many_attempts(limit, retry_after)
        call.throttle = (bucket, limit)

    def _bind_user(self, call: _Call) -> None:
        raw = call.params["user"]
        user = self.users.get(int(raw)) if raw.isascii() and raw.isdigit() else None
        if user is None:
            raise _not_found()
        call.target = user

    def _require_admin(self, call: _Call) -> None:
        assert call.user is not None
        if not self._is_admin(call.user):
            raise HttpError(403, "AccessDeniedHttpException", _NOT_AN_ADMIN)

    def _authorize(self, call: _Call) -> None:
        """The FormRequest's authorize(): an account key passes (Pelican: only a root admin's); an application key
        needs READ for GET and WRITE for the rest on its users permission."""
        assert call.key is not None and call.user is not None
        if call.key.kind == "account":
            allowed = self.flavor == "pterodactyl" or call.user.root_admin
        else:
            allowed = bool(call.key.r_users & call.endpoint.permission)
        if not allowed:
            raise HttpError(403, "AccessDeniedHttpException", _UNAUTHORIZED_ACTION)

    def _require_client_key(self, call: _Call) -> None:
        assert call.key is not None
        if call.key.kind == "application":
            raise HttpError(403, "AccessDeniedHttpException", _APPLICATION_KEY_ON_CLIENT_API)

    def _is_admin(self, user: SimUser) -> bool:
        if user.root_admin:
            return True
        return self.flavor == "pelican" and any(
            self.roles[role_id].permissions for role_id in user.role_ids if role_id in self.roles
        )

    # --- Endpoints -------------------------------------------------------------------------------------------------

    def _list_users(self, call: _Call) -> web.Response:
        filters = self._user_filters(call.query.get("filter"))
        sort = _user_sort(call.query.get("sort"))
        window = laravel.resolve_page(
            call.input.get("page"), call.query.get("per_page"), default_per_page=50, model_per_page=15
        )
        rows: Collection[SimUser]
        if filters:
            rows = [user for user in self.users.values() if all(test(user) for test in filters)]
        else:
            rows = self.users.values()
        total = len(rows)
        ordered: Iterable[SimUser] = rows
        if sort == ("id", True):
            ordered = reversed(rows)
        elif sort is not None and sort[0] == "uuid":
            ordered = sorted(rows, key=attrgetter("uuid"), reverse=sort[1])
        end = None if window.limit is None else window.offset + window.limit
        page_rows = list(itertools.islice(ordered, window.offset, end))
        last = laravel.last_page(total, window.per_page, guard_zero=self.flavor == "pelican")
        includes = self._includes(call)
        base = str(call.request.url.with_query(None).with_fragment(None)).rstrip("/")
        links: dict[str, str] = {}
        if window.page > 1:
            links["previous"] = f"{base}?page={window.page - 1}"
        if window.page < last:
            links["next"] = f"{base}?page={window.page + 1}"
        pagination = {
            "total": total,
            "count": len(page_rows),
            "per_page": window.per_page,
            "current_page": window.page,
            "total_pages": last,
            "links": links,
        }
        data = [self._user_document(user, call, includes) for user in page_rows]
        return json_response({"object": "list", "data": data, "meta": {"pagination": pagination}})

    def _view_user(self, call: _Call) -> web.Response:
        assert call.target is not None
        return json_response(self._user_document(call.target, call, self._includes(call)))

    def _view_external(self, call: _Call) -> web.Response:
        owner = self._index.owner("external_id", call.params["external_id"])
        user = self.users.get(owner) if owner is not None else None
        if user is None:
            raise _not_found()
        return json_response(self._user_document(user, call, self._includes(call)))

    def _store_user(self, call: _Call) -> web.Response:
        data = self._validated(call, self._user_rules(ignore_id=None))
        user = SimUser(id=self._last_user_id + 1, uuid=str(uuid.uuid4()), username="", email="")
        self._apply_user_input(user, data, creating=True)
        self._insert(user)
        document = self._user_document(user, call, self._includes(call))
        resource = f"{call.request.url.origin()}/api/application/users/{user.id}"
        return json_response({**document, "meta": {"resource": resource}}, 201)

    def _update_user(self, call: _Call) -> web.Response:
        assert call.target is not None
        data = self._validated(call, self._user_rules(ignore_id=call.target.id))
        if self._apply_user_input(call.target, data, creating=False):
            call.target.updated_at = _now()
        return json_response(self._user_document(call.target, call, self._includes(call)))

    def _delete_user(self, call: _Call) -> web.Response:
        assert call.target is not None and call.user is not None
        target = call.target
        if self.flavor == "pelican" and target.root_admin:
            return json_response([], 403)
        if self._servers_by_owner.get(target.id):
            raise HttpError(400, "DisplayException", _HAS_SERVERS)
        if self.flavor == "pelican" and target.id == call.user.id:
            raise HttpError(400, "DisplayException", _DELETE_SELF)
        self._remove_user(target)
        return web.Response(status=204)

    def _change_roles(self, call: _Call, *, assign: bool) -> web.Response:
        """Pelican's roles/assign and roles/remove: the root-admin role is skipped and a root admin is left alone."""
        assert call.target is not None
        rules = {
            "roles": [laravel.required(), laravel.array()],
            "roles.*": [laravel.integer(), laravel.exists(lambda value: laravel.php_filter_int(value) in self.roles)],
        }
        data = self._validated(call, rules)
        roles = data["roles"].values() if isinstance(data["roles"], dict) else data["roles"]
        role_ids = {int(laravel.php_filter_int(role) or 0) for role in roles} - {ROOT_ADMIN_ROLE_ID}
        if not call.target.root_admin:
            if assign:
                call.target.role_ids |= role_ids
            else:
                call.target.role_ids -= role_ids
        return json_response(self._user_document(call.target, call, self._includes(call)))

    def _account(self, call: _Call) -> web.Response:
        user = call.user
        assert user is not None
        if self.flavor == "pterodactyl":
            attributes: dict[str, Any] = {
                "id": user.id,
                "admin": user.root_admin,
                "username": user.username,
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "language": user.language,
            }
        else:
            attributes = {
                "uuid": user.uuid,
                "username": user.username,
                "email": user.email,
                "language": user.language,
                "image": "https://gravatar.com/avatar/" + _md5(user.email.lower()),
                "admin": user.root_admin,
                "root_admin": user.root_admin,
                "2fa_enabled": user.two_factor,
                "created_at": _timestamp(user.created_at),
                "updated_at": _timestamp(user.updated_at),
            }
        return json_response({"object": "user", "attributes": attributes})

    # --- Validation ------------------------------------------------------------------------------------------------

    def _validated(self, call: _Call, rules: dict[str, list[laravel.Rule]]) -> dict[str, Any]:
        failures = laravel.validate(call.input, rules, messages=_MESSAGES, attributes=_ATTRIBUTES[self.flavor])
        if failures:
            raise ValidationFailed(failures)
        return {name: call.input[name] for name in rules if name in call.input}

    def _user_rules(self, *, ignore_id: int | None) -> dict[str, list[laravel.Rule]]:
        """StoreUserRequest/UpdateUserRequest. Field order is the order errors come out in. On update `required`
        stays (PATCH acts like PUT) and only `unique` changes, to ignore the user's own row."""

        def unique(column: str) -> laravel.Rule:
            return laravel.unique(lambda value: self._taken(column, value, ignore_id=ignore_id))

        if self.flavor == "pterodactyl":
            return {
                "email": [laravel.required(), laravel.email(), laravel.between(1, 191), unique("email")],
                "external_id": [
                    laravel.sometimes(),
                    laravel.nullable(),
                    laravel.string(),
                    laravel.max_length(191),
                    unique("external_id"),
                ],
                "username": [laravel.required(), laravel.between(1, 191), unique("username"), _username_rule()],
                "password": [laravel.sometimes(), laravel.nullable(), laravel.string()],
                "root_admin": [laravel.boolean()],
                "language": [laravel.string(), laravel.one_of(self.languages)],
                "first_name": [laravel.required(), laravel.string(), laravel.between(1, 191)],
                "last_name": [laravel.required(), laravel.string(), laravel.between(1, 191)],
            }
        return {
            "email": [laravel.required(), laravel.email(), laravel.between(1, 255), unique("email")],
            "external_id": [
                laravel.sometimes(),
                laravel.nullable(),
                laravel.string(),
                laravel.max_length(255),
                unique("external_id"),
            ],
            "is_managed_externally": [laravel.boolean()],
            "username": [laravel.required(), laravel.between(1, 255), unique("username")],
            "password": [laravel.sometimes(), laravel.nullable(), laravel.string()],
            "language": [laravel.string(), laravel.one_of(self.languages)],
            "timezone": [laravel.string(), laravel.one_of(self._known_timezones())],
        }

    def _known_timezones(self) -> frozenset[str]:
        if self._timezones is None:  # scanning the tz database takes ~0.1 s, so only when a request needs it
            self._timezones = frozenset(zoneinfo.available_timezones()) | {"UTC"}
        return self._timezones

    def _apply_user_input(self, user: SimUser, data: dict[str, Any], *, creating: bool) -> bool:
        """Store validated input as the services and model mutators do; returns whether anything changed."""
        changes: dict[str, Any] = {
            "username": laravel.php_string(data["username"]).lower(),
            "email": data["email"].lower() if self.flavor == "pelican" else data["email"],
        }
        if self.flavor == "pterodactyl":
            changes["first_name"], changes["last_name"] = data["first_name"], data["last_name"]
            if "root_admin" in data or creating:
                changes["root_admin"] = data.get("root_admin") in (True, 1, "1")
        else:
            if creating:
                changes["first_name"] = changes["last_name"] = ""
            if "is_managed_externally" in data or creating:
                changes["is_managed_externally"] = data.get("is_managed_externally") in (True, 1, "1")
            if "timezone" in data:
                changes["timezone"] = data["timezone"]
        if "external_id" in data:
            changes["external_id"] = data["external_id"]
        if "language" in data:
            changes["language"] = data["language"]
        changed = False
        for name, value in changes.items():
            if getattr(user, name) != value:
                setattr(user, name, value)
                changed = True
        if data.get("password"):
            user.set_password(data["password"])
            changed = True
        return changed

    # --- Rendering -------------------------------------------------------------------------------------------------

    def _user_document(self, user: SimUser, call: _Call, includes: frozenset[str]) -> dict[str, Any]:
        if self.flavor == "pterodactyl":
            attributes: dict[str, Any] = {
                "id": user.id,
                "external_id": user.external_id,
                "uuid": user.uuid,
                "username": user.username,
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "language": user.language,
                "root_admin": user.root_admin,
                "2fa": user.two_factor,
                "created_at": _timestamp(user.created_at),
                "updated_at": _timestamp(user.updated_at),
            }
        else:
            attributes = {
                "id": user.id,
                "external_id": user.external_id,
                "is_managed_externally": user.is_managed_externally,
                "uuid": user.uuid,
                "username": user.username,
                "email": user.email,
                "language": user.language,
                "root_admin": user.root_admin,
                "2fa_enabled": user.two_factor,
                "2fa": user.two_factor,
                "created_at": _timestamp(user.created_at),
                "updated_at": _timestamp(user.updated_at),
            }
        if includes:
            relationships: dict[str, Any] = {}
            if "servers" in includes:
                servers = self._servers_by_owner.get(user.id, {}).values()
                relationships["servers"] = self._relationship(
                    call, "r_servers", "server", servers, self._server_attributes
                )
            if "roles" in includes:
                roles = self._roles_of(user)
                relationships["roles"] = self._relationship(call, "r_roles", "role", roles, _role_attributes)
            attributes["relationships"] = relationships
        return {"object": "user", "attributes": attributes}

    def _relationship(
        self, call: _Call, permission: str, resource: str, items: Iterable[Any], render: Callable[[Any], dict[str, Any]]
    ) -> dict[str, Any]:
        """An include the key may not read becomes a null resource, and the request still succeeds."""
        assert call.key is not None
        if call.key.kind == "application" and not getattr(call.key, permission) & READ:
            return {"object": "null_resource", "attributes": None}
        return {"object": "list", "data": [{"object": resource, "attributes": render(item)} for item in items]}

    def _roles_of(self, user: SimUser) -> list[SimRole]:
        ids = ({ROOT_ADMIN_ROLE_ID} if user.root_admin else set()) | user.role_ids
        return [self.roles[role_id] for role_id in sorted(ids) if role_id in self.roles]

    def _includes(self, call: _Call) -> frozenset[str]:
        """`?include=` as ApplicationApiController parses it; unknown names are ignored, as Fractal does."""
        raw = call.input.get("include")
        parts = raw.values() if isinstance(raw, dict) else raw if isinstance(raw, list) else [raw]
        names: set[str] = set()
        for part in parts:
            if isinstance(part, str):
                names.update(piece.strip().split(":")[0].split(".")[0] for piece in part.split(","))
        available = {"servers", "roles"} if self.flavor == "pelican" else {"servers"}
        return frozenset(names & available)

    def _server_attributes(self, server: SimServer) -> dict[str, Any]:
        """ServerTransformer, abbreviated: the resources are fixed, since only ownership matters here."""
        attributes: dict[str, Any] = {
            "id": server.id,
            "external_id": None,
            "uuid": server.uuid,
            "identifier": server.uuid[:8],
            "name": server.name,
            "description": "",
            "status": None,
            "suspended": False,
            "limits": {
                "memory": 1024,
                "swap": 0,
                "disk": 5120,
                "io": 500,
                "cpu": 100,
                "threads": None,
                "oom_disabled": True,
            },
            "feature_limits": {"databases": 0, "allocations": 0, "backups": 0},
            "user": server.owner_id,
            "node": 1,
            "allocation": server.id,
            "nest": 1,
            "egg": 1,
            "container": {
                "startup_command": "java -jar server.jar",
                "image": "ghcr.io/pterodactyl/yolks:java_17",
                "installed": 1,
                "environment": {},
            },
            "updated_at": _timestamp(server.updated_at),
            "created_at": _timestamp(server.created_at),
        }
        if self.flavor == "pelican":
            del attributes["nest"]
        return attributes

    def _user_filters(self, raw: Any) -> list[Callable[[SimUser], bool]]:
        """spatie/laravel-query-builder partial filters: `LOWER(col) LIKE '%value%'`, a comma meaning OR, NULL
        columns never matching. Pterodactyl's 5.x leaves `%` and `_` as wildcards; Pelican's 6.x escapes them."""
        if not isinstance(raw, dict):
            return []
        unknown = [name for name in raw if name not in _FILTERABLE]
        if unknown:
            detail = (
                f"Requested filter(s) `{', '.join(unknown)}` are not allowed. "
                f"Allowed filter(s) are `{', '.join(_FILTERABLE)}`."
            )
            raise HttpError(400, "InvalidFilterQuery", detail)
        tests = []
        for column, value in raw.items():
            needles = laravel.filter_needles(value)
            if needles is not None:
                tests.append(_column_matcher(column, needles, wildcards=self.flavor == "pterodactyl"))
        return tests

    def _render_error(self, request: web.Request, error: HttpError) -> web.Response:
        if not laravel.expects_json(request):
            return self._render_for_browser(request, error)
        if isinstance(error, ValidationFailed):
            entries = [
                {
                    "code": "ValidationException",
                    "status": "422",
                    "detail": failure.message,
                    "meta": {"source_field": failure.field, "rule": failure.rule},
                }
                for failure in error.failures
            ]
            return json_response({"errors": entries}, 422)
        entry = {"code": error.code, "status": str(error.status), "detail": error.detail}
        # DisplayException renders itself compactly; everything else goes through the pretty-printing handler.
        return json_response(
            {"errors": [entry]}, error.status, headers=error.headers, pretty=error.code != "DisplayException"
        )

    def _render_for_browser(self, request: web.Request, error: HttpError) -> web.Response:
        """Without `Accept: application/json` the panel answers as to a browser: a login redirect for 401, a
        redirect back for validation and display errors, an HTML page otherwise."""
        origin = str(request.url.origin())
        if error.status == 401:
            location = origin + ("/auth/login" if self.flavor == "pterodactyl" else "/login")
        elif isinstance(error, ValidationFailed) or error.code == "DisplayException":
            location = request.headers.get("Referer") or origin
        else:
            return laravel.html_error_page(error.status, headers=error.headers)
        return web.Response(status=302, headers={"Location": location})


def _not_found() -> HttpError:
    return HttpError(404, "NotFoundHttpException", _NOT_FOUND)


def _username_rule() -> laravel.Rule:
    """Pterodactyl's Username rule object, checked on the lowercased value (PHP coerces numbers to strings)."""

    def passes(value: Any) -> bool:
        if isinstance(value, (list, dict)):
            raise laravel.server_error("TypeError")  # mb_strtolower() on an array
        return _USERNAME.fullmatch(laravel.php_string(value).lower()) is not None

    return laravel.Rule("p_username", passes, message=_USERNAME_MESSAGE)


def _user_sort(raw: Any) -> tuple[str, bool] | None:
    """The first requested sort as (column, descending). Both columns are unique, so later sorts never matter."""
    if isinstance(raw, str):
        parts = raw.split(",")
    elif isinstance(raw, dict):
        parts = [value for value in raw.values() if isinstance(value, str)]
    else:
        parts = []
    parts = [part for part in parts if part and part != "0"]  # Collection::filter() drops PHP-falsy values
    names = [part.lstrip("-") for part in parts]
    unknown = [name for name in names if name not in _SORTABLE]
    if unknown:
        detail = (
            f"Requested sort(s) `{', '.join(unknown)}` is not allowed. Allowed sort(s) are `{', '.join(_SORTABLE)}`."
        )
        raise HttpError(400, "InvalidSortQuery", detail)
    return (names[0], parts[0].startswith("-")) if parts else None


def _column_matcher(column: str, needles: list[str], *, wildcards: bool) -> Callable[[SimUser], bool]:
    tests = [laravel.like_test(needle, wildcards=wildcards) for needle in needles]
    read = attrgetter(column)

    def matches(user: SimUser) -> bool:
        value = read(user)
        if value is None:
            return False
        haystack = value.lower()
        return any(test(haystack) for test in tests)

    return matches


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


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _role_attributes(role: SimRole) -> dict[str, Any]:
    return {
        "id": role.id,
        "name": role.name,
        "guard_name": "web",
        "created_at": _timestamp(role.created_at),
        "updated_at": _timestamp(role.updated_at),
    }


# --- By hand -------------------------------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    simulator = PterodactylSimulator(flavor=args.flavor)
    simulator.record_requests = False
    members = simulator.seed_users(args.users)
    for member in members[: args.servers]:
        simulator.add_server(member.id, f"{member.username}'s server")

    def welcome(url: str) -> Iterator[str]:
        yield f"{args.flavor.title()} simulator on {url} with {len(simulator.users)} users (state is lost on exit)"
        yield f"API key (user {simulator.admin.username}, root admin): {simulator.admin_key}"
        yield settings_line(args.flavor, url, simulator.admin_key)
        if members:
            member = members[0]
            client_key = simulator.create_client_key(member.id)
            yield f"Client API key of {member.username} (id {member.id}, not an admin): {client_key}"
        yield (
            f'Try: curl -H "Authorization: Bearer {simulator.admin_key}" -H "Accept: application/json" '
            f"{url}/api/application/users"
        )

    await serve_until_stopped(simulator, args.host, args.port, welcome)
