"""The credit ledger on a real SQLite file: each rise is owed once, whoever sees it first."""

from __future__ import annotations

from decimal import Decimal

from storage import Database
from storage.credits import LOW_CREDIT, TOPUP, CreditLedger, StaffChange

PANEL, USER, MEMBER = "main", "7", 4242


def amounts(items: list) -> list[tuple[str, str, str]]:
    return [(i.kind, i.payload.get("amount", ""), i.payload.get("source", "")) for i in items]


async def test_first_sight_is_a_starting_point_then_rises_are_told(db: Database) -> None:
    ledger = CreditLedger(db)
    assert await ledger.observe(PANEL, USER, MEMBER, Decimal(100)) == []
    assert await ledger.observe(PANEL, USER, MEMBER, Decimal(100)) == []
    rise = await ledger.observe(PANEL, USER, MEMBER, Decimal("112.5"))
    assert amounts(rise) == [(TOPUP, "12.5", "panel")]
    assert rise[0].payload["balance"] == "112.5"
    assert await ledger.observe(PANEL, USER, MEMBER, Decimal(90)) == []  # spending: nothing to tell
    assert amounts(await ledger.observe(PANEL, USER, MEMBER, Decimal(95))) == [(TOPUP, "5", "panel")]


async def test_a_staff_top_up_is_told_once_whoever_sees_it_first(db: Database) -> None:
    ledger = CreditLedger(db)
    await ledger.observe(PANEL, USER, MEMBER, Decimal(100))
    staff = StaffChange(delta=Decimal(50), actor_id=1, reason="giveaway")
    told = await ledger.observe(PANEL, USER, MEMBER, Decimal(150), staff=staff)
    assert amounts(told) == [(TOPUP, "50", "staff")] and told[0].payload["reason"] == "giveaway"
    assert await ledger.observe(PANEL, USER, MEMBER, Decimal(150)) == []  # the watcher's next poll


async def test_spending_the_watcher_has_not_seen_does_not_shrink_a_staff_top_up(db: Database) -> None:
    ledger = CreditLedger(db)
    await ledger.observe(PANEL, USER, MEMBER, Decimal(100))
    # Servers are billed 30 on the panel, unpolled; then staff add 50: the panel answers 120.
    told = await ledger.observe(PANEL, USER, MEMBER, Decimal(120), staff=StaffChange(Decimal(50), actor_id=1))
    assert amounts(told) == [(TOPUP, "50", "staff")] and told[0].payload["balance"] == "120"


async def test_a_payment_not_yet_polled_is_told_beside_a_staff_top_up(db: Database) -> None:
    ledger = CreditLedger(db)
    await ledger.observe(PANEL, USER, MEMBER, Decimal(80))
    told = await ledger.observe(PANEL, USER, MEMBER, Decimal(150), staff=StaffChange(Decimal(50), actor_id=1))
    assert amounts(told) == [(TOPUP, "20", "panel"), (TOPUP, "50", "staff")]
    assert [item.payload["balance"] for item in told] == ["100", "150"]


async def test_staff_top_up_of_a_new_account_and_removals(db: Database) -> None:
    ledger = CreditLedger(db)
    told = await ledger.observe(PANEL, USER, MEMBER, Decimal(25), staff=StaffChange(Decimal(25), actor_id=1))
    assert amounts(told) == [(TOPUP, "25", "staff")]
    assert await ledger.observe(PANEL, USER, MEMBER, Decimal(5), staff=StaffChange(Decimal(-20), actor_id=1)) == []
    assert (await db.fetch_one("SELECT credits FROM credit_balances"))["credits"] == "5"


async def test_notices_off_still_moves_the_balance(db: Database) -> None:
    ledger = CreditLedger(db)
    await ledger.observe(PANEL, USER, MEMBER, Decimal(10))
    assert await ledger.observe(PANEL, USER, MEMBER, Decimal(30), notify=False) == []
    assert await ledger.observe(PANEL, USER, MEMBER, Decimal(30)) == []  # not told later either


async def test_low_credit_warning_once_per_crossing(db: Database) -> None:
    ledger = CreditLedger(db)
    threshold = Decimal(10)
    await ledger.observe(PANEL, USER, MEMBER, Decimal(50), low_threshold=threshold)
    warned = await ledger.observe(PANEL, USER, MEMBER, Decimal(8), low_threshold=threshold)
    assert [i.kind for i in warned] == [LOW_CREDIT] and warned[0].payload == {"balance": "8", "threshold": "10"}
    assert await ledger.observe(PANEL, USER, MEMBER, Decimal(3), low_threshold=threshold) == []
    back = await ledger.observe(PANEL, USER, MEMBER, Decimal(20), low_threshold=threshold)
    assert [i.kind for i in back] == [TOPUP]
    again = await ledger.observe(PANEL, USER, MEMBER, Decimal(9), low_threshold=threshold)
    assert [i.kind for i in again] == [LOW_CREDIT]


async def test_every_notice_is_in_the_outbox_with_its_own_nonce(db: Database) -> None:
    ledger = CreditLedger(db)
    await ledger.observe(PANEL, USER, MEMBER, Decimal(0))
    for balance in (10, 20, 30):
        await ledger.observe(PANEL, USER, MEMBER, Decimal(balance))
    rows = await db.fetch_all("SELECT kind, nonce, sent_at FROM outbox ORDER BY id")
    assert [r["kind"] for r in rows] == [TOPUP] * 3
    assert len({r["nonce"] for r in rows}) == 3 and all(r["sent_at"] is None for r in rows)
