"""Calagopus (calagopus/panel, Rust/axum) admin API: users.

Quirks handled here (see shared/panels/ctrlpanel-convoy-calagopus.md, section C):
- ids are UUIDs; one that does not parse never reaches the panel;
- the whole Authorization header must be exactly 55 bytes (`Bearer ` and a 48-character key), so a member's key with
  a character too many or too few is refused here, and the panel's "invalid authorization header" is explained;
- `per_page` is 1–100, `search` is an unescaped ILIKE on username or email (`_` and `%` are wildcards, 128
  characters at most), so exact lookups compare on our side; a page past the end reports `total: 0`;
- create needs `admin` and `language` every time; PATCH and DELETE answer `{}`, so an edit reads the user again;
- a 409 says "user with email/username already exists" without naming the field, so we look the values up;
- validation errors arrive wrapped twice, `{"errors": ["{\"errors\":[\"username: ...\"]}"]}`;
- each key carries its own admin permissions, bounded by its owner's; a 403 names the missing one, and
  `key_permissions()` reads them all (`check()` reports which of the users permissions the key lacks).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp
from pydantic import SecretStr

from .base import MIN_PASSWORD_LENGTH, HealthReport, PanelClient, Problems, add_problem
from .errors import (
    N_,
    Conflict,
    Forbidden,
    NotFound,
    PanelError,
    PanelUnavailable,
    Unauthorized,
    UserHasServers,
    ValidationFailed,
)
from .models import Capability, NewUser, PanelKind, PanelUser, UserChanges, UserPage
from .search_cache import UserFilter, substring_narrowing
from .transport import Response, TransportOptions

USERS = "api/admin/users"
ACCOUNT = "api/client/account"
API_KEYS = "api/client/account/api-keys"

KEY_LENGTH = 48
# The admin permissions the bot uses, in the order `check()` reports them.
USER_PERMISSIONS = ("users.read", "users.create", "users.update", "users.delete")

_MAX_PER_PAGE = 100
_MAX_SEARCH = 128
_MAX_LENGTH = 255
_MAX_PASSWORD = 512
_LANGUAGE_LENGTH = (2, 15)
_USERNAME = re.compile(r"[A-Za-z0-9_]{3,15}")
# garde reports "<field>: <message>"; the panel's names for ours.
_FIELD_MESSAGE = re.compile(r"([a-z_][a-z0-9_]*(?:\[\d+\])?): (.+)", re.S)
_OUR_FIELD_NAMES = {"name_first": "first_name", "name_last": "last_name", "role_uuid": "role"}
_MISSING_PERMISSION = re.compile(r"you do not have permission to perform this action: (\S+)")
# What asking for the suspension state an account already has is refused with (CtrlPanel's sentences).
_STATE_CONFLICTS = {
    True: N_("This account is already suspended."),
    False: N_("This account is not suspended, so there is no suspension to lift."),
}

_UNAUTHORIZED = {
    "invalid authorization header": (
        "The panel refused the Authorization header: a Calagopus API key is exactly 48 characters (c7sp_ and 43 "
        "letters or digits); check that the configured key was copied whole, without spaces."
    ),
    "invalid api key": "The panel did not accept the API key: it is wrong, expired or was deleted.",
    "missing authorization": "The panel did not receive an API key.",
}
_FORBIDDEN = {
    "unauthorized": (
        "The API key belongs to an account that is neither a Calagopus admin nor holds a role with admin permissions."
    ),
    "ip address not allowed for this api key": (
        "The API key only works from certain IP addresses, and the bot's is not among them."
    ),
    "account is suspended": "The API key's account is suspended on the panel.",
    "two-factor authentication required": (
        "The API key's account must turn on two-factor authentication before the panel accepts its key."
    ),
    "you cannot grant admin status": (
        "Only a full Calagopus admin may create admins; the API key's account is an admin through a role only."
    ),
    "you cannot assign roles": "Only a full Calagopus admin may give roles; the API key's account is not one.",
    "you cannot change admin status": (
        "Only a full Calagopus admin may change admin rights; the API key's account is an admin through a role only."
    ),
    "you cannot change a user's role": (
        "Only a full Calagopus admin may change roles; the API key's account is not one."
    ),
    "you cannot modify an administrator": (
        "Only a full Calagopus admin may change an admin's account; the API key's account is not one."
    ),
    "you cannot change another user's password": (
        "Only a full Calagopus admin may set another user's password; the API key's account is not one."
    ),
    "you cannot change another user's email": (
        "Only a full Calagopus admin may change another user's email; the API key's account is not one."
    ),
}


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _key_problem(key: str) -> str | None:
    """Why `key` cannot be a Calagopus API key, judged as the panel's 55-byte header rule would, or None."""
    if len(key) != KEY_LENGTH:
        return (
            f"it should be {KEY_LENGTH} characters long (c7sp_ and 43 letters or digits), and this one has {len(key)}"
        )
    if not key.isascii() or not key.isprintable() or " " in key:
        return "it may only contain letters, digits and the underscore of c7sp_"
    return None


