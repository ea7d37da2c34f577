"""An in-memory CtrlPanel served over real HTTP, for client tests, benchmarks and trying the bot by hand.

It reproduces the user API of CtrlPanel 0.9.x to 1.2.0 as `shared/panels/ctrlpanel-convoy-calagopus.md` (section a)
reads it from the panel's source, including the parts a client gets wrong:

- the shapes: raw Eloquent models and Laravel paginators before 1.2.0 (credits as float display units in 0.9/1.0
  and as the stored integer thousandths in 1.1), `{"data": ...}` resources with `links`/`meta` in 1.2.0;
- the order in which a request is refused: unknown route (no throttle), the per-IP throttle, in 1.2.0 the bound
  user's 404 *before* the token check, then the token (403 missing, 401 invalid), then the form request;
- the exact error bodies: 422 `{"message","errors"}` (Laravel 9 wording in 0.9, Laravel 11 wording after), the
  suspend/unsuspend conflicts (422 before 1.2.0, 400 `{"error"}` in 1.2.0), and from 1.0.3 an HTML page for a 429
  or an unknown route;
- spatie query-builder filters (case-insensitive substring, `,` is OR, `false` matches everyone) and includes;
- before 1.2.0, a Discord user id accepted wherever a user id is.

Where the reference marks a behaviour as unconfirmed, the documented one is played: increments on 1.1 convert
display units (set `unconverted_increments` for the suspected bug), and `include=discordUser` on a user without a
Discord account gives `"discord_user": null`. A 429 page carries no rate-limit headers (the reference does not
say it does).

Run by hand: `python -m simulators ctrlpanel --port 8081 [--version 1.1] [--users 50]`.
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import secrets
import string
import uuid
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aiohttp import web

from simulators import laravel
from simulators.laravel import FieldError, HttpError, RecordedRequest, ValidationFailed, json_response
from simulators.loopback import LoopbackServer, serve_until_stopped, settings_line
from simulators.passwords import hash_password, password_matches

__all__ = [
    "CtrlPanelSimulator",
    "Faults",
    "RecordedRequest",
    "SimDiscordUser",
    "SimRole",
    "SimServer",
    "SimUser",
    "SimVersion",
]

Faults = laravel.Faults

_NANOID_ALPHABET = string.ascii_letters + string.digits + "_-"
_TOKEN_LENGTH = 48
_USER_MODEL = "App\\Models\\User"  # as PHP prints the class name; JSON doubles the backslashes

_ROLE_NAMES_09 = ("admin", "moderator", "client", "member")
# Roles CtrlPanel 1.x seeds (spatie/laravel-permission). The powers are this simulator's choice.
_SEEDED_ROLES = (
    ("Admin", "#fa0000", 100),
    ("Support-Team", "#00b0b3", 50),
    ("Client", "#008009", 20),
    ("User", "#0052a3", 10),
)

MAX_CREDITS_12 = 9223372036854775  # display units; stored ×1000 in a signed BIGINT
MAX_SERVER_LIMIT_12 = 1_000_000
MAX_CREDITS_OLD = 99_999_999  # 0.9–1.1 refuse an increment reaching this
MAX_SERVER_LIMIT_OLD = 2_147_483_647

_MISSING_HEADER = "Missing Authorization header"
_INVALID_TOKEN = "Invalid Authorization token"
_CREATION_BLOCKED = "The creation of new users has been blocked by the system administrator."
_CREATION_DISABLED = "The creation of new users has been temporarily disabled. Please try again later."
_ALREADY_SUSPENDED = "The user is already suspended"
_NOT_SUSPENDED_OLD = "You cannot unsuspend an User who is not suspended."
_NOT_SUSPENDED_12 = "The user is not suspended"

# Laravel 9 (CtrlPanel 0.9) and Laravel 11 (1.x) validation messages, by rule.
_MESSAGES_L9 = {
    "required": "The :attribute field is required.",
    "string": "The :attribute must be a string.",
    "email": "The :attribute must be a valid email address.",
    "unique": "The :attribute has already been taken.",
    "between": "The :attribute must be between :min and :max characters.",
    "between.numeric": "The :attribute must be between :min and :max.",
    "max": "The :attribute must not be greater than :max characters.",
    "numeric": "The :attribute must be a number.",
    "alpha_num": "The :attribute must only contain letters and numbers.",
    "in": "The selected :attribute is invalid.",
}
_MESSAGES_L11 = {
    "required": "The :attribute field is required.",
    "string": "The :attribute field must be a string.",
    "email": "The :attribute field must be a valid email address.",
    "unique": "The :attribute has already been taken.",
    "between": "The :attribute field must be between :min and :max characters.",
    "between.numeric": "The :attribute field must be between :min and :max.",
    "min.numeric": "The :attribute field must be at least :min.",
    "max": "The :attribute field must not be greater than :max characters.",
    "numeric": "The :attribute field must be a number.",
    "alpha_num": "The :attribute field must only contain letters and numbers.",
    "integer": "The :attribute field must be an integer.",
    "exists": "The selected :attribute is invalid.",
    "in": "The selected :attribute is invalid.",
}

# Exceptions that CtrlPanel's handler (from 1.0.3) renders with its theme's `errors.<status>` view, whatever the
# Accept header says. A missing model is not one of them: it becomes an HttpException only later, in the parent.
_THEMED_EXCEPTIONS = frozenset({"NotFoundHttpException", "ThrottleRequestsException"})


# --- Versions ------------------------------------------------------------------------------------------------------

_LATEST_PATCH = {(0, 9): 8, (1, 0): 8, (1, 1): 1, (1, 2): 0}


@dataclass(frozen=True, slots=True)
class SimVersion:
    """A CtrlPanel release: "0.9", "1.0", "1.1", "1.2" mean the last patch of that line; "1.0.2" is exact."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> SimVersion:
        match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
        line = (int(match.group(1)), int(match.group(2))) if match else None
        if match is None or line not in _LATEST_PATCH:
            raise ValueError(f"unknown CtrlPanel version {text!r}; use one of 0.9, 1.0, 1.1, 1.2 (a patch may follow)")
        patch = int(match.group(3)) if match.group(3) is not None else _LATEST_PATCH[line]
        return cls(line[0], line[1], patch)

    @property
    def line(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def resources(self) -> bool:
        """1.2.0 answers with JsonResources (`{"data": ...}`) and binds `{user}` before checking the token."""
        return self.line >= (1, 2)

    @property
    def laravel11(self) -> bool:
        return self.line >= (1, 0)

    @property
    def spatie_roles(self) -> bool:
        return self.line >= (1, 0)

    @property
    def role_column(self) -> bool:
        """The string `users.role` column: 0.9, and 1.0 until a migration shipped in 1.0.7 dropped it."""
        return self.line == (0, 9) or (self.line == (1, 0) and self.patch <= 6)

    @property
    def raw_thousandths(self) -> bool:
        """1.1 stores credits as integer thousandths and its raw model shows that integer."""
        return self.line == (1, 1)

    @property
    def themed_errors(self) -> bool:
        return self.line > (1, 0) or (self.line == (1, 0) and self.patch >= 3)

    @property
    def discord_ids_in_path(self) -> bool:
        return self.line < (1, 2)


# --- State ---------------------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(moment: datetime | None) -> str | None:
    """A datetime-cast attribute as Laravel serializes models: ISO-8601 in UTC with microseconds."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plain(moment: datetime | None) -> str | None:
    """`toDateTimeString()`, or a datetime column read without a cast: no zone, no fraction."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(eq=False, slots=True)
class SimUser:
    """A CtrlPanel user. `credits` is in display units here; each version shows it its own way."""

    id: int
    name: str
    email: str
    credits: float = 0.0
    server_limit: int = 1
    role: str = "member"  # the 0.9 column (also shown by 1.0.0–1.0.6)
    role_ids: set[int] = field(default_factory=set)  # spatie roles, 1.x
    suspended: bool = False
    pterodactyl_id: int | None = None
    avatar: str | None = None
    ip: str | None = None
    referral_code: str | None = None
    email_verified_at: datetime | None = None
    discord_verified_at: datetime | None = None
    last_seen: datetime | None = None
    email_verified_reward: bool = True
    password_hash: str | None = field(default=None, repr=False)
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def password_matches(self, password: str) -> bool:
        """Lets a test check what the API did to the password without the API ever showing it."""
        return password_matches(self.password_hash, password)


@dataclass(eq=False, slots=True)
class SimServer:
    id: str  # CtrlPanel's servers table has a uuid primary key
    name: str
    user_id: int
    pterodactyl_id: int
    identifier: str
    suspended: datetime | None = None
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(eq=False, slots=True)
class SimRole:
    id: int
    name: str
    color: str = "#0052a3"
    power: int = 10
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(eq=False, slots=True)
class SimDiscordUser:
    """A row of `discord_users`: the Discord account a user linked through the panel's own OAuth."""

    id: str  # the snowflake, as a string: the table's non-incrementing primary key
    user_id: int
    username: str
    email: str | None = None
    avatar: str | None = None
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(slots=True)
class SimKey:
    """A row of `application_apis`: the token is the primary key, stored in plain text; keys have no scopes."""

    token: str
    memo: str = ""
    last_used: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Endpoint:
    action: Callable[[_Call], web.Response]
    binds_user: bool = False  # `User $user` in the controller: 1.2.0 resolves it before the token check


@dataclass(slots=True)
class _Call:
    request: web.Request
    params: dict[str, str]
    raw_body: bytes
    query: dict[str, Any] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)  # `$request->all()`: body over query, cleaned
    target: SimUser | None = None


