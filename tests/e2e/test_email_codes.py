"""A code by email, through the Discord stand-in, the real bot, a panel simulator and a real SMTP server (aiosmtpd)
on loopback: linking on panels without client keys, the same reply for an unknown email, wrong, expired and reused
codes, and a mail server that refuses or is down."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from simulators.convoy import ConvoySimulator
from simulators.ctrlpanel import CtrlPanelSimulator
from simulators.discord import InteractionRecord, RecordedMessage
from simulators.mail import MailServer, ReceivedMail
from storage import LinkMethod
from tests.e2e.harness import MEMBER, OTHER_MEMBER, Desk, start_desk

SMTP_USER, SMTP_PASSWORD = "panel-desk", "smtp-password-not-to-be-seen"
SENDER = "Example Hosting <noreply@example.com>"
THIRD_MEMBER = 7_100_000_000_000_000_104


def mail_settings(mail: MailServer, **overrides: Any) -> dict[str, Any]:
    return {
        "smtp_host": mail.host,
        "smtp_port": mail.port,
        "smtp_security": "none",
        "smtp_username": SMTP_USER,
        "smtp_password": SMTP_PASSWORD,
        "smtp_from": SENDER,
        **overrides,
    }


@pytest.fixture
async def mail() -> AsyncIterator[MailServer]:
    async with MailServer(username=SMTP_USER, password=SMTP_PASSWORD) as server:
        yield server


@pytest.fixture
async def convoy() -> AsyncIterator[ConvoySimulator]:
    async with ConvoySimulator() as sim:
        yield sim


@pytest.fixture
async def desk(tmp_path: Path, convoy: ConvoySimulator, mail: MailServer) -> AsyncIterator[Desk]:
    async for running in start_desk(tmp_path, convoy, panel_kind="convoy", **mail_settings(mail)):
        yield running


def code_in(mail: ReceivedMail) -> str:
    found = re.search(r"\b(\d{6})\b", mail.subject)
    assert found, mail.subject
    return found[1]


async def ask_for_code(desk: Desk, member: int, email: str) -> RecordedMessage:
    record = await desk.run("link", by=member)
    choice = await record.wait_for_message(lambda m: bool(m.buttons()))
    opened = await desk.discord.click(choice, "Send me a code", user=member)
    await opened.wait_for(1)
    submitted = await desk.discord.submit_modal(opened, {"email": email}, user=member)
    return await submitted.wait_for_message()


async def enter_code(desk: Desk, reply: RecordedMessage, member: int, code: str) -> RecordedMessage:
    opened: InteractionRecord = await desk.discord.click(reply, "Enter the code", user=member)
    await opened.wait_for(1)
    submitted = await desk.discord.submit_modal(opened, {"code": code}, user=member)
    return await submitted.wait_for_message()


async def test_link_by_a_code_mailed_to_the_accounts_email_on_convoy(desk: Desk, mail: MailServer) -> None:
    user = desk.panel.add_user(username="Customer", email="customer@example.com")
    record = await desk.run("link", by=MEMBER)
    choice = await record.wait_for_message(lambda m: bool(m.buttons()))
    assert choice.button_labels() == ["Send me a code", "Ask staff"]  # Convoy has no client API keys
    reply = await ask_for_code(desk, MEMBER, "Customer@Example.com")
    assert "If an account on the main panel has that email address, a code is on its way" in reply.content
    [sent] = await mail.wait_for_mail("customer@example.com")
    assert sent.message["From"] == SENDER and "Discord account" in sent.text()
    assert f"(Discord id {MEMBER})" in sent.text() and "If this was not you" in sent.text()
    assert sent.html() is not None and code_in(sent) in (sent.html() or "")
    linked = await enter_code(desk, reply, MEMBER, code_in(sent))
    assert "Linked to **Customer**" in linked.content, linked.content
    link = await desk.bot.links.get_for_member("main", MEMBER)
    assert link is not None and link.panel_user_id == str(user.id) and link.method is LinkMethod.EMAIL_CODE
    # Used once: the same code again proves nothing (the member unlinked in between).
    await desk.bot.links.unlink_member("main", MEMBER, reason="test")
    again = await enter_code(desk, reply, MEMBER, code_in(sent))
    assert "That code has expired or was already used" in again.content


async def test_an_unknown_email_gets_the_same_reply_and_no_mail(desk: Desk, mail: MailServer) -> None:
    desk.panel.add_user(username="Customer", email="customer@example.com")
    known = await ask_for_code(desk, MEMBER, "customer@example.com")
    unknown = await ask_for_code(desk, OTHER_MEMBER, "nobody@example.com")
    assert known.content == unknown.content and unknown.button_labels() == ["Enter the code"]
    await mail.wait_for_mail("customer@example.com")
    assert [m.recipients for m in mail.received] == [["customer@example.com"]]
    # Whatever the other member types, no code matches (there is none to know), and the answer is a wrong code's.
    answer = await enter_code(desk, unknown, OTHER_MEMBER, code_in(mail.received[0]))
    assert answer.content.startswith("That code is not right.")
    assert await desk.bot.links.get_for_member("main", OTHER_MEMBER) is None


async def test_a_wrong_code_counts_as_a_failed_proof_and_the_right_one_still_works(
    desk: Desk, mail: MailServer
) -> None:
    desk.panel.add_user(username="Customer", email="customer@example.com")
    reply = await ask_for_code(desk, MEMBER, "customer@example.com")
    [sent] = await mail.wait_for_mail("customer@example.com")
    wrong = "000000" if code_in(sent) != "000000" else "111111"
    answer = await enter_code(desk, reply, MEMBER, wrong)
    assert answer.content.startswith("That code is not right.") and "4 attempts left" in answer.content
    linked = await enter_code(desk, reply, MEMBER, code_in(sent))
    assert "Linked to **Customer**" in linked.content


async def test_an_expired_code_links_nothing(desk: Desk, mail: MailServer, monkeypatch: pytest.MonkeyPatch) -> None:
    desk.panel.add_user(username="Customer", email="customer@example.com")
    reply = await ask_for_code(desk, MEMBER, "customer@example.com")
    [sent] = await mail.wait_for_mail("customer@example.com")
    later = datetime.now(UTC) + timedelta(minutes=11)
    monkeypatch.setattr(desk.bot.db, "now", lambda: later)
    answer = await enter_code(desk, reply, MEMBER, code_in(sent))
    assert "That code has expired or was already used" in answer.content
    assert await desk.bot.links.get_for_member("main", MEMBER) is None


async def test_codes_are_rate_limited_per_member(desk: Desk, mail: MailServer) -> None:
    desk.panel.add_user(username="Customer", email="customer@example.com")
    await ask_for_code(desk, MEMBER, "customer@example.com")
    again = await ask_for_code(desk, MEMBER, "customer@example.com")
    assert again.content.startswith("A code was sent a moment ago. You can ask for another")
    await asyncio.sleep(0.2)
    assert len(mail.received) == 1


async def test_several_members_asking_at_once_each_get_their_own_code(desk: Desk, mail: MailServer) -> None:
    desk.guild.add_member(THIRD_MEMBER, "tess")
    members = {MEMBER: "one@example.com", OTHER_MEMBER: "two@example.com", THIRD_MEMBER: "three@example.com"}
    for number, email in enumerate(members.values()):
        desk.panel.add_user(username=f"user{number}", email=email)
    replies = await asyncio.gather(*(ask_for_code(desk, m, e) for m, e in members.items()))
    codes = {m: code_in((await mail.wait_for_mail(e))[0]) for m, e in members.items()}
    # Each types the code of the next one first (refused), then their own (linked).
    order = list(members)
    swapped = await asyncio.gather(
        *(
            enter_code(desk, reply, m, codes[order[(i + 1) % 3]])
            for i, (m, reply) in enumerate(zip(order, replies, strict=True))
        )
    )
    assert all("That code is not right" in answer.content for answer in swapped)
    own = await asyncio.gather(*(enter_code(desk, r, m, codes[m]) for m, r in zip(order, replies, strict=True)))
    for number, (member, answer) in enumerate(zip(order, own, strict=True)):
        assert f"Linked to **user{number}**" in answer.content
        link = await desk.bot.links.get_for_member("main", member)
        assert link is not None and link.panel_username == f"user{number}"


async def test_a_mail_server_that_is_down_gives_a_clear_sentence_whichever_email_was_typed(
    desk: Desk, mail: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    desk.panel.add_user(username="Customer", email="customer@example.com")
    await mail.stop()
    known = await ask_for_code(desk, MEMBER, "customer@example.com")
    unknown = await ask_for_code(desk, OTHER_MEMBER, "nobody@example.com")
    assert known.content.startswith("The bot could not send mail just now, so no code was sent.")
    assert unknown.content == known.content and unknown.button_labels() == known.button_labels() == []
    assert "cannot be reached" in caplog.text
    assert SMTP_PASSWORD not in caplog.text and "customer@example.com" not in caplog.text
    status = await desk.reply("panel status")
    assert "cannot be reached" in str(status.embeds[0])


async def test_a_mail_refused_for_one_address_reads_as_an_unknown_email(
    desk: Desk, mail: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The server takes the login and the sender but refuses this message: telling the member would tell them
    that an account has that email. They read what anyone typing an unknown email reads; staff see the warning."""
    desk.panel.add_user(username="Customer", email="customer@example.com")
    mail.refuse_messages = True
    refused = await ask_for_code(desk, MEMBER, "customer@example.com")
    unknown = await ask_for_code(desk, OTHER_MEMBER, "nobody@example.com")
    assert refused.content == unknown.content and refused.button_labels() == ["Enter the code"]
    assert "refused the message (554)" in caplog.text and "customer@example.com" not in caplog.text
    assert mail.received == []
    # Nothing is left half-done: the refused code was withdrawn, so no code of any kind links the account.
    assert await desk.bot.links.get_for_member("main", MEMBER) is None


