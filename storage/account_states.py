"""Account states members are told about: a suspension and its lifting, told once whoever finds it first.

Like the credit ledger, a change is compared, queued and remembered in one transaction: a stop between the notice
and the state it accounts for is impossible, so a restart neither loses the notice nor sends it twice. The first
state seen of an account (when it is linked, or the first sweep after an upgrade) is where notices count from.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.database import Database, to_timestamp
from storage.notifications import NewNotice, OutboxItem, insert_outbox

SUSPENDED = "account_suspended"
UNSUSPENDED = "account_unsuspended"
SUSPENSION_ANNOUNCEMENT = "suspension_announcement"  # the same change, for the staff channel

_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StaffSuspension:
    """A suspension or its lifting made through the bot: who did it, and the reason to tell (if it may be told)."""

    actor_id: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class StateReading:
    """One linked account's suspension as read from the panel (or returned by the bot's own change)."""

    panel_user_id: str
    discord_id: int
    suspended: bool
    notify: bool = True
    staff: StaffSuspension | None = None


class AccountStates:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def known(self, panel: str) -> dict[str, bool]:
        """Every remembered state of one panel, for the watcher to compare with in memory."""
        rows = await self._db.fetch_all("SELECT panel_user_id, suspended FROM account_states WHERE panel = ?", (panel,))
        return {row["panel_user_id"]: bool(row["suspended"]) for row in rows}

    async def observe(self, panel: str, readings: Sequence[StateReading], *, announce: bool) -> list[OutboxItem]:
        """Take in states read; queue a notice for each change (and, with `announce`, one for the staff channel)."""
        if not readings:
            return []
        async with self._db.transaction() as transaction:
            now = self._db.now()
            ids = list(dict.fromkeys(reading.panel_user_id for reading in readings))
            stored: dict[str, bool] = {}
            for start in range(0, len(ids), _LOOKUP_CHUNK):
                chunk = ids[start : start + _LOOKUP_CHUNK]
                rows = await transaction.fetch_all(
                    "SELECT panel_user_id, suspended FROM account_states "
                    f"WHERE panel = ? AND panel_user_id IN ({', '.join('?' * len(chunk))})",
                    (panel, *chunk),
                )
                stored.update({row["panel_user_id"]: bool(row["suspended"]) for row in rows})
            notices: list[NewNotice] = []
            for reading in readings:
                before = stored.get(reading.panel_user_id)
                stored[reading.panel_user_id] = reading.suspended
                if before is None or before == reading.suspended:
                    continue
                notices += _owed(panel, reading, announce)
            queued = await insert_outbox(transaction, now, notices)
            seen_at = to_timestamp(now)
            await transaction.execute_many(
                "INSERT INTO account_states (panel, panel_user_id, suspended, seen_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (panel, panel_user_id) DO UPDATE SET suspended = excluded.suspended, "
                "seen_at = excluded.seen_at",
                [(panel, user_id, int(stored[user_id]), seen_at) for user_id in ids],
            )
        return queued


def _owed(panel: str, reading: StateReading, announce: bool) -> list[NewNotice]:
    # The transaction keeps a change from being queued twice, so the key only has to be unique.
    key = f"{panel}:{reading.panel_user_id}:{secrets.token_hex(8)}"
    payload: dict[str, Any] = {"account": reading.panel_user_id, "source": "panel", "suspended": reading.suspended}
    if reading.staff is not None:
        payload.update(source="staff", actor_id=reading.staff.actor_id, reason=reading.staff.reason)
    kind = SUSPENDED if reading.suspended else UNSUSPENDED
    notices = [NewNotice(panel, reading.discord_id, kind, f"{kind}:{key}", payload)] if reading.notify else []
    if announce:
        notices.append(
            NewNotice(panel, reading.discord_id, SUSPENSION_ANNOUNCEMENT, f"{SUSPENSION_ANNOUNCEMENT}:{key}", payload)
        )
    return notices
