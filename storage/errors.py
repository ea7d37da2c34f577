"""The storage layer's exceptions: one base class, so callers can tell a storage failure from a panel's."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.links import Link


class StorageError(Exception):
    """The database could not do what was asked: unreadable file, lock timeout, unknown schema, broken migration.

    The link conflicts below subclass it, so a handler that maps errors to messages must test them first.
    """


class LinkConflict(StorageError):
    """A link was refused because one of its two sides is already taken; `existing` is the link in the way."""

    def __init__(self, existing: Link, message: str) -> None:
        super().__init__(message)
        self.existing = existing


class MemberAlreadyLinked(LinkConflict):
    """The Discord member already holds an account on that panel (possibly the very account asked for)."""

    def __init__(self, existing: Link) -> None:
        super().__init__(
            existing,
            f"member {existing.discord_id} is already linked to account {existing.panel_user_id!r} "
            f"on panel {existing.panel!r}",
        )


class AccountAlreadyLinked(LinkConflict):
    """The panel account already belongs to another Discord member."""

    def __init__(self, existing: Link) -> None:
        super().__init__(
            existing,
            f"account {existing.panel_user_id!r} on panel {existing.panel!r} is already linked to "
            f"member {existing.discord_id}",
        )
