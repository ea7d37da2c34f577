"""/user and /audit through Discord's stand-in, the real bot and the Pterodactyl simulator."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from storage import AuditOutcome, LinkMethod
from tests.e2e.harness import ADMIN, ADMIN_ROLE, AUDIT_CHANNEL, MEMBER, OTHER_MEMBER, STAFF, Desk

ADMIN_ONLY = "You need an admin role to use this command"
STAFF_ONLY = "You need a staff or admin role to use this command"


# --- who may do what: one test per cell of the README's table --------------------------------------------------

COMMANDS = {
    "panel status": ({}, "staff"),
    "panel sync": ({}, "admin"),
    "user list": ({}, "staff"),
    "user info": ({"user": "admin"}, "staff"),
    "user create": ({"email": "x@example.com", "username": "xuser", "first_name": "X", "last_name": "Y"}, "admin"),
    "user edit": ({"user": "admin", "last_name": "Changed"}, "admin"),
    "user delete": ({"user": "admin"}, "admin"),
    "user suspend": ({"user": "admin"}, "admin"),
    "user unsuspend": ({"user": "admin"}, "admin"),
    "audit recent": ({}, "admin"),
    "link": ({}, "member"),
    "unlink": ({}, "member"),
    "account show": ({}, "member"),
    "account password": ({}, "member"),
    "register": ({"username": "newbie", "email": "newbie@example.com"}, "member"),
    "link-admin set": ({"member": OTHER_MEMBER, "user": "admin"}, "admin"),
    "link-admin remove": ({"member": OTHER_MEMBER}, "admin"),
    "link-admin show": ({"member": OTHER_MEMBER}, "admin"),
    "credits add": ({"user": "admin", "amount": "10"}, "admin"),
    "credits remove": ({"user": "admin", "amount": "10"}, "admin"),
    "credits show": ({"user": "admin"}, "staff"),
    "server-limit add": ({"user": "admin", "amount": 1}, "admin"),
    "server-limit remove": ({"user": "admin", "amount": 1}, "admin"),
    "notifications on": ({}, "member"),
    "notifications off": ({}, "member"),
    "notifications show": ({}, "member"),
    "roles sync": ({}, "admin"),
    "roles show": ({"member": OTHER_MEMBER}, "staff"),
}
ROLES = {"admin": ADMIN, "staff": STAFF, "member": MEMBER}
RANK = {"member": 0, "staff": 1, "admin": 2}


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("command", list(COMMANDS))
async def test_permission_table(every_command: Desk, command: str, role: str) -> None:
    desk = every_command
    options, needed = COMMANDS[command]
    record = await desk.run(command, by=ROLES[role], **options)
    message = await record.wait_for_message()
    allowed = RANK[role] >= RANK[needed]
    refusal = {"admin": ADMIN_ONLY, "staff": STAFF_ONLY, "member": "You need"}[needed]
    assert message.ephemeral
    if allowed:
        assert refusal not in message.content
        assert record.responses[0].kind in {"defer", "reply"}
    else:
        assert refusal in message.content
        assert [r.kind for r in record.responses] == ["reply"]
        assert all(r.method == "GET" for r in desk.panel.requests)  # nothing changed on the panel


# --- looking ---------------------------------------------------------------------------------------------------


async def test_list_pages_with_buttons_only_the_invoker_may_press(desk: Desk) -> None:
    desk.panel.seed_users(24)  # 25 with the admin: 3 pages of 10
    record = await desk.run("user list", by=STAFF)
    first = await record.wait_for_message()
    assert first.ephemeral and "page 1 of 3 · 25 users" in first.text()
    assert first.button_labels() == ["Previous", "Next"]
    assert first.button("Previous").get("disabled") is True

    with pytest.raises(ValueError, match="ephemeral"):  # Discord shows the message, buttons and all, to no one else
        await desk.discord.click(first, "Next", user=ADMIN)

    turn = await desk.discord.click(first, "Next", user=STAFF)
    await turn.wait_for(2)
    page_two = desk.discord.message(first.id)
    assert "page 2 of 3" in page_two.text()
    assert page_two.button("Previous").get("disabled") is False


async def test_an_expired_list_says_so_when_pressed(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(desk.bot.get_cog("Users"), "pager_lifetime", 0.2)
    desk.panel.seed_users(15)
    record = await desk.run("user list", by=STAFF)
    message = await record.wait_for_message()
    edits = len(desk.discord.message(message.id).history)
    await asyncio.sleep(0.5)
    assert len(desk.discord.message(message.id).history) == edits  # expiry alone edits nothing
    turn = await desk.discord.click(message, "Next", user=STAFF)
    [answer] = await turn.wait_for(1)
    assert answer.kind == "update"
    expired = desk.discord.message(message.id)
    assert expired.content.startswith("This list has expired") and expired.buttons() == []
    assert "page 1 of 2" in expired.text()  # the page shown stays readable
    assert len(desk.bot.open_lists) == 0


async def test_lists_of_several_staff_page_independently(desk: Desk) -> None:
    desk.panel.seed_users(29)  # 30 with the admin: 3 pages of 10
    first = await desk.reply("user list", by=STAFF)
    second = await desk.reply("user list", by=ADMIN)
    turns = await asyncio.gather(
        desk.discord.click(first, "Next", user=STAFF), desk.discord.click(second, "Next", user=ADMIN)
    )
    for turn in turns:
        await turn.wait_for(2)
    assert "page 2 of 3" in desk.discord.message(first.id).text()
    assert "page 2 of 3" in desk.discord.message(second.id).text()
    again = await desk.discord.click(desk.discord.message(first.id), "Next", user=STAFF)
    await again.wait_for(2)
    assert "page 3 of 3" in desk.discord.message(first.id).text()
    assert "page 2 of 3" in desk.discord.message(second.id).text()
    # Nothing is kept per list but its small entry: no view waits out a timeout (discord.py's 15 minutes).
    waiting = [t for t in asyncio.all_tasks() if "timeout_task_impl" in t.get_coro().__qualname__]
    assert waiting == [] and len(desk.bot.open_lists) == 2


async def test_list_search_and_empty_result(desk: Desk) -> None:
    desk.panel.add_user(username="steve", email="steve@example.com")
    found = await desk.reply("user list", by=STAFF, search="stev")
    assert "steve" in found.text() and "admin@example.com" not in found.text()
    assert found.buttons() == []  # one page: no buttons
    nothing = await desk.reply("user list", by=STAFF, search="zzz")
    assert "No users found." in nothing.text()


async def test_info_shows_every_field_and_the_linked_member(desk: Desk) -> None:
    user = desk.panel.add_user(
        username="maria", email="maria@example.com", first_name="Maria", last_name="Lopez", external_id="bill-9"
    )
    desk.panel.add_server(user.id)
    await desk.bot.links.link("main", MEMBER, str(user.id), method=LinkMethod.STAFF)
    for reference in ("maria", "maria@example.com", str(user.id), "bill-9", f"<@{MEMBER}>"):
        message = await desk.reply("user info", by=STAFF, user=reference)
        text = message.text()
        assert "maria@example.com" in text and "Maria Lopez" in text and "bill-9" in text, reference
        assert user.uuid in text and f"<@{MEMBER}>" in text
        fields = {f["name"]: f["value"] for f in message.embeds[0]["fields"]}
        assert fields["Servers"] == "1" and fields["Admin"] == "no" and fields["Two-factor"] == "no"


async def test_info_for_an_unknown_user_or_unlinked_member(desk: Desk) -> None:
    unknown = await desk.reply("user info", by=STAFF, user="nobody@example.com")
    assert unknown.ephemeral and "No user on the main panel has" in unknown.content
    unlinked = await desk.reply("user info", by=STAFF, user=f"<@{OTHER_MEMBER}>")
    assert "has no linked account on the main panel" in unlinked.content


async def test_autocomplete_offers_matching_users(desk: Desk) -> None:
    desk.panel.seed_users(40, prefix="player")
    desk.panel.add_user(username="steve", email="steve@example.com")
    choices = await desk.discord.autocomplete(
        "user info", user=STAFF, guild=desk.guild.id, focused="user", options={"user": "stev"}
    )
    assert [c["name"] for c in choices] == [
        f"steve · steve@example.com (#{desk.panel.users[max(desk.panel.users)].id})"
    ]
    many = await desk.discord.autocomplete(
        "user info", user=STAFF, guild=desk.guild.id, focused="user", options={"user": ""}
    )
    assert len(many) == 25


async def test_a_username_that_tries_to_ping_pings_nobody(desk: Desk) -> None:
    role = f"<@&{ADMIN_ROLE}>"
    user = desk.panel.add_user(username="everyone", email="e@example.com", first_name="@everyone", last_name=role)
    message = await desk.reply("user info", by=STAFF, user=str(user.id))
    assert message.allowed_mentions == {"parse": []}
    text = message.text()
    assert "@everyone" not in text and role not in text
    assert "@\u200beveryone" in text  # still readable, but inert


async def test_panel_text_is_escaped_and_inert_in_lists_and_the_audit_channel(desk: Desk) -> None:
    desk.panel.add_user(username="not_a_mod", email="n@example.com", first_name="@everyone", last_name="**big**")
    listed = await desk.reply("user list", by=STAFF, search="not_a_mod")
    text = listed.text()
    assert "not\\_a\\_mod" in text and "not_a_mod" not in text.replace("\\_", "")
    assert listed.allowed_mentions == {"parse": []}
    await desk.reply("user edit", user="not_a_mod", last_name="@here")
    [post] = desk.discord.channel_messages(AUDIT_CHANNEL)
    assert "@here" not in post.text() and "not\\_a\\_mod" in post.text()
    assert post.allowed_mentions == {"parse": []}


async def test_autocomplete_gives_up_in_time_when_the_panel_is_slow(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cogs.common.resolve.AUTOCOMPLETE_BUDGET", 0.2)
    choices = await desk.discord.autocomplete(
        "user info", user=STAFF, guild=desk.guild.id, focused="user", options={"user": "ad"}
    )
    assert [c["name"] for c in choices] == ["admin · admin@example.com (#1)"]
    desk.panel.faults.latency = 1.0  # slower than the budget: an empty list, not an error or a late answer
    assert (
        await desk.discord.autocomplete(
            "user info", user=STAFF, guild=desk.guild.id, focused="user", options={"user": "zz"}
        )
        == []
    )


async def test_typing_in_autocomplete_does_not_starve_commands(desk: Desk) -> None:
    """260 keystrokes used to be 260 requests, more than Pterodactyl's 240 a minute: the next command waited."""
    desk.panel.seed_users(300, prefix="player")
    names = [f"player{n}" for n in range(1, 300, 7)]
    keystrokes = [name[:length] for name in names for length in range(1, len(name) + 1)][:260]
    for typed in keystrokes:
        await desk.discord.autocomplete(
            "user info", user=STAFF, guild=desk.guild.id, focused="user", options={"user": typed}
        )
    listed = [r for r in desk.panel.requests if r.path.endswith("/users") and r.method == "GET"]
    assert len(listed) <= 60 and all(r.status == 200 for r in desk.panel.requests)
    message = await desk.reply("user info", by=STAFF, user="player5")
    assert "player5" in message.text()
    assert desk.bot.panels.default.transport.limiter.delay() == 0  # nothing held the command back


