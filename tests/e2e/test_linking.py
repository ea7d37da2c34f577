"""/link, /unlink, /account and /link-admin through the Discord stand-in, the real bot and the panel simulator."""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import timedelta

import discord
import pytest

from simulators.discord import InteractionRecord, RecordedMessage, snowflake_at
from storage import AuditOutcome, LinkMethod
from tests.e2e.conftest import DeskFactory
from tests.e2e.harness import ADMIN, GUILD, LINKED_ROLE, MEMBER, OTHER_MEMBER, STAFF, STAFF_CHANNEL, Desk


async def choose_proof(desk: Desk, member: int) -> RecordedMessage:
    record = await desk.run("link", by=member)
    return await record.wait_for_message(lambda m: bool(m.buttons()))


async def link_with_key(desk: Desk, member: int, key: str) -> RecordedMessage:
    choice = await choose_proof(desk, member)
    opened = await desk.discord.click(choice, "Use a client API key", user=member)
    await opened.wait_for(1)
    submitted = await desk.discord.submit_modal(opened, {"key": key}, user=member)
    return await submitted.wait_for_message()


async def ask_staff(desk: Desk, member: int, email: str) -> RecordedMessage:
    choice = await choose_proof(desk, member)
    opened = await desk.discord.click(choice, "Ask staff", user=member)
    await opened.wait_for(1)
    submitted = await desk.discord.submit_modal(opened, {"email": email}, user=member)
    return await submitted.wait_for_message()


async def staff_request(desk: Desk) -> RecordedMessage:
    posts = desk.discord.channel_messages(STAFF_CHANNEL)
    assert posts, "no request was posted to the staff channel"
    return posts[-1]


async def press_request(desk: Desk, request: RecordedMessage, action: str, by: int) -> InteractionRecord:
    """Press Approve/Deny as `by`; returns once the bot finished answering (a refusal, or the edited request)."""
    custom_id = next(cid for cid in request.custom_ids() if cid.startswith(f"linkreq:{action}:"))
    record = await desk.discord.press(request, custom_id, user=by)
    first = (await record.wait_for(1))[0]
    if first.kind == "deferred_update":
        await record.wait_for(2)
    return record


# --- automatic proofs -----------------------------------------------------------------------------------------


async def test_external_id_naming_the_member_links_without_input(desk: Desk) -> None:
    account = desk.panel.add_user(username="billing", email="b@example.com", external_id=str(MEMBER))
    message = await desk.reply("link", by=MEMBER)
    assert message.ephemeral
    assert "Linked to **billing** on the main panel (the panel account's external id names you)." in message.content
    link = await desk.bot.links.get_for_member("main", MEMBER)
    assert link.panel_user_id == str(account.id) and link.method is LinkMethod.EXTERNAL_ID
    assert desk.discord.role_changes[-1][:3] == (GUILD, MEMBER, LINKED_ROLE) and desk.discord.role_changes[-1][3]
    role, entry = await desk.bot.audit.recent(target_discord_id=MEMBER)  # newest first: the role followed the link
    assert (entry.action, entry.outcome, entry.details["method"]) == ("link.create", AuditOutcome.OK, "external_id")
    assert (role.action, role.actor_id, role.details["role_id"]) == ("role.add", None, LINKED_ROLE)


async def test_without_automatic_proof_the_member_chooses(desk: Desk) -> None:
    choice = await choose_proof(desk, MEMBER)
    assert choice.ephemeral and choice.button_labels() == ["Use a client API key", "Ask staff"]
    assert "Use a client API key" in choice.content and "Account → API Credentials" in choice.content


# --- client API key -----------------------------------------------------------------------------------------


