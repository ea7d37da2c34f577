"""Members' requests for staff to link them, and failed proofs that rate-limit a member's attempts."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from storage.database import Database, from_timestamp, to_timestamp

_REQUEST_COLUMNS = (
    "id, panel, discord_id, panel_user_id, panel_username, email, status, created_at, decided_by, decided_at, "
    "channel_id, message_id"
)


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class LinkRequest:
    id: int
    panel: str
    discord_id: int
    panel_user_id: str
    panel_username: str | None
    email: str
    status: RequestStatus
    created_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    channel_id: int | None
    message_id: int | None


class LinkRequests:
    """Named queries on `link_requests`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def open(
        self, panel: str, discord_id: int, panel_user_id: str, *, email: str, panel_username: str | None
    ) -> LinkRequest | None:
        """Record a pending request; None when the member already has one pending on this panel."""
        changes = await self._db.execute(
            "INSERT INTO link_requests (panel, discord_id, panel_user_id, panel_username, email, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (panel, discord_id, panel_user_id, panel_username, email, self._db.timestamp()),
        )
        return await self.get(changes.lastrowid) if changes.rowcount == 1 else None

    async def get(self, request_id: int) -> LinkRequest | None:
        row = await self._db.fetch_one(f"SELECT {_REQUEST_COLUMNS} FROM link_requests WHERE id = ?", (request_id,))
        return _request(row) if row is not None else None

    async def pending_for_member(self, panel: str, discord_id: int) -> LinkRequest | None:
        row = await self._db.fetch_one(
            f"SELECT {_REQUEST_COLUMNS} FROM link_requests WHERE panel = ? AND discord_id = ? AND status = 'pending'",
            (panel, discord_id),
        )
        return _request(row) if row is not None else None

    async def posted(self, request_id: int, *, channel_id: int, message_id: int) -> None:
        await self._db.execute(
            "UPDATE link_requests SET channel_id = ?, message_id = ? WHERE id = ?", (channel_id, message_id, request_id)
        )

    async def decide(self, request_id: int, status: RequestStatus, *, decided_by: int | None) -> LinkRequest | None:
        """Close a pending request; None when it was already decided (two staff pressing at once: one wins)."""
        changes = await self._db.execute(
            "UPDATE link_requests SET status = ?, decided_by = ?, decided_at = ? WHERE id = ? AND status = 'pending'",
            (RequestStatus(status).value, decided_by, self._db.timestamp(), request_id),
        )
        return await self.get(request_id) if changes.rowcount == 1 else None

    async def approval_failed(self, request_id: int) -> None:
        """An approval whose link could not be made (the member linked elsewhere meanwhile, ...) ends as not
        approved: the request's record must not claim a link that does not exist."""
        await self._db.execute(
            "UPDATE link_requests SET status = 'denied' WHERE id = ? AND status = 'approved'", (request_id,)
        )


class ProofFailures:
    """Failed proofs of ownership per member, for the attempts-per-window limit."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, discord_id: int, reason: str) -> None:
        await self._db.execute(
            "INSERT INTO proof_failures (discord_id, at, reason) VALUES (?, ?, ?)",
            (discord_id, self._db.timestamp(), reason),
        )

    async def since(self, discord_id: int, window: timedelta) -> list[datetime]:
        """When the member failed within the last `window`, oldest first."""
        cutoff = to_timestamp(self._db.now() - window)
        rows = await self._db.fetch_all(
            "SELECT at FROM proof_failures WHERE discord_id = ? AND at > ? ORDER BY at", (discord_id, cutoff)
        )
        return [from_timestamp(row["at"]) for row in rows]


def _request(row: sqlite3.Row) -> LinkRequest:
    return LinkRequest(
        id=row["id"],
        panel=row["panel"],
        discord_id=row["discord_id"],
        panel_user_id=row["panel_user_id"],
        panel_username=row["panel_username"],
        email=row["email"],
        status=RequestStatus(row["status"]),
        created_at=from_timestamp(row["created_at"]),
        decided_by=row["decided_by"],
        decided_at=from_timestamp(row["decided_at"]) if row["decided_at"] else None,
        channel_id=row["channel_id"],
        message_id=row["message_id"],
    )