# --- changing ------------------------------------------------------------------------------------------------


async def test_create_without_password_explains_how_the_user_sets_one(desk: Desk) -> None:
    message = await desk.reply(
        "user create", email="new@example.com", username="NewPlayer", first_name="New", last_name="Player"
    )
    assert "emails new@example.com a link to choose one" in message.content
    created = next(u for u in desk.panel.users.values() if u.username == "newplayer")
    assert created.email == "new@example.com"
    [entry] = await desk.bot.audit.recent(actor_id=ADMIN)
    assert (entry.action, entry.outcome, entry.target_user_id) == ("user.create", AuditOutcome.OK, str(created.id))
    assert entry.details["fields"]["username"] == "NewPlayer"
    assert entry.details["sign_in"] == "set-password link emailed"


async def test_create_with_password_never_echoes_it_and_links_the_member(desk: Desk) -> None:
    secret = "correct-horse-battery"
    record = await desk.run(
        "user create",
        email="linked@example.com",
        username="linked",
        first_name="L",
        last_name="K",
        password=secret,
        member=MEMBER,
    )
    message = await record.wait_for_message()
    assert "A password was set; it is not shown again." in message.content
    assert f"Linked to <@{MEMBER}>." in message.content
    assert all(secret not in str(r.payload) for r in record.responses)
    created = next(u for u in desk.panel.users.values() if u.username == "linked")
    assert created.password_matches(secret)
    link = await desk.bot.links.get_for_member("main", MEMBER)
    assert link is not None and link.panel_user_id == str(created.id) and link.method == LinkMethod.CREATED
    assert secret.encode() not in desk.bot.db.path.read_bytes()
    actions = [e.action for e in await desk.bot.audit.recent(actor_id=ADMIN)]
    assert actions == ["link.create", "user.create"]