def error_messages(body: Any) -> list[str]:
    """The strings of an `{"errors": [...]}` body, with entries that are themselves such a body decoded."""
    errors = body.get("errors") if isinstance(body, dict) else None
    messages: list[str] = []
    for entry in errors if isinstance(errors, list) else []:
        if isinstance(entry, str) and entry.startswith("{"):
            try:
                inner = json.loads(entry)
            except ValueError:
                inner = None
            if isinstance(inner, dict) and isinstance(inner.get("errors"), list):
                messages += error_messages(inner)
                continue
        messages.append(str(entry))
    return messages


def _field_problems(messages: list[str]) -> dict[str, list[str]] | None:
    """Per-field messages when every message is garde's "<field>: <message>", else None."""
    fields: dict[str, list[str]] = {}
    for message in messages:
        matched = _FIELD_MESSAGE.fullmatch(message)
        if matched is None:
            return None
        name = _OUR_FIELD_NAMES.get(matched[1], matched[1])
        fields.setdefault(name, []).append(matched[2])
    return fields or None


class CalagopusClient(PanelClient):
    kind = PanelKind.CALAGOPUS
    display_name = "Calagopus"
    capabilities = frozenset(
        {
            Capability.EXTERNAL_ID,
            Capability.ACCOUNT_FOR_KEY,
            Capability.NAMES,
            Capability.LANGUAGE,
            Capability.PASSWORD,
            Capability.SUSPENSION,
        }
    )
    # The panel allows 359 requests per 30 s per IP (the 360th is refused). 300 in any 60 s (the transport's
    # default window) stays under that in every 30 s, with room for account_for_key and anything else on the host.
    default_rate_limit = 300
    iter_page_size = _MAX_PER_PAGE  # per_page must be 1–100: more is a 400, not a smaller page

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr,
        *,
        session: aiohttp.ClientSession | None = None,
        options: TransportOptions | None = None,
        name: str | None = None,
        default_language: str = "en",
    ) -> None:
        super().__init__(base_url, api_key, session=session, options=options, name=name)
        # Create refuses a body without `language`; this is what a NewUser without one gets.
        self.default_language = default_language

    def _sign(self, method: str, url: str, body: bytes) -> dict[str, str]:
        # A stray newline from a settings file would break the 55-byte rule.
        return {"Authorization": f"Bearer {self._api_key.get_secret_value().strip()}"}

    # --- checking input ---------------------------------------------------------------------------------------

    def check_fields(self, values: dict[str, Any], *, creating: bool) -> Problems:
        """garde's rules as of release 1.1.4 (nothing is trimmed): username 3–15 of `[A-Za-z0-9_]`, names 1–255,
        email and external id at most 255 bytes, password 1–512 on create but 8–512 on update, language 2–15
        characters (the list of languages is the panel's own, so only the panel checks a name)."""
        problems = super().check_fields(values, creating=creating)
        username = values.get("username")
        if username is not None and str(username).strip() and not _USERNAME.fullmatch(str(username)):
            add_problem(
                problems, "username", "The username must be 3 to 15 characters: letters, digits and underscores only."
            )
        for name in ("first_name", "last_name"):
            label = name.replace("_", " ")
            value = values.get(name)
            if (value is None or not str(value).strip()) and (creating or name in values):
                add_problem(problems, name, f"The {label} field is required.")
            elif value is not None and len(str(value)) > _MAX_LENGTH:
                add_problem(problems, name, f"The {label} may not be longer than {_MAX_LENGTH} characters.")
        if len(str(values.get("email") or "").encode()) > _MAX_LENGTH:
            add_problem(problems, "email", f"The email may not be longer than {_MAX_LENGTH} characters.")
        if len(str(values.get("external_id") or "")) > _MAX_LENGTH:
            add_problem(problems, "external_id", f"The external id may not be longer than {_MAX_LENGTH} characters.")
        password = values.get("password")
        if password is not None and str(password).strip():
            low = 1 if creating else MIN_PASSWORD_LENGTH
            if len(str(password)) < low:
                add_problem(problems, "password", f"The password must be at least {low} characters.")
            elif len(str(password)) > _MAX_PASSWORD:
                add_problem(problems, "password", f"The password may not be longer than {_MAX_PASSWORD} characters.")
        language = values.get("language")
        if language is not None and not _LANGUAGE_LENGTH[0] <= len(str(language)) <= _LANGUAGE_LENGTH[1]:
            low, high = _LANGUAGE_LENGTH
            add_problem(problems, "language", f"The language must be a code of {low} to {high} characters, e.g. en.")
        return problems

    def _user_path(self, user_id: str) -> str:
        """The canonical form of a UUID id, or NotFound before any request."""
        try:
            return f"{USERS}/{uuid.UUID(str(user_id).strip())}"
        except ValueError:
            raise NotFound(
                N_("There is no {kind} user with id {id} (ids are UUIDs)."),
                values={"kind": self.display_name, "id": repr(user_id)},
            ) from None

    # --- reading ------------------------------------------------------------------------------------------------

    async def list_users(self, page: int = 1, per_page: int = 50, search: str | None = None) -> UserPage:
        params: dict[str, str | int] = {"page": max(1, page), "per_page": min(max(1, per_page), _MAX_PER_PAGE)}
        term = (search or "").strip()
        if term:
            params["search"] = term
        body = self._expect(await self.transport.request("GET", USERS, params=params))
        return self._page(body)

    def search_narrowing(self, shorter: str, longer: str) -> UserFilter | None:
        """The search is `ILIKE '%term%'` on username or email, with `%`, `_` and `\\` left to Postgres; a term
        over 128 characters is refused by the panel, so it is sent for the panel to say so."""
        if len(longer) > _MAX_SEARCH:
            return None
        return substring_narrowing(shorter, longer, lambda user: (user.username, user.email), special="%_\\")

    async def get_user(self, user_id: str) -> PanelUser:
        response = await self.transport.request("GET", self._user_path(user_id))
        return self._user(self._unwrap(self._expect(response), "user"))

    async def get_user_by_external_id(self, external_id: str) -> PanelUser | None:
        if not external_id or len(external_id) > _MAX_LENGTH:
            return None
        # axum decodes the segment, so an id containing "/" is found through %2F.
        response = await self.transport.request("GET", f"{USERS}/external/{quote(external_id, safe='')}")
        if response.status == 404 and "user not found" in error_messages(response.json_or_none()):
            return None
        return self._user(self._unwrap(self._expect(response), "user"))

    async def find_user(self, query: str) -> PanelUser | None:
        query = query.strip()
        if not query:
            return None
        found = await self._exact(query)
        return found or await self.get_user_by_external_id(query)

    async def _exact(self, value: str, field: str | None = None) -> PanelUser | None:
        """The user whose username or email (or only `field`) is `value`, compared case-insensitively as the panel's
        unique indexes do. The search is a substring match with wildcards, so its hits are only candidates."""
        wanted = value.casefold()
        async for user in self.iter_users(search=value[:_MAX_SEARCH]):
            if field in (None, "username") and user.username.casefold() == wanted:
                return user
            if field in (None, "email") and user.email.casefold() == wanted:
                return user
        return None

    async def account_for_key(self, client_api_key: str) -> PanelUser:
        """The account behind a member's key. The key is used for this one request, never stored or logged."""
        key = client_api_key.strip()
        problem = _key_problem(key)
        if problem:
            raise Unauthorized(
                N_("That does not look like a {kind} API key: {problem}."),
                values={"kind": self.display_name, "problem": problem},
            )
        secret = SecretStr(key)

        def sign(method: str, url: str, body: bytes) -> dict[str, str]:
            return {"Authorization": f"Bearer {secret.get_secret_value()}"}

        response = await self.transport.request("GET", ACCOUNT, signer=sign)
        if response.status == 401:
            raise Unauthorized(N_("The panel did not accept that key: it is wrong, expired or was deleted."))
        if response.status == 403:
            raise Forbidden(N_("The panel refused that key: it only works from certain IP addresses."))
        account = self._unwrap(self._expect(response), "user")
        if not isinstance(account.get("uuid"), str):
            raise PanelUnavailable(N_("The panel's account answer had no uuid."))
        # The account view has no external id; the admin view of the same user has everything.
        return await self.get_user(account["uuid"])

    async def key_permissions(self) -> list[str] | None:
        """The admin permissions the configured key can use: those listed on the key that its owner also holds (an
        admin holds them all, anyone else only their role's). None when the panel will not show the key, which
        takes the `api-keys.read` account permission on the key itself."""
        owner = self._unwrap(self._expect(await self.transport.request("GET", ACCOUNT)), "user")
        key_start = self._api_key.get_secret_value().strip()[:16]
        page = 1
        while True:
            params = {"page": page, "per_page": _MAX_PER_PAGE}
            response = await self.transport.request("GET", API_KEYS, params=params)
            if response.status == 403:
                return None
            listing = self._unwrap(self._expect(response), "api_keys")
            keys = listing.get("data")
            if not isinstance(keys, list) or not keys:
                return None
            for key in keys:
                if isinstance(key, dict) and key.get("key_start") == key_start:
                    return self._effective_permissions(owner, key)
            if page * _MAX_PER_PAGE >= int(listing.get("total") or 0):
                return None
            page += 1

    @staticmethod
    def _effective_permissions(owner: dict[str, Any], key: dict[str, Any]) -> list[str]:
        on_key = [str(p) for p in key.get("admin_permissions") or []]
        if owner.get("admin") is True:
            return sorted(set(on_key))
        role = found if isinstance(found := owner.get("role"), dict) else {}
        held = set(role.get("admin_permissions") or [])
        return sorted({p for p in on_key if p in held})

    # --- writing ------------------------------------------------------------------------------------------------

    async def create_user(self, user: NewUser) -> PanelUser:
        problems = self.check_new_user(user)
        if problems:
            raise ValidationFailed(problems)
        body: dict[str, Any] = {
            "username": user.username,
            "email": user.email,
            "name_first": user.first_name,
            "name_last": user.last_name,
            "admin": user.admin,
            "language": user.language or self.default_language,
        }
        if user.password:
            body["password"] = user.password
        if user.external_id:
            body["external_id"] = user.external_id
        response = await self.transport.request("POST", USERS, json_body=body)
        if response.status == 409:
            raise await self._conflict(body, ignore=None)
        return self._user(self._unwrap(self._expect(response), "user"))

    async def update_user(self, user_id: str, changes: UserChanges) -> PanelUser:
        """Only the fields set are sent. `external_id=None` (or "") clears it; `password=None` leaves the password
        alone, because a null there would remove the member's password login on panels that read it that way."""
        path = self._user_path(user_id)
        problems = self.check_changes(changes)
        if problems:
            raise ValidationFailed(problems)
        wanted = changes.changed()
        body: dict[str, Any] = {}
        for ours, theirs in (
            ("username", "username"),
            ("email", "email"),
            ("first_name", "name_first"),
            ("last_name", "name_last"),
            ("language", "language"),
            ("admin", "admin"),
            ("password", "password"),
        ):
            if wanted.get(ours) is not None:
                body[theirs] = wanted[ours]
        if "external_id" in wanted:
            body["external_id"] = wanted["external_id"] or None
        if not body:
            return await self.get_user(user_id)
        return await self._patch(path, body)

    async def delete_user(self, user_id: str) -> None:
        response = await self.transport.request("DELETE", self._user_path(user_id))
        if response.status == 404 and response.attempts > 1:
            return  # an earlier attempt deleted it and its answer was lost
        self._expect(response)

    async def suspend_user(self, user_id: str, reason: str | None = None) -> PanelUser:
        """Calagopus keeps no reason; a suspended member cannot log in or use their keys."""
        return await self._set_suspended(user_id, suspended=True)

    async def unsuspend_user(self, user_id: str) -> PanelUser:
        return await self._set_suspended(user_id, suspended=False)

    async def _set_suspended(self, user_id: str, *, suspended: bool) -> PanelUser:
        """The panel sets the flag whatever it was. Asking for the state the account is already in is refused here,
        as CtrlPanel refuses it, so staff are not told (nor the audit log) that they suspended someone who was."""
        path = self._user_path(user_id)
        current = await self.get_user(user_id)
        if current.suspended is suspended:
            raise Conflict(_STATE_CONFLICTS[suspended], status=None)
        return await self._patch(path, {"suspended": suspended})

    async def _patch(self, path: str, body: dict[str, Any]) -> PanelUser:
        """PATCH answers `{}`, so the new state is read back."""
        response = await self.transport.request("PATCH", path, json_body=body)
        if response.status == 409:
            raise await self._conflict(body, ignore=path.rsplit("/", 1)[1])
        self._expect(response)
        return self._user(self._unwrap(self._expect(await self.transport.request("GET", path)), "user"))

    async def _conflict(self, sent: dict[str, Any], *, ignore: str | None) -> Conflict:
        """The panel's 409 does not say which value is taken, so look each one up (any but `ignore`'s)."""
        fields: dict[str, list[str]] = {}
        try:
            for name, label in (("username", "username"), ("email", "email")):
                if sent.get(name):
                    owner = await self._exact(str(sent[name]), field=name)
                    if owner is not None and owner.id != ignore:
                        fields[name] = [f"The {label} is already taken by another account."]
            if sent.get("external_id"):
                owner = await self.get_user_by_external_id(str(sent["external_id"]))
                if owner is not None and owner.id != ignore:
                    fields["external_id"] = ["The external id is already taken by another account."]
        except PanelError:
            fields = {}
        if fields:
            return Conflict(N_("That is already taken on the panel."), fields=fields)
        candidates = ", ".join(
            name.replace("_", " ") for name in ("username", "email", "external_id") if sent.get(name)
        )
        return Conflict(
            N_("The panel says one of these is already taken by another account: {candidates}."),
            values={"candidates": candidates},
        )

    # --- answers ------------------------------------------------------------------------------------------------

    async def check(self) -> HealthReport:
        """Reach the panel, then say which of the users permissions the key lacks (when the key may show them)."""
        try:
            page = await self.list_users(page=1, per_page=1)
        except Unauthorized as exc:
            return HealthReport(True, False, f"reachable, but the API key was refused (401): {exc}")
        except Forbidden as exc:
            return HealthReport(True, False, f"reachable, but the API key may not read users ({exc.status}): {exc}")
        except PanelUnavailable as exc:
            return HealthReport(False, None, str(exc))
        except PanelError as exc:
            return HealthReport(True, None, f"reachable, but the answer was unexpected: {exc}")
        detail = f"reachable, key accepted, {page.total} users"
        try:
            held = await self.key_permissions()
        except PanelError:
            held = None
        if held is None:
            detail += "; the key's permissions could not be read (give the key api-keys.read to have them checked)"
        else:
            missing = [p for p in USER_PERMISSIONS if p not in held]
            if missing:
                detail += f"; the key lacks {', '.join(missing)}"
            else:
                detail += f"; the key holds {', '.join(USER_PERMISSIONS)}"
        return HealthReport(True, True, detail, users_total=page.total)

    def _expect(self, response: Response) -> Any:
        if response.status == 200:
            return response.json()
        raise self._error(response)

    def _error(self, response: Response) -> PanelError:
        status = response.status
        if 300 <= status < 400:
            return PanelUnavailable(
                f"The panel redirected us (HTTP {status}); check that the panel URL is its base address.",
                status=status,
            )
        body = response.json_or_none()
        messages = error_messages(body)
        first = messages[0] if messages else ""
        if status == 400:
            return self._bad_request(first, messages, body is None)
        if status == 401:
            if first == "unauthorized":  # the admin middleware: the key is fine, its owner is no admin
                return Forbidden(_FORBIDDEN[first], status=401)
            return Unauthorized(_UNAUTHORIZED.get(first, "The panel did not accept the API key."))
        if status == 403:
            missing = _MISSING_PERMISSION.fullmatch(first)
            if missing:
                return Forbidden(
                    f"The API key lacks the {missing[1]} permission: add it to the key's admin permissions on the "
                    "panel (its owner must hold it too)."
                )
            return Forbidden(_FORBIDDEN.get(first, f"The panel refused this: {first or 'no reason given'}."))
        if status == 404:
            if first == "user not found":
                return NotFound()
            return PanelError(
                "The panel has no such API route (HTTP 404); check that the URL is the panel's base address and "
                "that it runs Calagopus.",
                status=404,
            )
        if status == 405:
            return PanelError("The panel does not accept this request here; is this the right panel kind?", status=405)
        if status == 409:
            return Conflict(N_("That is already taken on the panel."))
        if body is None:
            return PanelUnavailable(f"The panel answered HTTP {status} with something that is not JSON.", status=status)
        return PanelError(f"The panel answered HTTP {status}: {first or 'no reason given'}.", status=status)

    def _bad_request(self, first: str, messages: list[str], not_json: bool) -> PanelError:
        if first == "user has servers, cannot delete":
            return UserHasServers()
        if first == "invalid user uuid":
            return NotFound(f"There is no {self.display_name} user with that id (ids are UUIDs).", status=400)
        if first.startswith("invalid relation"):
            return ValidationFailed({"role": ["That role does not exist on the panel."]}, status=400)
        fields = _field_problems(messages)
        if fields:
            return ValidationFailed(fields, status=400)
        if first.startswith("invalid payload"):
            return PanelError(
                f"The panel could not read the request ({first}); it may run a version this bot does not know.",
                status=400,
            )
        if not_json:
            return PanelError("The panel refused the request's query as malformed.", status=400)
        return PanelError(f"The panel refused the request: {first or 'no reason given'}.", status=400)

    @staticmethod
    def _unwrap(body: Any, key: str) -> dict[str, Any]:
        inner = body.get(key) if isinstance(body, dict) else None
        if not isinstance(inner, dict):
            raise PanelUnavailable(N_("The panel's answer was not in the documented shape."))
        return inner

    def _page(self, body: Any) -> UserPage:
        listing = self._unwrap(body, "users")
        data = listing.get("data")
        if not isinstance(data, list):
            raise PanelUnavailable(N_("The panel's user list was not in the documented shape."))
        items = [self._user(item) for item in data]
        per_page = int(listing.get("per_page") or len(items) or 1)
        total = int(listing.get("total") or 0)
        return UserPage(
            items=items,
            page=int(listing.get("page") or 1),
            per_page=per_page,
            total=total,
            total_pages=max(1, -(-total // per_page)),
        )

    def _user(self, data: Any) -> PanelUser:
        if not isinstance(data, dict) or not isinstance(data.get("uuid"), str):
            raise PanelUnavailable(N_("The panel's answer was not in the documented shape."))
        role = data.get("role")
        totp = data.get("totp_enabled")
        suspended = data.get("suspended")
        return PanelUser(
            id=data["uuid"],
            uuid=data["uuid"],
            username=data.get("username", ""),
            email=data.get("email", ""),
            first_name=data.get("name_first"),
            last_name=data.get("name_last"),
            admin=data.get("admin") is True,
            language=data.get("language"),
            two_factor=None if totp is None else bool(totp),
            external_id=data.get("external_id"),
            created_at=_parse_time(data.get("created")),
            role=role.get("name") if isinstance(role, dict) else None,
            suspended=None if suspended is None else bool(suspended),
            raw=dict(data),
        )
