"""Roles that follow the panel, end to end: ROLE_RULES through the real bot, the Discord stand-in and the panels."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from simulators.ctrlpanel import CtrlPanelSimulator
from simulators.discord import FakeGuild
from simulators.pterodactyl import PterodactylSimulator
from storage import LinkMethod
from tests.e2e.harness import (
    ADMIN,
    AUDIT_CHANNEL,
    GUILD,
    LINKED_ROLE,
    MEMBER,
    OTHER_MEMBER,
    STAFF,
    STAFF_ROLE,
    Desk,
    start_desk,
)

CUSTOMER = 7_100_000_000_000_000_020  # has_servers
ACTIVE = 7_100_000_000_000_000_021  # not_suspended
SUSPENDED = 7_100_000_000_000_000_022  # suspended
PAYING = 7_100_000_000_000_000_023  # credits_at_least 50
HIGH = 7_100_000_000_000_000_024  # placed above the bot's own role
NAMES = {CUSTOMER: "Customer", ACTIVE: "Active", SUSPENDED: "Suspended", PAYING: "Paying", HIGH: "High"}


@contextlib.asynccontextmanager
async def role_desk(tmp_path: Path, panel: Any, rules: list[dict[str, Any]], **overrides: Any) -> AsyncIterator[Desk]:
    """The bot with `rules`, the rules' roles made in the server before it starts, and its own watcher kept from
    running: each test sweeps when it means to (`sweep`), so what a sweep changes is what the test sees."""

    def make_roles(guild: FakeGuild) -> None:
        for role_id, name in NAMES.items():
            guild.add_role(role_id, name, position=150 if role_id == HIGH else None)  # the bot's role sits at 100

    desks = start_desk(
        tmp_path,
        panel,
        prepare=make_roles,
        credit_watcher=False,
        role_rules=rules,
        audit_channel_id=AUDIT_CHANNEL,
        **overrides,
    )
    try:
        yield await anext(desks)
    finally:
        await desks.aclose()


def roles_of(desk: Desk, member: int) -> set[int]:
    """The member's roles as Discord holds them (the stand-in's state, not the bot's cache)."""
    return set(desk.guild.member(member).roles)


async def sweep(desk: Desk) -> None:
    """One sweep of the panel watcher and the role pass it asks for, finished."""
    await desk.bot.get_cog("Notifications").sweep_all()
    await desk.bot.roles.wait_for_pass()