async def test_create_refuses_bad_input_before_asking_the_panel(desk: Desk) -> None:
    message = await desk.reply("user create", email="not-an-email", username="_bad_", first_name="A", last_name="B")
    assert "That input would be refused by the panel" in message.content
    assert "**email**: The email must be a valid email address." in message.content
    assert "**username**: The username must start and end with alpha-numeric characters" in message.content
    assert [r for r in desk.panel.requests if r.method == "POST"] == []
    [entry] = await desk.bot.audit.recent()
    assert entry.outcome == AuditOutcome.REFUSED


async def test_a_password_of_spaces_is_refused_before_asking_the_panel(desk: Desk) -> None:
    # Pterodactyl itself would take it (its password rule is `nullable|string`, and passwords are not trimmed).
    created = await desk.reply(
        "user create", email="s@example.com", username="spaces", first_name="A", last_name="B", password=" " * 10
    )
    assert created.ephemeral and "**password**: The password must not be empty or only spaces." in created.content
    desk.panel.add_user(username="editme", email="editme@example.com")
    edited = await desk.reply("user edit", user="editme", password=" " * 10)
    assert edited.ephemeral and "**password**: The password must not be empty or only spaces." in edited.content
    assert [r.method for r in desk.panel.requests if r.method != "GET"] == []


