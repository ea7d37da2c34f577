"""Links between Discord members and panel accounts, and the history of ended links that cooldowns are read from."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from storage.database import Database, Transaction, from_timestamp, to_timestamp
from storage.errors import AccountAlreadyLinked, MemberAlreadyLinked, StorageError

_LINK_COLUMNS = "panel, discord_id, panel_user_id, panel_username, method, linked_by, linked_at"
# The column a link is looked up by; typed as literals because the queries interpolate it.
_KeyColumn = Literal["discord_id", "panel_user_id"]


class LinkMethod(StrEnum):
    """How ownership of the panel account was shown; staff weigh a disputed link by it."""

    EXTERNAL_ID = "external_id"  # the account's external_id on the panel names the member
    PANEL_DISCORD = "panel_discord"  # the panel's own Discord login vouches for the member
    CLIENT_KEY = "client_key"  # the member proved control with one of the account's client API keys
    EMAIL_CODE = "email_code"  # the member typed back a code mailed to the account's email
    STAFF_APPROVAL = "staff_approval"  # the member asked and a staff member approved
    STAFF = "staff"  # a staff member linked it directly
    CREATED = "created"  # the bot created the account for the member
    REGISTERED = "registered"  # the member created it themselves with /register, their email proved by a code


@dataclass(frozen=True, slots=True)
class Link:
    """A member's current link to an account on one named panel."""

    panel: str
    discord_id: int
    panel_user_id: str
    panel_username: str | None
    method: LinkMethod
    linked_by: int | None
    linked_at: datetime


@dataclass(frozen=True, slots=True)
class PastLink:
    """A link that has ended, with when and why."""

    panel: str
    discord_id: int
    panel_user_id: str
    panel_username: str | None
    method: LinkMethod
    linked_by: int | None
    linked_at: datetime
    unlinked_at: datetime
    reason: str


