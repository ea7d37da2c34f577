"""The interface every panel client implements, and the behaviour they share."""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import ClassVar

import aiohttp
from pydantic import SecretStr

from .errors import N_, Forbidden, NotSupported, PanelError, PanelUnavailable, RateLimited, Unauthorized
from .models import Capability, NewUser, PanelKind, PanelUser, UserChanges, UserPage
from .search_cache import SearchCache, UserFilter
from .transport import Transport, TransportOptions

# Deliberately loose: the panel has the last word; this only catches typos before a round trip.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
# Laravel's TrimStrings (10+): whitespace, the byte-order mark and the zero-width space at either end.
_LARAVEL_TRIM = re.compile(r"^[\s\ufeff\u200b]+|[\s\ufeff\u200b]+$")
MIN_PASSWORD_LENGTH = 8  # where a panel has a minimum, it is this one (Laravel's Password default, CtrlPanel's rule)

Problems = dict[str, list[str]]


def add_problem(problems: Problems, field: str, message: str) -> None:
    problems.setdefault(field, []).append(message)


@dataclass(frozen=True)
class HealthReport:
    """What `bot.py --check` prints for one panel."""

    reachable: bool
    key_accepted: bool | None
    detail: str
    users_total: int | None = None

    @property
    def ok(self) -> bool:
        return self.reachable and bool(self.key_accepted)


async def walk_pages(fetch: Callable[[int], Awaitable[UserPage]]) -> AsyncIterator[PanelUser]:
    """The users of page 1, 2, … as `fetch(page)` returns them, until the last page or an empty one."""
    page = 1
    while True:
        result = await fetch(page)
        for user in result.items:
            yield user
        if not result.items or page >= result.total_pages:
            return
        page += 1