async def test_create_shows_the_panels_own_refusal(desk: Desk) -> None:
    desk.panel.add_user(username="taken", email="taken@example.com")
    message = await desk.reply(
        "user create", email="taken@example.com", username="taken", first_name="A", last_name="B"
    )
    assert "That is already taken on the panel." in message.content
    assert "**email**: The email has already been taken." in message.content
    assert "**username**: The username has already been taken." in message.content


async def test_edit_changes_only_the_given_fields_and_shows_before_and_after(desk: Desk) -> None:
    user = desk.panel.add_user(username="editme", email="old@example.com", first_name="Old", last_name="Name")
    message = await desk.reply("user edit", user="editme", email="new@example.com", password="a-new-password")
    fields = {f["name"]: f["value"] for f in message.embeds[0]["fields"]}
    assert fields == {"Email": "old@example.com → new@example.com", "Password": "changed"}
    stored = desk.panel.users[user.id]
    assert (stored.email, stored.first_name, stored.last_name) == ("new@example.com", "Old", "Name")
    assert stored.password_matches("a-new-password")
    [entry] = await desk.bot.audit.recent()
    assert entry.details["changed"] == {"email": {"before": "old@example.com", "after": "new@example.com"}}
    assert entry.details["credentials"] == "password changed"
    assert b"a-new-password" not in desk.bot.db.path.read_bytes()


async def test_edit_with_nothing_to_change(desk: Desk) -> None:
    message = await desk.reply("user edit", user="admin")
    assert message.content == "Nothing to change: give at least one field to edit."


async def test_edit_to_a_taken_username(desk: Desk) -> None:
    desk.panel.add_user(username="taken", email="taken@example.com")
    desk.panel.add_user(username="mine", email="mine@example.com")
    message = await desk.reply("user edit", user="mine", username="taken")
    assert "**username**: The username has already been taken." in message.content


