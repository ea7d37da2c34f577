"""Pterodactyl application API v1 (and Pelican, its fork): users.

Quirks handled here (see shared/panels/pterodactyl-pelican.md):
- filters are case-insensitive substring matches where `,` means OR and `%`/`_` are wildcards, so an exact lookup
  filters and then compares on our side;
- PATCH requires email, username and (Pterodactyl only) both names on every call, so a one-field change sends the
  rest back as read just before;
- `links` in pagination is `{}` or `[]` and drops our query, so we build page URLs ourselves;
- errors are JSON only with `Accept: application/json` (the transport always sends it);
- Pelican has no names, renamed `2fa` to `2fa_enabled`, and its account endpoint returns a uuid but no id.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import SecretStr

from .base import PanelClient, Problems, add_problem, walk_pages
from .errors import (
    N_,
    NO_SUCH_ID,
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
from .transport import Response

USERS = "api/application/users"
ACCOUNT = "api/client/account"

_USERNAME = re.compile(r"^[a-z0-9][\w.-]+[a-z0-9]$", re.ASCII)
_USERNAME_MESSAGE = (
    "The username must start and end with alpha-numeric characters and contain only letters, numbers, dashes, "
    "underscores, and periods."
)
_MAX_NAME_LENGTH = 191

# Application keys must never be handed to the client API as "proof": they would prove nothing about a member.
_APPLICATION_KEY_PREFIXES = ("ptla_", "papp_")

_FRIENDLY_403 = {
    "This account does not have permission to access the API.": (
        "The API key belongs to an account that is not a root admin on the panel."
    ),
    "This action is unauthorized.": "The API key lacks the Users permission needed for this (read or read & write).",
}


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


class PterodactylClient(PanelClient):
    kind = PanelKind.PTERODACTYL
    display_name = "Pterodactyl"
    capabilities = frozenset(
        {
            Capability.EXTERNAL_ID,
            Capability.ACCOUNT_FOR_KEY,
            Capability.NAMES,
            Capability.LANGUAGE,
            Capability.PASSWORD,
            Capability.SERVERS_COUNT,
        }
    )
    default_rate_limit = 240
    password_setup = N_("No password was set: the panel emails {email} a link to choose one.")
    # The panel takes any per_page (no maximum, nothing validated). 500 users is a few hundred kB of JSON that a
    # panel builds in well under a second (no includes are asked for when walking); much larger pages make PHP's
    # transformer and the database slow enough to meet proxies' timeouts, and fewer, larger pages matter when the
    # whole rate limit is 240 (Pelican 256) requests a minute.
    iter_page_size = 500
    # Fields PATCH insists on every time.
    required_on_update: ClassVar[tuple[str, ...]] = ("email", "username", "first_name", "last_name")
    # Pterodactyl's Username rule: letters, digits, - _ . inside, alphanumeric at both ends, 3 characters or more.
    username_format: ClassVar[bool] = True
    # The most characters an email, username or external id may have (Pelican's columns are wider).
    max_length: ClassVar[int] = 191
    trims_input = True
    # Characters a filter value does not match as themselves: `,` means "or" in both; Pterodactyl's query builder
    # (5.x) also leaves LIKE's `%`, `_` and `\` to the database, Pelican's (6.x) escapes them.
    filter_specials: ClassVar[str] = ",%_\\"

    # --- checking input ---------------------------------------------------------------------------------------

    def check_fields(self, values: dict[str, Any], *, creating: bool) -> Problems:
        """StoreUserRequest/UpdateUserRequest: email and username (and Pterodactyl's names) required, each at most
        `max_length` characters, as is the external id; Pterodactyl's username format. Passwords have no rule."""
        problems = super().check_fields(values, creating=creating)
        high = self.max_length
        username = values.get("username")
        if username is not None and self.username_format and not _USERNAME.match(str(username).lower()):
            add_problem(problems, "username", _USERNAME_MESSAGE)
        for name in ("email", "username"):
            if len(str(values.get(name) or "")) > high:
                add_problem(problems, name, f"The {name} must be between 1 and {high} characters.")
        for name in ("first_name", "last_name") if Capability.NAMES in self.capabilities else ():
            label = name.replace("_", " ")
            value = values.get(name)
            if value is None and (creating or name in values):
                add_problem(problems, name, f"The {label} field is required.")
            elif value is not None and len(str(value)) > _MAX_NAME_LENGTH:
                add_problem(problems, name, f"The {label} must be between 1 and {_MAX_NAME_LENGTH} characters.")
        if len(str(values.get("external_id") or "")) > high:
            add_problem(problems, "external_id", f"The external id may not be greater than {high} characters.")
        return problems

    # --- reading ------------------------------------------------------------------------------------------------

    async def list_users(self, page: int = 1, per_page: int = 50, search: str | None = None) -> UserPage:
        params: dict[str, str | int] = {"page": max(1, page), "per_page": max(1, per_page)}
        term = (search or "").strip()
        if term:
            # One filter only: several filters AND together. An address searches emails, anything else usernames.
            params["filter[email]" if "@" in term else "filter[username]"] = term
        body = self._expect(await self.transport.request("GET", USERS, params=params), 200)
        return self._page(body)

    async def sweep_page(self, page: int, *, servers: bool = False) -> UserPage:
        """`include=servers` only when a role rule counts servers: it makes each page heavier for the panel."""
        if not servers:
            return await super().sweep_page(page)
        params: dict[str, str | int] = {"page": max(1, page), "per_page": self.iter_page_size, "include": "servers"}
        return self._page(self._expect(await self.transport.request("GET", USERS, params=params), 200))

    def search_narrowing(self, shorter: str, longer: str) -> UserFilter | None:
        """`list_users` filters one column by substring: emails for a term with an `@`, usernames otherwise. The
        words `true` and `false` are read as booleans by the query builder, so they never narrow."""
        if {shorter, longer} & {"true", "false"} or (shorter and ("@" in shorter) != ("@" in longer)):
            return None
        if "@" in longer:
            return substring_narrowing(shorter, longer, lambda user: (user.email,), special=self.filter_specials)
        return substring_narrowing(shorter, longer, lambda user: (user.username,), special=self.filter_specials)

    async def get_user(self, user_id: str) -> PanelUser:
        if not str(user_id).isdigit():
            raise NotFound(NO_SUCH_ID, values={"kind": self.display_name, "id": repr(user_id)})
        response = await self.transport.request("GET", f"{USERS}/{user_id}", params={"include": "servers"})
        return self._user(self._expect(response, 200))

    async def get_user_by_external_id(self, external_id: str) -> PanelUser | None:
        # The route takes one path segment, so an id containing "/" can never be looked up by it.
        if not external_id or "/" in external_id:
            return None
        path = f"{USERS}/external/{quote(external_id, safe='')}"
        response = await self.transport.request("GET", path, params={"include": "servers"})
        if response.status == 404:
            return None
        user = self._user(self._expect(response, 200))
        # MySQL's default collation compares case-insensitively, so `WHMCS-42` finds `Whmcs-42`: not the same id.
        return user if user.external_id == external_id else None

    def _filtered(self, field: str, value: str, *, include: str | None = None) -> AsyncIterator[PanelUser]:
        async def fetch(page: int) -> UserPage:
            params: dict[str, str | int] = {"page": page, "per_page": self.iter_page_size, f"filter[{field}]": value}
            if include:
                params["include"] = include
            return self._page(self._expect(await self.transport.request("GET", USERS, params=params), 200))

        return walk_pages(fetch)

    async def find_user(self, query: str) -> PanelUser | None:
        query = query.strip()
        if not query:
            return None
        wanted = query.casefold()
        if "@" in query:
            async for user in self._filtered("email", query, include="servers"):
                if user.email.casefold() == wanted:
                    return user
        # Pelican has no username format, so `@` may be part of a username too; Pterodactyl's rule forbids it.
        if "@" not in query or not self.username_format:
            async for user in self._filtered("username", query, include="servers"):
                if user.username.casefold() == wanted:
                    return user
        return await self.get_user_by_external_id(query)

    async def account_for_key(self, client_api_key: str) -> PanelUser:
        key = client_api_key.strip()
        if key.startswith(_APPLICATION_KEY_PREFIXES):
            raise Forbidden(N_("That is an application API key; create a client API key on your account page instead."))
        if not key or len(key) > 255 or any(ch.isspace() for ch in key):
            raise Unauthorized(N_("That does not look like an API key from the panel's account page."))
        secret = SecretStr(key)

        def sign(method: str, url: str, body: bytes) -> dict[str, str]:
            return {"Authorization": f"Bearer {secret.get_secret_value()}"}

        response = await self.transport.request("GET", ACCOUNT, signer=sign)
        if response.status == 401:
            raise Unauthorized(N_("The panel did not accept that key: it is wrong, revoked or expired."))
        if response.status == 403:
            raise Forbidden(
                "The panel refused that key: it is an application key, or it only works from certain IP addresses."
            )
        attributes = self._attributes(self._expect(response, 200))
        return await self._account_owner(attributes)

    async def _account_owner(self, attributes: dict[str, Any]) -> PanelUser:
        if "id" not in attributes:
            raise PanelUnavailable(N_("The panel's account answer had no user id."))
        return await self.get_user(str(attributes["id"]))

    # --- writing ------------------------------------------------------------------------------------------------

    async def create_user(self, user: NewUser) -> PanelUser:
        body: dict[str, Any] = {
            "email": user.email,
            "username": user.username,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "root_admin": user.admin,
        }
        self._add_optional(body, password=user.password, language=user.language, external_id=user.external_id)
        response = await self.transport.request("POST", USERS, json_body=body)
        return self._user(self._expect(response, 201))

    async def update_user(self, user_id: str, changes: UserChanges) -> PanelUser:
        current = await self.get_user(user_id)
        if changes.is_empty():
            return current
        wanted = changes.changed()
        body: dict[str, Any] = {name: wanted.get(name, getattr(current, name)) for name in self.required_on_update}
        for name in ("password", "language", "external_id"):
            if name in wanted:
                body[name] = wanted[name]
        if "admin" in wanted:
            body["root_admin"] = wanted["admin"]
        response = await self.transport.request("PATCH", f"{USERS}/{user_id}", json_body=body)
        updated = self._user(self._expect(response, 200))
        # The PATCH answer has no servers include; keep the count we read a moment ago.
        return updated.model_copy(update={"servers_count": current.servers_count})

    async def delete_user(self, user_id: str) -> None:
        if not str(user_id).isdigit():
            raise NotFound(NO_SUCH_ID, values={"kind": self.display_name, "id": repr(user_id)})
        response = await self.transport.request("DELETE", f"{USERS}/{user_id}")
        if response.status == 404 and response.attempts > 1:
            return  # an earlier attempt deleted it and its answer was lost
        self._expect(response, 204)

    @staticmethod
    def _add_optional(body: dict[str, Any], **values: Any) -> None:
        body.update({name: value for name, value in values.items() if value is not None})

    # --- answers ------------------------------------------------------------------------------------------------

    def _expect(self, response: Response, status: int) -> Any:
        if response.status == status:
            return response.json() if status != 204 else None
        if 200 <= response.status < 300:
            response.json()  # a success we cannot read: the transport's words say whether a change may have happened
        raise self._error(response)

    def _error(self, response: Response) -> PanelError:
        status = response.status
        if 300 <= status < 400:
            return PanelUnavailable(
                f"The panel redirected us (HTTP {status}); check that the panel URL is its base address.",
                status=status,
            )
        body = response.json_or_none()
        errors = body.get("errors") if isinstance(body, dict) else None
        entries = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
        details = [str(e.get("detail", "")) for e in entries]
        detail = details[0] if details else ""
        codes = {str(e.get("code", "")) for e in entries}
        if status == 401:
            return Unauthorized()
        if status == 403:
            if body == []:
                return Forbidden("The panel does not let the API delete a root admin.")
            return Forbidden(_FRIENDLY_403.get(detail, detail or "The API key may not do this."))
        if status == 404:
            return NotFound()
        if status == 422:
            return self._validation(entries)
        if status == 400:
            return self._bad_request(codes, detail)
        if status == 405:
            return PanelError("The panel does not accept this request here; is this the right panel kind?", status=405)
        if body is None:
            return PanelUnavailable(f"The panel answered HTTP {status} with something that is not JSON.", status=status)
        return PanelError(detail or f"The panel answered HTTP {status}.", status=status)

    @staticmethod
    def _bad_request(codes: set[str], detail: str) -> PanelError:
        """400 covers unrelated things (spec 4.1): the panel refusing to act on an account as it stands
        (DisplayException), 2FA enforcement, and requests it could not read (bad JSON, unknown filter or sort),
        which are our mistakes and must not reach staff as "already taken"."""
        if "DisplayException" in codes:
            if "servers" in detail:
                return UserHasServers()
            if "your own user account" in detail:
                return PanelError("The panel will not delete the account that owns the bot's API key.", status=400)
            return Conflict(detail or N_("The panel refused to do that to this account."), status=400)
        if "TwoFactorAuthRequiredException" in codes:
            return Forbidden("The panel requires two-factor authentication on the API key's account.", status=400)
        return PanelError(f"The panel could not read our request: {detail or 'HTTP 400'}", status=400)

    @staticmethod
    def _validation(entries: list[dict[str, Any]]) -> ValidationFailed:
        fields: dict[str, list[str]] = {}
        rules: set[str] = set()
        for entry in entries:
            meta = found if isinstance(found := entry.get("meta"), dict) else {}
            field = str(meta.get("source_field") or "input")
            rules.add(str(meta.get("rule") or ""))
            # The username rule's message carries a line break and 16 spaces from the panel's PHP source.
            fields.setdefault(field, []).append(re.sub(r"\s+", " ", str(entry.get("detail", ""))).strip())
        if rules == {"unique"}:
            return Conflict(N_("That is already taken on the panel."), fields=fields, status=422)
        return ValidationFailed(fields)

    def _page(self, body: Any) -> UserPage:
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise PanelUnavailable(N_("The panel's user list was not in the documented shape."))
        pagination = (body.get("meta") or {}).get("pagination") or {}
        items = [self._user(item) for item in body["data"]]
        per_page = int(pagination.get("per_page") or len(items) or 1)
        return UserPage(
            items=items,
            page=int(pagination.get("current_page") or 1),
            per_page=per_page,
            total=int(pagination.get("total", len(items))),
            total_pages=int(pagination.get("total_pages") or 1),
        )

    @staticmethod
    def _attributes(body: Any) -> dict[str, Any]:
        attributes = body.get("attributes") if isinstance(body, dict) else None
        if not isinstance(attributes, dict):
            raise PanelUnavailable(N_("The panel's answer was not in the documented shape."))
        return attributes

    def _user(self, body: Any) -> PanelUser:
        a = self._attributes(body)
        servers = (a.get("relationships") or {}).get("servers")
        servers_count = (
            len(servers["data"]) if isinstance(servers, dict) and isinstance(servers.get("data"), list) else None
        )
        two_factor = a.get("2fa_enabled", a.get("2fa"))
        raw = {k: v for k, v in a.items() if k != "relationships"}
        return PanelUser(
            id=str(a["id"]),
            uuid=a.get("uuid"),
            username=a.get("username", ""),
            email=a.get("email", ""),
            first_name=a.get("first_name"),
            last_name=a.get("last_name"),
            admin=bool(a.get("root_admin", a.get("admin", False))),
            language=a.get("language"),
            two_factor=None if two_factor is None else bool(two_factor),
            external_id=a.get("external_id"),
            created_at=_parse_time(a.get("created_at")),
            updated_at=_parse_time(a.get("updated_at")),
            servers_count=servers_count,
            raw=raw,
        )


class PelicanClient(PterodactylClient):
    """Pelican: same routes; no names, admin only through roles, and an account endpoint without an id."""

    kind = PanelKind.PELICAN
    display_name = "Pelican"
    capabilities = PterodactylClient.capabilities - {Capability.NAMES}
    default_rate_limit = 256
    required_on_update = ("email", "username")
    username_format = False
    max_length = 255
    filter_specials = ","

    async def create_user(self, user: NewUser) -> PanelUser:
        if user.admin:
            raise self.not_supported("make an admin through the API; give the account the root admin role on the panel")
        body: dict[str, Any] = {"email": user.email, "username": user.username}
        self._add_optional(body, password=user.password, language=user.language, external_id=user.external_id)
        response = await self.transport.request("POST", USERS, json_body=body)
        return self._user(self._expect(response, 201))

    async def update_user(self, user_id: str, changes: UserChanges) -> PanelUser:
        wanted = changes.model_fields_set
        if "admin" in wanted:
            raise self.not_supported("change admin rights through the API; use the panel's roles")
        if wanted & {"first_name", "last_name"}:
            raise self.not_supported("store first or last names")
        return await super().update_user(user_id, changes)

    async def _account_owner(self, attributes: dict[str, Any]) -> PanelUser:
        uuid = attributes.get("uuid")
        if not uuid:
            raise PanelUnavailable(N_("The panel's account answer had no uuid."))
        async for user in self._filtered("uuid", str(uuid)):
            if user.uuid == uuid:
                return await self.get_user(user.id)
        raise NotFound(N_("The key's account was not found through the application API."))
