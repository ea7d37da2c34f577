"""The credit ledger: which part of each linked account's balance its member has been told about.

The stored balance is what the member has been (or is about to be) told. A staff change through the bot (one
account) and the watcher's poll (a page of accounts at a time) both go through here, each in one transaction that
compares, queues the notices and moves the stored balances together. So a top-up is announced once whoever sees it
first, and nothing is lost if the bot stops between two steps: the notice and the balance it accounts for are
written at the same instant or not at all.

What a member sees, by case:
- a top-up (staff, a payment, a voucher): one notice of the amount and the new balance;
- a top-up made through the bot: one notice with the staff member's reason (and name, where shown);
- spending or a staff removal: no notice; the balance is simply remembered;
- a balance that fell and rose again between two polls: one notice of the net rise, if there is one;
- the first time an account is seen (when it is linked): no notice; its balance becomes the starting point, and a
  balance already under the low-credit threshold counts as warned;
- falling below the low-credit threshold: one warning, then none until the balance has been back above it (a
  crossing while notices are off counts as warned).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from storage.database import Database, Transaction, to_timestamp
from storage.notifications import NewNotice, OutboxItem, insert_outbox

TOPUP = "credit_topup"
LOW_CREDIT = "low_credit"
TOPUP_ANNOUNCEMENT = "topup_announcement"  # the same top-up, for the staff channel

# Accounts looked up per statement: under SQLite's oldest limit of 999 parameters, whatever the batch size.
_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class StaffChange:
    """A change of credits made through the bot, known with its reason and author."""

    delta: Decimal
    actor_id: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """One linked account's balance as read from the panel (or returned by a change the bot made)."""

    panel_user_id: str
    discord_id: int
    balance: Decimal
    notify: bool = True  # False: the member turned credit notices off, for this panel or all
    staff: StaffChange | None = None
    warn: bool | None = None  # low-credit warnings; None: as `notify` (the member never chose for warnings)


@dataclass(frozen=True, slots=True)
class _Told:
    """The ledger's row: the balance the member has been told about, and whether they are warned of it being low."""

    credits: Decimal
    low_warned: bool


class CreditLedger:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def observe(
        self,
        panel: str,
        panel_user_id: str,
        discord_id: int,
        balance: Decimal,
        *,
        notify: bool = True,
        low_threshold: Decimal | None = None,
        staff: StaffChange | None = None,
        announce: bool = False,
    ) -> list[OutboxItem]:
        """Take in a balance read from the panel (or returned by a change the bot made); queue what is owed.

        `staff` describes the change the bot itself just made, so its notice carries the reason and author. Any
        rise the ledger had not yet accounted for beyond it (a payment the watcher has not polled yet) gets a
        notice of its own; a fall (servers billed since the last poll) does not shrink the staff amount.
        `notify=False` (the member turned notices off) still moves the balance. `announce` also queues each
        top-up for the staff channel, whether or not the member hears of it.
        """
        reading = Reading(panel_user_id, discord_id, balance, notify=notify, staff=staff)
        return await self.observe_many(panel, [reading], low_threshold=low_threshold, announce=announce)

    async def observe_many(
        self,
        panel: str,
        readings: Sequence[Reading],
        *,
        low_threshold: Decimal | None = None,
        announce: bool = False,
    ) -> list[OutboxItem]:
        """`observe` for many accounts of one panel, in one transaction: a watcher's page costs one commit, not one
        per account. What is owed is decided exactly as `observe` decides it, account by account, in order.

        The ledger's rows are read inside the transaction rather than taken from the caller, who loaded them before
        reading the panel: a staff change may have moved one since. All of it is recorded, or (the transaction
        failed, the process died) none of it, so the next sweep finds the same changes again and tells them once.
        """
        if not readings:
            return []
        async with self._db.transaction() as transaction:
            now = self._db.now()
            told = await _told(transaction, panel, {reading.panel_user_id for reading in readings})
            notices: list[NewNotice] = []
            for reading in readings:
                owed, warned = _owed(panel, reading, told.get(reading.panel_user_id), low_threshold, announce)
                notices += owed
                told[reading.panel_user_id] = _Told(reading.balance, warned)
            queued = await insert_outbox(transaction, now, notices)
            seen_at = to_timestamp(now)
            await transaction.execute_many(
                _REMEMBER,
                [
                    (panel, user_id, str(told[user_id].credits), seen_at, int(told[user_id].low_warned))
                    for user_id in dict.fromkeys(reading.panel_user_id for reading in readings)
                ],
            )
        return queued


def _owed(
    panel: str, reading: Reading, told: _Told | None, low_threshold: Decimal | None, announce: bool
) -> tuple[list[NewNotice], bool]:
    """What one reading owes its member (and the staff channel), and whether the account now counts as warned."""
    balance, staff, discord_id = reading.balance, reading.staff, reading.discord_id
    # The transaction itself keeps a rise from being queued twice, so the key only has to be unique.
    key = f"{panel}:{reading.panel_user_id}:{secrets.token_hex(8)}"
    known, warned = (None, False) if told is None else (told.credits, told.low_warned)
    rises: list[tuple[Decimal, StaffChange | None]] = []
    if staff is not None and staff.delta > 0:
        # The staff change is told in full: the watcher does not observe an account while a staff change on it is
        # under way (cogs/notifications.py), so a stored balance above `before` is spending.
        before = balance - staff.delta
        if known is not None and before > known:
            rises.append((before - known, None))  # a rise nobody told the member about yet
        rises.append((staff.delta, staff))
    elif known is not None and balance > known:
        rises.append((balance - known, None))
    notices: list[NewNotice] = []
    kinds = ([TOPUP] if reading.notify else []) + ([TOPUP_ANNOUNCEMENT] if announce else [])
    for number, (amount, change) in enumerate(rises):
        # An untold rise found beside a staff change happened before it: its balance is the one before.
        shown = balance if change is not None or staff is None else balance - staff.delta
        payload: dict[str, Any] = {
            "amount": str(amount),
            "balance": str(shown),
            "source": "panel",
            "account": reading.panel_user_id,
        }
        if change is not None:
            payload.update(source="staff", actor_id=change.actor_id, reason=change.reason)
        notices += [NewNotice(panel, discord_id, kind, f"{kind}:{key}:{number}", payload) for kind in kinds]
    low = low_threshold is not None and balance < low_threshold
    if low and not warned and (reading.notify if reading.warn is None else reading.warn):
        payload = {"balance": str(balance), "threshold": str(low_threshold)}
        notices.append(NewNotice(panel, discord_id, LOW_CREDIT, f"low:{key}", payload))
    return notices, low


async def _told(transaction: Transaction, panel: str, panel_user_ids: Collection[str]) -> dict[str, _Told]:
    ids = list(panel_user_ids)
    told: dict[str, _Told] = {}
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = ids[start : start + _LOOKUP_CHUNK]
        rows = await transaction.fetch_all(
            "SELECT panel_user_id, credits, low_warned FROM credit_balances "
            f"WHERE panel = ? AND panel_user_id IN ({', '.join('?' * len(chunk))})",
            (panel, *chunk),
        )
        told.update({row["panel_user_id"]: _Told(Decimal(row["credits"]), bool(row["low_warned"])) for row in rows})
    return told


_REMEMBER = (
    "INSERT INTO credit_balances (panel, panel_user_id, credits, seen_at, low_warned) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (panel, panel_user_id) DO UPDATE SET credits = excluded.credits, seen_at = excluded.seen_at, "
    "low_warned = excluded.low_warned"
)
