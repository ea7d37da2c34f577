from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from storage import CreditBalance, Database, NotificationPrefs, NotificationStore, OutboxSummary
from tests.storage.conftest import Clock


@pytest.fixture
def notifications(db: Database) -> NotificationStore:
    return NotificationStore(db)


async def test_a_balance_reads_back_exactly(notifications: NotificationStore, clock: Clock) -> None:
    stored = await notifications.set_balance("main", "7", Decimal("10.10"))
    from_float = await notifications.set_balance("main", "8", 10.1)

    assert stored == CreditBalance("main", "7", Decimal("10.10"), clock.current)
    read = await notifications.get_balance("main", "7")
    assert read == stored
    assert read is not None and str(read.credits) == "10.10"
    assert (await notifications.get_balance("main", "8")) == from_float
    assert from_float.credits == Decimal("10.1")
    assert await notifications.get_balance("eu", "7") is None


async def test_a_new_balance_replaces_the_last_one(notifications: NotificationStore, clock: Clock) -> None:
    await notifications.set_balance("main", "7", 100)
    clock.advance(minutes=5)
    await notifications.set_balance("main", "7", Decimal("250.5"))

    assert await notifications.get_balance("main", "7") == CreditBalance("main", "7", Decimal("250.5"), clock.current)


async def test_balances_are_read_and_written_a_panel_at_a_time(notifications: NotificationStore, clock: Clock) -> None:
    await notifications.set_balance("main", "7", 1)
    await notifications.set_balance("eu", "7", 99)
    clock.advance(minutes=5)

    await notifications.set_balances("main", {"7": Decimal("5.25"), "8": 0, "uuid-9": 12.5})

    assert await notifications.balances("main") == {
        "7": CreditBalance("main", "7", Decimal("5.25"), clock.current),
        "8": CreditBalance("main", "8", Decimal("0"), clock.current),
        "uuid-9": CreditBalance("main", "uuid-9", Decimal("12.5"), clock.current),
    }
    assert list(await notifications.balances("eu")) == ["7"]
    assert await notifications.balances("nowhere") == {}


async def test_a_balance_that_is_not_a_number_is_refused(notifications: NotificationStore) -> None:
    with pytest.raises(ValueError, match="NaN"):
        await notifications.set_balance("main", "7", Decimal("NaN"))
    assert await notifications.get_balance("main", "7") is None


async def test_prefs_default_to_notices_on_and_keep_the_members_choice(notifications: NotificationStore) -> None:
    assert await notifications.get_prefs(111) == NotificationPrefs(111, credit_notices=True)

    assert await notifications.set_prefs(111, credit_notices=False) == NotificationPrefs(111, credit_notices=False)
    assert await notifications.get_prefs(111) == NotificationPrefs(111, credit_notices=False)
    assert await notifications.get_prefs(222) == NotificationPrefs(222, credit_notices=True)

    await notifications.set_prefs(111, credit_notices=True)
    assert await notifications.get_prefs(111) == NotificationPrefs(111, credit_notices=True)


async def test_the_same_event_is_queued_once(notifications: NotificationStore, clock: Clock) -> None:
    item = await notifications.enqueue(
        "main", 111, "credit_topup", dedupe_key="topup:main:7:10->60", payload={"before": "10", "after": "60"}
    )

    assert item is not None
    assert (item.created_at, item.attempts, item.sent_at, item.payload) == (
        clock.current,
        0,
        None,
        {"before": "10", "after": "60"},
    )
    assert 1 <= len(item.nonce) <= 25
    assert await notifications.enqueue("main", 111, "credit_topup", dedupe_key="topup:main:7:10->60") is None
    assert await notifications.pending() == [item]


async def test_every_notice_gets_its_own_nonce(notifications: NotificationStore) -> None:
    items = [await notifications.enqueue("main", 111, "low_credit", dedupe_key=f"low:{n}") for n in range(30)]

    nonces = {item.nonce for item in items if item is not None}
    assert len(nonces) == 30
    assert all(len(nonce) <= 25 for nonce in nonces)


async def test_a_resend_after_a_restart_reuses_the_nonce(db_path: Path, clock: Clock) -> None:
    async with Database.connect(db_path, now=clock) as db:
        item = await NotificationStore(db).enqueue("main", 111, "credit_topup", dedupe_key="topup:1")
        assert item is not None
        assert await NotificationStore(db).mark_failed(item.id, "503 Service Unavailable")

    clock.advance(minutes=10)
    async with Database.connect(db_path, now=clock) as db:
        notifications = NotificationStore(db)
        [retry] = await notifications.pending()
        assert (retry.id, retry.nonce, retry.attempts, retry.last_error) == (
            item.id,
            item.nonce,
            1,
            "503 Service Unavailable",
        )

        assert await notifications.mark_sent(retry.id, message_id=1234567890123456789)
        sent = await notifications.get(retry.id)
        assert sent is not None
        assert (sent.nonce, sent.sent_at, sent.message_id, sent.attempts) == (
            item.nonce,
            clock.current,
            1234567890123456789,
            2,
        )
        assert await notifications.pending() == []
        # Once sent, it stays sent, and the event cannot be queued again.
        assert not await notifications.mark_sent(retry.id, message_id=1)
        assert not await notifications.mark_failed(retry.id, "late failure")
        assert await notifications.enqueue("main", 111, "credit_topup", dedupe_key="topup:1") is None
        assert await notifications.get(retry.id) == sent


