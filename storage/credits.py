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
  crossing while notices are off counts as warned);
- a balance that covers fewer than `CREDIT_WARNING_DAYS` days at the account's steady rate of spending
  (storage/spending.py): one warning, then none until a reading that is not a bill shows it covering more than
  that again (a top-up, or a lower rate). No warning while there is no steady spending to go by.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from storage.database import Database, Transaction, to_timestamp
from storage.notifications import NewNotice, OutboxItem, insert_outbox
from storage.spending import Spending, days_left

TOPUP = "credit_topup"
LOW_CREDIT = "low_credit"
RUNOUT = "credit_runout"  # "about N days of credits left at your current use"
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
    spending: Spending = field(default_factory=Spending)
    runout_warned: bool = False


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
        warning_days: Decimal | None = None,
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
        return await self.observe_many(
            panel, [reading], low_threshold=low_threshold, warning_days=warning_days, announce=announce
        )

    async def observe_many(
        self,
        panel: str,
        readings: Sequence[Reading],
        *,
        low_threshold: Decimal | None = None,
        warning_days: Decimal | None = None,
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
                previous = told.get(reading.panel_user_id)
                owed, row = _owed(panel, reading, previous, low_threshold, announce, now)
                warning, told[reading.panel_user_id] = _runout(panel, reading, previous, row, warning_days, now)
                notices += owed + warning
            queued = await insert_outbox(transaction, now, notices)
            seen_at = to_timestamp(now)
            await transaction.execute_many(
                _REMEMBER,
                [
                    (
                        panel,
                        user_id,
                        str(told[user_id].credits),
                        seen_at,
                        int(told[user_id].low_warned),
                        told[user_id].spending.dump(),
                        int(told[user_id].runout_warned),
                    )
                    for user_id in dict.fromkeys(reading.panel_user_id for reading in readings)
                ],
            )
        return queued


def _owed(
    panel: str, reading: Reading, told: _Told | None, low_threshold: Decimal | None, announce: bool, now: datetime
) -> tuple[list[NewNotice], _Told]:
    """What one reading owes its member (and the staff channel) in top-ups and low-credit warnings, and the
    account's row after it (its spending updated, the run-out warning not yet decided: `_runout`)."""
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
    if low and not warned and _warns(reading):
        payload = {"balance": str(balance), "threshold": str(low_threshold)}
        notices.append(NewNotice(panel, discord_id, LOW_CREDIT, f"low:{key}", payload))
    if told is None:
        return notices, _Told(balance, low)
    spent = _spent(reading, told)
    return notices, _Told(balance, low, told.spending.after(spent, now), told.runout_warned)


def _spent(reading: Reading, told: _Told) -> Decimal:
    """What left the account between two readings, the bot's own change set aside: a removal through the bot is
    not spending, and a top-up through it does not hide a bill."""
    before = reading.balance - (reading.staff.delta if reading.staff is not None else Decimal(0))
    return max(told.credits - before, Decimal(0))


def _warns(reading: Reading) -> bool:
    return reading.notify if reading.warn is None else reading.warn


def _runout(
    panel: str, reading: Reading, previous: _Told | None, told: _Told, warning_days: Decimal | None, now: datetime
) -> tuple[list[NewNotice], _Told]:
    """The "credits will run out" warning a reading owes (at most one until re-armed), and the row after it.

    Only a reading that is not a bill re-arms it, and only when the balance covers more than the threshold at the
    recent rate (steady or not, so a top-up made after the servers stopped counts): the estimate moving a little
    with each bill cannot make it warn, re-arm and warn again. A warning due while warnings are off counts as given.
    """
    if warning_days is None or previous is None:
        return [], told
    if told.runout_warned:
        left = days_left(told.credits, told.spending.per_day())
        if _spent(reading, previous) == 0 and left is not None and left > warning_days:
            return [], replace(told, runout_warned=False)
        return [], told
    left = days_left(told.credits, told.spending.steady_per_day(now))
    if left is None or left >= warning_days:
        return [], told
    notices = []
    if _warns(reading):
        per_day = told.spending.per_day() or Decimal(0)
        payload = {
            "balance": str(told.credits),
            "days": str(left.quantize(Decimal("0.1"))),
            "per_day": str(per_day.quantize(Decimal("0.01"))),
            "threshold_days": str(warning_days),
            "account": reading.panel_user_id,
        }
        key = f"runout:{panel}:{reading.panel_user_id}:{secrets.token_hex(8)}"
        notices.append(NewNotice(panel, reading.discord_id, RUNOUT, key, payload))
    return notices, replace(told, runout_warned=True)


async def _told(transaction: Transaction, panel: str, panel_user_ids: Collection[str]) -> dict[str, _Told]:
    ids = list(panel_user_ids)
    told: dict[str, _Told] = {}
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = ids[start : start + _LOOKUP_CHUNK]
        rows = await transaction.fetch_all(
            "SELECT panel_user_id, credits, low_warned, falls, runout_warned FROM credit_balances "
            f"WHERE panel = ? AND panel_user_id IN ({', '.join('?' * len(chunk))})",
            (panel, *chunk),
        )
        told.update(
            {
                row["panel_user_id"]: _Told(
                    Decimal(row["credits"]),
                    bool(row["low_warned"]),
                    Spending.load(row["falls"]),
                    bool(row["runout_warned"]),
                )
                for row in rows
            }
        )
    return told


_REMEMBER = (
    "INSERT INTO credit_balances (panel, panel_user_id, credits, seen_at, low_warned, falls, runout_warned) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (panel, panel_user_id) DO UPDATE SET credits = excluded.credits, seen_at = excluded.seen_at, "
    "low_warned = excluded.low_warned, falls = excluded.falls, runout_warned = excluded.runout_warned"
)
