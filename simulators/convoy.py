"""An in-memory Convoy panel (ConvoyPanel/panel v4.6) served over real HTTP, for client tests and trying the bot by
hand.

It reproduces the application API's users as `shared/panels/ctrlpanel-convoy-calagopus.md` (section b) reads them
from the panel's source, including what a client is likely to get wrong:

- authentication is a Sanctum token `<token id>|<40 characters>` of a root admin; any of that user's tokens works,
  whatever its type. The order of refusals is 401 (token), 404 (the `{user}` binding), 403 (not a root admin):
  Laravel's middleware priority puts `auth:sanctum` before `SubstituteBindings`, and `AdminAuthenticate` after both;
- there is no throttle at all on `/api/application` (the panel's throttle line is commented out);
- answers are Fractal documents, `{"data": ...}`, lists with `meta.pagination` whose `links` is `[]` when empty and
  whose URLs carry the whole query string;
- `per_page` is `min(per_page ?? 50, 100)` with PHP 8's comparison rules, and there is no lower bound;
- `filter[id]` and `filter[email]` are exact (a comma list is `IN`), `filter[name]` is a partial LIKE (a comma list
  is OR, `%` and `_` are wildcards), `filter[*]` is the UI search box's `id = v OR email = v OR name LIKE %v%`;
- create answers 200, not 201, and writes `root_admin` as sent: leaving it out writes null, which the model's own
  validation turns into a 500;
- PUT and PATCH both replace name, email and root_admin; demoting a root admin deletes all their tokens;
- deleting a user who owns servers is a 400; a user's tokens go with them;
- the database is MySQL: a `{user}` such as `1abc` is compared as the number 1, and emails compare case-insensitively.

The refusal order, the 500s and the PHP and MySQL comparisons follow the framework's code (the reference marks them
derived); nobody has watched a running panel do them.

Run by hand: `python -m simulators convoy --port 8080 [--users 50] [--servers 3]`.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import hashlib
import hmac
import itertools
import json
import re
import secrets
import string
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web

from simulators import laravel
from simulators.laravel import Faults, HttpError, RecordedRequest, ValidationFailed, json_response
from simulators.loopback import LoopbackServer, serve_until_stopped, settings_line
from simulators.passwords import hash_password, password_matches

__all__ = ["ConvoySimulator", "Faults", "RecordedRequest", "SimServer", "SimToken", "SimUser"]

USERS = "api/application/users"
MODEL = "Convoy\\Models\\User"
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 50
MODEL_PER_PAGE = 15  # Eloquent's default, used when per_page is "0" or empty
NAME_MAX = 191
PASSWORD_MIN = 8

_ALPHANUMERIC = string.ascii_letters + string.digits
_UNAUTHENTICATED = "Unauthenticated."
_HAS_SERVERS = "The user cannot be deleted with servers still associated."
_FILTERS = ("id", "name", "email", "*")
_GATEWAY_TIMEOUT = (
    "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1>"
    "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)

# Laravel 11's default messages for the rules Convoy's user requests use.
_MESSAGES = {
    "required": "The :attribute field is required.",
    "string": "The :attribute field must be a string.",
    "email": "The :attribute field must be a valid email address.",
    "between": "The :attribute field must be between :min and :max characters.",
    "min": "The :attribute field must be at least :min characters.",
    "unique": "The :attribute has already been taken.",
    "boolean": "The :attribute field must be true or false.",
}

# MySQL turns a string compared with an integer column into the number at its start ("1abc" is 1, "abc" is 0).
_MYSQL_NUMBER_PREFIX = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _carbon_json(moment: datetime) -> str:
    """How Carbon serialises a datetime cast: UTC with microseconds and a `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- State ---------------------------------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class SimUser:
    """A Convoy user. Convoy has one `name` (free text, not unique) where other panels have a username; `username`
    is an alias of it for the simulators' shared control API. Convoy has no external id."""

    id: int
    name: str
    email: str
    root_admin: bool = False
    email_verified_at: datetime | None = None
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))  # in the table, never shown by the API
    password_hash: str | None = field(default=None, repr=False)
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)
    _emails: dict[str, int] | None = field(default=None, repr=False)  # the simulator's unique index, once stored

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "email":
            emails = getattr(self, "_emails", None)  # unset while __init__ runs
            if emails is not None:
                if emails.get(self.email.casefold()) == self.id:
                    del emails[self.email.casefold()]
                emails[value.casefold()] = self.id
        object.__setattr__(self, name, value)

    @property
    def username(self) -> str:
        return self.name

    @username.setter
    def username(self, value: str) -> None:
        self.name = value

    @property
    def external_id(self) -> None:
        return None

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def password_matches(self, password: str) -> bool:
        """Lets a test check what a request did to the password without the API ever echoing it."""
        return password_matches(self.password_hash, password)


@dataclass(eq=False, slots=True)
class SimServer:
    id: int
    name: str
    owner_id: int


@dataclass(eq=False, slots=True)
class SimToken:
    """A Sanctum personal access token. Only the SHA-256 of the 40 random characters is stored."""

    id: int
    user_id: int
    digest: str
    type: Literal["application", "account"]
    name: str
    last_used_at: datetime | None = None


@dataclass(slots=True)
class _Call:
    """One request on its way through the panel's middleware."""

    request: web.Request
    params: dict[str, str]
    raw_body: bytes
    query: dict[str, Any] = field(default_factory=dict)
    input: dict[str, Any] = field(default_factory=dict)  # `$request->all()`: body over query, cleaned
    token: SimToken | None = None
    user: SimUser | None = None
    target: SimUser | None = None


@dataclass(frozen=True, slots=True)
class _Endpoint:
    action: Callable[[_Call], web.Response]
    binds_user: bool = False


# --- The simulator -------------------------------------------------------------------------------------------------


class ConvoySimulator(LoopbackServer):
    """A stateful Convoy panel: users, servers and tokens live in memory for the simulator's life."""

    def __init__(self) -> None:
        super().__init__()
        self.faults = Faults()
        # The next N requests that change something (POST, PUT, PATCH, DELETE) are acted on, then a proxy answers
        # 504 in their place: what a client sees when the panel was too slow for the proxy. Unlike `faults`, whose
        # requests never reach the panel, the change is made.
        self.lose_next_changes = 0
        self.requests: list[RecordedRequest] = []
        self.record_requests = True
        self.users: dict[int, SimUser] = {}  # insertion order is id order, which the list relies on
        self.servers: dict[int, SimServer] = {}
        self.tokens: dict[int, SimToken] = {}
        self._emails: dict[str, int] = {}
        self._servers_by_owner: dict[int, set[int]] = {}
        self._last_user_id = 0
        self._server_ids = itertools.count(1)
        self._token_ids = itertools.count(1)
        self._router = laravel.Router()
        self._endpoints: dict[str, _Endpoint] = {}
        self._register_routes()
        self.app = web.Application(middlewares=[laravel.front_door(self)])
        self.app.router.add_route("*", "/{path:.*}", self._dispatch)
        self.admin = self.add_user(username="Admin", email="admin@example.com", root_admin=True)
        self.api_key = self.create_api_key()

    # --- Control API -----------------------------------------------------------------------------------------------

    def add_user(
        self,
        *,
        username: str,
        email: str,
        password: str | None = None,
        root_admin: bool = False,
        email_verified: bool = False,
    ) -> SimUser:
        """Create a user directly. `username` is Convoy's `name`; names need not be unique, emails must be."""
        user = SimUser(
            id=self._last_user_id + 1,
            name=username,
            email=email,
            root_admin=root_admin,
            email_verified_at=_now() if email_verified else None,
        )
        if password:
            user.set_password(password)
        self._insert(user)
        return user

    def seed_users(self, count: int, *, prefix: str = "user") -> list[SimUser]:
        """Add `count` ordinary users named `<prefix><id>` with `<prefix><id>@example.com`, fast enough for
        benchmarks (no validation beyond the unique email)."""
        now = _now()
        created = []
        for _ in range(count):
            user_id = self._last_user_id + 1
            user = SimUser(
                id=user_id,
                name=f"{prefix}{user_id}",
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
        server = SimServer(id=next(self._server_ids), name=name, owner_id=owner_id)
        self.servers[server.id] = server
        self._servers_by_owner.setdefault(owner_id, set()).add(server.id)
        return server.id

    def remove_server(self, server_id: int) -> None:
        server = self.servers.pop(server_id)
        owned = self._servers_by_owner.get(server.owner_id, set())
        owned.discard(server_id)
        if not owned:
            self._servers_by_owner.pop(server.owner_id, None)

    def create_api_key(
        self, user_id: int | None = None, *, type: Literal["application", "account"] = "application"
    ) -> str:
        """A token of the admin unless `user_id` is given. Convoy's admin UI makes `application` tokens; the guard
        ignores the type, so any token of a root admin works on the application API and no other token does."""
        owner = self.admin.id if user_id is None else user_id
        if owner not in self.users:
            raise KeyError(f"no user {owner}")
        secret = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(40))
        token = SimToken(next(self._token_ids), owner, _sha256(secret), type, "Panel Desk")
        self.tokens[token.id] = token
        return f"{token.id}|{secret}"

    def revoke_key(self, key: str) -> None:
        token = self._find_token(key)
        if token is not None:
            del self.tokens[token.id]

    def server_error_response(self, status: int) -> web.Response:
        """What Laravel's handler shows for an unexpected error (used by `Faults.fail_next`)."""
        message = "Server Error"
        if status != 500:
            with contextlib.suppress(ValueError):
                message = HTTPStatus(status).phrase
        return json_response({"message": message}, status, pretty=True)

    def _insert(self, user: SimUser) -> None:
        if user.email.casefold() in self._emails:
            raise ValueError(f"email {user.email!r} is already taken")
        self.users[user.id] = user
        self._last_user_id = max(self._last_user_id, user.id)
        self._emails[user.email.casefold()] = user.id
        user._emails = self._emails

    def _remove_user(self, user: SimUser) -> None:
        self._delete_tokens_of(user)
        del self.users[user.id]
        del self._emails[user.email.casefold()]
        user._emails = None

    def _delete_tokens_of(self, user: SimUser) -> None:
        for token_id in [t.id for t in self.tokens.values() if t.user_id == user.id]:
            del self.tokens[token_id]

    def _find_token(self, plain: str) -> SimToken | None:
        """Sanctum's findToken: `<id>|<secret>` by id then hash; a token without `|` by the hash of all of it."""
        if "|" not in plain:
            digest = _sha256(plain)
            return next((t for t in self.tokens.values() if hmac.compare_digest(t.digest, digest)), None)
        token_id, secret = plain.split("|", 1)
        token = self.tokens.get(int(token_id)) if token_id.isascii() and token_id.isdigit() else None
        if token is None or not hmac.compare_digest(token.digest, _sha256(secret)):
            return None
        return token

    def _servers_count(self, user: SimUser) -> int:
        return len(self._servers_by_owner.get(user.id, ()))

    # --- Routing and middleware ------------------------------------------------------------------------------------

    def _register_routes(self) -> None:
        routes: list[tuple[list[str], str, str, _Endpoint]] = [
            (["GET"], USERS, "users.index", _Endpoint(self._index)),
            (["POST"], USERS, "users.store", _Endpoint(self._store)),
            (["GET"], f"{USERS}/{{user}}", "users.show", _Endpoint(self._show, binds_user=True)),
            (["PUT", "PATCH"], f"{USERS}/{{user}}", "users.update", _Endpoint(self._update, binds_user=True)),
            (["DELETE"], f"{USERS}/{{user}}", "users.destroy", _Endpoint(self._destroy, binds_user=True)),
            (
                ["POST"],
                f"{USERS}/{{user}}/generate-sso-token",
                "users.sso",
                _Endpoint(self._sso_token, binds_user=True),
            ),
        ]
        for methods, uri, name, endpoint in routes:
            self._router.add(methods, uri, name)
            self._endpoints[name] = endpoint

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw_body = await request.read()
        try:
            match = self._router.match(request.method, request.path, request.rel_url.raw_path)
            if match.route is None:
                return web.Response(headers={"Allow": ",".join(match.allowed)})
            endpoint = self._endpoints[match.route.name]
            call = _Call(request, match.params, raw_body)
            self._read_input(call)
            self._authenticate(call)
            if endpoint.binds_user:
                self._bind_user(call)
            self._require_root_admin(call)
            response = endpoint.action(call)
        except HttpError as error:
            response = self._render_error(request, error)
        if self.lose_next_changes > 0 and request.method in ("POST", "PUT", "PATCH", "DELETE"):
            self.lose_next_changes -= 1
            return web.Response(
                status=504, text=_GATEWAY_TIMEOUT, content_type="text/html", headers={"Server": "nginx"}
            )
        return response

    def _read_input(self, call: _Call) -> None:
        """The global middleware's view of the input: a JSON body (invalid JSON reads as empty, since Convoy has
        no JSON check), or a form body, over the query string; trimmed (not passwords) and "" made null."""
        request = call.request
        body: dict[str, Any] = {}
        if laravel.is_json_content(request):
            try:
                decoded = json.loads(call.raw_body) if call.raw_body else None
            except (ValueError, UnicodeDecodeError):
                decoded = None
            body = laravel.as_input_array(decoded)
        elif request.content_type == "application/x-www-form-urlencoded" and request.method not in ("GET", "HEAD"):
            body = laravel.parse_php_query(call.raw_body.decode("utf-8", "replace"))
        call.query = laravel.clean_input(laravel.parse_php_query(request.rel_url.raw_query_string))
        call.input = {**call.query, **laravel.clean_input(body)}

    def _authenticate(self, call: _Call) -> None:
        """`auth:sanctum`: the text after the last `Bearer ` up to a comma; `<digits>|<something>` or no `|`."""
        header = call.request.headers.get("Authorization", "")
        position = header.rfind("Bearer ")
        token_text = header[position + 7 :].split(",", 1)[0] if position >= 0 else ""
        if "|" in token_text:
            token_id, secret = token_text.split("|", 1)
            well_formed = token_id.isascii() and token_id.isdigit() and bool(secret)
        else:
            well_formed = bool(token_text)
        token = self._find_token(token_text) if well_formed else None
        if token is None or token.user_id not in self.users:
            raise HttpError(401, "AuthenticationException", _UNAUTHENTICATED)
        token.last_used_at = _now()
        call.token, call.user = token, self.users[token.user_id]

    def _bind_user(self, call: _Call) -> None:
        raw = call.params["user"]
        user_id = _mysql_int(raw)
        user = self.users.get(user_id) if user_id is not None else None
        if user is None:
            raise HttpError(404, "NotFoundHttpException", f"No query results for model [{MODEL}] {raw}")
        call.target = user

    def _require_root_admin(self, call: _Call) -> None:
        assert call.user is not None
        if not call.user.root_admin:
            raise HttpError(403, "AccessDeniedHttpException", "")

    # --- Endpoints -------------------------------------------------------------------------------------------------

    def _index(self, call: _Call) -> web.Response:
        tests = self._filters(call.query.get("filter"))
        rows = [user for user in self.users.values() if all(test(user) for test in tests)]
        window = laravel.resolve_page(
            call.input.get("page"),
            _per_page(call.query),
            default_per_page=DEFAULT_PER_PAGE,
            model_per_page=MODEL_PER_PAGE,
        )
        end = None if window.limit is None else window.offset + window.limit
        page_rows = rows[window.offset : end]
        last = laravel.last_page(len(rows), window.per_page, guard_zero=True)
        links: dict[str, str] = {}
        if window.page > 1:
            links["previous"] = self._page_url(call, window.page - 1)
        if window.page < last:
            links["next"] = self._page_url(call, window.page + 1)
        pagination: dict[str, Any] = {
            "total": len(rows),
            "count": len(page_rows),
            "per_page": window.per_page,
            "current_page": window.page,
            "total_pages": last,
            "links": links or [],  # an empty PHP array: JSON `[]`
        }
        data = [self._transform(user) for user in page_rows]
        return json_response({"data": data, "meta": {"pagination": pagination}})

    def _show(self, call: _Call) -> web.Response:
        assert call.target is not None
        return json_response({"data": self._transform(call.target)})

    def _store(self, call: _Call) -> web.Response:
        data = self._validated(call, self._rules(ignore_id=None, creating=True))
        if data.get("root_admin") is None:
            raise _model_validation_failed("")
        user = SimUser(
            id=self._last_user_id + 1, name=data["name"], email=data["email"], root_admin=_boolean(data["root_admin"])
        )
        user.set_password(laravel.php_string(data["password"]))
        self._insert(user)
        return json_response({"data": self._transform(user)})  # Fractal's respond(): 200, not 201

    def _update(self, call: _Call) -> web.Response:
        """Full replace in a transaction: demoting deletes the user's tokens; a missing root_admin then fails the
        model's validation (500) and rolls the deletion back, so the check comes first here."""
        user = call.target
        assert user is not None
        data = self._validated(call, self._rules(ignore_id=user.id, creating=False))
        if data.get("root_admin") is None:
            raise _model_validation_failed(str(user.id))
        promoted = _boolean(data["root_admin"])
        if user.root_admin and not promoted:
            self._delete_tokens_of(user)  # "revoke API permissions after demotion"
        changed = (user.name, user.email, user.root_admin) != (data["name"], data["email"], promoted)
        user.name, user.email, user.root_admin = data["name"], data["email"], promoted
        if data.get("password") is not None:
            user.set_password(laravel.php_string(data["password"]))
            changed = True
        if changed:
            user.updated_at = _now()
        return json_response({"data": self._transform(user)})

    def _destroy(self, call: _Call) -> web.Response:
        assert call.target is not None
        if self._servers_count(call.target) > 0:
            raise HttpError(400, "BadRequestHttpException", _HAS_SERVERS)
        self._remove_user(call.target)
        return web.Response(status=204)

    def _sso_token(self, call: _Call) -> web.Response:
        """A JWT for the panel's SSO login, valid 15 s. Its signature here is random: only its shape matters."""
        assert call.target is not None
        header = _base64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
        claims = {"iss": self.url, "sub": call.target.uuid, "exp": int(time.time()) + 15}
        token = f"{header}.{_base64url(json.dumps(claims).encode())}.{_base64url(secrets.token_bytes(32))}"
        return json_response({"data": {"user_id": call.target.id, "token": token}})

    # --- Validation ------------------------------------------------------------------------------------------------

    def _rules(self, *, ignore_id: int | None, creating: bool) -> dict[str, list[laravel.Rule]]:
        """StoreUserRequest and UpdateUserRequest. Field order is the order errors come out in."""

        def taken(value: Any) -> bool:
            owner = self._emails.get(value.casefold()) if isinstance(value, str) else None
            return owner is not None and owner != ignore_id

        password_min = laravel.Rule(
            "min",
            lambda value: (
                (len(value) if isinstance(value, (list, dict)) else len(laravel.php_string(value))) >= PASSWORD_MIN
            ),
            placeholders={"min": str(PASSWORD_MIN)},
        )
        # Password::defaults() is a rule object that runs `string` and `min:8` itself.
        password = [laravel.required()] if creating else [laravel.nullable()]
        return {
            "name": [laravel.required(), laravel.string(), laravel.between(1, NAME_MAX)],
            "email": [laravel.required(), laravel.email(), laravel.between(1, NAME_MAX), laravel.unique(taken)],
            "password": [*password, laravel.string(), password_min],
            "root_admin": [laravel.boolean()],
        }

    def _validated(self, call: _Call, rules: dict[str, list[laravel.Rule]]) -> dict[str, Any]:
        failures = laravel.validate(call.input, rules, messages=_MESSAGES, attributes={})
        if failures:
            raise ValidationFailed(failures)
        return {name: call.input[name] for name in rules if name in call.input}

    # --- Listing ---------------------------------------------------------------------------------------------------

    def _filters(self, raw: Any) -> list[Callable[[SimUser], bool]]:
        """spatie/laravel-query-builder 5.8: unknown names are a 400; a comma separates values; an empty value is
        no filter. Columns compare case-insensitively (MySQL's `_ci` collations), so everything is lowercased."""
        if not isinstance(raw, dict):
            return []
        unknown = [name for name in raw if name not in _FILTERS]
        if unknown:
            raise laravel.invalid_query("filter", unknown, _FILTERS)
        tests: list[Callable[[SimUser], bool]] = []
        for name, value in raw.items():
            needles = laravel.filter_needles(value)
            if needles is None:
                continue
            if name == "id":
                ids = {_mysql_int(needle) for needle in needles}
                tests.append(functools.partial(_id_in, ids))
            elif name == "email":
                tests.append(functools.partial(_email_in, set(needles)))
            elif name == "name":
                likes = [laravel.like_test(needle, wildcards=True) for needle in needles]
                tests.append(functools.partial(_name_like, likes))
            else:
                tests.append(_wildcard(value, needles))
        return tests

    def _page_url(self, call: _Call, page: int) -> str:
        """The paginator's url(): the request's path and its whole (cleaned) query, `page` replaced in place."""
        base = str(call.request.url.with_query(None).with_fragment(None)).rstrip("/")
        return f"{base}?{_http_build_query({**call.query, 'page': page})}"

    def _transform(self, user: SimUser) -> dict[str, Any]:
        """UserTransformer. `email_verified_at` is hidden from toArray() but the transformer reads it anyway."""
        verified = user.email_verified_at
        return {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "email_verified_at": _carbon_json(verified) if verified else None,
            "root_admin": user.root_admin,
            "servers_count": self._servers_count(user),
        }

    # --- Rendering -------------------------------------------------------------------------------------------------

    def _render_error(self, request: web.Request, error: HttpError) -> web.Response:
        if not laravel.expects_json(request):
            return self._render_for_browser(request, error)
        if isinstance(error, ValidationFailed):
            return json_response(laravel.validation_body(error.failures), 422)
        # A PHP error that is not an HTTP exception shows only Laravel's generic text.
        message = "Server Error" if error.detail == laravel.GENERIC_SERVER_ERROR else error.detail
        return json_response({"message": message}, error.status, headers=error.headers, pretty=True)

    @staticmethod
    def _render_for_browser(request: web.Request, error: HttpError) -> web.Response:
        """Without `Accept: application/json`: a redirect to the login page for 401, back for 422, else HTML."""
        origin = str(request.url.origin())
        if error.status == 401:
            return web.Response(status=302, headers={"Location": f"{origin}/login"})
        if isinstance(error, ValidationFailed):
            return web.Response(status=302, headers={"Location": request.headers.get("Referer") or origin})
        return laravel.html_error_page(error.status, headers=error.headers)


# --- Laravel, PHP and MySQL details --------------------------------------------------------------------------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _base64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _boolean(value: Any) -> bool:
    """A value that passed the `boolean` rule, as the model's cast stores it."""
    return value in (True, 1, "1")


def _model_validation_failed(key: str) -> HttpError:
    """The model's own `saving` validation: root_admin written as null is not a boolean. It is an HTTP exception
    with status 500, so Laravel shows its message even outside debug mode."""
    errors = json.dumps(
        {"root_admin": [_MESSAGES["boolean"].replace(":attribute", "root admin")]}, separators=(",", ":")
    )
    detail = f"Could not save {MODEL}[{key}]: failed to validate data: {errors}"
    return HttpError(500, "DataValidationException", detail)


def _mysql_int(value: Any) -> int | None:
    """The integer id MySQL compares `value` as, or None when it is a fraction (which matches no id)."""
    text = laravel.php_string(value)
    matched = _MYSQL_NUMBER_PREFIX.match(text)
    number = float(matched.group(0)) if matched else 0.0
    return int(number) if number.is_integer() else None


def _per_page(query: dict[str, Any]) -> str | None:
    """`min($request->query('per_page', 50), 100)` under PHP 8, as the text `resolve_page` reads.

    Absent gives 50 (None here); present but empty is null, which is smaller than 100 and then falsy, so the model's
    15 ("0" here). An array is larger than any number. A non-numeric string is compared with "100" as text: when it
    sorts first it reaches the paginator's arithmetic and throws (500), otherwise 100 wins.
    """
    if "per_page" not in query:
        return None
    raw = query["per_page"]
    if raw is None:
        return "0"
    if isinstance(raw, dict):
        return str(MAX_PER_PAGE)
    number = laravel.php_numeric(raw)
    if number is None:
        if raw.encode() < str(MAX_PER_PAGE).encode():
            raise laravel.server_error("TypeError")
        return str(MAX_PER_PAGE)
    return str(MAX_PER_PAGE) if number > MAX_PER_PAGE else raw


def _wildcard(value: Any, needles: list[str]) -> Callable[[SimUser], bool]:
    """FiltersUserWildcard: `id = v OR email = v OR LOWER(name) LIKE '%v%'`. It interpolates the value into the
    LIKE pattern, so a list (a comma in the value, or `filter[*][]=`) is PHP's "Array to string conversion": a 500."""
    if isinstance(value, dict) or "," in laravel.php_string(value):
        raise laravel.server_error("ErrorException")
    (needle,) = needles
    user_id, like = _mysql_int(needle), laravel.like_test(needle, wildcards=True)
    return lambda user: user.id == user_id or user.email.lower() == needle or like(user.name.lower())


def _http_build_query(params: dict[str, Any]) -> str:
    """PHP's `http_build_query(..., PHP_QUERY_RFC3986)`: nested keys as `a[b]`, nulls left out, all encoded."""
    pairs: list[str] = []

    def add(key: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, dict):
            for inner, item in value.items():
                add(f"{key}[{inner}]", item)
            return
        text = ("1" if value else "0") if isinstance(value, bool) else laravel.php_string(value)
        pairs.append(f"{quote(key, safe='-_.~')}={quote(text, safe='-_.~')}")

    for key, value in params.items():
        add(str(key), value)
    return "&".join(pairs)


# --- By hand -------------------------------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    simulator = ConvoySimulator()
    simulator.record_requests = False
    members = simulator.seed_users(args.users)
    for member in members[: args.servers]:
        simulator.add_server(member.id, f"{member.name}'s server")

    def welcome(url: str) -> Iterator[str]:
        yield f"Convoy simulator on {url} with {len(simulator.users)} users (state is lost on exit)"
        yield f"API key (user {simulator.admin.name}, root admin): {simulator.api_key}"
        yield settings_line("convoy", url, simulator.api_key)
        yield f'Try: curl -H "Authorization: Bearer {simulator.api_key}" -H "Accept: application/json" {url}/{USERS}'

    await serve_until_stopped(simulator, args.host, args.port, welcome)


def _id_in(ids: set[Any], user: SimUser) -> bool:
    return user.id in ids


def _email_in(emails: set[str], user: SimUser) -> bool:
    return user.email.lower() in emails


def _name_like(likes: list[Callable[[str], bool]], user: SimUser) -> bool:
    return any(like(user.name.lower()) for like in likes)