async def test_client_key_links_and_is_forgotten(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    account = desk.panel.add_user(username="keyholder", email="k@example.com")
    key = desk.panel.create_client_key(account.id)
    message = await link_with_key(desk, MEMBER, key)
    assert "Linked to **keyholder**" in message.content and "you can delete it on the panel now" in message.content
    link = await desk.bot.links.get_for_member("main", MEMBER)
    assert link.method is LinkMethod.CLIENT_KEY and link.panel_user_id == str(account.id)
    # No trace of the key, nor of its secret half, anywhere the bot writes.
    secret = key[16:]
    database = b"".join(p.read_bytes() for p in desk.bot.db.path.parent.glob(desk.bot.db.path.name + "*"))
    for haystack in (caplog.text, database.decode("latin-1"), str(await desk.bot.audit.recent())):
        assert key not in haystack and secret not in haystack
    replies = [r.payload for r in desk.discord.interactions[max(desk.discord.interactions)].responses]
    assert secret not in str(replies)
    assert any("WebSocket" in r.getMessage() or "discord" in r.name for r in caplog.records)  # logging was on


async def test_wrong_and_revoked_keys_are_refused_and_counted(desk: Desk) -> None:
    account = desk.panel.add_user(username="keyholder", email="k@example.com")
    key = desk.panel.create_client_key(account.id)
    wrong = await link_with_key(desk, MEMBER, key[:-4] + "zzzz")
    assert "The panel did not accept that key: it is wrong, revoked or expired. 4 attempts left." in wrong.content
    desk.panel.revoke_key(key)
    revoked = await link_with_key(desk, MEMBER, key)
    assert "wrong, revoked or expired. 3 attempts left." in revoked.content
    admin_key = await link_with_key(desk, MEMBER, desk.panel.admin_key)
    assert "That is an application API key" in admin_key.content
    assert await desk.bot.links.get_for_member("main", MEMBER) is None


async def test_failed_proofs_are_rate_limited(desk_with: DeskFactory) -> None:
    desk = await desk_with(link_attempts=2, link_attempt_window_minutes=10)
    for _ in range(2):
        await link_with_key(desk, MEMBER, "ptlc_" + "x" * 43)
    blocked = await desk.reply("link", by=MEMBER)
    assert blocked.content.startswith("Too many failed attempts to prove an account. Try again <t:")
    assert blocked.buttons() == []
    other = await choose_proof(desk, OTHER_MEMBER)  # the limit is per member
    assert other.buttons()


async def test_key_of_an_account_linked_to_someone_else(desk: Desk) -> None:
    account = desk.panel.add_user(username="taken", email="t@example.com")
    await desk.bot.links.link("main", OTHER_MEMBER, str(account.id), method=LinkMethod.STAFF)
    message = await link_with_key(desk, MEMBER, desk.panel.create_client_key(account.id))
    assert "That panel account is already linked to another member" in message.content
    assert str(OTHER_MEMBER) not in message.content  # who holds it is not the member's business
    assert (await desk.bot.links.get_for_account("main", str(account.id))).discord_id == OTHER_MEMBER
    [entry] = await desk.bot.audit.recent(target_discord_id=MEMBER)
    assert (entry.action, entry.outcome, entry.details["linked_to"]) == ("link.create", "refused", OTHER_MEMBER)


async def test_two_members_racing_for_one_account(desk_with: DeskFactory) -> None:
    desk = await desk_with(link_cooldown_hours=0)
    account = desk.panel.add_user(username="shared", email="s@example.com")
    key = desk.panel.create_client_key(account.id)
    forms = []
    for member in (MEMBER, OTHER_MEMBER):
        choice = await choose_proof(desk, member)
        opened = await desk.discord.click(choice, "Use a client API key", user=member)
        await opened.wait_for(1)
        forms.append((opened, member))
    submitted = await asyncio.gather(*(desk.discord.submit_modal(f, {"key": key}, user=m) for f, m in forms))
    answers = [(await record.wait_for_message()).content for record in submitted]
    assert sum("Linked to **shared**" in a for a in answers) == 1
    assert sum("already linked to another member" in a for a in answers) == 1
    holder = await desk.bot.links.get_for_account("main", str(account.id))
    assert holder is not None and holder.discord_id in (MEMBER, OTHER_MEMBER)
    assert len([m for m in (MEMBER, OTHER_MEMBER) if await desk.bot.links.get_for_member("main", m)]) == 1


async def open_key_form(desk: Desk, member: int) -> InteractionRecord:
    choice = await choose_proof(desk, member)
    opened = await desk.discord.click(choice, "Use a client API key", user=member)
    await opened.wait_for(1)
    return opened


THIRD_MEMBER = 7_100_000_000_000_000_104


@pytest.mark.parametrize("together", [False, True], ids=["one after another", "all at once"])
async def test_open_key_forms_of_several_members_never_mix(desk_with: DeskFactory, together: bool) -> None:
    """Each member's submission is proof for that member only: whatever order the forms are submitted in, each
    ends linked to the account of the key they typed, or refused, and every submission is answered."""
    desk = await desk_with(link_cooldown_hours=0, link_attempts=100)
    desk.guild.add_member(THIRD_MEMBER, "tess")
    first = desk.panel.add_user(username="firstacct", email="f@example.com")
    second = desk.panel.add_user(username="secondacct", email="s@example.com")
    typed = {
        MEMBER: desk.panel.create_client_key(first.id),
        OTHER_MEMBER: desk.panel.create_client_key(second.id),
        THIRD_MEMBER: "ptlc_" + "w" * 43,  # a key of nobody's
    }
    expected = {MEMBER: str(first.id), OTHER_MEMBER: str(second.id), THIRD_MEMBER: None}
    orders = list(itertools.permutations(typed)) if not together else [tuple(typed)] * 3
    for order in orders:
        forms = {member: await open_key_form(desk, member) for member in typed}  # every form open at once
        if together:
            submitted = await asyncio.gather(
                *(desk.discord.submit_modal(forms[m], {"key": typed[m]}, user=m) for m in order)
            )
            answers = dict(zip(order, [await record.wait_for_message() for record in submitted], strict=True))
        else:
            answers = {}
            for member in order:
                record = await desk.discord.submit_modal(forms[member], {"key": typed[member]}, user=member)
                answers[member] = await record.wait_for_message()
        for member, account_id in expected.items():
            link = await desk.bot.links.get_for_member("main", member)
            if account_id is None:
                assert link is None and "did not accept that key" in answers[member].content, order
            else:
                assert link is not None and link.panel_user_id == account_id, order
                assert "Linked to **" in answers[member].content, order
                await desk.bot.links.unlink_member("main", member, reason="next round")


async def test_open_email_forms_of_two_members_ask_for_their_own_accounts(desk: Desk) -> None:
    mine = desk.panel.add_user(username="mine", email="mine@example.com")
    theirs = desk.panel.add_user(username="theirs", email="theirs@example.com")
    forms = {}
    for member in (MEMBER, OTHER_MEMBER):
        choice = await choose_proof(desk, member)
        forms[member] = await desk.discord.click(choice, "Ask staff", user=member)
        await forms[member].wait_for(1)
    emails = {MEMBER: "mine@example.com", OTHER_MEMBER: "theirs@example.com"}
    submitted = await asyncio.gather(
        *(desk.discord.submit_modal(forms[m], {"email": emails[m]}, user=m) for m in (OTHER_MEMBER, MEMBER))
    )
    for record in submitted:
        assert "Your request was sent to staff" in (await record.wait_for_message()).content
    requests = {m: await desk.bot.link_requests.pending_for_member("main", m) for m in (MEMBER, OTHER_MEMBER)}
    assert requests[MEMBER].panel_user_id == str(mine.id)
    assert requests[OTHER_MEMBER].panel_user_id == str(theirs.id)


async def test_a_form_and_buttons_from_before_a_restart_say_they_expired(desk: Desk) -> None:
    choice = await choose_proof(desk, MEMBER)
    form = await open_key_form(desk, OTHER_MEMBER)
    await desk.restart_bot()
    pressed = await desk.discord.click(choice, "Ask staff", user=MEMBER)
    stale = await pressed.wait_for_message()
    assert stale.ephemeral and stale.content.startswith("This button has expired (or the bot restarted since).")
    submitted = await desk.discord.submit_modal(form, {"key": "ptlc_" + "k" * 43}, user=OTHER_MEMBER)
    assert (await submitted.wait_for_message()).content.startswith("This form has expired")


# --- asking staff --------------------------------------------------------------------------------------------


async def test_request_approved_by_an_admin(desk: Desk) -> None:
    account = desk.panel.add_user(username="asker", email="asker@example.com")
    sent = await ask_staff(desk, MEMBER, "Asker@Example.com")
    assert "Your request was sent to staff" in sent.content
    request = await staff_request(desk)
    assert not request.ephemeral and f"<@{MEMBER}>" in request.text() and "asker" in request.text()
    await press_request(desk, request, "approve", ADMIN)
    decided = desk.discord.message(request.id)
    assert decided.content.startswith(f"✅ Approved by <@{ADMIN}>") and decided.buttons() == []
    assert "(The member was told by DM.)" in decided.content
    link = await desk.bot.links.get_for_member("main", MEMBER)
    assert link.method is LinkMethod.STAFF_APPROVAL and link.linked_by == ADMIN
    assert link.panel_user_id == str(account.id)
    [dm] = desk.discord.dms(MEMBER)
    assert "Staff approved your request" in dm.content and "asker" in dm.content


async def test_request_denied(desk: Desk) -> None:
    desk.panel.add_user(username="asker", email="asker@example.com")
    await ask_staff(desk, MEMBER, "asker@example.com")
    request = await staff_request(desk)
    await press_request(desk, request, "deny", ADMIN)
    assert desk.discord.message(request.id).content.startswith(f"⛔ Denied by <@{ADMIN}>")
    assert await desk.bot.links.get_for_member("main", MEMBER) is None
    [dm] = desk.discord.dms(MEMBER)
    assert "did not approve" in dm.content
    again = await desk.run("link", by=MEMBER)  # a denied request no longer blocks a new one
    assert (await again.wait_for_message()).buttons()


async def test_request_pressed_by_a_non_admin_changes_nothing(desk: Desk) -> None:
    desk.panel.add_user(username="asker", email="asker@example.com")
    await ask_staff(desk, MEMBER, "asker@example.com")
    request = await staff_request(desk)
    for stranger in (STAFF, OTHER_MEMBER):
        record = await press_request(desk, request, "approve", stranger)
        refusal = await record.wait_for_message()
        assert refusal.ephemeral and "You need an admin role" in refusal.content
    assert desk.discord.message(request.id).buttons()  # still open
    assert await desk.bot.links.get_for_member("main", MEMBER) is None
    await press_request(desk, request, "approve", ADMIN)
    assert await desk.bot.links.get_for_member("main", MEMBER) is not None


async def test_request_buttons_still_work_after_a_restart(desk: Desk) -> None:
    desk.panel.add_user(username="asker", email="asker@example.com")
    await ask_staff(desk, MEMBER, "asker@example.com")
    request = await staff_request(desk)
    await desk.restart_bot()  # a new process: same database, no views in memory
    await press_request(desk, request, "approve", ADMIN)
    assert desk.discord.message(request.id).content.startswith("✅ Approved")
    assert await desk.bot.links.get_for_member("main", MEMBER) is not None


async def test_request_with_an_unknown_email_or_closed_dms(desk: Desk) -> None:
    unknown = await ask_staff(desk, MEMBER, "nobody@example.com")
    assert "No account on the main panel has that email address. 4 attempts left." in unknown.content
    assert desk.discord.channel_messages(STAFF_CHANNEL) == []
    desk.guild.add_member(7_100_000_000_000_000_190, "shy", dms_open=False)
    desk.panel.add_user(username="shy", email="shy@example.com")
    await ask_staff(desk, 7_100_000_000_000_000_190, "shy@example.com")
    await press_request(desk, await staff_request(desk), "approve", ADMIN)
    assert "DMs are closed" in desk.discord.message((await staff_request(desk)).id).content


# --- unlink, account, cooldowns, account age --------------------------------------------------------------------


async def test_unlink_after_confirmation_takes_the_role_back(desk: Desk) -> None:
    desk.panel.add_user(username="billing", email="b@example.com", external_id=str(MEMBER))
    await desk.reply("link", by=MEMBER)
    record = await desk.run("unlink", by=MEMBER)
    prompt = await record.wait_for_message(lambda m: bool(m.buttons()))
    assert "Unlink **billing**" in prompt.content and "after 24 hours" in prompt.content
    await desk.discord.click(prompt, "Unlink", user=MEMBER)
    await record.wait_for_message(lambda m: m.content == "Unlinked.")
    assert await desk.bot.links.get_for_member("main", MEMBER) is None
    assert desk.discord.role_changes[-1][:4] == (GUILD, MEMBER, LINKED_ROLE, False)
    entries = await desk.bot.audit.recent(target_discord_id=MEMBER)
    assert [(e.action, e.details.get("method", e.details.get("role_id"))) for e in entries] == [
        ("role.remove", LINKED_ROLE),
        ("link.remove", "external_id"),
        ("role.add", LINKED_ROLE),
        ("link.create", "external_id"),
    ]


async def test_unlink_cancelled_or_unanswered_keeps_the_link(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    desk.panel.add_user(username="billing", email="b@example.com", external_id=str(MEMBER))
    await desk.reply("link", by=MEMBER)
    record = await desk.run("unlink", by=MEMBER)
    prompt = await record.wait_for_message(lambda m: bool(m.buttons()))
    await desk.discord.click(prompt, "Cancel", user=MEMBER)
    cancelled = await record.wait_for_message(lambda m: not m.buttons())
    assert "still linked" in cancelled.content.lower() or "cancelled" in cancelled.content.lower()
    monkeypatch.setattr(desk.bot.get_cog("Linking"), "confirm_timeout", 0.3)
    record = await desk.run("unlink", by=MEMBER)
    timed_out = await record.wait_for_message(lambda m: bool(m.buttons()) and m.buttons()[0].get("disabled"), 3)
    assert "no answer" in timed_out.content.lower()
    assert await desk.bot.links.get_for_member("main", MEMBER) is not None
    assert [e.action for e in await desk.bot.audit.recent(target_discord_id=MEMBER)] == ["role.add", "link.create"]


async def test_account_shows_the_members_own_account(desk: Desk) -> None:
    not_linked = await desk.reply("account show", by=MEMBER)
    assert not_linked.content == "You have no linked account on the main panel yet. Run `/link` to link it."
    account = desk.panel.add_user(username="mine", email="mine@example.com", external_id=str(MEMBER))
    desk.panel.add_server(account.id)
    await desk.reply("link", by=MEMBER)
    message = await desk.reply("account show", by=MEMBER)
    assert message.ephemeral
    fields = {f["name"]: f["value"] for f in message.embeds[0]["fields"]}
    assert message.embeds[0]["title"] == "mine" and fields["Email"] == "mine@example.com" and fields["Servers"] == "1"
    desk.panel.users.pop(account.id)
    gone = await desk.reply("account show", by=MEMBER)
    assert "no longer exists on the main panel" in gone.content


async def test_relinking_a_different_account_waits_for_the_cooldown(desk: Desk) -> None:
    first = desk.panel.add_user(username="first", email="f@example.com")
    second = desk.panel.add_user(username="second", email="s@example.com")
    await link_with_key(desk, MEMBER, desk.panel.create_client_key(first.id))
    await desk.bot.links.unlink_member("main", MEMBER, reason="member unlinked")
    refused = await link_with_key(desk, MEMBER, desk.panel.create_client_key(second.id))
    assert "you can link a different account <t:" in refused.content
    again = await link_with_key(desk, MEMBER, desk.panel.create_client_key(first.id))  # the same one is fine
    assert "Linked to **first**" in again.content
    await desk.bot.links.unlink_member("main", MEMBER, reason="member unlinked")
    claimed = await link_with_key(desk, OTHER_MEMBER, desk.panel.create_client_key(first.id))
    assert "recently unlinked from another member" in claimed.content


async def test_young_discord_accounts_may_not_link(desk_with: DeskFactory) -> None:
    desk = await desk_with(min_account_age_days=7)
    young = snowflake_at(discord.utils.utcnow() - timedelta(days=2))
    desk.guild.add_member(young, "fresh", created_at=discord.utils.snowflake_time(young))
    message = await desk.reply("link", by=young)
    assert message.content.startswith("Your Discord account is too new to link a panel account; you can link <t:")


async def test_members_who_leave_are_unlinked_when_configured(desk_with: DeskFactory) -> None:
    desk = await desk_with(on_member_leave="unlink")
    desk.panel.add_user(username="billing", email="b@example.com", external_id=str(MEMBER))
    await desk.reply("link", by=MEMBER)
    desk.guild.remove_member(MEMBER)
    async with asyncio.timeout(5):
        while await desk.bot.links.get_for_member("main", MEMBER) is not None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    [entry] = await desk.bot.audit.recent(actor_id=None, target_discord_id=MEMBER, limit=1)
    assert entry.action == "link.remove" and entry.details["reason"] == "left the server"


async def test_members_who_leave_keep_their_link_by_default(desk: Desk) -> None:
    desk.panel.add_user(username="billing", email="b@example.com", external_id=str(MEMBER))
    await desk.reply("link", by=MEMBER)
    desk.guild.remove_member(MEMBER)
    await asyncio.sleep(0.3)  # the leave event has been handled
    assert await desk.bot.links.get_for_member("main", MEMBER) is not None
    assert [e.action for e in await desk.bot.audit.recent(target_discord_id=MEMBER)] == ["role.add", "link.create"]


# --- admins ----------------------------------------------------------------------------------------------------


async def test_link_admin_set_show_remove(desk: Desk) -> None:
    account = desk.panel.add_user(username="staffmade", email="sm@example.com")
    made = await desk.reply("link-admin set", member=MEMBER, user="staffmade")
    assert made.content.startswith(f"Linked <@{MEMBER}> to **staffmade** (#{account.id}).")
    clash = await desk.reply("link-admin set", member=OTHER_MEMBER, user="staffmade")
    assert f"already linked to <@{MEMBER}>" in clash.content
    shown = await desk.reply("link-admin show", user="staffmade")
    assert f"<@{MEMBER}> ↔ **staffmade**" in shown.content and f"by <@{ADMIN}>" in shown.content
    removed = await desk.reply("link-admin remove", member=MEMBER)
    assert removed.content == f"Removed the link of <@{MEMBER}> to **staffmade**."
    nothing = await desk.reply("link-admin show", member=MEMBER)
    assert "has no link on the main panel" in nothing.content
    refused = await desk.reply("link-admin show", by=STAFF, member=MEMBER)
    assert "You need an admin role" in refused.content


async def test_an_approval_that_cannot_link_closes_the_request(desk: Desk) -> None:
    desk.panel.add_user(username="asker", email="asker@example.com")
    desk.panel.add_user(username="other", email="other@example.com")
    await ask_staff(desk, MEMBER, "asker@example.com")
    request = await staff_request(desk)
    request_id = int(next(c for c in request.custom_ids() if c.startswith("linkreq:approve:")).rsplit(":", 1)[1])
    await desk.reply("link-admin set", member=MEMBER, user="other")  # meanwhile, staff link them elsewhere
    await press_request(desk, request, "approve", ADMIN)
    decided = desk.discord.message(request.id)
    assert decided.content.startswith("⚠️ Could not link:") and "The request is closed." in decided.content
    assert (await desk.bot.link_requests.get(request_id)).status == "denied"  # not "approved" without a link
    assert (await desk.bot.links.get_for_member("main", MEMBER)).panel_username == "other"
    assert "could not be completed" in desk.discord.dms(MEMBER)[-1].content


async def test_staff_links_write_the_external_id_and_removal_clears_it(desk_with: DeskFactory) -> None:
    desk = await desk_with(link_writes_external_id=True)
    account = desk.panel.add_user(username="staffmade", email="sm@example.com")
    made = await desk.reply("link-admin set", member=MEMBER, user="staffmade")
    assert desk.panel.users[account.id].external_id == str(MEMBER)
    assert f"now has the <@&{LINKED_ROLE}> role" in made.content
    assert desk.discord.role_changes[-1][:4] == (GUILD, MEMBER, LINKED_ROLE, True)
    await desk.reply("link-admin remove", member=MEMBER)
    assert desk.panel.users[account.id].external_id is None
    assert desk.discord.role_changes[-1][:4] == (GUILD, MEMBER, LINKED_ROLE, False)
    # Nothing on the panel names the member any more: /link asks for a proof instead of relinking at once.
    assert (await choose_proof(desk, MEMBER)).buttons()
    billed = desk.panel.add_user(username="billed", email="billed@example.com", external_id="WHMCS-42")
    kept = await desk.reply("link-admin set", member=OTHER_MEMBER, user="billed")
    assert "external id is already `WHMCS-42`; it was left as it is" in kept.content
    assert desk.panel.users[billed.id].external_id == "WHMCS-42"
