"""/register through the Discord stand-in, the real bot, panel simulators and a real SMTP server on loopback: each
mode, the email proved by a code, the daily cap, one account per member, and an email already on the panel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from simulators.convoy import ConvoySimulator
from simulators.discord import RecordedMessage
from simulators.mail import MailServer
from simulators.pterodactyl import PterodactylSimulator
from storage import LinkMethod
from tests.e2e.harness import AUDIT_CHANNEL, LINKED_ROLE, MEMBER, OTHER_MEMBER, Desk, start_desk
from tests.e2e.test_email_codes import code_in, mail_settings

PASSWORD = "My-new-panel-passw0rd"
SIGNUP_ROLE = 7_100_000_000_000_000_020
THIRD_MEMBER = 7_100_000_000_000_000_104


@pytest.fixture
async def mail() -> AsyncIterator[MailServer]:
    async with MailServer(username="panel-desk", password="smtp-password-not-to-be-seen") as server:
        yield server


async def open_desk(tmp_path: Path, panel: Any, kind: str, mail: MailServer, **overrides: Any) -> AsyncIterator[Desk]:
    settings = {"registration": "open", "audit_channel_id": AUDIT_CHANNEL, **mail_settings(mail), **overrides}
    async for desk in start_desk(tmp_path, panel, panel_kind=kind, **settings):
        yield desk


@pytest.fixture
async def convoy_desk(tmp_path: Path, mail: MailServer) -> AsyncIterator[Desk]:
    async with ConvoySimulator() as convoy:
        async for desk in open_desk(tmp_path, convoy, "convoy", mail):
            yield desk


async def register(desk: Desk, member: int, username: str, email: str, **options: Any) -> RecordedMessage:
    return await desk.reply("register", by=member, username=username, email=email, **options)


async def finish(
    desk: Desk, reply: RecordedMessage, member: int, code: str, password: str = PASSWORD
) -> RecordedMessage:
    opened = await desk.discord.click(reply, "Enter the code", user=member)
    await opened.wait_for(1)
    submitted = await desk.discord.submit_modal(
        opened, {"code": code, "password": password, "again": password}, user=member
    )
    return await submitted.wait_for_message()


async def test_open_sign_up_on_convoy_creates_links_and_tells_staff(convoy_desk: Desk, mail: MailServer) -> None:
    desk = convoy_desk
    reply = await register(desk, MEMBER, "newbie", "newbie@example.com")
    assert reply.content.startswith("A code is on its way to the email address you gave.")
    [sent] = await mail.wait_for_mail("newbie@example.com")
    assert "create an account with this email" in sent.text()
    done = await finish(desk, reply, MEMBER, code_in(sent))
    assert "Your account **newbie** was created on the main panel" in done.content
    assert "It is linked to your Discord account." in done.content
    [user] = [u for u in desk.panel.users.values() if u.email == "newbie@example.com"]
    assert user.password_matches(PASSWORD)
    link = await desk.bot.links.get_for_member("main", MEMBER)
    assert link is not None and link.panel_user_id == str(user.id) and link.method is LinkMethod.REGISTERED
    member = desk.guild.members[MEMBER]
    async with asyncio.timeout(5):
        while LINKED_ROLE not in member.roles:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    posts = [m.content for m in desk.discord.channel_messages(AUDIT_CHANNEL)]
    assert any("`user.register` newbie" in post for post in posts), posts
    assert all("newbie@example.com" not in post for post in posts)  # no email in a channel post
    again = await register(desk, MEMBER, "second", "second@example.com")
    assert "You are already linked to **newbie**" in again.content


async def test_a_wrong_code_creates_nothing(convoy_desk: Desk, mail: MailServer) -> None:
    desk = convoy_desk
    reply = await register(desk, MEMBER, "newbie", "newbie@example.com")
    [sent] = await mail.wait_for_mail("newbie@example.com")
    wrong = "000000" if code_in(sent) != "000000" else "111111"
    answer = await finish(desk, reply, MEMBER, wrong)
    assert answer.content.startswith("That code is not right.")
    assert all(u.email != "newbie@example.com" for u in desk.panel.users.values())


async def test_an_email_already_on_the_panel_is_pointed_to_link(convoy_desk: Desk, mail: MailServer) -> None:
    desk = convoy_desk
    desk.panel.add_user(username="old", email="old@example.com")
    reply = await register(desk, MEMBER, "again", "old@example.com")
    [sent] = await mail.wait_for_mail("old@example.com")
    answer = await finish(desk, reply, MEMBER, code_in(sent))
    assert "An account with that email already exists on the main panel. Run `/link` to link it." in answer.content
    assert len([u for u in desk.panel.users.values() if u.email == "old@example.com"]) == 1


async def test_the_daily_cap_holds_when_members_sign_up_at_once(tmp_path: Path, mail: MailServer) -> None:
    async with ConvoySimulator() as convoy:
        async for desk in open_desk(tmp_path, convoy, "convoy", mail, registrations_per_day=2):
            desk.guild.add_member(THIRD_MEMBER, "tess")
            members = [MEMBER, OTHER_MEMBER, THIRD_MEMBER]
            replies = await asyncio.gather(
                *(register(desk, m, f"user{n}", f"user{n}@example.com") for n, m in enumerate(members))
            )
            codes = [code_in((await mail.wait_for_mail(f"user{n}@example.com"))[0]) for n in range(3)]
            answers = await asyncio.gather(
                *(finish(desk, r, m, c) for r, m, c in zip(replies, members, codes, strict=True))
            )
            created = [a for a in answers if "was created" in a.content]
            full = [a for a in answers if a.content.startswith("Today's sign-ups are all taken.")]
            assert len(created) == 2 and len(full) == 1, [a.content for a in answers]
            assert len(convoy.users) == 1 + 2  # the admin and two sign-ups


async def test_roles_mode_lets_only_the_named_roles_sign_up(tmp_path: Path, mail: MailServer) -> None:
    def prepare(guild: Any) -> None:
        guild.add_role(SIGNUP_ROLE, "Verified")
        guild.add_member(THIRD_MEMBER, "tess", roles=[SIGNUP_ROLE])

    async with ConvoySimulator() as convoy:
        async for desk in start_desk(
            tmp_path,
            convoy,
            panel_kind="convoy",
            prepare=prepare,
            registration="roles",
            registration_role_ids=[SIGNUP_ROLE],
            **mail_settings(mail),
        ):
            refused = await register(desk, MEMBER, "newbie", "newbie@example.com")
            assert refused.content == (
                f"Sign-up from Discord is open to members with one of these roles: <@&{SIGNUP_ROLE}>."
            )
            assert mail.received == []
            allowed = await register(desk, THIRD_MEMBER, "tess", "tess@example.com")
            assert allowed.content.startswith("A code is on its way")
            [sent] = await mail.wait_for_mail("tess@example.com")
            assert "was created" in (await finish(desk, allowed, THIRD_MEMBER, code_in(sent))).content


async def test_off_by_default_the_command_is_not_offered(tmp_path: Path, mail: MailServer) -> None:
    async with ConvoySimulator() as convoy:
        async for desk in start_desk(tmp_path, convoy, panel_kind="convoy", **mail_settings(mail)):
            assert "register" not in [c.name for c in desk.bot.tree.get_commands()]


async def test_sign_up_on_pterodactyl_writes_the_discord_id_and_may_leave_the_password_to_the_panel(
    tmp_path: Path, mail: MailServer
) -> None:
    async with PterodactylSimulator() as pterodactyl:
        async for desk in open_desk(tmp_path, pterodactyl, "pterodactyl", mail):
            reply = await register(desk, MEMBER, "newbie", "newbie@example.com", first_name="New", last_name="Bie")
            assert "or leave it to the panel's reset" in reply.content
            [sent] = await mail.wait_for_mail("newbie@example.com")
            opened = await desk.discord.click(reply, "Enter the code", user=MEMBER)
            await opened.wait_for(1)
            submitted = await desk.discord.submit_modal(opened, {"code": code_in(sent)}, user=MEMBER)
            done = await submitted.wait_for_message()
            assert "Set your password with the panel's *Forgot password* page" in done.content, done.content
            [user] = [u for u in pterodactyl.users.values() if u.email == "newbie@example.com"]
            assert user.external_id == str(MEMBER) and user.first_name == "New"


async def test_a_mail_server_that_is_down_creates_nothing_and_says_so(convoy_desk: Desk, mail: MailServer) -> None:
    desk = convoy_desk
    await mail.stop()
    answer = await register(desk, MEMBER, "newbie", "newbie@example.com")
    assert answer.content.startswith("The bot could not send mail just now, so no code was sent.")
    assert all(u.email != "newbie@example.com" for u in desk.panel.users.values())
    assert await desk.bot.email_codes.registrations_today() == 0
