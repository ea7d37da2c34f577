"""Convoy (ConvoyPanel/panel) application API: users.

How Convoy's users map onto PanelUser: a Convoy user has a `name` (free text up to 191 characters, not unique) and
no username, so `NewUser.username` is written to `name` and `PanelUser.username` is read from it. Convoy has no
first or last name, language, external id, suspension, credits or server limit. `PanelUser.servers_count` comes
from `servers_count`, which every answer carries; `email_verified_at` stays in `raw`; the uuid is not exposed.

Quirks handled here (see shared/panels/ctrlpanel-convoy-calagopus.md, section b):
- the key is a Sanctum token `<id>|<40 characters>` of a root admin; demoting that admin deletes all their tokens;
- answers are `{"data": ...}`; lists carry Fractal's `meta.pagination`, whose `links` may be `[]` or `{}`;
- `per_page` is capped at 100 by the panel, so we never ask for more and trust the page size it reports;
- `filter[email]` and `filter[id]` are exact, `filter[name]` is a partial match (a comma means OR, `%` and `_` are
  wildcards), and `filter[*]` is the panel's own search box (id or email exactly, or part of the name), which
  answers 500 to a value with a comma;
- create needs a password and answers 200; `root_admin` must always be sent, or the panel fails with a 500;
- PUT replaces name, email and root_admin together, so an edit reads the user first and sends the rest back;
- deleting a user who owns servers is a 400;
- there is no endpoint that says who owns a key, so members link through staff approval;
- the application API has no throttle at all: our client-side limit is the only thing pacing a bulk job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from .base import MIN_PASSWORD_LENGTH, PanelClient, Problems, add_problem, walk_pages
from .errors import (
    N_,
    NO_SUCH_ID,
    Conflict,
    Forbidden,
    NotFound,
    NotSupported,
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

MAX_PER_PAGE = 100
_MAX_LENGTH = 191
_MODEL_NOT_FOUND = "No query results for model"
_HAS_SERVERS = "servers still associated"
_TAKEN = "has already been taken"
# The panel's field names, as we call them in NewUser and UserChanges.
_OUR_FIELD: dict[str, str] = {"name": "username", "root_admin": "admin"}


class ConvoyClient(PanelClient):
    kind = PanelKind.CONVOY
    display_name = "Convoy"
    capabilities = frozenset({Capability.PASSWORD, Capability.SERVERS_COUNT})
    # Convoy does not throttle its application API; this keeps a bulk job from hammering a panel that never says
    # "slow down".
    default_rate_limit = 240
    trims_input = True
    iter_page_size = MAX_PER_PAGE  # the panel's cap: asking for more still gets 100
    # What a UserChanges may carry that Convoy has nowhere to store, and how to say so.
    _unstorable: ClassVar[dict[str, str]] = {
        "first_name": "store first or last names",
        "last_name": "store first or last names",
        "language": "store a language per user",
        "external_id": "store an external id",
    }

    # --- checking input ---------------------------------------------------------------------------------------

    def check_fields(self, values: dict[str, Any], *, creating: bool) -> Problems:
        """Store/UpdateUserRequest: name and email required, 1–191 characters; a password (Laravel's default
        Password rule: 8 characters or more) required on create."""
        problems = super().check_fields(values, creating=creating)
        password = values.get("password")
        if creating and not password:
            # Convoy has no "choose your password" email, so the panel requires one.
            add_problem(problems, "password", "The password field is required.")
        elif password is not None and str(password).strip() and len(str(password)) < MIN_PASSWORD_LENGTH:
            add_problem(problems, "password", f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
        for ours, theirs in (("username", "name"), ("email", "email")):
            if len(str(values.get(ours) or "")) > _MAX_LENGTH:
                add_problem(problems, ours, f"The {theirs} field must be between 1 and {_MAX_LENGTH} characters.")
        return problems

    # --- reading ------------------------------------------------------------------------------------------------

    async def list_users(self, page: int = 1, per_page: int = 50, search: str | None = None) -> UserPage:
        params: dict[str, str | int] = {"page": max(1, page), "per_page": min(max(1, per_page), MAX_PER_PAGE)}
        term = (search or "").strip()
        if term:
            # The search box's filter fails on a comma; the name filter takes one as "or".
            params["filter[name]" if "," in term else "filter[*]"] = term
        return await self._get_page(params)

    def search_narrowing(self, shorter: str, longer: str) -> UserFilter | None:
        """The search box's filter matches an id or an email exactly, or part of the name; only the name part is
        a substring match, so only a longer term that can be neither an email (it has no `@`) nor an id (MySQL
        reads a text as the number it starts with, so it starts with a letter) narrows. `%` and `_` are
        wildcards, a comma switches to the name filter's "or", and true/false are read as booleans."""
        if not longer[:1].isascii() or not longer[:1].isalpha() or "@" in longer or longer in ("true", "false"):
            return None
        if shorter in ("true", "false"):
            return None
        return substring_narrowing(shorter, longer, lambda user: (user.username,), special=",%_\\")

    async def get_user(self, user_id: str) -> PanelUser:
        response = await self.transport.request("GET", self._user_path(user_id))
        return self._user(self._expect(response, 200))

    async def find_user(self, query: str) -> PanelUser | None:
        """The user whose email or name is exactly `query`, compared case-insensitively.

        Names are not unique on Convoy: when several users have the name, this raises NotFound asking for the
        email or id, rather than picking one of them.
        """
        query = query.strip()
        if not query:
            return None
        wanted = query.casefold()
        if "@" in query:
            async for user in self._filtered("email", query):
                if user.email.casefold() == wanted:
                    return user
        named = [user async for user in self._filtered("name", query) if user.username.casefold() == wanted]
        if len(named) > 1:
            raise NotFound(
                N_(
                    "{count} users on the {kind} panel are named {name}; give the account's email address or id "
                    "instead."
                ),
                values={"count": len(named), "kind": self.display_name, "name": repr(query)},
            )
        return named[0] if named else None

    def _filtered(self, field: str, value: str) -> AsyncIterator[PanelUser]:
        return walk_pages(
            lambda page: self._get_page({"page": page, "per_page": self.iter_page_size, f"filter[{field}]": value})
        )

    async def _get_page(self, params: dict[str, str | int]) -> UserPage:
        return self._page(self._expect(await self.transport.request("GET", USERS, params=params), 200))

    async def account_for_key(self, client_api_key: str) -> PanelUser:
        raise NotSupported(
            N_(
                "{kind} panels cannot tell who owns an API key, so accounts on this panel are linked through a "
                "request that staff approve."
            ),
            values={"kind": self.display_name},
        )

    # --- writing ------------------------------------------------------------------------------------------------

    async def create_user(self, user: NewUser) -> PanelUser:
        """Create the account. First and last names are ignored: Convoy's one name field holds the username."""
        if user.language is not None:
            raise self.not_supported(self._unstorable["language"])
        if user.external_id is not None:
            raise self.not_supported(self._unstorable["external_id"])
        body: dict[str, Any] = {"name": user.username, "email": user.email, "root_admin": user.admin}
        if user.password is not None:
            body["password"] = user.password
        response = await self.transport.request("POST", USERS, json_body=body)
        # 200 is read from Fractal's respond() default, not seen on a running panel: a 201 is as good.
        return self._user(self._expect(response, 200, 201))

    async def update_user(self, user_id: str, changes: UserChanges) -> PanelUser:
        """Read the user, then PUT name, email and root_admin with the changes applied (the panel needs all three).

        Taking root admin away from a user deletes every API key they own: if that user owns the bot's key, the
        bot's next request is refused with 401. PUT is sent again after a 5xx, which is safe for a full replace.
        """
        unstorable = sorted(changes.model_fields_set & self._unstorable.keys())
        if unstorable:
            raise self.not_supported(self._unstorable[unstorable[0]])
        current = await self.get_user(user_id)
        if changes.is_empty():
            return current
        wanted = {name: value for name, value in changes.changed().items() if value is not None}
        body: dict[str, Any] = {
            "name": wanted.get("username", current.username),
            "email": wanted.get("email", current.email),
            "root_admin": wanted.get("admin", current.admin),
        }
        if "password" in wanted:
            body["password"] = wanted["password"]
        response = await self.transport.request("PUT", self._user_path(user_id), json_body=body)
        return self._user(self._expect(response, 200))

    async def delete_user(self, user_id: str) -> None:
        response = await self.transport.request("DELETE", self._user_path(user_id))
        if response.status == 404 and response.attempts > 1 and self._is_missing_user(response):
            return  # an earlier attempt deleted it and its answer was lost
        self._expect(response, 204)

    def _user_path(self, user_id: str) -> str:
        # MySQL reads "1abc" as 1, so anything but digits could reach another user.
        text = str(user_id)
        if not (text.isascii() and text.isdigit()):
            raise NotFound(NO_SUCH_ID, values={"kind": self.display_name, "id": repr(text)})
        return f"{USERS}/{text}"

    # --- answers ------------------------------------------------------------------------------------------------

    def _expect(self, response: Response, *statuses: int) -> Any:
        if response.status in statuses:
            return None if response.status == 204 else response.json()
        raise self._error(response)

    @staticmethod
    def _is_missing_user(response: Response) -> bool:
        body = response.json_or_none()
        return isinstance(body, dict) and str(body.get("message", "")).startswith(_MODEL_NOT_FOUND)

    def _error(self, response: Response) -> PanelError:
        status = response.status
        if 300 <= status < 400:
            return PanelUnavailable(
                f"The panel redirected us (HTTP {status}); check that the panel URL is its base address.",
                status=status,
            )
        body = response.json_or_none()
        if not isinstance(body, dict):
            return PanelUnavailable(f"The panel answered HTTP {status} with something that is not JSON.", status=status)
        message = str(body.get("message") or "")
        if status == 401:
            return Unauthorized(
                "The panel did not accept the API key: it is wrong, or it was deleted (Convoy deletes a user's keys "
                "when they stop being a root admin)."
            )
        if status == 403:
            return Forbidden("The API key belongs to an account that is not a root admin on the panel.")
        if status == 404:
            if message.startswith(_MODEL_NOT_FOUND):
                return NotFound()
            return PanelError(
                "The panel has no such API route; check that the URL is the Convoy panel's base address.", status=404
            )
        if status == 422:
            return self._validation(body.get("errors"))
        if status == 400 and _HAS_SERVERS in message:
            return UserHasServers()
        if status == 405:
            return PanelError("The panel does not accept this request here; is this the right panel kind?", status=405)
        return PanelError(message or f"The panel answered HTTP {status}.", status=status)

    @staticmethod
    def _validation(errors: Any) -> ValidationFailed:
        fields: dict[str, list[str]] = {}
        if isinstance(errors, dict):
            for field, messages in errors.items():
                texts = messages if isinstance(messages, list) else [messages]
                fields.setdefault(_OUR_FIELD.get(str(field), str(field)), []).extend(str(text) for text in texts)
        texts = [text for messages in fields.values() for text in messages]
        if texts and all(_TAKEN in text for text in texts):
            return Conflict(N_("That is already taken on the panel."), fields=fields, status=422)
        return ValidationFailed(fields)

    def _page(self, body: Any) -> UserPage:
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise PanelUnavailable(N_("The panel's user list was not in the documented shape."))
        meta = body.get("meta")
        pagination = meta.get("pagination") if isinstance(meta, dict) else None
        pagination = pagination if isinstance(pagination, dict) else {}
        items = [self._attributes_to_user(item) for item in body["data"]]
        return UserPage(
            items=items,
            page=int(pagination.get("current_page") or 1),
            per_page=int(pagination.get("per_page") or len(items) or 1),
            total=int(pagination.get("total", len(items))),
            total_pages=int(pagination.get("total_pages") or 1),
        )

    def _user(self, body: Any) -> PanelUser:
        if not isinstance(body, dict):
            raise PanelUnavailable(N_("The panel's answer was not in the documented shape."))
        return self._attributes_to_user(body.get("data"))

    @staticmethod
    def _attributes_to_user(data: Any) -> PanelUser:
        if not isinstance(data, dict) or "id" not in data:
            raise PanelUnavailable(N_("The panel's answer was not in the documented shape."))
        servers = data.get("servers_count")
        return PanelUser(
            id=str(data["id"]),
            username=str(data.get("name") or ""),
            email=str(data.get("email") or ""),
            admin=bool(data.get("root_admin", False)),
            servers_count=servers if isinstance(servers, int) and not isinstance(servers, bool) else None,
            raw=dict(data),
        )
