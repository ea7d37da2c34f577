"""CtrlPanel end to end: credits, server limits, suspension, Discord-login linking and top-up notices."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from simulators.ctrlpanel import CtrlPanelSimulator
from storage import AuditOutcome, Database, LinkMethod
from storage.credits import CreditLedger
from tests.e2e.harness import ADMIN, GENERAL, MEMBER, OTHER_MEMBER, STAFF, Desk, start_desk
from tests.storage.conftest import Clock
from webhooks import signature

FALLBACK = GENERAL


@pytest.fixture
async def ctrlpanel() -> AsyncIterator[CtrlPanelSimulator]:
    async with CtrlPanelSimulator(rate_limit=100_000) as sim:
        yield sim


async def open_desk(tmp_path: Path, sim: CtrlPanelSimulator, **overrides: object) -> AsyncIterator[Desk]:
    async for desk in start_desk(
        tmp_path, sim, panel_kind="ctrlpanel", panel_rate_limit=100_000, low_credit_threshold=10, **overrides
    ):
        yield desk


@pytest.fixture
async def desk(tmp_path: Path, ctrlpanel: CtrlPanelSimulator, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    monkeypatch.chdir(tmp_path)
    async for running in open_desk(tmp_path, ctrlpanel, notice_fallback_channel_id=FALLBACK):
        yield running


def notifications(desk: Desk):
    return desk.bot.get_cog("Notifications")


async def linked_customer(desk: Desk, credits: float = 100, discord_id: int = MEMBER):
    """A CtrlPanel user who connected Discord on the panel, linked through /link (no input needed)."""
    user = desk.panel.add_user(name="customer", email="customer@example.com", credits=credits, discord_id=discord_id)
    message = await desk.reply("link", by=discord_id)
    assert "you connected this Discord account on the panel" in message.content, message.content
    return user


async def dms_after(desk: Desk, member: int, count: int, settle: float = 0.3) -> list:
    """Wait until `member` has `count` DMs, then a little longer to be sure no more arrive."""
    async with asyncio.timeout(5):
        while len(desk.discord.dms(member)) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    await asyncio.sleep(settle)
    return desk.discord.dms(member)


# --- linking through the panel's own Discord login -------------------------------------------------------------


async def test_link_through_the_panels_discord_login(desk: Desk) -> None:
    user = await linked_customer(desk)
    link = await desk.bot.links.get_for_member("main", MEMBER)
    assert link.method is LinkMethod.PANEL_DISCORD and link.panel_user_id == str(user.id)


async def test_link_without_a_discord_account_on_the_panel(desk: Desk) -> None:
    desk.panel.add_user(name="nodiscord", email="nd@example.com")
    record = await desk.run("link", by=OTHER_MEMBER)
    message = await record.wait_for_message()
    assert message.button_labels() == ["Ask staff"]  # CtrlPanel cannot tell a client key's owner
    assert "Ask staff" in message.content and "client API key" not in message.content


# --- credits and server limits -----------------------------------------------------------------------------------


async def test_staff_top_up_sends_exactly_one_dm_with_the_figures(desk: Desk) -> None:
    user = await linked_customer(desk, credits=100)
    message = await desk.reply("credits add", user=str(user.id), amount="50", reason="Giveaway winner")
    assert "Added 50 credits to **customer**. Balance: 150." in message.content
    assert f"<@{MEMBER}> will be told." in message.content
    [dm] = await dms_after(desk, MEMBER, 1)
    embed = dm.embeds[0]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert embed["title"] == "+50 credits" and fields["New balance"] == "150" and fields["Reason"] == "Giveaway winner"
    assert f"<@{ADMIN}> added credits" in embed["description"]
    assert desk.panel.users[user.id].credits == 150
    await notifications(desk).sweep_all()  # the watcher must not announce it again
    assert len(await dms_after(desk, MEMBER, 1)) == 1
    [entry] = await desk.bot.audit.recent(actor_id=ADMIN, limit=1)
    assert (entry.action, entry.outcome, entry.details["amount"]) == ("credits.add", AuditOutcome.OK, "50")


async def test_a_staff_top_up_after_unpolled_billing_is_told_in_full(desk: Desk) -> None:
    user = await linked_customer(desk, credits=100)
    desk.panel.set_credits(user.id, 70)  # servers billed on the panel since the last sweep
    await desk.reply("credits add", user=str(user.id), amount="50")
    [dm] = await dms_after(desk, MEMBER, 1)
    fields = {f["name"]: f["value"] for f in dm.embeds[0]["fields"]}
    assert dm.embeds[0]["title"] == "+50 credits" and fields["New balance"] == "120"


async def test_the_watcher_keeps_out_of_an_account_staff_are_changing(desk: Desk) -> None:
    user = await linked_customer(desk, credits=100)
    cog = notifications(desk)
    async with cog.staff_change("main", str(user.id)):
        desk.panel.set_credits(user.id, 150)  # the staff change has landed; the command has not told it yet
        [during] = await cog.sweep_all()
        assert during.notices == 0  # the command tells it, with its reason
    [after] = await cog.sweep_all()  # nobody told it (the command died): the watcher does, once
    assert after.notices == 1
    [dm] = await dms_after(desk, MEMBER, 1)
    assert dm.embeds[0]["title"] == "+50 credits"


async def test_a_top_up_on_the_panel_is_told_after_a_sweep(desk: Desk) -> None:
    user = await linked_customer(desk, credits=100)
    desk.panel.set_credits(user.id, 130.5)  # a payment on the website
    await notifications(desk).sweep_all()
    [dm] = await dms_after(desk, MEMBER, 1)
    assert dm.embeds[0]["title"] == "+30.5 credits" and "a payment, a voucher" in dm.embeds[0]["description"]
    await notifications(desk).sweep_all()
    assert len(await dms_after(desk, MEMBER, 1)) == 1


async def test_notifications_off_and_on(desk: Desk) -> None:
    user = await linked_customer(desk, credits=100)
    off = await desk.reply("notifications off", by=MEMBER)
    assert "no longer get messages" in off.content
    desk.panel.set_credits(user.id, 150)
    await notifications(desk).sweep_all()
    await asyncio.sleep(0.3)
    assert desk.discord.dms(MEMBER) == []
    await desk.reply("notifications on", by=MEMBER)
    desk.panel.set_credits(user.id, 170)
    await notifications(desk).sweep_all()
    [dm] = await dms_after(desk, MEMBER, 1)
    assert dm.embeds[0]["title"] == "+20 credits"


async def test_closed_dms_go_to_the_fallback_channel(desk: Desk) -> None:
    shy = 7_100_000_000_000_000_150
    desk.guild.add_member(shy, "shy", dms_open=False)
    user = await linked_customer(desk, credits=20, discord_id=shy)
    await desk.reply("credits add", user=str(user.id), amount="5")

    def posts() -> list:
        return [m for m in desk.discord.channel_messages(FALLBACK, include_ephemeral=False) if f"<@{shy}>" in m.content]

    async with asyncio.timeout(5):
        while not posts():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    [post] = posts()
    assert post.allowed_mentions["users"] == [shy]  # pings the member, nobody else
    assert post.embeds[0]["title"] == "+5 credits" and "your DMs are closed" in post.content


async def test_closed_dms_without_fallback_are_dropped_and_audited(
    tmp_path: Path, ctrlpanel: CtrlPanelSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async for desk in open_desk(tmp_path, ctrlpanel):
        shy = 7_100_000_000_000_000_151
        desk.guild.add_member(shy, "shy", dms_open=False)
        user = await linked_customer(desk, credits=20, discord_id=shy)
        await desk.reply("credits add", user=str(user.id), amount="5")

        async def dropped(desk: Desk = desk, shy: int = shy) -> list:
            return [e for e in await desk.bot.audit.recent(target_discord_id=shy) if e.action == "notice.dropped"]

        async with asyncio.timeout(5):
            while not await dropped():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        [entry] = await dropped()
        assert entry.outcome == AuditOutcome.FAILED and "DMs closed" in entry.details["reason"]
        assert await desk.bot.notifications.pending() == []


async def test_low_credit_warning_once_per_crossing(desk: Desk) -> None:
    user = await linked_customer(desk, credits=30)
    desk.panel.set_credits(user.id, 8)
    await notifications(desk).sweep_all()
    desk.panel.set_credits(user.id, 5)
    await notifications(desk).sweep_all()
    [warning] = await dms_after(desk, MEMBER, 1)
    assert warning.embeds[0]["title"] == "Your credits are running low" and "**8**" in warning.embeds[0]["description"]


async def test_remove_credits_never_below_zero_and_show(desk: Desk) -> None:
    user = desk.panel.add_user(name="spender", email="s@example.com", credits=12.5)
    refused = await desk.reply("credits remove", user="s@example.com", amount="20")
    assert "CtrlPanel does not let a balance go below zero" in refused.content
    assert "Remove at most 12.5" in refused.content
    assert desk.panel.users[user.id].credits == 12.5
    done = await desk.reply("credits remove", user="s@example.com", amount="2.5", reason="refund reversal")
    assert "Removed 2.5 credits from **spender**. Balance: 10." in done.content
    shown = await desk.reply("credits show", by=STAFF, user="s@example.com")
    fields = {f["name"]: f["value"] for f in shown.embeds[0]["fields"]}
    assert fields["Credits"] == "10"
    for bad in ("-5", "abc", "1.234", "99999999"):
        message = await desk.reply("credits add", user="s@example.com", amount=bad)
        assert message.ephemeral and "Added" not in message.content, bad


async def test_removing_less_than_one_credit_on_1_2_is_refused_before_asking_the_panel(desk: Desk) -> None:
    user = desk.panel.add_user(name="cents", email="cents@example.com", credits=10)
    desk.panel.requests.clear()
    refused = await desk.reply("credits remove", user="cents@example.com", amount="0.01", reason="rounding")
    assert refused.ephemeral and "That input would be refused by the panel:" in refused.content
    assert "**credits**: The credits must be at least 1" in refused.content
    assert [r for r in desk.panel.requests if r.method != "GET"] == []  # no decrement was sent
    assert desk.panel.users[user.id].credits == 10
    [entry] = await desk.bot.audit.recent(actor_id=ADMIN, limit=1)
    assert (entry.action, entry.outcome, entry.details["amount"]) == ("credits.remove", AuditOutcome.REFUSED, "0.01")
    done = await desk.reply("credits remove", user="cents@example.com", amount="1.5")
    assert "Removed 1.5 credits from **cents**. Balance: 8.5." in done.content


async def test_a_server_limit_over_the_panels_maximum_is_refused_before_asking_the_panel(desk: Desk) -> None:
    user = desk.panel.add_user(name="builder", email="b@example.com", server_limit=999_995)
    desk.panel.requests.clear()
    refused = await desk.reply("server-limit add", user="b@example.com", amount=10)
    assert refused.ephemeral and "That input would be refused by the panel:" in refused.content
    assert "Adding 10 would make the server limit 1000005, over CtrlPanel's limit of 1000000." in refused.content
    assert [r for r in desk.panel.requests if r.method != "GET"] == []
    assert desk.panel.users[user.id].server_limit == 999_995


async def test_server_limit_changes(desk: Desk) -> None:
    user = desk.panel.add_user(name="builder", email="b@example.com", server_limit=2)
    added = await desk.reply("server-limit add", user="b@example.com", amount=3)
    assert "may now have 5 servers" in added.content
    refused = await desk.reply("server-limit remove", user="b@example.com", amount=9)
    assert "does not let the limit go below zero. Remove at most 5." in refused.content
    assert desk.panel.users[user.id].server_limit == 5
    desk.panel.add_server(user.id)
    desk.panel.add_server(user.id)
    lowered = await desk.reply("server-limit remove", user="b@example.com", amount=4)
    assert "may now have 1 servers (owns 2)" in lowered.content and "no new server can be created" in lowered.content


async def test_user_info_and_account_show_credits(desk: Desk) -> None:
    user = await linked_customer(desk, credits=42)
    info = await desk.reply("user info", by=STAFF, user=str(user.id))
    fields = {f["name"]: f["value"] for f in info.embeds[0]["fields"]}
    assert fields["Credits"] == "42.00" and fields["Server limit"] == "1"
    account = await desk.reply("account show", by=MEMBER)
    fields = {f["name"]: f["value"] for f in account.embeds[0]["fields"]}
    assert fields["Credits"] == "42.00"


async def test_suspend_and_unsuspend_with_a_reason(desk: Desk) -> None:
    user = desk.panel.add_user(name="naughty", email="n@example.com")
    suspended = await desk.reply("user suspend", user="n@example.com", reason="chargeback")
    assert suspended.embeds[0]["title"].startswith("Suspended naughty")
    assert desk.panel.users[user.id].suspended
    again = await desk.reply("user suspend", user="n@example.com")
    assert "already suspended" in again.content
    lifted = await desk.reply("user unsuspend", user="n@example.com")
    assert lifted.embeds[0]["title"].startswith("Lifted the suspension")
    assert not desk.panel.users[user.id].suspended
    [suspend] = [r for r in desk.panel.requests if r.path.endswith("/suspend") and r.status == 200]
    assert suspend.json == {"reason": "chargeback"} and suspended.content == ""  # 1.2 keeps the reason
    rows = [(e.action, e.outcome, e.details.get("reason")) for e in reversed(await desk.bot.audit.recent())]
    assert rows == [
        ("user.suspend", AuditOutcome.OK, "chargeback"),
        ("user.suspend", AuditOutcome.REFUSED, None),
        ("user.unsuspend", AuditOutcome.OK, None),
    ]


async def test_a_suspend_reason_on_a_panel_that_cannot_keep_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    async with CtrlPanelSimulator(version="0.9") as sim:
        async for desk in open_desk(tmp_path, sim):
            sim.add_user(name="naughty", email="n@example.com")
            suspended = await desk.reply("user suspend", user="n@example.com", reason="chargeback")
            assert "kept in the bot's audit log; this panel has nowhere to record it" in suspended.content
            [entry] = await desk.bot.audit.recent()
            assert entry.details["reason"] == "chargeback"


async def test_delete_warns_that_servers_go_too(desk: Desk) -> None:
    user = desk.panel.add_user(name="leaving", email="l@example.com")
    desk.panel.add_server(user.id)
    record = await desk.run("user delete", user="l@example.com")
    prompt = await record.wait_for_message(lambda m: bool(m.buttons()))
    assert "This panel also deletes every server the user owns." in prompt.text()


# --- exactly once across crashes -------------------------------------------------------------------------------


async def test_killed_between_recording_and_sending(desk: Desk) -> None:
    user = await linked_customer(desk, credits=100)
    await desk.stop_bot()
    # What a bot that died right after recording a top-up leaves behind: a notice in the outbox, nothing sent.
    async with Database.connect(desk.settings.database_path) as db:
        queued = await CreditLedger(db).observe("main", str(user.id), MEMBER, Decimal(175))
    assert len(queued) == 1 and desk.discord.dms(MEMBER) == []
    await desk.start_bot()
    [dm] = await dms_after(desk, MEMBER, 1)
    assert dm.embeds[0]["title"] == "+75 credits"
    assert await desk.bot.notifications.pending() == []


async def test_killed_after_sending_and_before_marking(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    user = await linked_customer(desk, credits=100)

    async def die(item_id: int, message_id: int) -> bool:
        raise SystemError("the process died here")

    monkeypatch.setattr(desk.bot.notifications, "mark_sent", die)
    await desk.reply("credits add", user=str(user.id), amount="10")
    await dms_after(desk, MEMBER, 1)
    [pending] = await desk.bot.notifications.pending()  # sent, but not marked
    await desk.restart_bot()  # the new process resends it with the same nonce
    async with asyncio.timeout(5):
        while await desk.bot.notifications.pending():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    dms = await dms_after(desk, MEMBER, 1)
    assert len(dms) == 1 and dms[0].nonce == pending.nonce
    sent = await desk.bot.notifications.get(pending.id)
    assert sent.message_id == dms[0].id


# --- the watcher ------------------------------------------------------------------------------------------------


async def test_the_watcher_reads_accounts_one_by_one_when_that_is_cheaper(desk: Desk) -> None:
    desk.panel.seed_users(1200)  # three pages of 500 against one linked account
    user = await linked_customer(desk, credits=10)
    desk.panel.set_credits(user.id, 15)
    desk.panel.requests.clear()
    [first] = await notifications(desk).sweep_all()  # counts the panel's users once, then reads the one account
    assert (first.mode, first.requests, first.notices) == ("each", 2, 1)
    desk.panel.set_credits(user.id, 20)
    desk.panel.requests.clear()
    [second] = await notifications(desk).sweep_all()
    assert (second.mode, second.requests, second.notices) == ("each", 1, 1)
    assert [r.path for r in desk.panel.requests] == [f"/api/users/{user.id}"]


async def test_the_watcher_pages_when_many_are_linked_and_resumes_after_an_error(desk: Desk) -> None:
    desk.panel.seed_users(1100)
    ids = list(desk.panel.users)[-4:]  # four linked accounts cost more to read one by one than three pages
    for number, user_id in enumerate(ids):
        await desk.bot.links.link("main", 7_100_000_000_000_000_300 + number, str(user_id), method=LinkMethod.STAFF)
    cog = notifications(desk)
    desk.panel.requests.clear()
    [first] = await cog.sweep_all()
    assert first.mode == "pages" and first.error is None
    pages = [r.query["page"] for r in desk.panel.requests if r.query.get("per_page") == "500"]
    assert pages == ["1", "2", "3"]  # 1101 users, 500 a page, read once each
    desk.panel.faults.after, desk.panel.faults.fail_next = 1, 20  # page 1 answers, then the panel breaks
    [broken] = await cog.sweep_all()
    assert broken.error is not None and cog.cursors["main"] == ("pages", 2)
    desk.panel.faults.fail_next = 0
    desk.panel.set_credits(ids[-1], 99)  # on the last page
    desk.panel.requests.clear()
    [resumed] = await cog.sweep_all()
    assert resumed.error is None and resumed.resumed_at == 2 and resumed.notices == 1
    assert [r.query["page"] for r in desk.panel.requests] == ["2", "3"]  # page 1 is not read again
    [whole] = await cog.sweep_all()
    assert whole.resumed_at == 1 and whole.notices == 0


async def test_top_ups_are_announced_in_the_staff_channel(
    tmp_path: Path, ctrlpanel: CtrlPanelSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async for desk in open_desk(tmp_path, ctrlpanel, topup_announce_channel_id=FALLBACK):
        user = await linked_customer(desk, credits=10)
        await desk.reply("credits add", user=str(user.id), amount="7", reason="contest")
        await dms_after(desk, MEMBER, 1)

        def announcements(desk: Desk = desk) -> list:
            return [m for m in desk.discord.channel_messages(FALLBACK, include_ephemeral=False) if m.embeds]

        async with asyncio.timeout(5):
            while not announcements():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        [post] = announcements()
        assert post.embeds[0]["title"] == "Top-up: +7 credits" and f"<@{ADMIN}>" in post.embeds[0]["description"]
        assert post.allowed_mentions == {"parse": []}


async def test_the_bot_stops_even_when_a_notice_arrives_as_it_shuts_down(desk: Desk) -> None:
    cog = notifications(desk)
    await asyncio.sleep(0.05)  # the sender is idle, waiting to be woken
    cog.wakeup.set()  # a notice is queued in the same instant the bot is told to stop
    async with asyncio.timeout(5):
        await cog.cog_unload()
    assert all(task.done() for task in cog._tasks)


async def test_one_by_one_resumes_after_an_error_and_a_change_of_mode_starts_over(desk: Desk) -> None:
    desk.panel.seed_users(1200)  # three pages of 500
    ids = list(desk.panel.users)[-4:]
    for number, user_id in enumerate(ids[:2]):
        await desk.bot.links.link("main", 7_100_000_000_000_000_400 + number, str(user_id), method=LinkMethod.STAFF)
    cog = notifications(desk)
    [first] = await cog.sweep_all()
    assert first.mode == "each" and first.error is None
    desk.panel.faults.after, desk.panel.faults.fail_next = 1, 20  # the first account answers, then the panel breaks
    [broken] = await cog.sweep_all()
    assert broken.error is not None and cog.cursors["main"] == ("each", 1)
    desk.panel.faults.fail_next = 0
    [resumed] = await cog.sweep_all()
    assert (resumed.mode, resumed.resumed_at, resumed.error) == ("each", 1, None)
    desk.panel.faults.after, desk.panel.faults.fail_next = 1, 20
    await cog.sweep_all()
    desk.panel.faults.fail_next = 0
    for number, user_id in enumerate(ids[2:]):  # four linked now: paging is cheaper, and starts at page 1
        await desk.bot.links.link("main", 7_100_000_000_000_000_500 + number, str(user_id), method=LinkMethod.STAFF)
    [paged] = await cog.sweep_all()
    assert (paged.mode, paged.resumed_at, paged.error) == ("pages", 1, None)


async def link_many(desk: Desk, user_ids: list[int], first_member: int) -> dict[int, int]:
    """Members who joined the server, each linked to one of `user_ids` at 50 credits; member by panel user id."""
    members = {}
    for number, user_id in enumerate(user_ids):
        member = first_member + number
        desk.guild.add_member(member, f"m{number}")
        desk.panel.set_credits(user_id, 50)
        await desk.bot.links.link("main", member, str(user_id), method=LinkMethod.STAFF)
        members[user_id] = member
    return members


async def dms_by_member(desk: Desk, members: list[int], total: int) -> dict[int, list]:
    """Once `total` DMs have reached `members` (and a little longer, so that none are missed), each one's DMs."""
    async with asyncio.timeout(10):
        while sum(len(desk.discord.dms(member)) for member in members) < total:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    return {member: desk.discord.dms(member) for member in members}