async def settled(desk: Desk, member: int, wanted: set[int], absent: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    async with asyncio.timeout(5):
        while not (wanted <= roles_of(desk, member) and not absent & roles_of(desk, member)):  # noqa: ASYNC110
            await asyncio.sleep(0.02)


def rest_calls(desk: Desk) -> int:
    return len(desk.discord.requests)


# --- Pterodactyl: linked and has_servers -----------------------------------------------------------------------

SERVER_RULES = [{"role_id": CUSTOMER, "when": "has_servers"}]


@pytest.fixture
async def desk(
    tmp_path: Path, pterodactyl: PterodactylSimulator, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Desk]:
    monkeypatch.chdir(tmp_path)
    async with role_desk(tmp_path, pterodactyl, SERVER_RULES) as running:
        yield running


async def test_linking_gives_the_roles_and_unlinking_takes_them_back(desk: Desk) -> None:
    account = desk.panel.add_user(username="owner", email="o@example.com", external_id=str(MEMBER))
    desk.panel.add_server(account.id)
    linked = await desk.reply("link", by=MEMBER)
    assert f"<@{MEMBER}> now has the <@&{CUSTOMER}>, <@&{LINKED_ROLE}> role." in linked.content
    assert {CUSTOMER, LINKED_ROLE} <= roles_of(desk, MEMBER)

    record = await desk.run("unlink", by=MEMBER)
    prompt = await record.wait_for_message(lambda m: bool(m.buttons()))
    await desk.discord.click(prompt, "Unlink", user=MEMBER)
    await record.wait_for_message(lambda m: m.content == "Unlinked.")
    assert not {CUSTOMER, LINKED_ROLE} & roles_of(desk, MEMBER)
    actions = [(e.action, e.details.get("role_id")) for e in await desk.bot.audit.recent(target_discord_id=MEMBER)]
    assert sorted(actions[:2]) == sorted([("role.remove", CUSTOMER), ("role.remove", LINKED_ROLE)])


async def test_a_staff_relink_takes_the_old_accounts_roles_with_it(desk: Desk) -> None:
    owner = desk.panel.add_user(username="owner", email="o@example.com")
    desk.panel.add_server(owner.id)
    desk.panel.add_user(username="empty", email="e@example.com")
    made = await desk.reply("link-admin set", member=MEMBER, user="owner")
    assert f"<@&{CUSTOMER}>" in made.content and {CUSTOMER, LINKED_ROLE} <= roles_of(desk, MEMBER)
    await desk.reply("link-admin remove", member=MEMBER)
    assert not {CUSTOMER, LINKED_ROLE} & roles_of(desk, MEMBER)
    relinked = await desk.reply("link-admin set", member=MEMBER, user="empty")
    assert f"now has the <@&{LINKED_ROLE}> role" in relinked.content
    assert LINKED_ROLE in roles_of(desk, MEMBER) and CUSTOMER not in roles_of(desk, MEMBER)


async def test_a_server_made_on_the_panel_gives_the_role_at_the_next_sweep_and_nothing_more(desk: Desk) -> None:
    account = desk.panel.add_user(username="owner", email="o@example.com", external_id=str(MEMBER))
    desk.panel.add_user(username="other", email="x@example.com", external_id=str(OTHER_MEMBER))
    await desk.reply("link", by=MEMBER)
    await desk.reply("link", by=OTHER_MEMBER)
    assert CUSTOMER not in roles_of(desk, MEMBER)
    desk.panel.add_server(account.id)
    desk.panel.requests.clear()
    await sweep(desk)
    assert CUSTOMER in roles_of(desk, MEMBER) and CUSTOMER not in roles_of(desk, OTHER_MEMBER)
    # Two linked accounts, one page of users: the page is read, asking the panel for each account's servers.
    [read] = [r for r in desk.panel.requests if r.query.get("per_page") == "500"]  # after the count (per_page 1)
    assert read.query.get("include") == "servers"
    # In sync: a sweep reads the panel and makes not one Discord request.
    before = rest_calls(desk)
    await sweep(desk)
    assert rest_calls(desk) == before
    assert desk.bot.roles.last_pass is not None and desk.bot.roles.last_pass.changed == 0


async def test_unlinked_members_lose_a_managed_role_and_keep_the_others(desk: Desk) -> None:
    await desk.stop_bot()
    desk.guild.member(OTHER_MEMBER).roles.append(CUSTOMER)  # given by hand while the bot was away
    desk.guild.member(STAFF).roles.append(CUSTOMER)
    await desk.start_bot(credit_watcher=False)
    report = await desk.bot.roles.run_pass()
    assert CUSTOMER not in roles_of(desk, OTHER_MEMBER) | roles_of(desk, STAFF)
    assert STAFF_ROLE in roles_of(desk, STAFF)  # a role no rule names is never touched
    assert report.removed[CUSTOMER] == 2 and not report.added
    posts = [m.content for m in desk.discord.channel_messages(AUDIT_CHANNEL)]
    assert [p for p in posts if "Role sync" in p] == ["🔁 Role sync: -2 Customer (4 member(s) checked)"]


async def test_a_member_who_rejoins_gets_their_roles_again(desk: Desk) -> None:
    account = desk.panel.add_user(username="owner", email="o@example.com", external_id=str(MEMBER))
    desk.panel.add_server(account.id)
    await desk.reply("link", by=MEMBER)
    desk.guild.remove_member(MEMBER)
    await sweep(desk)  # a member who left is skipped, not an error
    assert desk.discord.errors_returned == []
    desk.guild.add_member(MEMBER, "max")
    await settled(desk, MEMBER, {CUSTOMER, LINKED_ROLE})


async def test_several_members_link_at_once_and_each_gets_their_own_roles(desk: Desk) -> None:
    members = {MEMBER: True, OTHER_MEMBER: False, STAFF: True}
    for number, (member, owns) in enumerate(members.items()):
        account = desk.panel.add_user(username=f"user{number}", email=f"u{number}@example.com", external_id=str(member))
        if owns:
            desk.panel.add_server(account.id)
    replies = await asyncio.gather(*(desk.reply("link", by=member) for member in members))
    for reply, (member, owns) in zip(replies, members.items(), strict=True):
        assert f"<@{member}> now has the" in reply.content
        assert (CUSTOMER in roles_of(desk, member)) is owns and LINKED_ROLE in roles_of(desk, member)


async def test_roles_show_says_which_rule_decided(desk: Desk) -> None:
    account = desk.panel.add_user(username="owner", email="o@example.com", external_id=str(MEMBER))
    await desk.reply("link", by=MEMBER)
    desk.panel.add_server(account.id)  # on the panel only: the next sync gives the role
    shown = await desk.reply("roles show", by=STAFF, member=MEMBER)
    text = shown.text()
    assert "does not have it" in text and "has\\_servers 1" in text and "should have it" in text
    assert "The next sync changes this." in text
    synced = await desk.reply("roles sync", by=ADMIN, member=MEMBER)
    assert synced.content == f"<@{MEMBER}> now has the <@&{CUSTOMER}> role."
    again = await desk.reply("roles sync", by=ADMIN)
    assert "every managed role already agrees with the panel" in again.content


async def test_a_role_above_the_bot_is_reported_and_skipped_with_one_warning_per_pass(
    tmp_path: Path, pterodactyl: PterodactylSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    rules = [{"role_id": HIGH, "when": "linked"}]
    async with role_desk(tmp_path, pterodactyl, rules) as desk:
        for number, member in enumerate((MEMBER, OTHER_MEMBER, STAFF)):
            desk.panel.add_user(username=f"user{number}", email=f"u{number}@example.com")
            await desk.reply("link-admin set", member=member, user=f"user{number}")
        async with asyncio.timeout(10):  # discord.py's READY waits for guilds a little; then the bot names the role
            while f"Role sync cannot manage role {HIGH}: Role 'High'" not in caplog.text:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            reply = await desk.reply("roles sync")
            await desk.bot.roles.run_pass()
        sentence = (
            "Role 'High' (%d) is not below the bot's highest role 'Panel Desk' — in Server Settings > Roles, drag the "
            "bot's role above it."
        )
        assert f"⚠️ <@&{HIGH}>: {sentence % HIGH}" in reply.content
        warnings = [r.getMessage() for r in caplog.records if str(HIGH) in r.getMessage()]
        assert warnings == [f"Role sync skips role {HIGH}: {sentence % HIGH}"] * 2  # two passes, three members each
        assert not any(HIGH in roles_of(desk, member) for member in (MEMBER, OTHER_MEMBER, STAFF))
        assert desk.discord.errors_returned == []  # skipped, not tried and refused
        status = await desk.reply("panel status", by=STAFF)
        assert sentence % HIGH in status.text()


async def test_a_deleted_role_is_named_with_the_fix(desk: Desk) -> None:
    desk.guild.delete_role(CUSTOMER)
    async with asyncio.timeout(5):
        while desk.bot.get_guild(GUILD).get_role(CUSTOMER) is not None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    status = await desk.reply("panel status", by=STAFF)
    assert f"Role {CUSTOMER} in ROLE_RULES is in none of the bot's servers (deleted?)" in status.text()


# --- CtrlPanel: suspension and credits -----------------------------------------------------------------------

CTRLPANEL_RULES = [
    {"role_id": ACTIVE, "when": "not_suspended"},
    {"role_id": SUSPENDED, "when": "suspended"},
    {"role_id": PAYING, "when": "credits_at_least", "value": 50},
]


@pytest.fixture
async def ctrl_desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    monkeypatch.chdir(tmp_path)
    async with (
        CtrlPanelSimulator(rate_limit=100_000) as sim,
        role_desk(tmp_path, sim, CTRLPANEL_RULES, panel_kind="ctrlpanel", panel_rate_limit=100_000) as desk,
    ):
        yield desk


async def linked_customer(desk: Desk, credits: float = 100) -> Any:
    user = desk.panel.add_user(name="customer", email="customer@example.com", credits=credits, discord_id=MEMBER)
    message = await desk.reply("link", by=MEMBER)
    assert "you connected this Discord account on the panel" in message.content, message.content
    return user


async def test_a_suspension_made_on_the_panel_changes_roles_within_one_sweep(ctrl_desk: Desk) -> None:
    desk = ctrl_desk
    user = await linked_customer(desk)
    assert {ACTIVE, PAYING, LINKED_ROLE} <= roles_of(desk, MEMBER) and SUSPENDED not in roles_of(desk, MEMBER)
    desk.panel.users[user.id].suspended = True  # in the panel's admin area, not through the bot
    await sweep(desk)
    assert SUSPENDED in roles_of(desk, MEMBER) and ACTIVE not in roles_of(desk, MEMBER)
    posts = [m.content for m in desk.discord.channel_messages(AUDIT_CHANNEL) if "Role sync" in m.content]
    assert posts == ["🔁 Role sync: -1 Active, +1 Suspended (4 member(s) checked)"]
    desk.panel.users[user.id].suspended = False
    await sweep(desk)
    assert ACTIVE in roles_of(desk, MEMBER) and SUSPENDED not in roles_of(desk, MEMBER)


async def test_a_suspension_through_the_bot_changes_roles_at_once(ctrl_desk: Desk) -> None:
    desk = ctrl_desk
    await linked_customer(desk)
    reply = await desk.reply("user suspend", user="customer", reason="unpaid")
    assert f"<@{MEMBER}> now has the <@&{SUSPENDED}> role." in reply.content
    assert f"The <@&{ACTIVE}> role was taken back." in reply.content
    assert SUSPENDED in roles_of(desk, MEMBER) and ACTIVE not in roles_of(desk, MEMBER)


async def test_credits_running_out_drop_the_paying_role(ctrl_desk: Desk) -> None:
    desk = ctrl_desk
    await linked_customer(desk, credits=60)
    assert PAYING in roles_of(desk, MEMBER)
    reply = await desk.reply("credits remove", user="customer", amount="20")
    assert f"The <@&{PAYING}> role was taken back." in reply.content and PAYING not in roles_of(desk, MEMBER)


async def test_a_failing_panel_removes_no_role(ctrl_desk: Desk) -> None:
    desk = ctrl_desk
    user = await linked_customer(desk)
    desk.panel.set_credits(user.id, 0)
    desk.panel.users[user.id].suspended = True
    await desk.restart_bot(credit_watcher=False)  # what the bot knew of the account is gone with the process
    desk.panel.faults.fail_next = 50
    await sweep(desk)
    assert desk.bot.roles.last_pass is not None and desk.bot.roles.last_pass.unknown > 0
    assert {ACTIVE, PAYING, LINKED_ROLE} <= roles_of(desk, MEMBER)  # nothing taken on what could not be read
    desk.panel.faults.fail_next = 0
    await sweep(desk)
    assert SUSPENDED in roles_of(desk, MEMBER) and not {ACTIVE, PAYING} & roles_of(desk, MEMBER)
    assert LINKED_ROLE in roles_of(desk, MEMBER)


async def test_an_account_deleted_on_the_panel_ends_its_link_and_its_roles_go(ctrl_desk: Desk) -> None:
    desk = ctrl_desk
    user = await linked_customer(desk)
    del desk.panel.users[user.id]
    await sweep(desk)
    assert not {ACTIVE, PAYING, LINKED_ROLE} & roles_of(desk, MEMBER)
    assert await desk.bot.links.get_for_member("main", MEMBER) is None
    told = await desk.discord.wait_for_dm(MEMBER)
    assert told.embeds[0]["title"] == "Your linked account no longer exists"
    assert (
        "The account **customer** you linked on the main (CtrlPanel) panel was deleted there"
        in told.embeds[0]["description"]
    )
    [entry] = await desk.bot.audit.recent(action="link.remove", target_discord_id=MEMBER)
    assert entry.actor_id is None and entry.details["reason"] == "account deleted"


async def linked_crowd(desk: Desk, first: int, count: int, *, servers: bool) -> list[int]:
    """`count` members who joined, then were linked while the bot looked away (a restore, another instance), so
    only a pass can set their roles."""
    crowd = [first + number for number in range(count)]
    for number, member in enumerate(crowd):
        desk.guild.add_member(member, f"crowd{number}")
    async with asyncio.timeout(5):
        while any(desk.bot.get_guild(GUILD).get_member(m) is None for m in crowd):  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    for number, member in enumerate(crowd):
        account = desk.panel.add_user(username=f"crowd{first}{number}", email=f"c{first}{number}@example.com")
        if servers:
            desk.panel.add_server(account.id)
        await desk.bot.links.link("main", member, str(account.id), method=LinkMethod.STAFF)
    return crowd


async def test_a_pass_over_many_members_paces_itself_on_discords_rate_limits(desk: Desk) -> None:
    desk.discord.role_rate_limit = (5, 0.2)  # 30 changes: six windows
    crowd = await linked_crowd(desk, 7_100_000_000_000_001_000, 15, servers=True)
    await sweep(desk)
    assert all({CUSTOMER, LINKED_ROLE} <= roles_of(desk, member) for member in crowd)
    assert desk.discord.rate_limited == []  # discord.py waited on the headers instead of hitting 429s
    assert desk.discord.max_role_requests_in_flight == 1  # one change at a time, not thirty at once
    assert desk.bot.roles.summary(desk.bot.roles.last_pass) == "+15 Customer, +15 Linked"


async def test_an_unlink_during_a_long_pass_is_not_undone_by_it(desk: Desk) -> None:
    crowd = await linked_crowd(desk, 7_100_000_000_000_002_000, 8, servers=False)
    desk.discord.role_latency = 0.1  # each change takes a while: the pass is still on the first members
    last = crowd[-1]
    passing = asyncio.create_task(desk.bot.roles.run_pass())
    await desk.discord.wait_for_role_change(1)
    await desk.reply("link-admin remove", member=last)  # staff unlink the member the pass reaches last
    report = await passing
    assert LINKED_ROLE not in roles_of(desk, last)  # the pass read the link again before giving the role
    assert report.added[LINKED_ROLE] == len(crowd) - 1


async def test_many_accounts_missing_at_once_end_no_link(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    members = [7_100_000_000_000_003_000 + number for number in range(7)]
    for number, member in enumerate(members):
        account = desk.panel.add_user(username=f"gone{number}", email=f"g{number}@example.com")
        await desk.bot.links.link("main", member, str(account.id), method=LinkMethod.STAFF)
        del desk.panel.users[account.id]  # as a panel answering 404 for everyone would look
    await sweep(desk)
    assert all([await desk.bot.links.get_for_member("main", member) for member in members])
    assert "panel main says 7 linked accounts no longer exist; links are kept" in caplog.text