class PanelClient(ABC):
    """One panel connection. An async context manager; closing it closes the session it owns.

    Subclasses set `kind`, `display_name`, `capabilities` and implement the abstract operations. Operations a
    panel lacks keep the defaults here, which raise NotSupported with a sentence naming the panel.
    """

    kind: ClassVar[PanelKind]
    display_name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    default_rate_limit: ClassVar[int] = 60
    # The page size for walking every user: what the panel accepts, and what it answers fast. Each panel's module
    # says why its size; 100 is a size every supported panel accepts.
    iter_page_size: ClassVar[int] = 100
    # How many users `suggest_users` asks for: more than it shows, since a complete answer to a term answers every
    # longer term without a request, and one request costs the same share of the rate limit whatever its size.
    suggestion_page_size: ClassVar[int] = 100
    # CtrlPanel deletes a user's servers along with the user; staff must be told before they confirm.
    deletes_servers_with_user: ClassVar[bool] = False
    # What staff are told after creating an account without a password; `{email}` is the new account's address.
    password_setup: ClassVar[str] = N_("No password was set: the user can choose one with the panel's password reset.")
    # Laravel panels run TrimStrings and ConvertEmptyStringsToNull before validating: every string but a password
    # is trimmed, and one left empty is null, so a value of spaces is a missing value ("required" fails).
    trims_input: ClassVar[bool] = False

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr,
        *,
        session: aiohttp.ClientSession | None = None,
        options: TransportOptions | None = None,
        name: str | None = None,
    ) -> None:
        self.name = name or self.kind.value
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self.transport = Transport(
            base_url,
            self._sign,
            session=session,
            options=options or TransportOptions(rate_limit=self.default_rate_limit),
            panel_kind=self.display_name,
        )
        # Recent searches for `suggest_users`; replace it (e.g. with another clock) before the first suggestion.
        self.search_cache = SearchCache()
        self.transport.on_change = lambda: self.search_cache.clear()
        # Logged by name: with several panels, "the Pterodactyl panel is failing" would not say which.
        self.transport.contact.label = f"panel {self.name!r} ({self.display_name} at {self.transport.base_url})"

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    @property
    def keeps_suspend_reason(self) -> bool:
        """Whether `suspend_user(reason=...)` stores the reason on the panel (else only our audit log has it)."""
        return False

    def _sign(self, method: str, url: str, body: bytes) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key.get_secret_value()}"}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} url={self.base_url!r}>"

    async def __aenter__(self) -> PanelClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.transport.close()

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def not_supported(self, what: str) -> NotSupported:
        return NotSupported(f"{self.display_name} panels cannot {what}.")

    # --- checking input before the panel sees it ------------------------------------------------------------

    def check_new_user(self, user: NewUser) -> Problems:
        """Field problems the panel would refuse, found without a request (empty when the input looks fine)."""
        return self.check_fields(self._as_read(user.model_dump(exclude_none=True)), creating=True)

    def check_changes(self, changes: UserChanges) -> Problems:
        values = {k: v for k, v in changes.changed().items() if v is not None}
        return self.check_fields(self._as_read(values), creating=False)

    def check_fields(self, values: dict[str, object], *, creating: bool) -> Problems:
        """Rules every panel shares; subclasses add their own. Messages read like the panels' own.

        `values` are as the panel reads them: on a panel that `trims_input`, strings are trimmed and a blank one is
        None, so a field present with None was given blank. A password that is empty or only spaces is refused on
        every panel, though some would take it (passwords are not trimmed): it is a slip, never a password meant.
        """
        problems: Problems = {}
        for name in ("email", "username"):
            if name in values and (values[name] is None or not str(values[name]).strip()):
                add_problem(problems, name, f"The {name} field is required.")
        email = values.get("email")
        if email is not None and str(email).strip() and not _EMAIL.match(str(email)):
            add_problem(problems, "email", "The email must be a valid email address.")
        password = values.get("password")
        if password is not None and not str(password).strip():
            add_problem(problems, "password", "The password must not be empty or only spaces.")
        return problems

    def check_credit_change(self, user: PanelUser, delta: Decimal) -> Problems:
        """Problems the panel would refuse in changing `user`'s credits by `delta` (more than zero adds, less
        removes), judged from the account as last read, without a request. Empty when it looks fine, and on
        panels whose rules are not known here."""
        return {}

    def check_server_limit_change(self, user: PanelUser, delta: int) -> Problems:
        """As `check_credit_change`, for raising (delta > 0) or lowering how many servers `user` may have."""
        return {}

    def _as_read(self, values: dict[str, object]) -> dict[str, object]:
        if not self.trims_input:
            return values
        return {
            name: value if name == "password" or not isinstance(value, str) else _LARAVEL_TRIM.sub("", value) or None
            for name, value in values.items()
        }

    # --- operations every panel has -------------------------------------------------------------------------

    @abstractmethod
    async def list_users(self, page: int = 1, per_page: int = 50, search: str | None = None) -> UserPage: ...

    @abstractmethod
    async def get_user(self, user_id: str) -> PanelUser: ...

    @abstractmethod
    async def create_user(self, user: NewUser) -> PanelUser: ...

    @abstractmethod
    async def update_user(self, user_id: str, changes: UserChanges) -> PanelUser: ...

    @abstractmethod
    async def delete_user(self, user_id: str) -> None: ...

    async def sweep_page(self, page: int, *, servers: bool = False) -> UserPage:
        """One page of the whole user list, `iter_page_size` long, for the panel watcher. `servers`: each account
        with its server count, which most panels always give and Pterodactyl only when asked."""
        return await self.list_users(page=page, per_page=self.iter_page_size)

    async def iter_users(self, search: str | None = None) -> AsyncIterator[PanelUser]:
        """Every user, page by page. An account that moves between pages while we read is yielded once."""
        seen: set[str] = set()
        pages = walk_pages(lambda page: self.list_users(page=page, per_page=self.iter_page_size, search=search))
        async for user in pages:
            if user.id not in seen:
                seen.add(user.id)
                yield user

    async def find_user(self, query: str) -> PanelUser | None:
        """The user whose email, username or external id is exactly `query` (emails compared case-insensitively)."""
        query = query.strip()
        if not query:
            return None
        wanted = query.casefold()
        async for user in self.iter_users(search=query):
            if user.email.casefold() == wanted or user.username.casefold() == wanted:
                return user
            if user.external_id is not None and user.external_id == query:
                return user
        return None

    # --- search as you type -----------------------------------------------------------------------------------

    async def suggest_users(self, term: str, limit: int = 25) -> list[PanelUser]:
        """Up to `limit` users that `list_users(search=term)` would list first, for search-as-you-type: cheap
        enough to call on every keystroke, and never in the way of other requests.

        Answers come from `search_cache` when it can give exactly what the panel would: the same term asked
        recently, or a complete answer to a shorter term that `search_narrowing` can filter; a term typed while a
        shorter one is being fetched waits for that answer first. Otherwise one best-effort request is sent
        (`Transport.best_effort`): it uses a share of the rate limit and never waits for it. When it may not be
        sent, the answer is what the cache has (matching users from a shorter term's first page, some perhaps
        missing) or, with nothing cached, RateLimited at once. Other errors are those of `list_users`.
        """
        term = term.strip()
        limit = max(1, limit)
        cache, narrowing = self.search_cache, self.search_narrowing
        while True:
            known = cache.answer(term, narrowing)
            if known is not None:
                return known[:limit]
            pending = cache.pending_for(term, narrowing)
            if pending is None:
                break
            await asyncio.shield(pending)
        pending = cache.begin(term)
        try:
            with self.transport.best_effort():
                size = max(limit, self.suggestion_page_size)
                page = await self.list_users(page=1, per_page=size, search=term or None)
            cache.store(term, page.items, complete=page.page == 1 and page.total <= len(page.items))
        except RateLimited:
            partial = cache.partial_answer(term, narrowing)
            if partial is None:
                raise
            return partial[:limit]
        finally:
            cache.end(term, pending)
        return page.items[:limit]

    def search_narrowing(self, shorter: str, longer: str) -> UserFilter | None:
        """The filter that picks, out of everything `list_users(search=shorter)` matches, exactly what
        `list_users(search=longer)` matches; None unless the panel's search guarantees that the longer term's
        matches are among the shorter's and can be told from a PanelUser alone. Terms come stripped; `shorter` may
        be "" (no search: every user). The default guarantees nothing, so every new term is a request."""
        return None

    # --- operations only some panels have --------------------------------------------------------------------

    async def get_user_by_external_id(self, external_id: str) -> PanelUser | None:
        """The user whose external id is exactly `external_id`, or None."""
        raise self.not_supported("look users up by external id")

    async def find_by_discord_id(self, discord_id: int) -> PanelUser | None:
        """The account the panel itself ties to this Discord user (CtrlPanel's Discord login), or None."""
        raise self.not_supported("record which Discord account a user has")

    async def account_for_key(self, client_api_key: str) -> PanelUser:
        """The account that owns a client API key: proof that whoever holds the key owns the account."""
        raise self.not_supported("tell who owns a client API key")

    async def suspend_user(self, user_id: str, reason: str | None = None) -> PanelUser:
        raise self.not_supported("suspend users")

    async def unsuspend_user(self, user_id: str) -> PanelUser:
        raise self.not_supported("suspend users")

    async def change_credits(self, user_id: str, delta: float) -> PanelUser:
        """Add (delta > 0) or remove (delta < 0) credits; returns the account with its new balance."""
        raise self.not_supported("hold credits")

    async def change_server_limit(self, user_id: str, delta: int) -> PanelUser:
        """Raise (delta > 0) or lower (delta < 0) how many servers the user may have."""
        raise self.not_supported("set server limits")

    # --- health -----------------------------------------------------------------------------------------------

    async def check(self) -> HealthReport:
        """Reach the panel with the configured key and say what happened, without raising."""
        try:
            page = await self.list_users(page=1, per_page=1)
        except Unauthorized:
            return HealthReport(True, False, "reachable, but the API key was refused (401): create a new key")
        except Forbidden as exc:
            return HealthReport(True, False, f"reachable, but the API key may not read users (403): {exc}")
        except PanelUnavailable as exc:
            return HealthReport(False, None, str(exc))
        except PanelError as exc:
            return HealthReport(True, None, f"reachable, but the answer was unexpected: {exc}")
        return HealthReport(True, True, f"reachable, key accepted, {page.total} users", users_total=page.total)
