"""CtrlPanel (0.9.x to 1.2.0): users, credits, server limits, suspension, and the Discord account a user linked.

Quirks handled here (see shared/panels/ctrlpanel-convoy-calagopus.md, section a):
- two answer styles: raw Eloquent models and paginators before 1.2.0, `{"data": ...}` resources in 1.2.0. Each
  answer is parsed by its shape, so both always parse; the version only decides what we *send*. It is given as
  `version=` or learnt once from one probe (`include=roles` is refused by 0.9, 1.2.0 answers with `meta`, and 1.1's
  raw models show credits as a JSON integer of thousandths where 0.9/1.0 show a float of credits);
- 1.1's increment and decrement add the amount to the thousandths column unconverted (read from its source, not
  seen running), so on 1.1 credits change through an update carrying the new balance, which the model's mutator
  converts; server limits still use increment/decrement there;
- 1.2.0 requires `role_id` on create: `default_role_id=` if given, else the least powerful role any non-admin user
  holds (on a stock panel, "User"), found once;
- before 1.2.0 `GET /users/{id}` (and every write) also takes a *Discord* user id. Ids are checked to be panel-sized
  and answers to carry the id asked for; a member's account is found through the `discordUser` include instead;
- update needs name and email every time (1.2.0), so a one-field change sends both back as read just before;
- filters are case-insensitive substrings where `,` is OR and the word `false` matches everyone, so lookups compare
  on our side and never filter on `suspended`;
- suspend/unsuspend of an account already in that state is a 422 before 1.2.0 and a 400 `{"error"}` in 1.2.0;
- 60 requests a minute per IP, and from 1.0.3 a 429 is an HTML page (the transport waits either out).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import aiohttp
from pydantic import SecretStr

from .base import MIN_PASSWORD_LENGTH, PanelClient, Problems, add_problem, walk_pages
from .errors import (
    N_,
    NO_SUCH_ID,
    Conflict,
    Forbidden,
    NotFound,
    PanelError,
    PanelUnavailable,
    Unauthorized,
    ValidationFailed,
)
from .models import Capability, NewUser, PanelKind, PanelUser, UserChanges, UserPage
from .search_cache import UserFilter, substring_narrowing
from .transport import Response, TransportOptions

log = logging.getLogger(__name__)

USERS = "api/users"

# Panel ids are auto-increment numbers; Discord ids are snowflakes of 17 digits or more. Refusing anything longer
# than this keeps a Discord id from ever reaching a path where 0.9–1.1 would resolve it to the linked user.
_MAX_ID_DIGITS = 15
_NAME_LENGTH = (4, 30)
_MAX_PASSWORD_LENGTH = 191
_MAX_EMAIL_LENGTH_BEFORE_12 = 64
# Credit and server-limit bounds (reference A.3.4–A.3.5). Before 1.2 an increment or decrement is 0–1000000 and
# may not take the balance to 99999999 or the limit to 2147483647; 1.1's credits change through the update, which
# takes a balance of 0–1000000. 1.2: an increment is 0–9223372036854775 credits or 0–1000000 servers, a decrement
# at least 1, and the result at most 9223372036854775 credits (thousandths in a signed BIGINT) or 1000000 servers.
_MAX_STEP_OLD = 1_000_000
_MAX_CREDITS_OLD = 99_999_999
_MAX_SERVER_LIMIT_OLD = 2_147_483_647
_MAX_BALANCE_11 = 1_000_000
_MAX_CREDIT_STEP_12 = 9_223_372_036_854_775
_MAX_CREDITS_12 = 9_223_372_036_854_775
_MAX_SERVER_LIMIT_12 = 1_000_000
_MISSING_HEADER = "Missing Authorization header"
_STATE_CONFLICTS = {
    "suspend": N_("This account is already suspended."),
    "unsuspend": N_("This account is not suspended, so there is no suspension to lift."),
}


@dataclass(frozen=True, slots=True)
class _Era:
    """What differs between CtrlPanel releases, as far as requests go."""

    name: str
    roles_include: bool  # 1.x roles are a relation; 0.9 has a `role` string and answers 400 to `include=roles`
    thousandths: bool | None  # a raw model's credits are stored thousandths (1.1); None: judge by the JSON type
    resources: bool  # 1.2.0: role_id on create, `reason` on suspend, passwords on update

    @property
    def credits_by_update(self) -> bool:
        return self.name == "1.1"


_ERAS = {
    "0.9": _Era("0.9", roles_include=False, thousandths=False, resources=False),
    "1.0": _Era("1.0", roles_include=True, thousandths=False, resources=False),
    "1.1": _Era("1.1", roles_include=True, thousandths=True, resources=False),
    "1.2": _Era("1.2", roles_include=True, thousandths=None, resources=True),
}
# A 1.0 or 1.1 panel without users yet: the first raw model with credits tells which.
_RAW_1X = _Era("1.0 or 1.1", roles_include=True, thousandths=None, resources=False)


def _era_for(version: str) -> _Era:
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", version.strip())
    era = _ERAS.get(f"{match.group(1)}.{match.group(2)}") if match else None
    if era is None:
        raise ValueError(f"CtrlPanel version {version!r} is not supported; use 0.9, 1.0, 1.1 or 1.2")
    return era


def _parse_time(value: Any) -> datetime | None:
    """ISO-8601 (`...000000Z`, cast dates) or `Y-m-d H:i:s` (`toDateTimeString()`, in the panel's zone, UTC by
    default)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _json_number(value: float) -> int | float:
    """Whole amounts go out as integers (`10`, not `10.0`); CtrlPanel keeps three decimals."""
    value = round(float(value), 3)
    return int(value) if value.is_integer() else value


