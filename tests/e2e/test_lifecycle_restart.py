"""Account lifecycle notices across restarts: a restart between a change and its notice loses nothing and doubles
nothing, whether the watcher, the sender or a webhook's look was cut off.

Each "restart" is a new bot on the same SQLite file, Discord stand-in and CtrlPanel simulator. A process dying at a
given point is left as `Desk.stop_bot` leaves it (tasks cancelled where they stand), with at most one storage method
made to raise where the death is to land, as in test_ctrlpanel.py, and the sender's task cancelled where a notice
must be left queued and unsent.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from simulators.ctrlpanel import CtrlPanelSimulator
from storage import Database, StateReading
from storage.account_states import AccountStates
from tests.e2e.harness import MEMBER, Desk
from tests.e2e.test_ctrlpanel import (
    FALLBACK,
    SECRET,
    dms_after,
    linked_customer,
    notifications,
    open_desk,
    post_webhook,
)

SUSPENDED_TITLE = "Your account was suspended"
DELETED_TITLE = "Your linked account no longer exists"


@pytest.fixture
async def ctrlpanel() -> AsyncIterator[CtrlPanelSimulator]:
    async with CtrlPanelSimulator(rate_limit=100_000) as sim:
        yield sim


@pytest.fixture
async def desk(tmp_path: Path, ctrlpanel: CtrlPanelSimulator, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    monkeypatch.chdir(tmp_path)
    async for running in open_desk(tmp_path, ctrlpanel, notice_fallback_channel_id=FALLBACK):
        yield running


@pytest.fixture
async def hooked(tmp_path: Path, ctrlpanel: CtrlPanelSimulator, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    """A desk that takes signed webhooks, whose own watcher stays out (so only the test's sweeps and looks run)."""
    monkeypatch.chdir(tmp_path)
    async for running in open_desk(tmp_path, ctrlpanel, http_port=0, panel_options={"webhook_secret": SECRET}):
        await running.restart_bot(credit_watcher=False)
        yield running


def titles(desk: Desk) -> list[str]:
    return [dm.embeds[0]["title"] for dm in desk.discord.dms(MEMBER)]


async def outbox_settles(desk: Desk) -> None:
    """Until the sender has nothing left that is due."""
    async with asyncio.timeout(5):
        while await desk.bot.notifications.pending():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def stop_the_sender(desk: Desk) -> None:
    """The sender task ends where it waits, as in a process that dies before it sends what was just queued."""
    for task in notifications(desk)._tasks:
        if task.get_name() == "notice-sender":
            task.cancel()


async def outbox_kinds(desk: Desk) -> list[tuple[str, bool]]:
    rows = await desk.bot.db.fetch_all("SELECT kind, sent_at FROM outbox WHERE discord_id = ? ORDER BY id", (MEMBER,))
    return [(row["kind"], row["sent_at"] is not None) for row in rows]


# --- suspension found by a sweep -----------------------------------------------------------------------------------


async def test_a_suspension_made_while_the_bot_was_down_is_told_once_by_the_first_sweep(desk: Desk) -> None:
    user = await linked_customer(desk)
    await notifications(desk).sweep_all()
    await desk.stop_bot()
    desk.panel.users[user.id].suspended = True  # while no bot runs: no sweep has read it

    await desk.start_bot(credit_watcher=False)
    [first] = await notifications(desk).sweep_all()

    assert first.notices == 1
    [notice] = await dms_after(desk, MEMBER, 1)
    assert notice.embeds[0]["title"] == SUSPENDED_TITLE
    [again] = await notifications(desk).sweep_all()
    await desk.restart_bot()  # its own start-up sweep runs too
    [after_restart] = await notifications(desk).sweep_all()
    await outbox_settles(desk)
    assert (again.notices, after_restart.notices) == (0, 0)
    assert titles(desk) == [SUSPENDED_TITLE]
    assert await outbox_kinds(desk) == [("account_suspended", True)]


async def test_a_suspension_recorded_but_not_sent_before_the_process_died_is_sent_once_after_restart(
    desk: Desk,
) -> None:
    user = await linked_customer(desk)
    await desk.stop_bot()
    desk.panel.users[user.id].suspended = True
    # What a bot that died right after its sweep recorded the suspension leaves: the new state and its notice.
    async with Database.connect(desk.settings.database_path) as db:
        queued = await AccountStates(db).observe(
            "main", [StateReading(str(user.id), MEMBER, suspended=True)], announce=False
        )
    assert [item.kind for item in queued] == ["account_suspended"] and desk.discord.dms(MEMBER) == []

    await desk.start_bot()  # its start-up sweep reads the same suspension: already told, so nothing new

    [notice] = await dms_after(desk, MEMBER, 1)
    assert notice.embeds[0]["title"] == SUSPENDED_TITLE and notice.nonce == queued[0].nonce
    [swept] = await notifications(desk).sweep_all()
    await desk.restart_bot()
    await notifications(desk).sweep_all()
    await outbox_settles(desk)
    assert swept.notices == 0 and titles(desk) == [SUSPENDED_TITLE]
    assert await outbox_kinds(desk) == [("account_suspended", True)]


async def test_a_suspension_sent_but_not_marked_is_resent_with_its_nonce_and_the_member_sees_one_dm(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await linked_customer(desk)

    async def die(item_id: int, message_id: int) -> bool:
        raise SystemError("the process died here")

    monkeypatch.setattr(desk.bot.notifications, "mark_sent", die)
    desk.panel.users[user.id].suspended = True
    await notifications(desk).sweep_all()
    await dms_after(desk, MEMBER, 1)
    [pending] = await desk.bot.notifications.pending()  # Discord has it; the outbox does not know
    assert pending.kind == "account_suspended"

    await desk.restart_bot()  # a new bot: mark_sent works again, and the notice is still owed

    await outbox_settles(desk)
    dms = await dms_after(desk, MEMBER, 1)
    assert [dm.embeds[0]["title"] for dm in dms] == [SUSPENDED_TITLE] and dms[0].nonce == pending.nonce
    sent = await desk.bot.notifications.get(pending.id)
    assert sent is not None and sent.message_id == dms[0].id  # the first message, as Discord returned it
    await notifications(desk).sweep_all()
    await desk.restart_bot()
    await outbox_settles(desk)
    assert titles(desk) == [SUSPENDED_TITLE]


# --- suspension told through a webhook ---------------------------------------------------------------------------


async def test_a_webhook_whose_look_is_cut_off_by_a_stop_is_told_once_after_restart_and_a_replay_adds_nothing(
    hooked: Desk,
) -> None:
    desk = hooked
    user = await linked_customer(desk)
    desk.panel.users[user.id].suspended = True
    body = json.dumps({"user_id": str(user.id)}).encode()
    stamp = int(time.time())
    desk.panel.requests.clear()
    desk.panel.faults.latency = 30  # the look's read of the account hangs on the panel
    assert (await post_webhook(desk, body, stamp=stamp))[0] == 202
    async with asyncio.timeout(5):
        while not any(r.path == f"/api/users/{user.id}" for r in desk.panel.requests):  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    await desk.stop_bot()  # while the look waits for the panel

    desk.panel.faults.latency = 0
    assert desk.discord.dms(MEMBER) == []
    await desk.start_bot(credit_watcher=False)
    assert await outbox_kinds(desk) == []  # the look recorded nothing: the change is still to be found
    [swept] = await notifications(desk).sweep_all()
    assert swept.notices == 1
    [notice] = await dms_after(desk, MEMBER, 1)
    assert notice.embeds[0]["title"] == SUSPENDED_TITLE
    # The captured request again: the new process forgot the signatures it saw, so it takes it and looks once more.
    assert (await post_webhook(desk, body, stamp=stamp))[0] == 202
    assert (await post_webhook(desk, body, stamp=stamp + 1))[0] == 202  # and a fresh one for the same account
    await notifications(desk).wait_for_looks()
    await outbox_settles(desk)
    assert titles(desk) == [SUSPENDED_TITLE]
    assert await outbox_kinds(desk) == [("account_suspended", True)]


async def test_a_suspension_a_webhook_recorded_before_the_process_died_is_sent_once_and_a_replay_adds_nothing(
    hooked: Desk,
) -> None:
    desk = hooked
    user = await linked_customer(desk)
    stop_the_sender(desk)  # the process dies after the look records, before anything is sent
    desk.panel.users[user.id].suspended = True
    body = json.dumps({"user_id": str(user.id)}).encode()
    stamp = int(time.time())
    assert (await post_webhook(desk, body, stamp=stamp))[0] == 202
    await notifications(desk).wait_for_looks()
    assert await outbox_kinds(desk) == [("account_suspended", False)]
    await desk.stop_bot()
    assert desk.discord.dms(MEMBER) == []

    await desk.start_bot(credit_watcher=False)

    [notice] = await dms_after(desk, MEMBER, 1)
    assert notice.embeds[0]["title"] == SUSPENDED_TITLE
    assert (await post_webhook(desk, body, stamp=stamp))[0] == 202  # replayed after the restart
    await notifications(desk).wait_for_looks()
    [swept] = await notifications(desk).sweep_all()
    await desk.restart_bot(credit_watcher=False)
    assert (await post_webhook(desk, body, stamp=stamp + 1))[0] == 202  # a fresh one, in the next process
    await notifications(desk).wait_for_looks()
    await outbox_settles(desk)
    assert swept.notices == 0 and titles(desk) == [SUSPENDED_TITLE]
    assert await outbox_kinds(desk) == [("account_suspended", True)]


# --- an account deleted on the panel -----------------------------------------------------------------------------


async def link_ended(desk: Desk) -> None:
    async with asyncio.timeout(5):
        while await desk.bot.links.get_for_member("main", MEMBER) is not None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def unlinks(desk: Desk) -> list[str]:
    entries = await desk.bot.audit.recent(action="link.remove", target_discord_id=MEMBER)
    return [entry.details["reason"] for entry in entries]


async def test_an_account_deleted_while_the_bot_was_down_ends_its_link_and_is_told_once(desk: Desk) -> None:
    user = await linked_customer(desk)
    await notifications(desk).sweep_all()
    await desk.stop_bot()
    del desk.panel.users[user.id]  # deleted in the panel's admin area while no bot runs

    await desk.start_bot(credit_watcher=False)
    [first] = await notifications(desk).sweep_all()

    assert first.notices == 1 and await desk.bot.links.get_for_member("main", MEMBER) is None
    [notice] = await dms_after(desk, MEMBER, 1)
    assert notice.embeds[0]["title"] == DELETED_TITLE
    await notifications(desk).sweep_all()
    await desk.restart_bot()
    await notifications(desk).sweep_all()
    await outbox_settles(desk)
    assert titles(desk) == [DELETED_TITLE] and await unlinks(desk) == ["account deleted"]


async def test_a_deletion_queued_before_its_link_ended_is_told_once_and_the_link_ends_after_restart(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await linked_customer(desk)
    await notifications(desk).sweep_all()
    await desk.restart_bot(credit_watcher=False)
    stop_the_sender(desk)

    async def die(*args: object, **kwargs: object) -> None:
        raise SystemError("the process died here")

    monkeypatch.setattr(desk.bot.links, "unlink_account", die)
    del desk.panel.users[user.id]
    with pytest.raises(SystemError):
        await notifications(desk).sweep_all()  # queued the notice, then died before the link ended
    assert await outbox_kinds(desk) == [("account_deleted", False)]
    assert await desk.bot.links.get_for_member("main", MEMBER) is not None
    await desk.stop_bot()
    assert desk.discord.dms(MEMBER) == []

    await desk.start_bot()  # its start-up sweep finds the account still missing and the link still there

    await link_ended(desk)
    [notice] = await dms_after(desk, MEMBER, 1)
    assert notice.embeds[0]["title"] == DELETED_TITLE
    await notifications(desk).sweep_all()
    await desk.restart_bot()
    await notifications(desk).sweep_all()
    await outbox_settles(desk)
    assert titles(desk) == [DELETED_TITLE] and await unlinks(desk) == ["account deleted"]
    assert await outbox_kinds(desk) == [("account_deleted", True)]