class LinkStore:
    """Named queries on `links` and `link_history`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def link(
        self,
        panel: str,
        discord_id: int,
        panel_user_id: str,
        *,
        method: LinkMethod | str,
        panel_username: str | None = None,
        linked_by: int | None = None,
    ) -> Link:
        """Link a member to an account, or raise the conflict that forbids it.

        The insert itself is the check: the table's two unique keys decide, so two members racing for one account
        (even from two processes) cannot both win. When both sides are taken, `MemberAlreadyLinked` is raised, as
        the member's own link is what they can act on; it is also what re-linking the same pair raises.
        """
        link = Link(
            panel=panel,
            discord_id=discord_id,
            panel_user_id=panel_user_id,
            panel_username=panel_username,
            method=LinkMethod(method),
            linked_by=linked_by,
            linked_at=self._db.now(),
        )
        async with self._db.transaction() as transaction:
            inserted = await transaction.execute(
                f"INSERT INTO links ({_LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    link.panel,
                    link.discord_id,
                    link.panel_user_id,
                    link.panel_username,
                    link.method.value,
                    link.linked_by,
                    to_timestamp(link.linked_at),
                ),
            )
            if inserted.rowcount == 1:
                return link
            # Still inside the write transaction, so the row that blocked the insert cannot have gone since.
            if (mine := await _find(transaction, panel, "discord_id", discord_id)) is not None:
                raise MemberAlreadyLinked(mine)
            if (theirs := await _find(transaction, panel, "panel_user_id", panel_user_id)) is not None:
                raise AccountAlreadyLinked(theirs)
            raise StorageError(f"the link of member {discord_id} on panel {panel!r} was refused without a conflict")

    async def get_for_member(self, panel: str, discord_id: int) -> Link | None:
        return await _find(self._db, panel, "discord_id", discord_id)

    async def get_for_account(self, panel: str, panel_user_id: str) -> Link | None:
        return await _find(self._db, panel, "panel_user_id", panel_user_id)

    async def links_of_member(self, discord_id: int) -> list[Link]:
        """The member's links on every panel, ordered by panel name."""
        rows = await self._db.fetch_all(
            f"SELECT {_LINK_COLUMNS} FROM links WHERE discord_id = ? ORDER BY panel", (discord_id,)
        )
        return [_link(row) for row in rows]

    async def all_for_panel(self, panel: str) -> list[Link]:
        """Every link on one panel, oldest first."""
        rows = await self._db.fetch_all(
            f"SELECT {_LINK_COLUMNS} FROM links WHERE panel = ? ORDER BY linked_at, discord_id", (panel,)
        )
        return [_link(row) for row in rows]

    async def count(self, panel: str) -> int:
        row = await self._db.fetch_one("SELECT count(*) FROM links WHERE panel = ?", (panel,))
        return row[0] if row is not None else 0

    async def count_by_panel(self) -> dict[str, int]:
        """How many members are linked on each panel that has links, in one query (for the metrics)."""
        rows = await self._db.fetch_all("SELECT panel, count(*) AS links FROM links GROUP BY panel")
        return {row["panel"]: row["links"] for row in rows}

    async def unlink_member(self, panel: str, discord_id: int, *, reason: str) -> Link | None:
        """End the member's link on the panel, keeping it in the history; None when there was none."""
        return await self._unlink(panel, "discord_id", discord_id, reason)

    async def unlink_account(self, panel: str, panel_user_id: str, *, reason: str) -> Link | None:
        """End the link of a panel account (deleted on the panel, say), keeping it in the history."""
        return await self._unlink(panel, "panel_user_id", panel_user_id, reason)

    async def last_unlink_of_member(self, panel: str, discord_id: int) -> PastLink | None:
        """The member's most recent ended link on the panel: the start of their relink cooldown."""
        return await self._last_unlink(panel, "discord_id", discord_id)

    async def last_unlink_of_account(self, panel: str, panel_user_id: str) -> PastLink | None:
        """The account's most recent ended link: the start of the wait before another member may claim it."""
        return await self._last_unlink(panel, "panel_user_id", panel_user_id)

    async def _unlink(self, panel: str, column: _KeyColumn, value: int | str, reason: str) -> Link | None:
        async with self._db.transaction() as transaction:
            link = await _find(transaction, panel, column, value)
            if link is None:
                return None
            await transaction.execute(
                f"INSERT INTO link_history ({_LINK_COLUMNS}, unlinked_at, reason) "
                f"SELECT {_LINK_COLUMNS}, ?, ? FROM links WHERE panel = ? AND {column} = ?",
                (self._db.timestamp(), reason, panel, value),
            )
            await transaction.execute(f"DELETE FROM links WHERE panel = ? AND {column} = ?", (panel, value))
        return link

    async def _last_unlink(self, panel: str, column: _KeyColumn, value: int | str) -> PastLink | None:
        row = await self._db.fetch_one(
            f"SELECT {_LINK_COLUMNS}, unlinked_at, reason FROM link_history WHERE panel = ? AND {column} = ? "
            "ORDER BY unlinked_at DESC, id DESC LIMIT 1",
            (panel, value),
        )
        if row is None:
            return None
        return PastLink(
            panel=row["panel"],
            discord_id=row["discord_id"],
            panel_user_id=row["panel_user_id"],
            panel_username=row["panel_username"],
            method=LinkMethod(row["method"]),
            linked_by=row["linked_by"],
            linked_at=from_timestamp(row["linked_at"]),
            unlinked_at=from_timestamp(row["unlinked_at"]),
            reason=row["reason"],
        )


async def _find(queries: Database | Transaction, panel: str, column: _KeyColumn, value: int | str) -> Link | None:
    row = await queries.fetch_one(f"SELECT {_LINK_COLUMNS} FROM links WHERE panel = ? AND {column} = ?", (panel, value))
    return _link(row) if row is not None else None


def _link(row: sqlite3.Row) -> Link:
    return Link(
        panel=row["panel"],
        discord_id=row["discord_id"],
        panel_user_id=row["panel_user_id"],
        panel_username=row["panel_username"],
        method=LinkMethod(row["method"]),
        linked_by=row["linked_by"],
        linked_at=from_timestamp(row["linked_at"]),
    )
