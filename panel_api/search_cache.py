"""Recent answers to user searches, kept for a short time, so search-as-you-type costs few requests.

Each answer is remembered with whether it was complete (every user the panel matched, not only a first page). A
longer term can then be answered from a shorter term's complete answer when the panel's search makes that exact:
the client says so through `PanelClient.search_narrowing`, which gives the filter that picks the longer term's
matches out of the shorter term's.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .models import PanelUser

UserFilter = Callable[[PanelUser], bool]
# (shorter term, longer term) -> the filter that picks the longer term's matches out of the shorter term's, or None
# when the panel's search does not guarantee that (see `PanelClient.search_narrowing`).
Narrowing = Callable[[str, str], UserFilter | None]


@dataclass(frozen=True, slots=True)
class CachedSearch:
    users: tuple[PanelUser, ...]
    complete: bool  # every match the panel has, not the first page of more
    at: float


class SearchCache:
    """Answers by term for `ttl` seconds, at most `max_entries` of them holding at most `max_users` users in all
    (a user is about 1.5 KB; the least recently used answers go first), and the searches on their way, so that a
    term typed while a shorter one is being fetched can wait for it instead of sending its own request."""

    def __init__(
        self,
        *,
        ttl: float = 30.0,
        max_entries: int = 256,
        max_users: int = 5000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_users = max_users
        self._clock = clock
        self._entries: OrderedDict[str, CachedSearch] = OrderedDict()
        self._pending: dict[str, asyncio.Future[None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every answer: the bot just changed a user, so any of them may be out of date."""
        self._entries.clear()

    def store(self, term: str, users: list[PanelUser], *, complete: bool, at: float | None = None) -> None:
        """Remember the panel's answer to `term`, as it was at `at` (now by default)."""
        self._entries[term] = CachedSearch(tuple(users), complete, self._clock() if at is None else at)
        self._entries.move_to_end(term)
        while len(self._entries) > 1 and (
            len(self._entries) > self.max_entries
            or sum(len(entry.users) for entry in self._entries.values()) > self.max_users
        ):
            self._entries.popitem(last=False)

    def answer(self, term: str, narrowing: Narrowing) -> list[PanelUser] | None:
        """What the panel would answer for `term`, from the cache alone: its own fresh answer, or a filtered
        complete answer to a shorter term where `narrowing` says that is exact; None when neither is there."""
        own = self._fresh(term)
        if own is not None:
            return list(own.users)
        found = self._narrowed(term, narrowing, complete_only=True)
        if found is None:
            return None
        users, source = found
        # Exact, so as good as the panel's own answer to `term` (complete, since the shorter one was), and as old.
        self.store(term, users, complete=True, at=source.at)
        return users

    def partial_answer(self, term: str, narrowing: Narrowing) -> list[PanelUser] | None:
        """Some of the users the panel would answer for `term`, when no request may be sent: from the longest
        shorter term's answer even if it was only a first page. Each user given does match; some may be missing."""
        own = self._fresh(term)
        if own is not None:
            return list(own.users)
        found = self._narrowed(term, narrowing, complete_only=False)
        return None if found is None else found[0]

    def pending_for(self, term: str, narrowing: Narrowing) -> asyncio.Future[None] | None:
        """A search on its way whose answer may answer `term` too: the same term, or a shorter one it narrows."""
        if term in self._pending:
            return self._pending[term]
        for shorter, pending in self._pending.items():
            if narrowing(shorter, term) is not None:
                return pending
        return None

    def begin(self, term: str) -> asyncio.Future[None]:
        pending = asyncio.get_running_loop().create_future()
        self._pending[term] = pending
        return pending

    def end(self, term: str, pending: asyncio.Future[None]) -> None:
        """The search for `term` is over, answered or not: whoever waits on it looks at the cache again."""
        if self._pending.get(term) is pending:
            del self._pending[term]
        if not pending.done():
            pending.set_result(None)

    def _fresh(self, term: str, *, touch: bool = True) -> CachedSearch | None:
        entry = self._entries.get(term)
        if entry is None:
            return None
        if self._clock() - entry.at >= self.ttl:
            del self._entries[term]
            return None
        if touch:
            self._entries.move_to_end(term)
        return entry

    def _narrowed(
        self, term: str, narrowing: Narrowing, *, complete_only: bool
    ) -> tuple[list[PanelUser], CachedSearch] | None:
        best: tuple[tuple[bool, int], str, UserFilter, CachedSearch] | None = None
        for shorter in list(self._entries):
            entry = self._fresh(shorter, touch=False)
            if shorter == term or entry is None or (complete_only and not entry.complete):
                continue
            keep = narrowing(shorter, term)
            if keep is None:
                continue
            # Prefer complete answers, then the longest term: the fewest users to filter, the most to show.
            rank = (entry.complete, len(shorter))
            if best is None or rank > best[0]:
                best = (rank, shorter, keep, entry)
        if best is None:
            return None
        _, shorter, keep, entry = best
        self._entries.move_to_end(shorter)
        return [user for user in entry.users if keep(user)], entry


def substring_narrowing(
    shorter: str, longer: str, texts: Callable[[PanelUser], Iterable[str]], *, special: str = ""
) -> UserFilter | None:
    """The narrowing of a search that matches users with `term` as a case-insensitive substring of one of
    `texts(user)`: whatever contains the longer term contains any part of it, so the longer term's matches are
    among the shorter's, and the filter is the panel's own test.

    None (send a request) unless both terms are ASCII, where our lower case is the database's, and free of the
    `special` characters the panel's search reads as something else than themselves (LIKE wildcards, a comma
    meaning "or").
    """
    both = shorter + longer
    if not both.isascii() or any(char in special for char in both) or shorter.lower() not in longer.lower():
        return None
    needle = longer.lower()
    return lambda user: any(needle in text.lower() for text in texts(user))
