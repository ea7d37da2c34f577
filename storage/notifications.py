"""What the notifiers remember: the last credit balances seen, members' notice choices, and the outbox of notices."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from storage.database import Database, Transaction, from_timestamp, to_timestamp

# Discord refuses a message nonce longer than 25 characters; 18 random bytes make 24 URL-safe ones.
_NONCE_BYTES = 18
# Discord errors can be long; the outbox keeps enough to diagnose, not the whole body.
_MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class CreditBalance:
    panel: str
    panel_user_id: str
    credits: Decimal
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class NotificationPrefs:
    discord_id: int
    credit_notices: bool


# The kinds of notice a member chooses between (/notifications): top-ups; low or running-out credits; their account.
NOTICE_KINDS = ("credits", "warnings", "account")


@dataclass(frozen=True, slots=True)
class CreditNoticeChoices:
    """Every member's notice choices on one panel, read at once for a whole sweep."""

    panel: str
    chosen: Mapping[int, bool]  # credit notices, by Discord id, only members who ever chose
    kinds: Mapping[tuple[int, str], bool] = field(default_factory=dict)  # (id, "warnings" | "account")

    def credit_notices(self, discord_id: int) -> bool:
        """What `get_prefs(discord_id, panel)` says: a member who never chose gets credit notices."""
        return self.chosen.get(discord_id, True)

    def warnings(self, discord_id: int) -> bool:
        """Warnings follow the credit-notice choice until the member chooses for them."""
        return self.kinds.get((discord_id, "warnings"), self.credit_notices(discord_id))

    def account(self, discord_id: int) -> bool:
        return self.kinds.get((discord_id, "account"), True)

    def wants(self, discord_id: int, kind: str) -> bool:
        return {"credits": self.credit_notices, "warnings": self.warnings, "account": self.account}[kind](discord_id)