# --- The simulator -------------------------------------------------------------------------------------------------


class CtrlPanelSimulator(LoopbackServer):
    """A stateful CtrlPanel: users, servers, roles, Discord links, keys and the throttle live in memory."""

    def __init__(self, *, version: str = "1.2", rate_limit: int = 60, rate_window: float = 60.0) -> None:
        super().__init__()
        self.version = SimVersion.parse(version)
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self.record_requests = True
        # Panel settings and downstream behaviour tests may change.
        self.user_creation_enabled = True
        self.initial_credits = 250.0
        self.initial_server_limit = 1
        self.pterodactyl_error: tuple[str, int] | None = None  # Pterodactyl refuses the create/update CtrlPanel relays
        self.unconverted_increments = False  # 1.1's suspected bug: increment/decrement add thousandths
        # The next N writes are carried out, but a proxy loses the answer (504): what makes a retry dangerous.
        self.lost_write_answers = 0
        self.users: dict[int, SimUser] = {}  # insertion order is id order, which the list relies on
        self.servers: dict[str, SimServer] = {}
        self.roles: dict[int, SimRole] = {}
        self.discord_users: dict[str, SimDiscordUser] = {}
        self._discord_of: dict[int, str] = {}
        self._keys: dict[str, SimKey] = {}
        self._last_user_id = 0
        self._role_ids = itertools.count(1)
        self._pterodactyl_ids = itertools.count(1)
        self._limiter = laravel.FixedWindowLimiter()
        self._endpoints: dict[str, _Endpoint] = {}
        self._router = laravel.Router()
        self._register_routes()
        self.app = web.Application(middlewares=[laravel.front_door(self)])
        self.app.router.add_route("*", "/{path:.*}", self._dispatch)
        if self.version.spatie_roles:
            for name, color, power in _SEEDED_ROLES:
                self.add_role(name, color=color, power=power)
        self.admin = self.add_user(name="admin", email="admin@example.com", role="admin")
        self.api_key = self.create_api_key("Panel Desk")

    # --- Control API -----------------------------------------------------------------------------------------------

    def add_user(
        self,
        *,
        name: str,
        email: str,
        credits: float = 0,
        server_limit: int = 1,
        role: str | int | None = None,
        suspended: bool = False,
        discord_id: int | None = None,
        discord_username: str | None = None,
        password: str | None = None,
    ) -> SimUser:
        """Create a user directly. `role` is a 0.9 role name, or in 1.x a role name or id (default: member/User)."""
        if self._name_or_email_taken(name, email):
            raise ValueError(f"name {name!r} or email {email!r} is already taken")
        user = self._new_user(name, email, credits=credits, server_limit=server_limit)
        user.suspended = suspended
        self._assign_role(user, role)
        if password:
            user.set_password(password)
        self.users[user.id] = user
        if discord_id is not None:
            self.link_discord(user.id, discord_id, discord_username or name)
        return user

    def seed_users(self, count: int, *, prefix: str = "user") -> list[SimUser]:
        """Add `count` ordinary users `<prefix><id>` / `<prefix><id>@example.com`, fast enough for benchmarks."""
        now = _now()
        default_roles = {self._default_role_id()} if self.version.spatie_roles else set()
        taken = {user.name.casefold() for user in self.users.values()}
        taken |= {user.email.casefold() for user in self.users.values()}
        created = []
        for _ in range(count):
            user_id = self._last_user_id + 1
            name = f"{prefix}{user_id}"
            if name.casefold() in taken or f"{name}@example.com".casefold() in taken:
                raise ValueError(f"name {name!r} or its email is already taken")
            user = SimUser(
                id=user_id,
                name=name,
                email=f"{name}@example.com",
                server_limit=self.initial_server_limit,
                role="member",
                role_ids=set(default_roles),
                pterodactyl_id=next(self._pterodactyl_ids),
                referral_code=_referral_code(user_id),
                email_verified_at=now,
                created_at=now,
                updated_at=now,
            )
            self._last_user_id = user_id
            self.users[user_id] = user
            created.append(user)
        return created

    def add_server(self, owner_id: int, name: str = "server") -> str:
        """Give a user a server. Deleting the user deletes it; suspending the user suspends it."""
        if owner_id not in self.users:
            raise KeyError(f"no user {owner_id}")
        server_id = str(uuid.uuid4())
        server = SimServer(server_id, name, owner_id, next(self._pterodactyl_ids), server_id[:8])
        self.servers[server_id] = server
        return server_id

    def servers_of(self, user_id: int) -> list[SimServer]:
        return [server for server in self.servers.values() if server.user_id == user_id]

    def add_role(self, name: str, *, color: str = "#0052a3", power: int = 10) -> int:
        if not self.version.spatie_roles:
            raise ValueError("CtrlPanel 0.9 has no role table; roles are the strings admin/moderator/client/member")
        role = SimRole(next(self._role_ids), name, color, power)
        self.roles[role.id] = role
        return role.id

    def set_credits(self, user_id: int, value: float) -> None:
        """Set a balance as the website does (a purchase, a voucher), without the API."""
        user = self.users[user_id]
        user.credits = round(float(value), 3)
        user.updated_at = _now()

    def link_discord(self, user_id: int, discord_id: int, username: str) -> SimDiscordUser:
        """Link a Discord account as the panel's OAuth does (replacing any the user had)."""
        user = self.users[user_id]
        snowflake = str(discord_id)
        other = self.discord_users.get(snowflake)
        if other is not None and other.user_id != user_id:
            raise ValueError(f"Discord account {snowflake} is linked to user {other.user_id}")
        self.unlink_discord(user_id)
        row = SimDiscordUser(snowflake, user_id, username, email=user.email)
        self.discord_users[snowflake] = row
        self._discord_of[user_id] = snowflake
        user.discord_verified_at = _now()
        return row

    def unlink_discord(self, user_id: int) -> None:
        snowflake = self._discord_of.pop(user_id, None)
        if snowflake is not None:
            del self.discord_users[snowflake]

    def discord_of(self, user_id: int) -> SimDiscordUser | None:
        snowflake = self._discord_of.get(user_id)
        return None if snowflake is None else self.discord_users[snowflake]

    def create_api_key(self, memo: str = "") -> str:
        """A 48-character nanoid, stored in plain text as the primary key, as ApplicationApi creates it."""
        token = "".join(secrets.choice(_NANOID_ALPHABET) for _ in range(_TOKEN_LENGTH))
        self._keys[token] = SimKey(token, memo)
        return token

    def revoke_key(self, key: str) -> None:
        self._keys.pop(key, None)

    def key_for(self, key: str) -> SimKey | None:
        return self._keys.get(key)

    def reset_rate_limits(self) -> None:
        self._limiter.reset()

    def server_error_response(self, status: int) -> web.Response:
        """What Laravel's handler sends for an unexpected error with debug off (used by `Faults.fail_next`)."""
        message = "Server Error" if status == 500 else HTTPStatus(status).phrase
        return json_response({"message": message}, status, pretty=True)

    def _new_user(self, name: str, email: str, *, credits: float, server_limit: int) -> SimUser:
        user_id = self._last_user_id + 1
        self._last_user_id = user_id
        now = _now()
        return SimUser(
            id=user_id,
            name=name,
            email=email,
            credits=round(float(credits), 3),
            server_limit=int(server_limit),
            pterodactyl_id=next(self._pterodactyl_ids),
            referral_code=_referral_code(user_id),
            created_at=now,
            updated_at=now,
        )

    def _assign_role(self, user: SimUser, role: str | int | None) -> None:
        if not self.version.spatie_roles:
            name = (role or "member") if isinstance(role, str | None) else ""
            if name not in _ROLE_NAMES_09:
                raise ValueError(f"0.9 roles are {', '.join(_ROLE_NAMES_09)}")
            user.role = name
            return
        if role is None:
            role_id = self._default_role_id()
        elif isinstance(role, int):
            role_id = role
        else:
            role_id = next((r.id for r in self.roles.values() if r.name.casefold() == role.casefold()), 0)
        if role_id not in self.roles:
            raise ValueError(f"no role {role!r}")
        user.role_ids = {role_id}
        # 1.0.0–1.0.6 still carry the old column; keep it in step with the role where the names agree.
        user.role = self.roles[role_id].name.lower() if self.roles[role_id].name.lower() in _ROLE_NAMES_09 else "member"

    def _default_role_id(self) -> int:
        return next((r.id for r in self.roles.values() if r.name == "User"), next(iter(self.roles)))

    def _name_or_email_taken(self, name: Any, email: Any, *, ignore_id: int | None = None) -> bool:
        return self._taken("name", name, ignore_id) or self._taken("email", email, ignore_id)

    def _taken(self, column: str, value: Any, ignore_id: int | None) -> bool:
        """`unique:users`: MySQL's `_ci` collation compares without case."""
        if value is None or isinstance(value, (list, dict)):
            return False
        wanted = laravel.php_string(value).casefold()
        return any(getattr(u, column).casefold() == wanted and u.id != ignore_id for u in self.users.values())

    def _delete(self, user: SimUser) -> None:
        """The model's `deleting` hook: servers, payments, the Discord row go too; no "owns servers" check."""
        for server in self.servers_of(user.id):
            del self.servers[server.id]
        self.unlink_discord(user.id)
        del self.users[user.id]

    # --- Routing and middleware ------------------------------------------------------------------------------------

    def _register_routes(self) -> None:
        users = "api/users"
        routes: list[tuple[list[str], str, str, _Endpoint]] = [
            (["PATCH"], f"{users}/{{user}}/increment", "users.increment", _Endpoint(self._increment, True)),
            (["PATCH"], f"{users}/{{user}}/decrement", "users.decrement", _Endpoint(self._decrement, True)),
            (["PATCH"], f"{users}/{{user}}/suspend", "users.suspend", _Endpoint(self._suspend, True)),
            (["PATCH"], f"{users}/{{user}}/unsuspend", "users.unsuspend", _Endpoint(self._unsuspend, True)),
            (["GET"], users, "users.index", _Endpoint(self._list)),
            (["POST"], users, "users.store", _Endpoint(self._store)),
            (["GET"], f"{users}/{{user}}", "users.show", _Endpoint(self._show)),
        ]
        if not self.version.resources:
            # Route::resource(...)->except(['create']) registers `edit`, which the controller lacks.
            routes.append((["GET"], f"{users}/{{user}}/edit", "users.edit", _Endpoint(self._missing_method)))
        routes += [
            (["PUT", "PATCH"], f"{users}/{{user}}", "users.update", _Endpoint(self._update, True)),
            (["DELETE"], f"{users}/{{user}}", "users.destroy", _Endpoint(self._destroy, True)),
        ]
        for methods, uri, name, endpoint in routes:
            self._router.add(methods, uri, name)
            self._endpoints[name] = endpoint

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw_body = await request.read()
        bucket: Hashable | None = None
        try:
            match = self._router.match(request.method, request.path, request.rel_url.raw_path)
            if match.route is None:
                return web.Response(headers={"Allow": ",".join(match.allowed)})
            endpoint = self._endpoints[match.route.name]
            bucket = self._throttle(request)
            call = _Call(request, match.params, raw_body)
            if endpoint.binds_user and self.version.resources:
                call.target = self._bind(call.params["user"])
            response = self._authenticate(request)
            if response is None:
                self._read_input(call)
                response = endpoint.action(call)
        except HttpError as error:
            response = self._render_error(request, error)
        if self.lost_write_answers > 0 and request.method in _WRITES and bucket is not None:
            self.lost_write_answers -= 1
            return web.Response(
                status=504, text=_GATEWAY_TIMEOUT, content_type="text/html", headers={"Server": "nginx"}
            )
        if bucket is not None and response.status != 429:
            remaining = self._limiter.remaining(bucket, self.rate_limit)
            response.headers.update(laravel.rate_limit_headers(self.rate_limit, remaining))
        return response

    def _throttle(self, request: web.Request) -> Hashable:
        """`throttle:api`, 60/minute keyed by the client's IP (the API has no authenticated user)."""
        bucket = ("api", request.remote)
        retry_after = self._limiter.hit(bucket, self.rate_limit, self.rate_window)
        if retry_after is not None:
            raise laravel.too_many_attempts(self.rate_limit, retry_after)
        return bucket

    def _authenticate(self, request: web.Request) -> web.Response | None:
        """ApiAuthToken: the bearer token is the key's primary key. The middleware answers JSON itself."""
        header = request.headers.get("Authorization", "")
        position = header.rfind("Bearer ")
        token = header[position + 7 :].split(",", 1)[0] if position >= 0 else ""
        if not token:
            return json_response({"message": _MISSING_HEADER}, 403)
        key = self._keys.get(token)
        if key is None:
            return json_response({"message": _INVALID_TOKEN}, 401)
        key.last_used = _now()
        return None

    def _read_input(self, call: _Call) -> None:
        """A JSON body Laravel cannot decode is simply empty input; then TrimStrings and ConvertEmptyStringsToNull."""
        request = call.request
        body: dict[str, Any] = {}
        if laravel.is_json_content(request) and call.raw_body:
            try:
                body = laravel.as_input_array(laravel.decode_json_body(call.raw_body))
            except HttpError:
                body = {}
        elif request.content_type == "application/x-www-form-urlencoded" and request.method not in ("GET", "HEAD"):
            body = laravel.parse_php_query(call.raw_body.decode("utf-8", "replace"))
        call.query = laravel.clean_input(laravel.parse_php_query(request.rel_url.raw_query_string))
        call.input = {**call.query, **laravel.clean_input(body)}

    def _bind(self, raw: str) -> SimUser:
        """1.2.0 route-model binding (`where id = ?`, before the token is checked)."""
        user = self.users.get(int(raw)) if raw.isascii() and raw.isdigit() else None
        if user is None:
            raise _model_not_found(raw)
        return user

    def _target(self, call: _Call) -> SimUser:
        """The user a bound route acts on. Before 1.2.0 the controller looks it up itself, after its form request
        has validated the input, so a 422 comes before a 404 there."""
        if call.target is None:
            call.target = self._find_old_style(call.params["user"])
        return call.target

    def _find_old_style(self, raw: str) -> SimUser:
        """0.9–1.1: `int $id`, then a Discord user with that id, else `User::findOrFail($id)`."""
        if not (raw.isascii() and raw.isdigit()):
            raise laravel.server_error("TypeError")
        number = int(raw)
        row = self.discord_users.get(str(number))
        if row is not None and row.user_id in self.users:
            return self.users[row.user_id]
        user = self.users.get(number)
        if user is None:
            raise _model_not_found(str(number))
        return user

    # --- Endpoints -------------------------------------------------------------------------------------------------

    def _list(self, call: _Call) -> web.Response:
        tests = self._filters(call.query.get("filter"))
        includes = self._includes(call)
        window = laravel.resolve_page(
            call.input.get("page"), call.query.get("per_page"), default_per_page=50, model_per_page=15
        )
        rows = (
            [u for u in self.users.values() if all(test(u) for test in tests)] if tests else list(self.users.values())
        )
        end = None if window.limit is None else window.offset + window.limit
        page_rows = rows[window.offset : end]
        last = laravel.last_page(len(rows), window.per_page, guard_zero=self.version.laravel11)
        path = str(call.request.url.with_query(None).with_fragment(None)).rstrip("/")
        items = [self._user_document(user, includes) for user in page_rows]
        shape = laravel.resource_page if self.version.resources else laravel.length_aware_page
        return json_response(
            shape(items, path=path, page=window.page, per_page=window.per_page, total=len(rows), last=last)
        )

    def _show(self, call: _Call) -> web.Response:
        raw = call.params["user"]
        includes = self._includes(call)
        if self.version.resources:
            if not (raw.isascii() and raw.isdigit()):
                raise laravel.server_error("TypeError")  # show(int $userId)
            user = self.users.get(int(raw))
            if user is None:
                # firstOrFail(), not route binding: the message names no id.
                raise HttpError(404, "ModelNotFoundException", f"No query results for model [{_USER_MODEL}].")
            return json_response({"data": self._user_document(user, includes)})
        user = self._find_old_style(raw)
        return json_response(self._user_document(user, includes | {"discordUser"}))

    def _missing_method(self, call: _Call) -> web.Response:
        raise laravel.server_error("BadMethodCallException")

    def _store(self, call: _Call) -> web.Response:
        v = self.version
        if v.resources and not self.user_creation_enabled:
            raise HttpError(403, "AuthorizationException", _CREATION_DISABLED)
        data = self._validated(call, self._store_rules())
        if not v.resources and not self.user_creation_enabled:
            raise ValidationFailed([FieldError("error", "custom", _CREATION_BLOCKED)])
        self._relay_to_pterodactyl()
        credits = validated_number(data["credits"]) if v.resources and "credits" in data else self.initial_credits
        limit = (
            validated_number(data["server_limit"])
            if v.resources and "server_limit" in data
            else self.initial_server_limit
        )
        user = self._new_user(
            laravel.php_string(data["name"]),
            laravel.php_string(data["email"]),
            credits=credits,
            server_limit=int(limit),
        )
        user.set_password(laravel.php_string(data["password"]))
        user.ip = call.request.remote
        self._assign_role(user, int(laravel.php_filter_int(data["role_id"]) or 0) if v.resources else None)
        self.users[user.id] = user
        if v.resources:
            return json_response({"data": self._user_document(user, frozenset())}, 201)
        return json_response(self._fresh_model(user), 201)

    def _update(self, call: _Call) -> web.Response:
        v = self.version
        data = self._validated(call, self._update_rules())
        user = self._target(call)
        self._relay_to_pterodactyl()
        if v.resources:
            # array_filter(): a falsy value (credits 0, server_limit 0) is silently dropped.
            data = {name: value for name, value in data.items() if _php_truthy(value)}
            if "password" in data:
                user.set_password(laravel.php_string(data["password"]))
            if "role_id" in data:
                user.role_ids = {int(laravel.php_filter_int(data["role_id"]) or 0)}
            data = {name: data[name] for name in ("name", "email", "credits", "server_limit") if name in data}
        else:
            # `$user->update($request->all())`: every fillable field, validated or not (1.x leaves `role` out and
            # syncs roles from it instead).
            data = {name: value for name, value in call.input.items() if name in _FILLABLE}
            if v.spatie_roles:
                data.pop("role", None)
                if "role" in call.input:
                    self._sync_roles(user, call.input["role"])
        for name, value in data.items():
            self._store_column(user, name, value)
        user.updated_at = _now()
        if v.resources:
            return json_response({"data": self._user_document(user, frozenset())})
        return json_response(self._user_document(user, frozenset()))

    def _increment(self, call: _Call) -> web.Response:
        return self._change_balance(call, sign=1)

    def _decrement(self, call: _Call) -> web.Response:
        return self._change_balance(call, sign=-1)

    def _change_balance(self, call: _Call, *, sign: int) -> web.Response:
        v = self.version
        data = self._validated(call, self._balance_rules(sign))
        user = self._target(call)
        if v.resources:
            present = {name: validated_number(value) for name, value in data.items() if value is not None}  # isset()
        else:
            present = {name: validated_number(value) for name, value in data.items() if _php_truthy(value)}
        if "credits" in present:
            amount = present["credits"]
            if v.raw_thousandths and self.unconverted_increments:
                amount /= 1000  # the request value lands on the stored thousandths unconverted
            self._check_balance(user, "credits", amount, sign, shown=data["credits"])
            user.credits = round(user.credits + sign * amount, 3)
        if "server_limit" in present:
            amount = present["server_limit"]
            self._check_balance(user, "server_limit", amount, sign, shown=data["server_limit"])
            user.server_limit = int(user.server_limit + sign * amount)
        user.updated_at = _now()
        return self._user_answer(user)

    def _check_balance(self, user: SimUser, column: str, amount: float, sign: int, *, shown: Any) -> None:
        current = user.credits if column == "credits" else user.server_limit
        result = current + sign * amount
        text = laravel.php_string(shown)
        if self.version.resources:
            if column == "credits" and sign > 0 and round(result * 1000) > MAX_CREDITS_12 * 1000:
                message = (
                    f"Adding {text} credits would result in {round(result * 1000)}, "
                    f"exceeding the maximum limit of {MAX_CREDITS_12}."
                )
            elif column == "server_limit" and sign > 0 and result > MAX_SERVER_LIMIT_12:
                message = f"Adding {text} would result in {int(result)}, exceeding the maximum limit of 1000000."
            elif column == "credits" and sign < 0 and result < 0:
                message = f"Cannot remove {text} credits. User has {math.floor(user.credits)} credits available."
            elif column == "server_limit" and sign < 0 and result < 0:
                message = f"Cannot remove {text}. User has {user.server_limit} server limit available."
            else:
                return
        elif column == "credits" and sign > 0 and result >= MAX_CREDITS_OLD:
            message = "You can't add this amount of credits because you would exceed the credit limit"
        elif column == "server_limit" and sign > 0 and result >= MAX_SERVER_LIMIT_OLD:
            message = "You can't add this amount of servers because you would exceed the server limit."
        elif column == "credits" and sign < 0 and result < 0:
            message = "You can't remove this amount of credits because you would exceed the minimum credit limit"
        elif column == "server_limit" and sign < 0 and result < 0:
            message = "You cannot remove this amount of servers because it would exceed the minimum server."
        else:
            return
        raise ValidationFailed([FieldError(column, "custom", message)])

    def _suspend(self, call: _Call) -> web.Response:
        self._validated(call, self._reason_rules())
        user = self._target(call)
        if user.suspended:
            return self._state_conflict(_ALREADY_SUSPENDED, _ALREADY_SUSPENDED)
        now = _now()
        for server in self.servers_of(user.id):
            server.suspended = now
        user.suspended = True
        user.updated_at = now
        return self._user_answer(user)

    def _unsuspend(self, call: _Call) -> web.Response:
        self._validated(call, self._reason_rules())
        user = self._target(call)
        if not user.suspended:
            return self._state_conflict(_NOT_SUSPENDED_OLD, _NOT_SUSPENDED_12)
        for server in self.servers_of(user.id):
            server.suspended = None  # every product is free here, so the user can afford each server
        user.suspended = False
        user.updated_at = _now()
        return self._user_answer(user)

    def _state_conflict(self, old: str, new: str) -> web.Response:
        if self.version.resources:
            return json_response({"error": new}, 400)
        raise ValidationFailed([FieldError("error", "custom", old)])

    def _destroy(self, call: _Call) -> web.Response:
        self._validated(call, self._reason_rules())
        user = self._target(call)
        document = None if self.version.resources else self._user_document(user, frozenset())
        self._delete(user)
        if document is None:
            return web.Response(status=204)
        return json_response(document)

    def _user_answer(self, user: SimUser) -> web.Response:
        document = self._user_document(user, frozenset())
        return json_response({"data": document} if self.version.resources else document)

    def _relay_to_pterodactyl(self) -> None:
        if self.pterodactyl_error is not None:
            message, status = self.pterodactyl_error
            raise ValidationFailed(
                [
                    FieldError("pterodactyl_error_message", "custom", message),
                    FieldError("pterodactyl_error_status", "custom", str(status)),
                ]
            )

    def _sync_roles(self, user: SimUser, raw: Any) -> None:
        """1.0–1.1 `syncRoles()` with the ids cast to int; an unknown id throws RoleDoesNotExist (a 500)."""
        values = raw.values() if isinstance(raw, dict) else raw if isinstance(raw, list) else [raw]
        ids = {int(php_number(value) or 0) for value in values}
        if any(role_id not in self.roles for role_id in ids):
            raise laravel.server_error("RoleDoesNotExist")
        user.role_ids = ids

    def _store_column(self, user: SimUser, name: str, value: Any) -> None:
        if name in ("credits", "server_limit"):
            number = php_number(value)
            if number is None:
                raise laravel.server_error("QueryException")
            if name == "credits":
                user.credits = round(float(number), 3)
            else:
                user.server_limit = int(number)
        elif name == "suspended":
            user.suspended = _php_truthy(value)
        elif name == "pterodactyl_id":
            user.pterodactyl_id = None if value is None else int(php_number(value) or 0)
        else:
            setattr(user, name, None if value is None else laravel.php_string(value))

    # --- Validation ------------------------------------------------------------------------------------------------

    def _validated(self, call: _Call, rules: dict[str, list[laravel.Rule]]) -> dict[str, Any]:
        messages = _MESSAGES_L11 if self.version.laravel11 else _MESSAGES_L9
        failures = laravel.validate(call.input, rules, messages=messages, attributes={})
        if failures:
            raise ValidationFailed(failures)
        return {name: call.input[name] for name in rules if name in call.input}

    def _unique(self, column: str) -> laravel.Rule:
        return laravel.unique(lambda value: self._taken(column, value, None))

    def _store_rules(self) -> dict[str, list[laravel.Rule]]:
        name = [laravel.required(), laravel.string(), laravel.between(4, 30), laravel.alpha_num(), self._unique("name")]
        email = [laravel.required(), laravel.string(), laravel.email()]
        email += [self._unique("email")] if self.version.resources else [laravel.max_length(64), self._unique("email")]
        rules = {
            "name": name,
            "email": email,
            "password": [laravel.required(), laravel.string(), laravel.between(8, 191)],
        }
        if self.version.resources:
            rules["credits"] = [laravel.sometimes(), laravel.numeric(), laravel.numeric_between(0, MAX_CREDITS_12)]
            rules["server_limit"] = [
                laravel.sometimes(),
                laravel.numeric(),
                laravel.numeric_between(0, MAX_SERVER_LIMIT_12),
            ]
            rules["role_id"] = [
                laravel.required(),
                laravel.integer(),
                laravel.exists(lambda value: laravel.php_filter_int(value) in self.roles),
            ]
            rules["referral_code"] = [
                laravel.sometimes(),
                laravel.nullable(),
                laravel.string(),
                laravel.exists(lambda value: any(u.referral_code == value for u in self.users.values())),
            ]
        return rules

    def _update_rules(self) -> dict[str, list[laravel.Rule]]:
        presence = laravel.required() if self.version.resources else laravel.sometimes()
        credits_max = MAX_CREDITS_12 if self.version.resources else 1_000_000
        rules = {
            "name": [presence, laravel.string(), laravel.between(4, 30)],
            "email": [presence, laravel.string(), laravel.email()],
            "credits": [laravel.sometimes(), laravel.numeric(), laravel.numeric_between(0, credits_max)],
            "server_limit": [laravel.sometimes(), laravel.numeric(), laravel.numeric_between(0, 1_000_000)],
        }
        if self.version.line == (0, 9):
            rules["role"] = [laravel.sometimes(), laravel.one_of(_ROLE_NAMES_09)]
        if self.version.resources:
            rules["password"] = [laravel.sometimes(), laravel.string(), laravel.between(8, 191)]
            rules["role_id"] = [
                laravel.sometimes(),
                laravel.integer(),
                laravel.exists(lambda value: laravel.php_filter_int(value) in self.roles),
            ]
        return rules

    def _balance_rules(self, sign: int) -> dict[str, list[laravel.Rule]]:
        if not self.version.resources:
            bounds = laravel.numeric_between(0, 1_000_000)
            return {name: [laravel.sometimes(), laravel.numeric(), bounds] for name in ("credits", "server_limit")}
        if sign < 0:
            return {
                name: [laravel.sometimes(), laravel.numeric(), laravel.numeric_min(1)]
                for name in ("credits", "server_limit")
            }
        return {
            "credits": [laravel.sometimes(), laravel.numeric(), laravel.numeric_between(0, MAX_CREDITS_12)],
            "server_limit": [laravel.sometimes(), laravel.numeric(), laravel.numeric_between(0, MAX_SERVER_LIMIT_12)],
        }

    def _reason_rules(self) -> dict[str, list[laravel.Rule]]:
        if not self.version.resources:
            return {}
        return {"reason": [laravel.sometimes(), laravel.nullable(), laravel.string(), laravel.max_length(320)]}

    # --- Query: filters and includes -------------------------------------------------------------------------------

    def _allowed_filters(self) -> tuple[str, ...]:
        if self.version.line == (0, 9):
            return ("name", "server_limit", "email", "pterodactyl_id", "role", "suspended")
        return ("name", "server_limit", "email", "pterodactyl_id", "suspended")

    def _filters(self, raw: Any) -> list[Callable[[SimUser], bool]]:
        """Partial filters: `LOWER(column) LIKE %value%`, numbers included; query-builder 5.x (0.9) leaves `%`/`_`
        as wildcards, 6.x (1.x) escapes them."""
        if not isinstance(raw, dict):
            return []
        allowed = self._allowed_filters()
        unknown = [name for name in raw if name not in allowed]
        if unknown:
            raise laravel.invalid_query("filter", unknown, allowed)
        tests = []
        for column, value in raw.items():
            needles = laravel.filter_needles(value)
            if needles is not None:
                likes = [laravel.like_test(needle, wildcards=not self.version.laravel11) for needle in needles]
                tests.append(_column_matcher(column, likes))
        return tests

    def _allowed_includes(self) -> tuple[list[str], list[str]]:
        """(names a request may ask for, the top-level relations they load)."""
        if self.version.resources:
            nested = [
                "servers.product",
                "notifications",
                "payments",
                "vouchers.users",
                "roles.permissions",
                "discordUser",
            ]
        elif self.version.spatie_roles:
            nested = ["servers", "notifications", "payments", "vouchers", "roles", "discordUser"]
        else:
            nested = ["servers", "notifications", "payments", "vouchers", "discordUser"]
        tops = [name.split(".")[0] for name in nested]
        suffixes = ("Count", "Exists") if self.version.laravel11 else ("Count",)
        allowed = [*nested, *(n for n in tops if n not in nested)]
        allowed += [f"{top}{suffix}" for top in tops for suffix in suffixes]
        return allowed, tops

    def _includes(self, call: _Call) -> frozenset[str]:
        requested = laravel.requested_includes(call.query.get("include"))
        allowed, _ = self._allowed_includes()
        unknown = [name for name in requested if name not in allowed]
        if unknown:
            raise laravel.invalid_query("include", unknown, allowed)
        return frozenset(requested)

    # --- Rendering -------------------------------------------------------------------------------------------------

    def _user_document(self, user: SimUser, includes: frozenset[str]) -> dict[str, Any]:
        document = self._resource(user) if self.version.resources else self._raw_model(user)
        loaded = {name.split(".")[0] for name in includes if not name.endswith(("Count", "Exists"))}
        for name in sorted(includes):
            for suffix, key_suffix in (("Count", "_count"), ("Exists", "_exists")):
                if name.endswith(suffix):
                    relation = name[: -len(suffix)]
                    count = len(self._related(user, relation))
                    document[_snake(relation) + key_suffix] = count if suffix == "Count" else count > 0
        for relation in ("servers", "notifications", "payments", "vouchers", "roles", "discordUser"):
            if relation in loaded:
                document[_snake(relation)] = self._render_relation(user, relation, includes)
        return document

    def _related(self, user: SimUser, relation: str) -> list[Any]:
        if relation == "servers":
            return self.servers_of(user.id)
        if relation == "roles":
            return [self.roles[i] for i in sorted(user.role_ids) if i in self.roles]
        if relation == "discordUser":
            row = self.discord_of(user.id)
            return [] if row is None else [row]
        return []  # notifications, payments, vouchers: none in the simulator

    def _render_relation(self, user: SimUser, relation: str, includes: frozenset[str]) -> Any:
        items = self._related(user, relation)
        if relation == "discordUser":
            return self._discord_document(items[0]) if items else None
        if relation == "servers":
            return [self._server_document(server, with_product="servers.product" in includes) for server in items]
        if relation == "roles":
            return [self._role_document(role, user, with_permissions="roles.permissions" in includes) for role in items]
        return []

    def _raw_model(self, user: SimUser) -> dict[str, Any]:
        """Every column but the hidden password, as `Model::toArray()` casts them in this version."""
        document: dict[str, Any] = {"id": user.id, "name": user.name}
        if self.version.role_column:
            document["role"] = user.role
        document.update(
            {
                "credits": round(user.credits * 1000) if self.version.raw_thousandths else float(user.credits),
                "server_limit": float(user.server_limit),
                "pterodactyl_id": user.pterodactyl_id if self.version.line == (0, 9) else _text(user.pterodactyl_id),
                "avatar": user.avatar,
                "email": user.email,
                "email_verified_at": _iso(user.email_verified_at),
                "created_at": _iso(user.created_at),
                "updated_at": _iso(user.updated_at),
                "ip": user.ip,
                "last_seen": _iso(user.last_seen),
                "discord_verified_at": _plain(user.discord_verified_at),
                "suspended": int(user.suspended),
                "referral_code": user.referral_code,
                "email_verified_reward": user.email_verified_reward,
            }
        )
        return document

    def _fresh_model(self, user: SimUser) -> dict[str, Any]:
        """A model straight from `User::create()` (0.9–1.1) shows only the attributes that were set."""
        document: dict[str, Any] = {"name": user.name, "email": user.email}
        if self.version.role_column:
            document["role"] = user.role
        document.update(
            {
                "credits": round(user.credits * 1000) if self.version.raw_thousandths else float(user.credits),
                "server_limit": float(user.server_limit),
                "referral_code": user.referral_code,
                "updated_at": _iso(user.updated_at),
                "created_at": _iso(user.created_at),
                "id": user.id,
                "pterodactyl_id": user.pterodactyl_id if self.version.line == (0, 9) else _text(user.pterodactyl_id),
            }
        )
        return document

    def _resource(self, user: SimUser) -> dict[str, Any]:
        """1.2.0 UserResource: credits divided back into display units, whole amounts as JSON integers."""
        credits = user.credits
        return {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "credits": int(credits) if float(credits).is_integer() else credits,
            "server_limit": user.server_limit,
            "pterodactyl_id": _text(user.pterodactyl_id),
            "avatar": user.avatar,
            "ip": user.ip,
            "suspended": int(user.suspended),
            "referral_code": user.referral_code,
            "email_verified_reward": user.email_verified_reward,
            "discord_verified_at": _plain(user.discord_verified_at),
            "last_seen": _iso(user.last_seen),
            "email_verified_at": _iso(user.email_verified_at),
            "created_at": _plain(user.created_at),
            "updated_at": _plain(user.updated_at),
        }

    def _discord_document(self, row: SimDiscordUser) -> dict[str, Any]:
        stamp = _plain if self.version.resources else _iso
        return {
            "id": row.id,
            "username": row.username,
            "discriminator": "0",
            "avatar": row.avatar,
            "email": row.email,
            "verified": 1,
            "public_flags": 0,
            "flags": 0,
            "locale": "en-US",
            "premium_type": 0,
            "mfa_enabled": 0,
            "user_id": row.user_id,
            "created_at": stamp(row.created_at),
            "updated_at": stamp(row.updated_at),
        }

    def _server_document(self, server: SimServer, *, with_product: bool) -> dict[str, Any]:
        stamp = _plain if self.version.resources else _iso
        document: dict[str, Any] = {
            "id": server.id,
            "name": server.name,
            "description": None,
            "suspended": stamp(server.suspended),
            "identifier": server.identifier,
            "pterodactyl_id": server.pterodactyl_id,
            "user_id": server.user_id,
            "product_id": "product-1",
            "created_at": stamp(server.created_at),
            "updated_at": stamp(server.updated_at),
        }
        if with_product:
            document["product"] = {"id": "product-1", "name": "Starter", "price": 0, "memory": 1024, "disk": 5120}
        return document

    def _role_document(self, role: SimRole, user: SimUser, *, with_permissions: bool) -> dict[str, Any]:
        if self.version.resources:
            document: dict[str, Any] = {
                "id": role.id,
                "name": role.name,
                "color": role.color,
                "power": role.power,
                "created_at": _plain(role.created_at),
                "updated_at": _plain(role.updated_at),
            }
            if with_permissions:
                document["permissions"] = [{"id": 1, "name": "*"}] if role.name == "Admin" else []
            return document
        return {
            "id": role.id,
            "name": role.name,
            "guard_name": "web",
            "color": role.color,
            "power": role.power,
            "created_at": _iso(role.created_at),
            "updated_at": _iso(role.updated_at),
            "pivot": {"model_type": _USER_MODEL, "model_id": user.id, "role_id": role.id},
        }

    def _render_error(self, request: web.Request, error: HttpError) -> web.Response:
        if isinstance(error, ValidationFailed):
            if not laravel.expects_json(request):
                return web.Response(
                    status=302, headers={"Location": request.headers.get("Referer") or str(request.url.origin())}
                )
            return json_response(laravel.validation_body(error.failures), 422)
        if error.code in _THEMED_EXCEPTIONS and self.version.themed_errors:
            return laravel.html_error_page(error.status)  # the theme's view, built without the exception's headers
        if not laravel.expects_json(request):
            return laravel.html_error_page(error.status, headers=error.headers)
        message = "Server Error" if error.detail == laravel.GENERIC_SERVER_ERROR else error.detail
        return json_response({"message": message}, error.status, headers=error.headers, pretty=True)