async def test_pending_is_oldest_first_and_can_leave_out_hopeless_notices(notifications: NotificationStore) -> None:
    first = await notifications.enqueue("main", 111, "low_credit", dedupe_key="a")
    second = await notifications.enqueue("main", 222, "low_credit", dedupe_key="b")
    third = await notifications.enqueue("main", 333, "low_credit", dedupe_key="c")
    assert first is not None and second is not None and third is not None
    for _ in range(3):
        await notifications.mark_failed(second.id, "50007: Cannot send messages to this user")

    assert [item.id for item in await notifications.pending()] == [first.id, second.id, third.id]
    assert [item.id for item in await notifications.pending(limit=2)] == [first.id, second.id]
    assert [item.id for item in await notifications.pending(max_attempts=3)] == [first.id, third.id]


async def test_marking_an_unknown_notice_changes_nothing(notifications: NotificationStore) -> None:
    assert not await notifications.mark_sent(42, message_id=1)
    assert not await notifications.mark_failed(42, "error")
    assert await notifications.get(42) is None


async def test_a_failed_notice_waits_before_its_next_try(notifications: NotificationStore, clock: Clock) -> None:
    item = await notifications.enqueue("main", 111, "credit_topup", dedupe_key="wait")
    assert item is not None
    await notifications.mark_failed(item.id, "503: Discord is having a moment", retry_in=120)
    assert await notifications.pending() == []  # not due yet, not lost
    clock.advance(seconds=119)
    assert await notifications.pending() == []
    clock.advance(seconds=1)
    [due] = await notifications.pending()
    assert (due.id, due.attempts, due.nonce) == (item.id, 1, item.nonce)


async def test_a_choice_for_one_panel_overrides_the_choice_for_all(notifications: NotificationStore) -> None:
    await notifications.set_prefs(111, credit_notices=False, panel="eu")
    assert (await notifications.get_prefs(111, "eu")).credit_notices is False
    assert (await notifications.get_prefs(111, "main")).credit_notices is True
    assert (await notifications.get_prefs(111)).credit_notices is True
    await notifications.set_prefs(111, credit_notices=True)  # a choice for every panel replaces the one for eu
    assert (await notifications.get_prefs(111, "eu")).credit_notices is True
    await notifications.set_prefs(111, credit_notices=False)
    await notifications.set_prefs(111, credit_notices=True, panel="main")
    assert [(await notifications.get_prefs(111, p)).credit_notices for p in ("main", "eu")] == [True, False]


async def test_a_panels_choices_read_at_once_agree_with_each_members_own(notifications: NotificationStore) -> None:
    # 1 never chose; 2 turned notices off everywhere; 3 off everywhere, then on for main; 4 off for main only;
    # 5 off for eu only; 6 off for main, then on everywhere (which replaces the choice for main).
    await notifications.set_prefs(2, credit_notices=False)
    await notifications.set_prefs(3, credit_notices=False)
    await notifications.set_prefs(3, credit_notices=True, panel="main")
    await notifications.set_prefs(4, credit_notices=False, panel="main")
    await notifications.set_prefs(5, credit_notices=False, panel="eu")
    await notifications.set_prefs(6, credit_notices=False, panel="main")
    await notifications.set_prefs(6, credit_notices=True)

    main, eu = await notifications.credit_notice_choices("main"), await notifications.credit_notice_choices("eu")

    members = range(1, 7)
    assert [main.credit_notices(m) for m in members] == [True, False, True, False, True, True]
    assert [eu.credit_notices(m) for m in members] == [True, False, False, True, False, True]
    for panel, choices in (("main", main), ("eu", eu)):
        assert [choices.credit_notices(m) for m in members] == [
            (await notifications.get_prefs(m, panel)).credit_notices for m in members
        ]


async def test_the_outbox_summary_counts_waiting_and_given_up_notices(
    notifications: NotificationStore, clock: Clock
) -> None:
    assert await notifications.outbox_summary(max_attempts=2) == OutboxSummary(0, None, 0)
    first = await notifications.enqueue("main", 111, "credit_topup", dedupe_key="a")
    first_queued = clock.current
    clock.advance(minutes=1)
    second = await notifications.enqueue("main", 112, "credit_topup", dedupe_key="b")
    third = await notifications.enqueue("main", 113, "credit_topup", dedupe_key="c")
    assert first and second and third
    await notifications.mark_sent(third.id, 1)
    assert await notifications.outbox_summary(max_attempts=2) == OutboxSummary(2, first_queued, 0)
    await notifications.mark_failed(first.id, "closed")
    await notifications.mark_failed(first.id, "closed")
    assert await notifications.outbox_summary(max_attempts=2) == OutboxSummary(1, clock.current, 1)


async def test_kinds_of_notice_are_chosen_apart_and_warnings_follow_credits_until_chosen(
    notifications: NotificationStore,
) -> None:
    await notifications.set_prefs(7, credit_notices=False)
    choices = await notifications.member_choices(7, "main")
    assert (choices.credit_notices(7), choices.warnings(7), choices.account(7)) == (False, False, True)
    await notifications.set_kind(7, "warnings", enabled=True)
    await notifications.set_kind(7, "account", enabled=False, panel="eu")
    main, eu = [await notifications.member_choices(7, panel) for panel in ("main", "eu")]
    assert [main.wants(7, kind) for kind in ("credits", "warnings", "account")] == [False, True, True]
    assert [eu.wants(7, kind) for kind in ("credits", "warnings", "account")] == [False, True, False]
    await notifications.set_kind(7, "account", enabled=True)  # a choice for every panel replaces eu's
    assert (await notifications.member_choices(7, "eu")).account(7) is True
    assert (await notifications.credit_notice_choices("main")).account(8) is True  # never chose: on
    with pytest.raises(ValueError, match="no kind of notice"):
        await notifications.set_kind(7, "gossip", enabled=True)
