"""Emails stay out of channel posts: the audit channel and link requests name accounts by username and id."""

from __future__ import annotations

import re

from tests.e2e.conftest import DeskFactory
from tests.e2e.harness import ADMIN, AUDIT_CHANNEL, GENERAL, MEMBER, STAFF, STAFF_CHANNEL, Desk
from tests.e2e.test_linking import ask_staff, link_with_key, staff_request

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def public_posts(desk: Desk) -> list[str]:
    channels = (AUDIT_CHANNEL, STAFF_CHANNEL, GENERAL)
    return [m.text() for c in channels for m in desk.discord.channel_messages(c, include_ephemeral=False)]


async def busy_day(desk: Desk) -> None:
    """Staff and members do the usual things: create, edit, look up, link by key, ask staff, approve."""
    await desk.reply("user create", email="carol@example.com", username="carol", first_name="C", last_name="L")
    await desk.reply("user edit", user="carol@example.com", email="carol2@example.com")
    await desk.reply("user info", by=STAFF, user="carol2@example.com")
    holder = desk.panel.add_user(username="holder", email="holder@example.com")
    await link_with_key(desk, MEMBER, desk.panel.create_client_key(holder.id))
    desk.panel.add_user(username="asker", email="asker@example.com")
    await ask_staff(desk, STAFF, "asker@example.com")


async def test_channel_posts_name_accounts_without_emails(desk_with: DeskFactory) -> None:
    desk = await desk_with(audit_channel_id=AUDIT_CHANNEL)
    await busy_day(desk)
    posts = public_posts(desk)
    assert len(posts) >= 5 and any("`user.create` carol" in p for p in posts)
    assert [p for p in posts if EMAIL.search(p)] == []
    # Staff reading the log privately still see which address each account had.
    recent = await desk.reply("audit recent")
    assert recent.ephemeral and "<carol@example.com>" in recent.text()


async def test_a_setting_puts_emails_in_the_audit_channel(desk_with: DeskFactory) -> None:
    desk = await desk_with(audit_channel_id=AUDIT_CHANNEL, audit_channel_shows_emails=True)
    await desk.reply("user create", email="dave@example.com", username="dave", first_name="D", last_name="V")
    [post] = desk.discord.channel_messages(AUDIT_CHANNEL)
    assert "dave" in post.content and "<dave@example.com>" in post.content


async def test_the_email_of_a_request_is_shown_to_an_admin_who_asks(desk: Desk) -> None:
    desk.panel.add_user(username="asker", email="asker@example.com")
    await ask_staff(desk, MEMBER, "Asker@Example.com")
    request = await staff_request(desk)
    assert not EMAIL.search(request.text()) and request.button_labels() == ["Approve", "Deny", "Show email"]
    refused = await (await desk.discord.click(request, "Show email", user=STAFF)).wait_for_message()
    assert refused.ephemeral and "You need an admin role" in refused.content
    shown = await (await desk.discord.click(request, "Show email", user=ADMIN)).wait_for_message()
    assert shown.ephemeral and "**Asker@Example.com**" in shown.content and "**asker**" in shown.content
    assert desk.discord.message(request.id).button_labels() == ["Approve", "Deny", "Show email"]  # still open