async def test_link_by_code_on_ctrlpanel_without_its_discord_login(tmp_path: Path, mail: MailServer) -> None:
    async with CtrlPanelSimulator(rate_limit=100_000) as ctrlpanel:
        async for desk in start_desk(
            tmp_path, ctrlpanel, panel_kind="ctrlpanel", panel_rate_limit=100_000, **mail_settings(mail)
        ):
            ctrlpanel.add_user(name="buyer", email="buyer@example.com", credits=10)
            reply = await ask_for_code(desk, MEMBER, "buyer@example.com")
            [sent] = await mail.wait_for_mail("buyer@example.com")
            assert "ctrlpanel" in sent.text().lower() or "CtrlPanel" in sent.text()
            linked = await enter_code(desk, reply, MEMBER, code_in(sent))
            assert "Linked to **buyer**" in linked.content


# --- /account password ------------------------------------------------------------------------------------------

NEW_PASSWORD = "a-Brand-new-passw0rd!"


async def linked_by_code(desk: Desk, mail: MailServer, member: int = MEMBER) -> Any:
    user = desk.panel.add_user(username="Customer", email="customer@example.com", password="the-old-password")
    reply = await ask_for_code(desk, member, "customer@example.com")
    [sent] = await mail.wait_for_mail("customer@example.com")
    assert "Linked to" in (await enter_code(desk, reply, member, code_in(sent))).content
    mail.received.clear()
    return user