async def test_many_members_topped_up_at_once_each_get_exactly_one_dm(desk: Desk) -> None:
    desk.panel.seed_users(1100)
    accounts = list(desk.panel.users)[::30]  # 37 linked accounts over all three pages of 500
    members = await link_many(desk, accounts, 7_100_000_000_000_000_600)
    cog = notifications(desk)
    [first] = await cog.sweep_all()  # the starting points
    assert (first.mode, first.notices, first.error) == ("pages", 0, None)
    quiet, back_on_here, quiet_here = (members[account] for account in accounts[:3])
    await desk.reply("notifications off", by=quiet)
    await desk.reply("notifications off", by=back_on_here)
    await desk.reply("notifications on", by=back_on_here, panel="main")
    await desk.reply("notifications off", by=quiet_here, panel="main")
    billed = accounts[3:7]
    for number, account in enumerate(accounts):
        desk.panel.set_credits(account, 20 if account in billed else 50 + number)

    [swept] = await cog.sweep_all()

    told = [members[a] for a in accounts if a not in billed and members[a] not in (quiet, quiet_here)]
    assert swept.error is None and swept.notices == len(told) == 31
    dms = await dms_by_member(desk, list(members.values()), len(told))
    for number, account in enumerate(accounts):
        member = members[account]
        if member in told:
            [dm] = dms[member]
            assert dm.embeds[0]["title"] == f"+{number} credits"
        else:
            assert dms[member] == []
    [again] = await cog.sweep_all()
    assert again.notices == 0
    assert await dms_by_member(desk, list(members.values()), len(told)) == dms


