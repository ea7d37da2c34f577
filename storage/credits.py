"""The credit ledger: which part of each linked account's balance its member has been told about.

The stored balance is what the member has been (or is about to be) told. A staff change through the bot and the
watcher's poll both go through here, each in one transaction that compares, queues the notices and moves the stored
balance together. So a top-up is announced once whoever sees it first, and nothing is lost if the bot stops
between two steps: the notice and the balance it accounts for are written at the same instant or not at all.

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
from dataclasses import dataclass
from decimal import Decimal

from storage.database import Database, Transaction, to_timestamp
from storage.notifications import OutboxItem, insert_outbox

TOPUP = "credit_topup"
LOW_CREDIT = "low_credit"
TOPUP_ANNOUNCEMENT = "topup_announcement"  # the same top-up, for the staff channel


@dataclass(frozen=True, slots=True)
class StaffChange:
    """A change of credits made through the bot, known with its reason and author."""

    delta: Decimal
    actor_id: int
    reason: str | None = None


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
        queued: list[OutboxItem] = []
        async with self._db.transaction() as transaction:
            row = await transaction.fetch_one(
                "SELECT credits, seen_at, low_warned FROM credit_balances WHERE panel = ? AND panel_user_id = ?",
                (panel, panel_user_id),
            )
            now = self._db.now()
            # The transaction itself keeps a rise from being queued twice, so the key only has to be unique.
            key = f"{panel}:{panel_user_id}:{secrets.token_hex(8)}"
            if row is None:
                known, warned = None, False
            else:
                known, warned = Decimal(row["credits"]), bool(row["low_warned"])
            rises: list[tuple[Decimal, StaffChange | None]] = []
            if staff is not None and staff.delta > 0:
                # The staff change is told in full: the watcher does not observe an account while a staff change
                # on it is under way (cogs/notifications.py), so a stored balance above `before` is spending.
                before = balance - staff.delta
                if known is not None and before > known:
                    rises.append((before - known, None))  # a rise nobody told the member about yet
                rises.append((staff.delta, staff))
            elif known is not None and balance > known:
                rises.append((balance - known, None))
            for number, (amount, change) in enumerate(rises):
                # An untold rise found beside a staff change happened before it: its balance is the one before.
                shown = balance if change is not None or staff is None else balance - staff.delta
                payload = {"amount": str(amount), "balance": str(shown), "source": "panel", "account": panel_user_id}
                if change is not None:
                    payload.update(source="staff", actor_id=change.actor_id, reason=change.reason)
                kinds = ([TOPUP] if notify else []) + ([TOPUP_ANNOUNCEMENT] if announce else [])
                for kind in kinds:
                    item = await insert_outbox(
                        transaction, now, panel, discord_id, kind, dedupe_key=f"{kind}:{key}:{number}", payload=payload
                    )
                    if item is not None:
                        queued.append(item)
            low = low_threshold is not None and balance < low_threshold
            if low and not warned and notify:
                item = await insert_outbox(
                    transaction,
                    now,
                    panel,
                    discord_id,
                    LOW_CREDIT,
                    dedupe_key=f"low:{key}",
                    payload={"balance": str(balance), "threshold": str(low_threshold)},
                )
                if item is not None:
                    queued.append(item)
            await _remember(transaction, panel, panel_user_id, balance, to_timestamp(now), low_warned=low)
        return queued


async def _remember(
    transaction: Transaction, panel: str, panel_user_id: str, balance: Decimal, seen_at: str, *, low_warned: bool
) -> None:
    await transaction.execute(
        "INSERT INTO credit_balances (panel, panel_user_id, credits, seen_at, low_warned) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (panel, panel_user_id) DO UPDATE SET credits = excluded.credits, seen_at = excluded.seen_at, "
        "low_warned = excluded.low_warned",
        (panel, panel_user_id, str(balance), seen_at, int(low_warned)),
    )