@dataclass(frozen=True, slots=True)
class NewNotice:
    """A notice about to be queued, before the outbox gives it an id and a nonce."""

    panel: str
    discord_id: int
    kind: str
    dedupe_key: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A notice to send once. Every send of it must carry `nonce`, so a resend after a crash can be recognised."""

    id: int
    created_at: datetime
    panel: str
    discord_id: int
    kind: str  # "credit_topup", "low_credit", …
    payload: dict[str, Any]
    dedupe_key: str
    nonce: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    message_id: int | None


@dataclass(frozen=True, slots=True)
class OutboxSummary:
    """How far the notice sender is behind: for `/panel status` and the metrics."""

    waiting: int  # unsent notices the sender will still try
    oldest_waiting: datetime | None  # when the oldest of them was queued
    given_up: int  # unsent notices tried `max_attempts` times, kept for staff to see


class NotificationStore:
    """Named queries on `credit_balances`, `notification_prefs` and `outbox`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def saw_language(self, discord_id: int, locale: str) -> None:
        """Remember the Discord locale of a member's latest interaction (DMs later go out in that language)."""
        await self._db.execute(
            "INSERT INTO member_languages (discord_id, locale, seen_at) VALUES (?, ?, ?) "
            "ON CONFLICT (discord_id) DO UPDATE SET locale = excluded.locale, seen_at = excluded.seen_at",
            (discord_id, locale, self._db.timestamp()),
        )

    async def language_of(self, discord_id: int) -> str | None:
        """The member's Discord locale as last seen; None if they never used a command."""
        row = await self._db.fetch_one("SELECT locale FROM member_languages WHERE discord_id = ?", (discord_id,))
        return row["locale"] if row is not None else None

    async def get_balance(self, panel: str, panel_user_id: str) -> CreditBalance | None:
        row = await self._db.fetch_one(
            "SELECT * FROM credit_balances WHERE panel = ? AND panel_user_id = ?", (panel, panel_user_id)
        )
        return _balance(row) if row is not None else None

    async def balances(self, panel: str) -> dict[str, CreditBalance]:
        """Every balance last seen on the panel, by panel user id: one query for a watcher's whole poll."""
        rows = await self._db.fetch_all("SELECT * FROM credit_balances WHERE panel = ?", (panel,))
        return {row["panel_user_id"]: _balance(row) for row in rows}

    async def set_balance(self, panel: str, panel_user_id: str, credits: Decimal | int | float) -> CreditBalance:
        balance = CreditBalance(panel, panel_user_id, _decimal(credits), self._db.now())
        await self._db.execute(_UPSERT_BALANCE, _balance_params(balance))
        return balance

    async def set_balances(self, panel: str, credits: Mapping[str, Decimal | int | float]) -> None:
        """Record a whole poll's balances in one transaction: one disk sync instead of one per account."""
        seen_at = self._db.now()
        balances = [CreditBalance(panel, user_id, _decimal(amount), seen_at) for user_id, amount in credits.items()]
        async with self._db.transaction() as transaction:
            for balance in balances:
                await transaction.execute(_UPSERT_BALANCE, _balance_params(balance))

    async def get_prefs(self, discord_id: int, panel: str | None = None) -> NotificationPrefs:
        """The member's choice for `panel` (or for every panel); one who never chose gets credit notices."""
        row = None
        if panel is not None:
            row = await self._db.fetch_one(
                "SELECT credit_notices FROM notification_panel_prefs WHERE discord_id = ? AND panel = ?",
                (discord_id, panel),
            )
        if row is None:
            row = await self._db.fetch_one(
                "SELECT credit_notices FROM notification_prefs WHERE discord_id = ?", (discord_id,)
            )
        return NotificationPrefs(discord_id, credit_notices=bool(row["credit_notices"]) if row is not None else True)

    async def credit_notice_choices(self, panel: str) -> CreditNoticeChoices:
        """Every member's choice for `panel` in one query, for a watcher that would otherwise ask per account.

        A member's choice for this panel overrides their choice for every panel: its rows come last.
        """
        rows = await self._db.fetch_all(
            "SELECT discord_id, credit_notices, 0 AS for_panel FROM notification_prefs UNION ALL "
            "SELECT discord_id, credit_notices, 1 AS for_panel FROM notification_panel_prefs WHERE panel = ? "
            "ORDER BY for_panel",
            (panel,),
        )
        kind_rows = await self._db.fetch_all(
            "SELECT discord_id, kind, enabled FROM notice_kind_prefs WHERE panel IN ('', ?) ORDER BY panel != ''",
            (panel,),
        )
        return CreditNoticeChoices(
            panel,
            {row["discord_id"]: bool(row["credit_notices"]) for row in rows},
            {(row["discord_id"], row["kind"]): bool(row["enabled"]) for row in kind_rows},
        )

    async def member_choices(self, discord_id: int, panel: str) -> CreditNoticeChoices:
        """One member's choices on one panel, in the shape the watcher reads for everyone: two small queries, for a
        staff command or a webhook, where reading every member's choices would be wasted."""
        prefs = await self.get_prefs(discord_id, panel)
        rows = await self._db.fetch_all(
            "SELECT kind, enabled FROM notice_kind_prefs WHERE discord_id = ? AND panel IN ('', ?) "
            "ORDER BY panel != ''",
            (discord_id, panel),
        )
        kinds = {(discord_id, row["kind"]): bool(row["enabled"]) for row in rows}
        return CreditNoticeChoices(panel, {discord_id: prefs.credit_notices}, kinds)

    async def set_kind(self, discord_id: int, kind: str, *, enabled: bool, panel: str | None = None) -> None:
        """Choose one kind of notice ("credits", "warnings", "account") for one panel or for all of them (which
        replaces that kind's per-panel choices)."""
        if kind == "credits":
            await self.set_prefs(discord_id, credit_notices=enabled, panel=panel)
            return
        if kind not in NOTICE_KINDS:
            raise ValueError(f"no kind of notice called {kind!r}")
        async with self._db.transaction() as transaction:
            if panel is None:
                await transaction.execute(
                    "DELETE FROM notice_kind_prefs WHERE discord_id = ? AND kind = ?", (discord_id, kind)
                )
            await transaction.execute(
                "INSERT INTO notice_kind_prefs (discord_id, panel, kind, enabled, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (discord_id, panel, kind) DO UPDATE SET enabled = excluded.enabled, "
                "updated_at = excluded.updated_at",
                (discord_id, panel or "", kind, int(enabled), self._db.timestamp()),
            )

    async def set_prefs(self, discord_id: int, *, credit_notices: bool, panel: str | None = None) -> NotificationPrefs:
        """Choose for one panel, or for all of them (which replaces any per-panel choice)."""
        now = self._db.timestamp()
        async with self._db.transaction() as transaction:
            if panel is not None:
                await transaction.execute(
                    "INSERT INTO notification_panel_prefs (discord_id, panel, credit_notices, updated_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (discord_id, panel) DO UPDATE SET "
                    "credit_notices = excluded.credit_notices, updated_at = excluded.updated_at",
                    (discord_id, panel, int(credit_notices), now),
                )
            else:
                await transaction.execute(
                    "INSERT INTO notification_prefs (discord_id, credit_notices, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (discord_id) DO UPDATE SET "
                    "credit_notices = excluded.credit_notices, updated_at = excluded.updated_at",
                    (discord_id, int(credit_notices), now),
                )
                await transaction.execute("DELETE FROM notification_panel_prefs WHERE discord_id = ?", (discord_id,))
        return NotificationPrefs(discord_id, credit_notices=credit_notices)

    async def enqueue(
        self,
        panel: str,
        discord_id: int,
        kind: str,
        *,
        dedupe_key: str,
        payload: Mapping[str, Any] | None = None,
    ) -> OutboxItem | None:
        """Queue a notice, or return None when one with this `dedupe_key` was ever queued (sent or not).

        The key should name the event, not the attempt to report it, e.g. f"topup:{panel}:{user_id}:{old}->{new}",
        so that a watcher which re-detects the same change after a restart adds nothing.
        """
        notice = NewNotice(panel, discord_id, kind, dedupe_key, dict(payload or {}))
        async with self._db.transaction() as transaction:
            queued = await insert_outbox(transaction, self._db.now(), [notice])
        return queued[0] if queued else None

    async def pending(self, limit: int = 50, *, max_attempts: int | None = None) -> list[OutboxItem]:
        """Unsent notices that are due, oldest first. A failed notice is due again at its `retry_at`. With
        `max_attempts`, notices that failed that often are left out (but kept, for staff to see): a member who
        closed their DMs should not be retried forever.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        rows = await self._db.fetch_all(
            "SELECT * FROM outbox WHERE sent_at IS NULL AND (? IS NULL OR attempts < ?) "
            "AND (retry_at IS NULL OR retry_at <= ?) ORDER BY id LIMIT ?",
            (max_attempts, max_attempts, self._db.timestamp(), limit),
        )
        return [_outbox_item(row) for row in rows]

    async def outbox_summary(self, *, max_attempts: int) -> OutboxSummary:
        """The outbox's depth and its oldest waiting notice, in one query over the unsent rows only (CASE rather
        than FILTER, which needs SQLite 3.30)."""
        row = await self._db.fetch_one(
            "SELECT coalesce(sum(CASE WHEN attempts < ? THEN 1 ELSE 0 END), 0) AS waiting, "
            "min(CASE WHEN attempts < ? THEN created_at END) AS oldest, "
            "coalesce(sum(CASE WHEN attempts >= ? THEN 1 ELSE 0 END), 0) AS given_up "
            "FROM outbox WHERE sent_at IS NULL",
            (max_attempts, max_attempts, max_attempts),
        )
        if row is None:
            return OutboxSummary(0, None, 0)
        oldest = from_timestamp(row["oldest"]) if row["oldest"] is not None else None
        return OutboxSummary(row["waiting"], oldest, row["given_up"])

    async def get(self, item_id: int) -> OutboxItem | None:
        row = await self._db.fetch_one("SELECT * FROM outbox WHERE id = ?", (item_id,))
        return _outbox_item(row) if row is not None else None

    async def mark_sent(self, item_id: int, message_id: int) -> bool:
        """Record the delivery; False when the item is unknown or was already marked sent (the first mark stays)."""
        changes = await self._db.execute(
            "UPDATE outbox SET sent_at = ?, message_id = ?, attempts = attempts + 1, last_error = NULL "
            "WHERE id = ? AND sent_at IS NULL",
            (self._db.timestamp(), message_id, item_id),
        )
        return changes.rowcount == 1

    async def mark_dropped(self, item_id: int, reason: str) -> bool:
        """Give a notice up for good (nowhere to deliver it): closed like a sent one, with the reason kept."""
        changes = await self._db.execute(
            "UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ? AND sent_at IS NULL",
            (self._db.timestamp(), f"dropped: {reason}"[:_MAX_ERROR_LENGTH], item_id),
        )
        return changes.rowcount == 1

    async def mark_failed(self, item_id: int, error: str, *, retry_in: float = 0.0) -> bool:
        """Count a failed send, keeping the item (and its nonce) for a try in `retry_in` seconds; False when
        unknown or sent."""
        retry_at = to_timestamp(self._db.now() + timedelta(seconds=retry_in))
        changes = await self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, retry_at = ? WHERE id = ? AND sent_at IS NULL",
            (error[:_MAX_ERROR_LENGTH], retry_at, item_id),
        )
        return changes.rowcount == 1


async def insert_outbox(
    transaction: Transaction, created_at: datetime, notices: Sequence[NewNotice]
) -> list[OutboxItem]:
    """Queue `notices` with one statement, inside the caller's transaction (the credit ledger queues its notices in
    the one that moves their balances); return those that are new, in order. A notice whose `dedupe_key` was ever
    queued adds nothing.

    The new rows are read back as those above the highest id before the insert: the transaction holds the write
    lock since its BEGIN IMMEDIATE, and SQLite numbers a new row one above the highest, so no other writer's rows
    can be among them. (RETURNING would say it directly, but needs SQLite 3.35, newer than some long-term
    distributions ship.)
    """
    if not notices:
        return []
    stamp = to_timestamp(created_at)
    highest = await transaction.fetch_one("SELECT COALESCE(MAX(id), 0) AS id FROM outbox")
    await transaction.execute_many(
        "INSERT INTO outbox (created_at, panel, discord_id, kind, payload, dedupe_key, nonce) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
        [
            (
                stamp,
                notice.panel,
                notice.discord_id,
                notice.kind,
                json.dumps(dict(notice.payload), ensure_ascii=False, default=str),
                notice.dedupe_key,
                secrets.token_urlsafe(_NONCE_BYTES),
            )
            for notice in notices
        ],
    )
    rows = await transaction.fetch_all(
        "SELECT * FROM outbox WHERE id > ? ORDER BY id", (highest["id"] if highest is not None else 0,)
    )
    return [_outbox_item(row) for row in rows]


_UPSERT_BALANCE = (
    "INSERT INTO credit_balances (panel, panel_user_id, credits, seen_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (panel, panel_user_id) DO UPDATE SET credits = excluded.credits, seen_at = excluded.seen_at"
)


def _decimal(credits: Decimal | int | float) -> Decimal:
    # Through str() so a float such as 10.1 from a panel's JSON is stored as the 10.1 it printed, not its binary value.
    amount = credits if isinstance(credits, Decimal) else Decimal(str(credits))
    if not amount.is_finite():
        raise ValueError(f"refusing to store a credit balance of {credits!r}")
    return amount


def _balance_params(balance: CreditBalance) -> tuple[str, str, str, str]:
    return balance.panel, balance.panel_user_id, str(balance.credits), to_timestamp(balance.seen_at)


def _balance(row: sqlite3.Row) -> CreditBalance:
    return CreditBalance(
        panel=row["panel"],
        panel_user_id=row["panel_user_id"],
        credits=Decimal(row["credits"]),
        seen_at=from_timestamp(row["seen_at"]),
    )


def _outbox_item(row: sqlite3.Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        created_at=from_timestamp(row["created_at"]),
        panel=row["panel"],
        discord_id=row["discord_id"],
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        dedupe_key=row["dedupe_key"],
        nonce=row["nonce"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        sent_at=from_timestamp(row["sent_at"]) if row["sent_at"] is not None else None,
        message_id=row["message_id"],
    )
