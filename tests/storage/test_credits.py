"""The credit ledger on a real SQLite file: each rise is owed once, whoever sees it first."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from storage import Database, StorageError
from storage.credits import LOW_CREDIT, RUNOUT, TOPUP, TOPUP_ANNOUNCEMENT, CreditLedger, Reading, StaffChange
from tests.storage.conftest import Clock

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


# --- many accounts in one transaction (the watcher's sweep) ------------------------------------------------------

THRESHOLD = Decimal(10)


def reading(user: str, balance: int, *, notify: bool = True, staff: StaffChange | None = None) -> Reading:
    return Reading(user, 1000 + int(user), Decimal(balance), notify=notify, staff=staff)


OFF = {"notify": False}
CONTEST = {"staff": StaffChange(Decimal(30), actor_id=1, reason="contest")}
GIFT = {"staff": StaffChange(Decimal(25), actor_id=1)}
# Sweeps of eight accounts, each a batch: top-ups, spending, a fall then a net rise, low-credit warnings and their
# re-arming, notices off (still announced to staff), staff changes, an account read twice, first sightings.
SWEEPS = [
    [reading(user, balance) for user, balance in [("1", 100), ("2", 100), ("3", 5), ("4", 50), ("5", 20), ("6", 100)]],
    [
        reading("1", 130),
        reading("2", 70),
        reading("3", 4),
        reading("4", 8),
        reading("5", 40, **OFF),
        reading("6", 150, **CONTEST),  # 20 unpolled before the staff's 30
        reading("7", 100),  # first seen, and risen, in the same batch
        reading("7", 125),
        reading("8", 25, **GIFT),
    ],
    [reading("1", 125), reading("2", 90), reading("3", 20), reading("4", 3), reading("5", 5, **OFF)],
    [reading("1", 140), reading("3", 9), reading("4", 20), reading("5", 4)],
    [reading("4", 9), reading("5", 30)],
    [reading("5", 8)],
]


async def outbox(db: Database) -> list[tuple[str, int, dict]]:
    rows = await db.fetch_all("SELECT kind, discord_id, payload FROM outbox ORDER BY id")
    return [(row["kind"], row["discord_id"], json.loads(row["payload"])) for row in rows]


async def ledger_rows(db: Database) -> list[tuple[str, str, int]]:
    rows = await db.fetch_all("SELECT panel_user_id, credits, low_warned FROM credit_balances ORDER BY panel_user_id")
    return [(row["panel_user_id"], row["credits"], row["low_warned"]) for row in rows]


async def test_a_batch_queues_exactly_what_one_account_at_a_time_would(db: Database, tmp_path: Path) -> None:
    one_by_one = CreditLedger(db)
    async with Database.connect(tmp_path / "batched.sqlite3", now=db.now) as batched_db:
        batched = CreditLedger(batched_db)
        for sweep in SWEEPS:
            told_one_by_one = []
            for r in sweep:
                told_one_by_one += await one_by_one.observe(
                    PANEL,
                    r.panel_user_id,
                    r.discord_id,
                    r.balance,
                    notify=r.notify,
                    staff=r.staff,
                    low_threshold=THRESHOLD,
                    announce=True,
                )
            told_batched = await batched.observe_many(PANEL, sweep, low_threshold=THRESHOLD, announce=True)
            assert [(i.kind, i.discord_id, i.payload) for i in told_batched] == [
                (i.kind, i.discord_id, i.payload) for i in told_one_by_one
            ]
        assert await outbox(batched_db) == await outbox(db)
        assert await ledger_rows(batched_db) == await ledger_rows(db)
    kinds = Counter(kind for kind, _, _ in await outbox(db))
    assert kinds == {TOPUP: 10, TOPUP_ANNOUNCEMENT: 11, LOW_CREDIT: 5}  # every case above was met
    told_member_5 = [(kind, payload.get("amount")) for kind, member, payload in await outbox(db) if member == 1005]
    # 5's rise with notices off reaches the staff channel only; its crossing while off counts as warned, so the
    # next warning waits for the balance to recover (to 30) and fall again (to 8).
    assert told_member_5 == [(TOPUP_ANNOUNCEMENT, "20"), (TOPUP, "26"), (TOPUP_ANNOUNCEMENT, "26"), (LOW_CREDIT, None)]


async def test_a_batch_that_fails_leaves_nothing_and_is_told_once_when_read_again(db: Database) -> None:
    ledger = CreditLedger(db)
    await ledger.observe_many(PANEL, [reading("1", 100), reading("2", 100), reading("3", 50)])
    before = await ledger_rows(db)
    # SQLite refuses the batch's last write, its balances: after its notices were already inserted.
    await db.execute(
        "CREATE TRIGGER disk_full BEFORE INSERT ON credit_balances WHEN NEW.panel_user_id = '3' "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    sweep = [reading("1", 130), reading("2", 70), reading("3", 80)]
    with pytest.raises(StorageError, match="disk is full"):
        await ledger.observe_many(PANEL, sweep, low_threshold=THRESHOLD, announce=True)
    assert await outbox(db) == [] and await ledger_rows(db) == before

    await db.execute("DROP TRIGGER disk_full")
    retried = await ledger.observe_many(PANEL, sweep, low_threshold=THRESHOLD, announce=True)
    assert [(i.kind, i.payload["account"], i.payload["amount"]) for i in retried] == [
        (TOPUP, "1", "30"),
        (TOPUP_ANNOUNCEMENT, "1", "30"),
        (TOPUP, "3", "30"),
        (TOPUP_ANNOUNCEMENT, "3", "30"),
    ]
    assert await ledger.observe_many(PANEL, sweep, low_threshold=THRESHOLD, announce=True) == []
    assert len(await outbox(db)) == 4


# --- credits will run out ----------------------------------------------------------------------------------------

DAYS = Decimal(3)


async def bill(ledger: CreditLedger, clock: Clock, balance: float, *, hours: float = 6, **options: object) -> list:
    """A sweep `hours` after the last one reads `balance`."""
    clock.advance(hours=hours)
    return await ledger.observe(PANEL, USER, MEMBER, Decimal(str(balance)), warning_days=DAYS, **options)  # type: ignore[arg-type]


async def test_steady_billing_warns_once_when_fewer_than_the_days_are_left(db: Database, clock: Clock) -> None:
    ledger = CreditLedger(db)
    await bill(ledger, clock, 200, hours=0)  # linked: the starting point
    # 10 credits every 6 hours is 40 a day: 200 covers 5 days, 110 covers 2.75.
    told = [await bill(ledger, clock, balance) for balance in (190, 180, 170, 160, 150, 140, 130, 120, 110, 100, 90)]
    kinds = [[item.kind for item in items] for items in told]
    assert kinds == [[]] * 8 + [[RUNOUT], [], []]
    warning = told[8][0].payload
    assert warning["balance"] == "110" and warning["days"] == "2.8" and warning["per_day"] == "40.00"
    # Between two bills the balance stays: still warned, nothing more.
    assert await bill(ledger, clock, 90, hours=2) == []


async def test_no_warning_without_steady_spending(db: Database, clock: Clock) -> None:
    ledger = CreditLedger(db)
    await bill(ledger, clock, 1000, hours=0)
    assert await bill(ledger, clock, 100) == []  # one big fall is not a rate
    assert await bill(ledger, clock, 90) == []  # and is no bill beside the ones that follow
    assert await bill(ledger, clock, 80) == []  # two bills: one gap, not yet "steady"
    assert [i.kind for i in await bill(ledger, clock, 70)] == [RUNOUT]  # the third at that pace: 1.75 days left


async def test_spending_that_stopped_and_one_off_removals_are_not_warned_about(db: Database, clock: Clock) -> None:
    ledger = CreditLedger(db)
    await bill(ledger, clock, 1000, hours=0)
    for balance in (990, 980, 970):  # 40 a day: 970 covers about 24 days
        await bill(ledger, clock, balance)
    # The servers were deleted: the balance stays; two days on, spending has stopped.
    assert await bill(ledger, clock, 970, hours=48) == []
    # A panel admin takes 870 credits: a one-off, not a bill, so the rate (and its silence) stand.
    assert await bill(ledger, clock, 100, hours=0.1) == []
    # The servers come back, billed at the old pace: the rate, lowered by the pause, climbs back, and warns once.
    told = [[i.kind for i in await bill(ledger, clock, balance)] for balance in range(90, -10, -10)]
    assert told.count([RUNOUT]) == 1 and told[0] == []


async def test_a_top_up_above_the_threshold_re_arms_the_warning(db: Database, clock: Clock) -> None:
    ledger = CreditLedger(db)
    await bill(ledger, clock, 160, hours=0)
    for balance in (150, 140, 130, 120):  # 40 a day: 120 covers exactly 3 days, not fewer
        assert await bill(ledger, clock, balance) == []
    assert [i.kind for i in await bill(ledger, clock, 110)] == [RUNOUT]
    assert [i.kind for i in await bill(ledger, clock, 115, hours=1)] == [TOPUP]  # 2.9 days: not enough to re-arm
    assert await bill(ledger, clock, 105, hours=5) == []
    assert [i.kind for i in await bill(ledger, clock, 400, hours=1)] == [TOPUP]  # 10 days: re-armed
    for balance in range(390, 110, -10):
        assert await bill(ledger, clock, balance) == [], balance
    assert [i.kind for i in await bill(ledger, clock, 110)] == [RUNOUT]


async def test_staff_changes_through_the_bot_are_not_spending(db: Database, clock: Clock) -> None:
    ledger = CreditLedger(db)
    await bill(ledger, clock, 1000, hours=0)
    for step in range(4):  # staff take 200 four times: not a bill, so no rate and no warning
        removal = StaffChange(delta=Decimal(-200), actor_id=1)
        assert await bill(ledger, clock, 800 - 200 * step, staff=removal) == []


async def test_a_warning_due_while_warnings_are_off_counts_as_given(db: Database, clock: Clock) -> None:
    ledger = CreditLedger(db)
    await bill(ledger, clock, 160, hours=0)
    for balance in (150, 140, 130):
        await bill(ledger, clock, balance)
    quiet = Reading(USER, MEMBER, Decimal(110), warn=False)
    clock.advance(hours=6)
    assert await ledger.observe_many(PANEL, [quiet], warning_days=DAYS) == []
    assert await bill(ledger, clock, 100) == []  # warnings back on: this crossing was already had


async def test_the_spending_record_survives_a_reopen(db_path: Path, clock: Clock) -> None:
    async with Database.connect(db_path, now=clock) as first:
        ledger = CreditLedger(first)
        await bill(ledger, clock, 160, hours=0)
        for balance in (150, 140, 130):
            await bill(ledger, clock, balance)
    async with Database.connect(db_path, now=clock) as second:
        assert [i.kind for i in await bill(CreditLedger(second), clock, 110)] == [RUNOUT]