# --- Helpers -------------------------------------------------------------------------------------------------------

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_GATEWAY_TIMEOUT = (
    "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n"
    "<center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_FILLABLE = ("name", "email", "credits", "server_limit", "role", "suspended", "referral_code", "pterodactyl_id")


def _model_not_found(raw: str) -> HttpError:
    return HttpError(404, "ModelNotFoundException", f"No query results for model [{_USER_MODEL}] {raw}")


def php_number(value: Any) -> float | int | None:
    return laravel.php_numeric(value)


def validated_number(value: Any) -> float | int:
    """A value validation already found numeric, as PHP reads it."""
    number = laravel.php_numeric(value)
    if number is None:
        raise ValueError(f"{value!r} is not numeric; validate before reading it")
    return number


def _php_truthy(value: Any) -> bool:
    """PHP's truthiness: "0", "", 0, 0.0, null, false and [] are false; "0.0" is true."""
    if isinstance(value, str):
        return value not in ("", "0")
    return bool(value)


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


def _snake(relation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", relation).lower()


def _referral_code(user_id: int) -> str:
    """Eight characters, unique per user (the panel draws them at random)."""
    alphabet = string.ascii_letters + string.digits
    digits = []
    number = user_id * 7919 + 104729
    for _ in range(8):
        number, index = divmod(number, len(alphabet))
        digits.append(alphabet[index])
    return "".join(digits)


def _column_text(user: SimUser, column: str) -> str | None:
    """The column as MySQL's LOWER() sees it; NULL never matches a LIKE."""
    if column == "suspended":
        return "1" if user.suspended else "0"
    value = getattr(user, column)
    return None if value is None else str(value).lower()


def _column_matcher(column: str, likes: Sequence[Callable[[str], bool]]) -> Callable[[SimUser], bool]:
    def matches(user: SimUser) -> bool:
        text = _column_text(user, column)
        return text is not None and any(like(text) for like in likes)

    return matches


# --- By hand -------------------------------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    simulator = CtrlPanelSimulator(version=args.version)
    simulator.record_requests = False
    members = simulator.seed_users(args.users)
    if members:
        simulator.link_discord(members[0].id, 123456789012345678, members[0].name)

    def welcome(url: str) -> Iterator[str]:
        yield f"CtrlPanel {simulator.version} simulator on {url} with {len(simulator.users)} users (lost on exit)"
        yield f"API key (CtrlPanel's one application token): {simulator.api_key}"
        yield settings_line("ctrlpanel", url, simulator.api_key)
        if members:
            yield f"{members[0].name} (id {members[0].id}) has Discord account 123456789012345678 linked"
        yield f'Try: curl -H "Authorization: Bearer {simulator.api_key}" -H "Accept: application/json" {url}/api/users'

    await serve_until_stopped(simulator, args.host, args.port, welcome)