async def confirm_prompt(desk: Desk, user: str):
    record = await desk.run("user delete", user=user)
    prompt = await record.wait_for_message(lambda m: bool(m.buttons()))
    assert prompt.button_labels() == ["Delete", "Cancel"]
    return record, prompt


async def test_delete_confirmed_removes_the_account_and_its_link(desk: Desk) -> None:
    user = desk.panel.add_user(username="leaving", email="leaving@example.com")
    await desk.bot.links.link("main", MEMBER, str(user.id), method=LinkMethod.STAFF)
    record, prompt = await confirm_prompt(desk, "leaving")
    assert "cannot be undone" in prompt.text()
    await desk.discord.click(prompt, "Delete", user=ADMIN)
    done = await record.wait_for_message(lambda m: m.content.startswith("Deleted"))
    assert done.content == f"Deleted leaving (#{user.id}). Their link to <@{MEMBER}> was removed."
    assert user.id not in desk.panel.users
    assert await desk.bot.links.get_for_member("main", MEMBER) is None
    unlink, entry = await desk.bot.audit.recent()  # newest first
    assert (entry.action, entry.outcome, entry.target_discord_id) == ("user.delete", AuditOutcome.OK, MEMBER)
    assert (unlink.action, unlink.actor_id, unlink.details["reason"]) == ("link.remove", ADMIN, "account deleted")


async def test_delete_of_an_account_that_vanished_meanwhile_still_removes_its_link(desk: Desk) -> None:
    user = desk.panel.add_user(username="leaving", email="leaving@example.com")
    await desk.bot.links.link("main", MEMBER, str(user.id), method=LinkMethod.STAFF)
    record, prompt = await confirm_prompt(desk, "leaving")
    del desk.panel.users[user.id]  # another admin deletes it on the panel while the question is open
    await desk.discord.click(prompt, "Delete", user=ADMIN)
    done = await record.wait_for_message(lambda m: m.content.startswith("Already gone"))
    assert done.content == f"Already gone from the panel: leaving (#{user.id}). Their link to <@{MEMBER}> was removed."
    assert await desk.bot.links.get_for_member("main", MEMBER) is None
    _, entry = await desk.bot.audit.recent()
    assert (entry.action, entry.outcome, entry.details["already_gone"]) == ("user.delete", AuditOutcome.OK, True)


async def test_delete_cancelled_or_pressed_by_someone_else(desk: Desk) -> None:
    user = desk.panel.add_user(username="staying", email="staying@example.com")
    record, prompt = await confirm_prompt(desk, "staying")
    with pytest.raises(ValueError, match="ephemeral"):  # nobody else can even see the prompt
        await desk.discord.click(prompt, "Delete", user=STAFF)
    assert user.id in desk.panel.users
    await desk.discord.click(prompt, "Cancel", user=ADMIN)
    cancelled = await record.wait_for_message(lambda m: m.content.startswith("Cancelled"))
    assert cancelled.buttons() == []
    assert user.id in desk.panel.users
    assert await desk.bot.audit.recent() == []