def _shown(amount: Decimal) -> str:
    """An amount as staff would write it: `12.5`, `10`, never `1E+1`."""
    return format(amount.normalize(), "f")


def _alpha_num(text: str) -> bool:
    """Laravel's `alpha_num`: letters (any script), combining marks and digits, nothing else."""
    return bool(text) and all(unicodedata.category(char)[0] in "LMN" for char in text)


def _filter_value(term: str) -> str:
    """The query builder turns the literal words `true`/`false` into booleans (`false` matches every row); the
    filter is case-insensitive, so sending them upper-case searches for the words themselves."""
    return term.upper() if term in ("true", "false") else term


def _generated_password() -> str:
    """CtrlPanel requires a password on create. The member sets their own through "forgot password"."""
    return secrets.token_urlsafe(24)


class CtrlPanelClient(PanelClient):
    kind = PanelKind.CTRLPANEL
    display_name = "CtrlPanel"
    capabilities = frozenset(
        {
            Capability.CREDITS,
            Capability.SERVER_LIMIT,
            Capability.SUSPENSION,
            Capability.ROLES,
            Capability.DISCORD_ACCOUNT,
            Capability.SERVERS_COUNT,
            Capability.PASSWORD,
        }
    )
    default_rate_limit = 60  # throttle:api, per IP
    trims_input = True
    deletes_servers_with_user = True
    password_setup = N_(
        "No password was given, so a random one was set (it is not kept): the user chooses their own with the "
        'panel\'s "Forgot password" for {email}.'
    )
    # `per_page` has no maximum, and 60 requests a minute is little: large pages, few requests. 500 raw models (or
    # resources) with their roles and server counts still come back in well under a second; the Discord scan,
    # which includes nothing else, can take twice that.
    iter_page_size = 500
    discord_scan_page_size: ClassVar[int] = 1000

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr,
        *,
        session: aiohttp.ClientSession | None = None,
        options: TransportOptions | None = None,
        name: str | None = None,
        version: str | None = None,
        default_role_id: int | None = None,
    ) -> None:
        """`version` ("0.9", "1.0", "1.1", "1.2"; a patch may follow) skips the probe that would learn it.
        `default_role_id` is the role 1.2.0 gives accounts created here."""
        super().__init__(base_url, api_key, session=session, options=options, name=name)
        self._era: _Era | None = _era_for(version) if version else None
        self._era_lock = asyncio.Lock()
        self._default_role_id = default_role_id

    # --- checking input ---------------------------------------------------------------------------------------

    def check_fields(self, values: dict[str, Any], *, creating: bool) -> Problems:
        """CtrlPanel's rules: `name` (our username) 4–30 characters, letters and digits only on create; passwords
        8–191; emails at most 64 characters on create before 1.2.0 (applied once the version is known)."""
        problems = super().check_fields(values, creating=creating)
        username = values.get("username")
        if username is not None:
            text = str(username)
            low, high = _NAME_LENGTH
            if not low <= len(text) <= high:
                add_problem(problems, "username", f"The username must be between {low} and {high} characters.")
            if creating and not _alpha_num(text):
                add_problem(
                    problems,
                    "username",
                    "The username must only contain letters and numbers (no spaces, dots, dashes or underscores).",
                )
        email = values.get("email")
        era = self._era
        old_limit = creating and era is not None and not era.resources
        if old_limit and email is not None and len(str(email)) > _MAX_EMAIL_LENGTH_BEFORE_12:
            limit = _MAX_EMAIL_LENGTH_BEFORE_12
            add_problem(problems, "email", f"The email must not be greater than {limit} characters.")
        password = values.get("password")
        if password is not None and str(password).strip():
            if len(str(password)) < MIN_PASSWORD_LENGTH:
                add_problem(problems, "password", f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
            elif len(str(password)) > _MAX_PASSWORD_LENGTH:
                add_problem(
                    problems, "password", f"The password must not be greater than {_MAX_PASSWORD_LENGTH} characters."
                )
        return problems

    def check_credit_change(self, user: PanelUser, delta: Decimal) -> Problems:
        """The increment/decrement rules of the version (on 1.1, those of the update that writes the new balance):
        the amount's bounds, 1.2's "at least 1" on a removal, and each version's ceiling and floor for the result.
        Before the version is known, only what every version refuses: a balance below zero."""
        if delta == 0:
            return {}
        era, amount = self._era, abs(delta)
        balance = None if user.credits is None else Decimal(str(user.credits))
        new = None if balance is None else balance + delta
        problems: Problems = {}
        if era is None:
            pass
        elif era.credits_by_update:
            if new is not None and new > _MAX_BALANCE_11:
                add_problem(
                    problems,
                    "credits",
                    f"CtrlPanel 1.1 keeps at most {_MAX_BALANCE_11} credits on an account; this would make it "
                    f"{_shown(new)}.",
                )
        elif era.resources and delta < 0:
            if amount < 1:
                add_problem(
                    problems,
                    "credits",
                    "The credits must be at least 1: CtrlPanel 1.2 does not remove less than 1 credit at a time.",
                )
        elif amount > (step := _MAX_CREDIT_STEP_12 if era.resources else _MAX_STEP_OLD):
            add_problem(problems, "credits", f"The credits must be between 0 and {step} at a time.")
        elif delta > 0 and new is not None:
            over = new > _MAX_CREDITS_12 if era.resources else new >= _MAX_CREDITS_OLD
            if over:
                kept = f"at most {_MAX_CREDITS_12}" if era.resources else f"below {_MAX_CREDITS_OLD}"
                add_problem(
                    problems,
                    "credits",
                    f"Adding {_shown(amount)} credits would make the balance {_shown(new)}, and CtrlPanel keeps "
                    f"balances {kept}.",
                )
        if delta < 0 and balance is not None and amount > balance:
            add_problem(
                problems,
                "credits",
                f"Cannot remove {_shown(amount)} credits: the account has {_shown(balance)}, and CtrlPanel does not "
                f"let a balance go below zero. Remove at most {_shown(balance)}.",
            )
        return problems

    def check_server_limit_change(self, user: PanelUser, delta: int) -> Problems:
        """The increment/decrement rules for `server_limit`: the amount at most 1000000 (1.2: on an increase), the
        result at most 1000000 (1.2) or below 2147483647 (before), never below zero."""
        if delta == 0:
            return {}
        era, amount, current = self._era, abs(delta), user.server_limit
        problems: Problems = {}
        if era is not None and (delta > 0 or not era.resources) and amount > _MAX_STEP_OLD:
            add_problem(problems, "server_limit", f"The server limit must be between 0 and {_MAX_STEP_OLD} at a time.")
        elif era is not None and delta > 0 and current is not None:
            ceiling = _MAX_SERVER_LIMIT_12 if era.resources else _MAX_SERVER_LIMIT_OLD - 1
            if current + amount > ceiling:
                add_problem(
                    problems,
                    "server_limit",
                    f"Adding {amount} would make the server limit {current + amount}, over CtrlPanel's limit of "
                    f"{ceiling}.",
                )
        if delta < 0 and current is not None and amount > current:
            add_problem(
                problems,
                "server_limit",
                f"Cannot remove {amount}: the account may have {current} servers, and CtrlPanel does not let the "
                f"limit go below zero. Remove at most {current}.",
            )
        return problems

    # --- reading ------------------------------------------------------------------------------------------------

    async def list_users(self, page: int = 1, per_page: int = 50, search: str | None = None) -> UserPage:
        era = await self._ensure_era()
        params: dict[str, str | int] = {
            "page": max(1, page),
            "per_page": max(1, per_page),
            "include": self._includes(era, discord=False),
        }
        term = (search or "").strip()
        if term:
            # One filter only: several AND together. An address searches emails, anything else names.
            params["filter[email]" if "@" in term else "filter[name]"] = _filter_value(term)
        return self._page(self._expect(await self.transport.request("GET", USERS, params=params), 200))

    def search_narrowing(self, shorter: str, longer: str) -> UserFilter | None:
        """`list_users` filters one column by substring: emails for a term with an `@`, names otherwise (the words
        true and false are sent so that they match as words). A comma means "or"; 0.9's query builder also leaves
        LIKE's wildcards to the database, so until the version is known they do not narrow either."""
        if shorter and ("@" in shorter) != ("@" in longer):
            return None
        era = self._era
        special = ",%_\\" if era is None or era.name == "0.9" else ","
        if "@" in longer:
            return substring_narrowing(shorter, longer, lambda user: (user.email,), special=special)
        return substring_narrowing(shorter, longer, lambda user: (user.username,), special=special)

    async def get_user(self, user_id: str) -> PanelUser:
        panel_id = self._panel_id(user_id)
        era = await self._ensure_era()
        params = {"include": self._includes(era, discord=True)}
        response = await self.transport.request("GET", f"{USERS}/{panel_id}", params=params)
        user = self._single(self._expect(response, 200))
        if user.id != panel_id:
            # Before 1.2.0 the panel tries the number as a Discord id first: this is someone else's account.
            raise NotFound()
        return user

    async def find_by_discord_id(self, discord_id: int) -> PanelUser | None:
        """The account whose linked Discord account (the panel's own OAuth) is `discord_id`.

        Released versions have no filter on it (only the development branch adds `filter[discordUser.id]`), and
        1.2.0 no longer resolves Discord ids in `GET /users/{id}`, so this pages through the list with the
        `discordUser` include and nothing else, in large pages, and stops at the first match.
        """
        if discord_id <= 0:
            return None
        await self._ensure_era()

        async def fetch(page: int) -> UserPage:
            params: dict[str, str | int] = {
                "page": page,
                "per_page": self.discord_scan_page_size,
                "include": "discordUser",
            }
            return self._page(self._expect(await self.transport.request("GET", USERS, params=params), 200))

        async for user in walk_pages(fetch):
            if user.discord_id == discord_id:
                return await self.get_user(user.id)  # with the roles and server count the scan left out
        return None

    # --- writing ------------------------------------------------------------------------------------------------

    async def create_user(self, user: NewUser) -> PanelUser:
        """`username` becomes CtrlPanel's `name`; names and language have no place on CtrlPanel and are dropped.
        Without a password a random one is set, since the panel requires one."""
        if user.admin:
            raise self.not_supported("make an admin through the API; give the account the Admin role on the panel")
        if user.external_id is not None:
            raise self.not_supported("store an external id")
        era = await self._ensure_era()
        body: dict[str, Any] = {
            "name": user.username,
            "email": user.email,
            "password": user.password or _generated_password(),
        }
        if era.resources:
            body["role_id"] = await self._role_for_new_users()
        response = await self.transport.request("POST", USERS, json_body=body)
        created = self._single(self._expect(response, 201))
        # 0.9–1.1 answer with the model as created, which shows only the attributes that were set.
        return created.model_copy(
            update={
                "suspended": False if created.suspended is None else created.suspended,
                "servers_count": 0 if created.servers_count is None else created.servers_count,
            }
        )

    async def update_user(self, user_id: str, changes: UserChanges) -> PanelUser:
        wanted = changes.changed()
        if "admin" in wanted:
            raise self.not_supported("change admin rights through the API; give the account a role on the panel")
        if wanted.keys() & {"first_name", "last_name"}:
            raise self.not_supported("store first or last names")
        if "language" in wanted:
            raise self.not_supported("store a language per user")
        if "external_id" in wanted:
            raise self.not_supported("store an external id")
        current = await self.get_user(user_id)
        if changes.is_empty():
            return current
        era = self._era
        password = wanted.get("password")
        if password and era is not None and not era.resources:
            raise self.not_supported("set a password through the API before version 1.2 (the panel ignores it)")
        # 1.2.0 requires both on every update; earlier versions accept them unchanged.
        body: dict[str, Any] = {
            "name": wanted.get("username") or current.username,
            "email": wanted.get("email") or current.email,
        }
        if password:
            body["password"] = password
        response = await self.transport.request("PATCH", f"{USERS}/{current.id}", json_body=body)
        return self._keep(self._single(self._expect(response, 200)), current)

    async def delete_user(self, user_id: str) -> None:
        """Deletes the user's servers too (CtrlPanel has no "owns servers" refusal)."""
        panel_id = self._panel_id(user_id)
        response = await self.transport.request("DELETE", f"{USERS}/{panel_id}")
        if response.status == 404 and response.attempts > 1:
            return  # an earlier attempt deleted it and its answer was lost
        self._expect(response, 200, 204)

    @property
    def keeps_suspend_reason(self) -> bool:
        return self._era is not None and self._era.resources

    async def suspend_user(self, user_id: str, reason: str | None = None) -> PanelUser:
        """Suspends the user's servers too. 1.2.0 writes `reason` to its activity log; earlier versions have none."""
        current = await self.get_user(user_id)
        era = self._era
        body = {"reason": reason} if reason and era is not None and era.resources else None
        return await self._set_state(current, "suspend", body)

    async def unsuspend_user(self, user_id: str) -> PanelUser:
        """Unsuspends the servers whose hourly price the user can afford, and the account."""
        current = await self.get_user(user_id)
        return await self._set_state(current, "unsuspend", None)

    async def _set_state(self, current: PanelUser, action: str, body: dict[str, Any] | None) -> PanelUser:
        response = await self.transport.request("PATCH", f"{USERS}/{current.id}/{action}", json_body=body)
        if response.status != 200:
            error = self._error(response, action)
            if isinstance(error, Conflict) and response.attempts > 1:
                # A retry meeting "already in that state": the attempt whose answer was lost did it.
                return await self.get_user(current.id)
            raise error
        return self._keep(self._single(response.json()), current)

    async def change_credits(self, user_id: str, delta: float) -> PanelUser:
        """Positive: increment; negative: decrement by the absolute value. Removing more than the balance is
        refused by the panel (a ValidationFailed naming `credits`); the balance is left as it was."""
        amount = _number(delta)
        if amount is None:
            raise ValidationFailed({"credits": ["The amount of credits must be a number."]})
        current = await self.get_user(user_id)  # also tells a 1.0 from a 1.1 panel, whose credits are integers
        amount = round(amount, 3)
        if amount == 0:
            return current
        era = self._era
        if era is not None and era.credits_by_update:
            return await self._set_balance(current, amount)
        return await self._step(current, "credits", amount)

    async def change_server_limit(self, user_id: str, delta: int) -> PanelUser:
        current = await self.get_user(user_id)
        if delta == 0:
            return current
        return await self._step(current, "server_limit", delta)

    async def _step(self, current: PanelUser, field: str, amount: float) -> PanelUser:
        """increment/decrement. Never sent twice: a lost answer may hide a change that was made."""
        path = f"{USERS}/{current.id}/{'increment' if amount > 0 else 'decrement'}"
        body = {field: _json_number(abs(amount))}
        response = await self.transport.request("PATCH", path, json_body=body, idempotent=False)
        return self._keep(self._single(self._expect(response, 200)), current)

    async def _set_balance(self, current: PanelUser, amount: float) -> PanelUser:
        """1.1: write the new balance (the update converts it to thousandths; increment would not).

        This reads and then writes, so a purchase landing between the two is overwritten; the window is one
        round trip, and it is the only way to change 1.1 credits correctly.
        """
        if current.credits is None:
            raise PanelUnavailable(N_("The panel's answer had no credits for this account."))
        balance = round(current.credits + amount, 3)
        if balance < 0:
            raise ValidationFailed(
                {"credits": [f"Cannot remove {abs(amount):g} credits. The account has {current.credits:g} credits."]}
            )
        body = {"name": current.username, "email": current.email, "credits": _json_number(balance)}
        response = await self.transport.request("PATCH", f"{USERS}/{current.id}", json_body=body)
        return self._keep(self._single(self._expect(response, 200)), current)

    async def _role_for_new_users(self) -> int:
        """The role 1.2.0 needs on create: `default_role_id`, else the least powerful role held by a user who is
        not an admin, so a new account can never be given more than an existing ordinary one has."""
        if self._default_role_id is not None:
            return self._default_role_id
        candidates: dict[int, tuple[float, str]] = {}
        page = 1
        while not candidates:
            params: dict[str, str | int] = {"page": page, "per_page": self.iter_page_size, "include": "roles"}
            found = self._page(self._expect(await self.transport.request("GET", USERS, params=params), 200))
            for user in found.items:
                roles = [] if user.admin else user.raw.get("roles") or []
                for role in roles:
                    if isinstance(role, dict) and isinstance(role.get("id"), int) and not _is_admin_role(role):
                        power = _number(role.get("power"))
                        candidates[role["id"]] = (math.inf if power is None else power, str(role.get("name")))
            if not found.items or page >= found.total_pages:
                break
            page += 1
        if not candidates:
            raise ValidationFailed(
                {"role_id": ["No ordinary user's role was found to give the new account; set default_role_id."]},
                "CtrlPanel 1.2 needs a role for every new account:",
            )
        role_id = min(candidates, key=lambda found: (candidates[found][0], found))
        log.info(
            "%s: new accounts get role %r (id %d), the least powerful role of an existing user",
            self.name,
            candidates[role_id][1],
            role_id,
        )
        self._default_role_id = role_id
        return role_id

    # --- the version --------------------------------------------------------------------------------------------

    async def _ensure_era(self) -> _Era:
        if self._era is None:
            async with self._era_lock:
                if self._era is None:
                    self._era = await self._detect_era()
        return self._era

    async def _detect_era(self) -> _Era:
        response = await self.transport.request("GET", USERS, params={"page": 1, "per_page": 1, "include": "roles"})
        body = response.json_or_none()
        if response.status == 400 and "include" in self._message(body):
            return _ERAS["0.9"]
        body = self._expect(response, 200)
        if isinstance(body, dict) and isinstance(body.get("meta"), dict):
            era = _ERAS["1.2"]
        elif isinstance(body, dict) and "current_page" in body and isinstance(body.get("data"), list):
            first = body["data"][0] if body["data"] and isinstance(body["data"][0], dict) else {}
            era = self._raw_era(first.get("credits"))
        else:
            raise PanelUnavailable(N_("The panel's user list is not in a shape CtrlPanel sends; is this a CtrlPanel?"))
        log.info("%s: CtrlPanel %s detected from its answers", self.name, era.name)
        return era

    @staticmethod
    def _raw_era(credits: Any) -> _Era:
        if isinstance(credits, int) and not isinstance(credits, bool):
            return _ERAS["1.1"]
        if isinstance(credits, (float, str)):
            return _ERAS["1.0"]
        return _RAW_1X

    @staticmethod
    def _includes(era: _Era, *, discord: bool) -> str:
        names = ["serversCount", *(["roles"] if era.roles_include else []), *(["discordUser"] if discord else [])]
        return ",".join(names)

    def _panel_id(self, user_id: str) -> str:
        text = str(user_id).strip()
        if not (text.isascii() and text.isdigit()) or int(text) == 0:
            raise NotFound(NO_SUCH_ID, values={"kind": self.display_name, "id": repr(user_id)})
        panel_id = str(int(text))
        if len(panel_id) > _MAX_ID_DIGITS:
            raise NotFound(
                N_("{id} is not a {kind} user id (a number that long is a Discord id)."),
                values={"id": panel_id, "kind": self.display_name},
            )
        return panel_id

    # --- answers ------------------------------------------------------------------------------------------------

    def _expect(self, response: Response, *statuses: int, action: str | None = None) -> Any:
        if response.status in statuses:
            return None if response.status == 204 else response.json()
        raise self._error(response, action)

    @staticmethod
    def _message(body: Any) -> str:
        return str(body.get("message") or "") if isinstance(body, dict) else ""

    def _error(self, response: Response, action: str | None = None) -> PanelError:
        status = response.status
        if 300 <= status < 400:
            return PanelUnavailable(
                f"The panel redirected us (HTTP {status}); check that the panel URL is its base address.",
                status=status,
            )
        body = response.json_or_none()
        message = self._message(body)
        if status == 401:
            return Unauthorized()
        if status == 403:
            if message == _MISSING_HEADER:
                return Unauthorized("The panel received no API key; set the panel's API key.", status=403)
            if not isinstance(body, dict):
                return Forbidden("The panel, or a proxy in front of it, refused the request (HTTP 403).")
            return Forbidden(message or "The panel refused the request.")
        if status == 404:
            if not isinstance(body, dict) or message.startswith("The route "):
                return PanelUnavailable(
                    "The panel has no such page; check that the panel URL is CtrlPanel's base address.",
                    status=404,
                )
            return NotFound()
        if status == 422 and isinstance(body, dict):
            return self._validation(body, action)
        if status == 400 and isinstance(body, dict):
            if "error" in body:
                return self._state_error(str(body["error"]), action, status)
            return PanelError(f"The panel refused the request: {message}", status=400)
        if status == 405:
            return PanelError("The panel does not accept this request here; is this the right panel kind?", status=405)
        if body is None:
            return PanelUnavailable(f"The panel answered HTTP {status} with something that is not JSON.", status=status)
        return PanelError(message or f"The panel answered HTTP {status}.", status=status)

    @staticmethod
    def _state_error(detail: str, action: str | None, status: int) -> PanelError:
        if action in _STATE_CONFLICTS:
            return Conflict(_STATE_CONFLICTS[action], status=status)
        if "creation of new users" in detail:
            return Forbidden(detail, status=status)
        return PanelError(detail or "The panel refused the request.", status=status)

    def _validation(self, body: dict[str, Any], action: str | None) -> PanelError:
        errors = body.get("errors")
        fields: dict[str, list[str]] = {}
        if isinstance(errors, dict):
            for name, messages in errors.items():
                field = "username" if name == "name" else str(name)
                fields[field] = [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]
        if set(fields) == {"error"}:
            # The controller's own refusals before 1.2.0: a suspension conflict, or user creation switched off.
            return self._state_error(fields["error"][0], action, 422)
        if "pterodactyl_error_message" in fields:
            code = (fields.get("pterodactyl_error_status") or ["?"])[0]
            return ValidationFailed(
                {"pterodactyl": fields["pterodactyl_error_message"]},
                f"CtrlPanel could not make the change on its Pterodactyl panel (HTTP {code}):",
            )
        if not fields:
            return ValidationFailed({"input": [self._message(body) or "The panel did not accept the input."]})
        if all("already been taken" in text for texts in fields.values() for text in texts):
            return Conflict(N_("That is already taken on the panel."), fields=fields, status=422)
        return ValidationFailed(fields)

    def _page(self, body: Any) -> UserPage:
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise PanelUnavailable(N_("The panel's user list was not in the documented shape."))
        if isinstance(body.get("meta"), dict):
            meta, resource = body["meta"], True  # 1.2.0 resource collection
        elif "current_page" in body:
            meta, resource = body, False  # a raw paginator
        else:
            raise PanelUnavailable(N_("The panel's user list was not in the documented shape."))
        items = [self._user(item, resource=resource) for item in body["data"]]
        return UserPage(
            items=items,
            page=int(meta.get("current_page") or 1),
            per_page=int(meta.get("per_page") or len(items) or 1),
            total=int(meta.get("total", len(items))),
            total_pages=int(meta.get("last_page") or 1),
        )

    def _single(self, body: Any) -> PanelUser:
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            return self._user(body["data"], resource=True)
        return self._user(body, resource=False)

    def _user(self, a: Any, *, resource: bool) -> PanelUser:
        if not isinstance(a, dict) or "id" not in a:
            raise PanelUnavailable(N_("The panel's answer was not in the documented shape."))
        role, admin = _role(a)
        servers = a.get("servers")
        servers_count = a.get("servers_count")
        if not isinstance(servers_count, int):
            servers_count = len(servers) if isinstance(servers, list) else None
        discord = a.get("discord_user")
        discord_id = str(discord.get("id", "")) if isinstance(discord, dict) else ""
        server_limit = _number(a.get("server_limit"))
        suspended = a.get("suspended")
        return PanelUser(
            id=str(a["id"]),
            username=str(a.get("name") or ""),
            email=str(a.get("email") or ""),
            admin=admin,
            role=role,
            credits=self._credits(a.get("credits"), resource=resource),
            server_limit=None if server_limit is None else int(server_limit),
            suspended=None if suspended is None else bool(_number(suspended)),
            servers_count=servers_count,
            discord_id=int(discord_id) if discord_id.isdigit() else None,
            created_at=_parse_time(a.get("created_at")),
            updated_at=_parse_time(a.get("updated_at")),
            raw=a,
        )

    def _credits(self, value: Any, *, resource: bool) -> float | None:
        """Display units. A resource (1.2.0) already divides; a raw model shows thousandths on 1.1 only."""
        number = _number(value)
        if number is None or resource:
            return number
        era = self._era
        thousandths = era.thousandths if era is not None else None
        if thousandths is None:
            thousandths = isinstance(value, int)
            if era is _RAW_1X:
                self._era = self._raw_era(value)
        return round(number / 1000, 3) if thousandths else number

    @staticmethod
    def _keep(fresh: PanelUser, before: PanelUser) -> PanelUser:
        """A write's answer has no includes: keep what the read just before it knew about relations."""
        update: dict[str, Any] = {}
        if fresh.servers_count is None:
            update["servers_count"] = before.servers_count
        if "discord_user" not in fresh.raw:
            update["discord_id"] = before.discord_id
        if fresh.role is None:
            update.update(role=before.role, admin=before.admin)
        return fresh.model_copy(update=update)


def _is_admin_role(role: dict[str, Any]) -> bool:
    return str(role.get("name", "")).casefold() == "admin"


def _role(a: dict[str, Any]) -> tuple[str | None, bool]:
    """1.x: the names of the included roles (admin if one is called Admin); 0.9: the `role` column."""
    roles = a.get("roles")
    if isinstance(roles, list):
        named = [role for role in roles if isinstance(role, dict) and role.get("name")]
        names = [str(role["name"]) for role in named]
        return (", ".join(names) or None), any(_is_admin_role(role) for role in named)
    role = a.get("role")
    if isinstance(role, str) and role:
        return role, role == "admin"
    return None, False