async def change_password(
    desk: Desk, reply: RecordedMessage, member: int, code: str, password: str, again: str | None = None
) -> RecordedMessage:
    opened = await desk.discord.click(reply, "Enter the code", user=member)
    await opened.wait_for(1)
    values = {"code": code, "password": password, "again": password if again is None else again}
    submitted = await desk.discord.submit_modal(opened, values, user=member)
    return await submitted.wait_for_message()


async def test_a_password_change_is_confirmed_by_mail_and_the_password_is_kept_nowhere(
    desk: Desk, mail: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    user = await linked_by_code(desk, mail)
    reply = await desk.reply("account password", by=MEMBER)
    assert "A code is on its way to the email of your account (**c•••@e•••.com**)" in reply.content
    [sent] = await mail.wait_for_mail("customer@example.com")
    assert "change the password" in sent.text()
    # A typo in the second password spends nothing: the same code still works after it.
    mismatch = await change_password(desk, reply, MEMBER, code_in(sent), NEW_PASSWORD, again=NEW_PASSWORD + "x")
    assert mismatch.content.startswith("The two passwords are not the same. Nothing was changed")
    assert user.password_matches("the-old-password")
    done = await change_password(desk, reply, MEMBER, code_in(sent), NEW_PASSWORD)
    assert done.content == "Your password on the main panel was changed. Sign in with the new one from now on."
    assert user.password_matches(NEW_PASSWORD)
    [entry] = await desk.bot.audit.recent(action="account.password")
    assert entry.actor_id == MEMBER and entry.details["credentials"] == "password changed"
    await desk.stop_bot()
    # Nowhere afterwards: not in the logs, the database, the audit, or anything the bot sent to Discord.
    assert NEW_PASSWORD not in caplog.text
    for file in desk.settings.database_path.parent.glob("desk.sqlite3*"):
        assert NEW_PASSWORD.encode() not in file.read_bytes(), file
    assert all(NEW_PASSWORD not in str(message.content) for message in desk.discord.messages.values())


async def test_a_wrong_code_changes_no_password(desk: Desk, mail: MailServer) -> None:
    user = await linked_by_code(desk, mail)
    reply = await desk.reply("account password", by=MEMBER)
    [sent] = await mail.wait_for_mail("customer@example.com")
    wrong = "000000" if code_in(sent) != "000000" else "111111"
    answer = await change_password(desk, reply, MEMBER, wrong, NEW_PASSWORD)
    assert answer.content.startswith("That code is not right.")
    assert user.password_matches("the-old-password")


async def test_a_password_the_panel_would_refuse_is_refused_before_asking_it(desk: Desk, mail: MailServer) -> None:
    user = await linked_by_code(desk, mail)
    reply = await desk.reply("account password", by=MEMBER)
    [sent] = await mail.wait_for_mail("customer@example.com")
    answer = await change_password(desk, reply, MEMBER, code_in(sent), "        ")
    assert "The password must not be empty or only spaces. Nothing was changed." in answer.content
    assert user.password_matches("the-old-password")


async def test_without_mail_a_password_change_is_refused_unless_allowed(
    tmp_path: Path, convoy: ConvoySimulator
) -> None:
    async for desk in start_desk(tmp_path, convoy, panel_kind="convoy"):
        user = convoy.add_user(username="Customer", email="customer@example.com", password="the-old-password")
        await desk.reply("link-admin set", member=MEMBER, user=str(user.id))
        refused = await desk.reply("account password", by=MEMBER)
        assert refused.content.startswith("Changing your password from Discord needs a code sent to your account's")
    async for desk in start_desk(tmp_path / "allowed", convoy, panel_kind="convoy", password_reset_without_email=True):
        await desk.reply("link-admin set", member=MEMBER, user=str(user.id))
        opened = await desk.run("account password", by=MEMBER)
        await opened.wait_for(1)
        submitted = await desk.discord.submit_modal(
            opened, {"password": NEW_PASSWORD, "again": NEW_PASSWORD}, user=MEMBER
        )
        done = await submitted.wait_for_message()
        assert done.content.startswith("Your password on the main panel was changed.")
        assert user.password_matches(NEW_PASSWORD)
        [entry] = await desk.bot.audit.recent(action="account.password")
        assert entry.details["proof"] == "none (PASSWORD_RESET_WITHOUT_EMAIL)"


async def test_a_refused_password_code_says_so(desk: Desk, mail: MailServer) -> None:
    """For a member's own linked account there is nothing to discover: a refused mail is said plainly."""
    await linked_by_code(desk, mail)
    mail.refuse_messages = True
    refused = await desk.reply("account password", by=MEMBER)
    assert refused.content.startswith("The bot could not send mail just now, so no code was sent.")