async def test_delete_times_out(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(desk.bot.get_cog("Users"), "confirm_timeout", 0.3)
    user = desk.panel.add_user(username="staying", email="staying@example.com")
    record, _ = await confirm_prompt(desk, "staying")
    timed_out = await record.wait_for_message(lambda m: m.content.startswith("No answer"), timeout=3)
    assert all(button.get("disabled") for button in timed_out.buttons())
    assert user.id in desk.panel.users


async def test_delete_refused_while_the_user_owns_servers(desk: Desk) -> None:
    user = desk.panel.add_user(username="owner", email="owner@example.com")
    desk.panel.add_server(user.id)
    record, prompt = await confirm_prompt(desk, "owner")
    assert "owns 1 server(s)" in prompt.text()
    await desk.discord.click(prompt, "Delete", user=ADMIN)
    refused = await record.wait_for_message(lambda m: m.content.startswith("The panel refused"))
    assert "still owns servers (1)" in refused.content
    assert user.id in desk.panel.users
    [entry] = await desk.bot.audit.recent()
    assert (entry.action, entry.outcome) == ("user.delete", AuditOutcome.REFUSED)


async def test_suspend_on_a_panel_without_suspension(every_command: Desk) -> None:
    desk = every_command
    message = await desk.reply("user suspend", user="admin", reason="chargeback")
    assert message.content.startswith("Pterodactyl panels have no user suspension.")
    assert desk.panel.requests == []


# --- errors and the audit trail ---------------------------------------------------------------------------------


async def test_panel_down_gives_a_clear_message(desk: Desk) -> None:
    desk.panel.faults.fail_next = 10
    message = await desk.reply("user info", by=STAFF, user="1")
    assert message.ephemeral and "please try again later" in message.content


async def test_rate_limited_panel_says_when_to_retry(desk: Desk) -> None:
    desk.panel.rate_limit = 1
    desk.panel.rate_window = 120
    await desk.bot.panels.default.list_users()  # spends the one request the window allows
    message = await desk.reply("user info", by=STAFF, user="1")
    assert re.search(r"rate limited\)\. Try again in about \d+ s\.", message.content)


async def test_unexpected_error_gets_a_reference_in_the_reply_and_the_log(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(user_id: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(desk.bot.panels.default, "get_user", broken)
    message = await desk.reply("user info", by=STAFF, user="1")
    reference = re.search(r"Reference: `([0-9a-f]{8})`", message.content).group(1)
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged and logged[0].levelno == logging.ERROR and logged[0].exc_info[0] is RuntimeError


async def test_changes_are_posted_to_the_audit_channel_and_listed(desk: Desk) -> None:
    await desk.reply("user create", email="a@example.com", username="auditme", first_name="A", last_name="B")
    await desk.reply("user edit", user="auditme", last_name="C")
    posts = desk.discord.channel_messages(AUDIT_CHANNEL)
    assert [p.content.split("`")[1] for p in posts] == ["user.create", "user.edit"]
    assert f"<@{ADMIN}>" in posts[0].content and "auditme" in posts[0].content
    recent = await desk.reply("audit recent")
    lines = recent.embeds[0]["description"].splitlines()
    assert "`user.edit`" in lines[0] and "Last name" in lines[0] and "`user.create`" in lines[1]
    only_staff = await desk.reply("audit recent", member=STAFF)
    assert only_staff.embeds[0]["description"].strip() == "Nothing recorded yet."
    desk.panel.add_user(username="untouched", email="u@example.com")
    about_user = await desk.reply("audit recent", user="auditme")
    assert len(about_user.embeds[0]["description"].splitlines()) == 2
    about_other = await desk.reply("audit recent", user="untouched")
    assert about_other.embeds[0]["description"].strip() == "Nothing recorded yet."


async def test_the_audit_of_a_deleted_account_can_still_be_read(desk: Desk) -> None:
    user = desk.panel.add_user(username="gone", email="gone@example.com")
    record, prompt = await confirm_prompt(desk, "gone")
    await desk.discord.click(prompt, "Delete", user=ADMIN)
    await record.wait_for_message(lambda m: m.content.startswith("Deleted"))
    for reference in ("gone", "gone@example.com", str(user.id)):
        about = await desk.reply("audit recent", user=reference)
        lines = about.embeds[0]["description"].splitlines()
        assert lines[0] == f"No account {reference} on the panel now; entries recorded under that id or name:"
        assert len(lines) == 2 and "`user.delete`" in lines[1]


async def test_a_member_id_finds_the_account_whose_external_id_names_them(desk: Desk) -> None:
    desk.panel.add_user(username="billed", email="billed@example.com", external_id=str(MEMBER))
    info = await desk.reply("user info", by=STAFF, user=str(MEMBER))
    assert info.embeds[0]["title"].startswith("billed")
    nobody = await desk.reply("user info", by=STAFF, user=f"<@{OTHER_MEMBER}>")
    assert nobody.content == f"<@{OTHER_MEMBER}> has no linked account on the main panel."