async def test_a_sweep_that_dies_between_two_pages_tells_each_rise_once(desk: Desk) -> None:
    desk.panel.seed_users(1100)
    accounts = list(desk.panel.users)[100::250]  # linked accounts on pages 1, 1, 2, 2, 3
    members = await link_many(desk, accounts, 7_100_000_000_000_000_700)
    cog = notifications(desk)
    await cog.sweep_all()
    for account in accounts:
        desk.panel.set_credits(account, 80)
    # The database refuses page 2's transaction (as a full disk would); page 1's has committed by then.
    await desk.bot.db.execute(
        "CREATE TRIGGER disk_full BEFORE INSERT ON credit_balances "
        f"WHEN NEW.panel_user_id = '{accounts[2]}' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    [broken] = await cog.sweep_all()
    assert broken.error is not None and broken.notices == 2 and cog.cursors["main"] == ("pages", 2)
    await dms_by_member(desk, list(members.values()), 2)
    await desk.bot.db.execute("DROP TRIGGER disk_full")
    await desk.restart_bot()  # a new process: no cursor, so its start-up sweep reads every page again

    [whole] = await notifications(desk).sweep_all()  # after that one (sweeps never overlap), or instead of it

    assert (whole.resumed_at, whole.error) == (1, None)
    dms = await dms_by_member(desk, list(members.values()), len(accounts))
    assert [[dm.embeds[0]["title"] for dm in dms[members[a]]] for a in accounts] == [["+30 credits"]] * 5


# --- suspension notices --------------------------------------------------------------------------------------------


async def test_a_suspension_on_the_panel_is_told_once_within_a_sweep_and_its_lifting_too(desk: Desk) -> None:
    user = await linked_customer(desk)
    cog = notifications(desk)
    await cog.sweep_all()
    assert desk.discord.dms(MEMBER) == []  # the state at link time is where notices count from
    desk.panel.users[user.id].suspended = True  # in the panel's admin area
    await cog.sweep_all()
    [notice] = await dms_after(desk, MEMBER, 1)
    assert notice.embeds[0]["title"] == "Your account was suspended"
    await cog.sweep_all()
    await desk.restart_bot(credit_watcher=False)
    await notifications(desk).sweep_all()
    await notifications(desk).deliver_pending()
    assert len(desk.discord.dms(MEMBER)) == 1  # another sweep, a restart: still told once
    desk.panel.users[user.id].suspended = False
    await notifications(desk).sweep_all()
    dms = await dms_after(desk, MEMBER, 2)
    assert dms[1].embeds[0]["title"] == "Your account is no longer suspended"


async def test_a_suspension_through_the_bot_is_told_once_with_the_reason_when_allowed(
    tmp_path: Path, ctrlpanel: CtrlPanelSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = {"suspension_notice_reason": True, "topup_announce_channel_id": GENERAL}
    async for desk in open_desk(tmp_path, ctrlpanel, **settings):
        await linked_customer(desk)
        await desk.reply("user suspend", user="customer", reason="unpaid invoice")
        [notice] = await dms_after(desk, MEMBER, 1)
        assert notice.embeds[0]["title"] == "Your account was suspended"
        assert notice.embeds[0]["fields"][0] == {"name": "Reason", "value": "unpaid invoice", "inline": False}
        await notifications(desk).sweep_all()  # the watcher finds the same suspension: nothing more to tell
        await asyncio.sleep(0.3)
        assert len(desk.discord.dms(MEMBER)) == 1
        posts = [m for m in desk.discord.channel_messages(GENERAL) if m.embeds and "suspended" in m.embeds[0]["title"]]
        assert [p.embeds[0]["description"] for p in posts] == [
            f"<@{MEMBER}> (account #{(await desk.bot.links.get_for_member('main', MEMBER)).panel_user_id}) was "
            f"suspended by <@{ADMIN}>."
        ]


async def test_each_kind_of_notice_can_be_turned_off_on_its_own(desk: Desk) -> None:
    user = await linked_customer(desk, credits=100)
    quiet = await desk.reply("notifications off", by=MEMBER, kind="account")
    assert quiet.content.startswith("You will no longer get messages about your account")
    shown = await desk.reply("notifications show", by=MEMBER)
    assert (
        "**main**: ✅ messages when credits arrive, ✅ warnings when your credits run low or will soon run out, "
        "— messages about"
    ) in shown.content
    desk.panel.users[user.id].suspended = True
    desk.panel.set_credits(user.id, 130)
    await notifications(desk).sweep_all()
    [topup] = await dms_after(desk, MEMBER, 1)  # the top-up, not the suspension
    assert topup.embeds[0]["title"] == "+30 credits"
    await desk.reply("notifications off", by=MEMBER, kind="warnings")
    desk.panel.set_credits(user.id, 5)  # below LOW_CREDIT_THRESHOLD=10: no warning, as chosen
    await notifications(desk).sweep_all()
    await asyncio.sleep(0.3)
    assert len(desk.discord.dms(MEMBER)) == 1
    await desk.reply("notifications on", by=MEMBER, kind="account")
    desk.panel.users[user.id].suspended = False
    await notifications(desk).sweep_all()
    dms = await dms_after(desk, MEMBER, 2)
    assert dms[1].embeds[0]["title"] == "Your account is no longer suspended"


async def test_steady_spending_warns_once_before_credits_run_out_and_a_top_up_re_arms_it(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    clock.current = datetime.now(UTC)
    monkeypatch.setattr(desk.bot.db, "now", clock)  # every stored moment, and so the rate, follows this clock
    user = await linked_customer(desk, credits=400)

    async def hourly_sweeps(*balances: float, hours: float = 1) -> None:
        for balance in balances:
            clock.advance(hours=hours)
            desk.panel.set_credits(user.id, balance)
            await notifications(desk).sweep_all()

    # Billed 5 credits an hour, 120 a day: CREDIT_WARNING_DAYS=3 (the default) is 360 credits.
    await hourly_sweeps(395, 390, 385, 380, 375, 370, 365, 360)
    await asyncio.sleep(0.3)
    assert desk.discord.dms(MEMBER) == []  # 360 covers 3 days: not fewer
    await hourly_sweeps(355, 350, 345)
    [warning] = await dms_after(desk, MEMBER, 1)
    embed = warning.embeds[0]
    assert embed["title"] == "Your credits will run out soon"
    assert "about 3 days of credits left at your current use (about 120 a day)" in embed["description"]
    assert "**355**" in embed["description"]
    await hourly_sweeps(345, hours=0.5)  # a sweep between two bills
    await hourly_sweeps(340, hours=0.5)
    await hourly_sweeps(335)  # more bills: still warned once
    await asyncio.sleep(0.3)
    assert len(desk.discord.dms(MEMBER)) == 1

    await hourly_sweeps(500, hours=0.5)  # a top-up between two bills: 4 days at this rate, so it re-arms
    await hourly_sweeps(495, hours=0.5)
    await hourly_sweeps(*range(490, 350, -5))
    dms = await dms_after(desk, MEMBER, 3)
    assert [dm.embeds[0]["title"] for dm in dms] == [
        "Your credits will run out soon",
        "+165 credits",
        "Your credits will run out soon",
    ]
    assert "**355**" in dms[2].embeds[0]["description"]


async def test_no_run_out_warning_without_steady_spending(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    clock.current = datetime.now(UTC)
    monkeypatch.setattr(desk.bot.db, "now", clock)
    user = await linked_customer(desk, credits=400)
    # A big fall, then one of 10 in an hour (0.4 days left at that pace, were two falls a rate), then a day and
    # more of nothing, one small fall, and nothing again.
    for hours, balance in ((1, 100), (1, 90), (30, 90), (30, 85), (30, 85)):
        clock.advance(hours=hours)
        desk.panel.set_credits(user.id, balance)
        await notifications(desk).sweep_all()
    await asyncio.sleep(0.3)
    assert desk.discord.dms(MEMBER) == []


# --- webhooks: the panel says "look now" -------------------------------------------------------------------------

SECRET = "a-long-random-webhook-secret-0123456789"


async def post_webhook(
    desk: Desk, body: bytes, *, panel: str = "main", secret: str = SECRET, stamp: int | None = None
) -> tuple[int, dict]:
    stamp = int(time.time()) if stamp is None else stamp
    headers = {
        "X-Panel-Desk-Timestamp": str(stamp),
        "X-Panel-Desk-Signature": signature(secret, str(stamp), body),
        "Content-Type": "application/json",
    }
    url = f"{desk.bot.web.url}/webhooks/{panel}"
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        return response.status, await response.json()


async def test_a_signed_webhook_tells_a_suspension_without_a_sweep_and_forgeries_change_nothing(
    tmp_path: Path, ctrlpanel: CtrlPanelSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async for desk in open_desk(tmp_path, ctrlpanel, http_port=0, panel_options={"webhook_secret": SECRET}):
        await desk.stop_bot()  # its own watcher must not find the change first
        await desk.start_bot(credit_watcher=False)
        user = await linked_customer(desk)
        desk.panel.users[user.id].suspended = True
        body = json.dumps({"user_id": str(user.id)}).encode()
        refused = [
            await post_webhook(desk, body, secret="not-the-secret-at-all-0123"),  # forged
            await post_webhook(desk, body, stamp=int(time.time()) - 600),  # stale
            await post_webhook(desk, body, panel="nowhere"),  # unknown panel
            await post_webhook(desk, b'{"user": 1}'),  # not what was documented
        ]
        assert [status for status, _ in refused] == [401, 401, 404, 400]
        await asyncio.sleep(0.3)
        assert desk.discord.dms(MEMBER) == []  # nothing was looked at
        stamp = int(time.time())
        assert (await post_webhook(desk, body, stamp=stamp))[0] == 202
        told = await desk.discord.wait_for_dm(MEMBER)  # no sweep runs: the webhook alone made the bot look
        assert told.embeds[0]["title"] == "Your account was suspended"
        status, answer = await post_webhook(desk, body, stamp=stamp)  # the same request again
        assert status == 409 and "replay" in answer["error"]
        for _ in range(20):  # a burst for one account: coalesced, still told once
            await post_webhook(desk, json.dumps({"email": "customer@example.com"}).encode())
        await notifications(desk).wait_for_looks()
        await asyncio.sleep(0.3)
        assert len(desk.discord.dms(MEMBER)) == 1
