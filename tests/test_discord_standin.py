"""The Discord stand-in, exercised by a small discord.py bot defined here (the real bot is tested elsewhere).

Every bot test starts the stand-in, points discord.py at it with ``point_discord_at`` and runs an unchanged
``commands.Bot`` against it: login, command sync, the gateway and every answer go over loopback HTTP and
websocket. The payload-limit tests talk to the stand-in's REST API directly.
"""

from __future__ import annotations

import asyncio
import gc
import io
import threading
import time
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
from discord import app_commands
from discord.ext import commands

from discord_endpoints import point_discord_at
from simulators.discord import DiscordStandIn, snowflake_at
from simulators.discord.errors import FormErrors
from simulators.discord.ratelimits import RouteRateLimits
from simulators.discord.validation import validate_autocomplete, validate_modal

TOKEN = "stand-in-test-token"
GUILD = 4_100_000_000_000_000_001
CHANNEL = 4_100_000_000_000_000_002
MEMBER_ROLE = 4_100_000_000_000_000_003
STAFF_ROLE = 4_100_000_000_000_000_004
ALICE = 4_100_000_000_000_000_010  # the usual invoker
BOB = 4_100_000_000_000_000_011  # a bystander
CAROL = 4_100_000_000_000_000_012  # keeps her DMs closed
STAFF = 4_100_000_000_000_000_013  # may manage roles
SERVERS = ["alpha", "alpine", "beta"]
MANAGE_ROLES = 1 << 28
CROWD = [4_100_000_000_000_001_000 + i for i in range(20)]  # members a role sync walks through


class ConfirmView(discord.ui.View):
    def __init__(self, author_id: int) -> None:
        super().__init__(timeout=30)
        self.author_id = author_id
        self.confirmed: bool | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.author_id:
            await interaction.response.send_message("Not your button.", ephemeral=True)
            return False
        return True

    @discord.ui.button(label="Delete", style=discord.ButtonStyle.danger, custom_id="confirm")
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        self.confirmed = True
        await interaction.response.edit_message(content="Deleted.", view=None)
        self.stop()

    @discord.ui.button(label="Keep", style=discord.ButtonStyle.secondary, custom_id="cancel")
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[ConfirmView]) -> None:
        self.confirmed = False
        await interaction.response.edit_message(content="Kept.", view=None)
        self.stop()


class PickView(discord.ui.View):
    @discord.ui.select(custom_id="server", options=[discord.SelectOption(label=s, value=s) for s in SERVERS])
    async def server(self, interaction: discord.Interaction, select: discord.ui.Select[PickView]) -> None:
        await interaction.response.send_message(f"server {select.values[0]}", ephemeral=True)

    @discord.ui.select(cls=discord.ui.UserSelect, custom_id="who")
    async def who(self, interaction: discord.Interaction, select: discord.ui.UserSelect[PickView]) -> None:
        await interaction.response.send_message(f"user {select.values[0].display_name}", ephemeral=True)


class PasswordModal(discord.ui.Modal, title="Reset password"):
    password: discord.ui.TextInput[PasswordModal] = discord.ui.TextInput(
        label="New password", custom_id="password", min_length=8, max_length=64
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        length = len(self.password.value)
        await interaction.response.send_message(f"Password of {length} characters set.", ephemeral=True)


class NewServerModal(discord.ui.Modal, title="New server"):
    name: discord.ui.Label[NewServerModal] = discord.ui.Label(
        text="Name", component=discord.ui.TextInput(custom_id="name", max_length=20)
    )
    region: discord.ui.Label[NewServerModal] = discord.ui.Label(
        text="Region",
        component=discord.ui.RadioGroup(
            custom_id="region", options=[discord.RadioGroupOption(label=r, value=r.lower()) for r in ("EU", "US")]
        ),
    )
    owner: discord.ui.Label[NewServerModal] = discord.ui.Label(
        text="Owner", component=discord.ui.UserSelect(custom_id="owner")
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        assert isinstance(self.name.component, discord.ui.TextInput)
        assert isinstance(self.region.component, discord.ui.RadioGroup)
        assert isinstance(self.owner.component, discord.ui.UserSelect)
        owner = self.owner.component.values[0].display_name
        summary = f"{self.name.component.value} in {self.region.component.value} for {owner}"
        await interaction.response.send_message(summary, ephemeral=True)


class StatusView(discord.ui.LayoutView):
    """A components-v2 message: buttons live inside a container, not in top-level action rows."""

    container: discord.ui.Container[StatusView] = discord.ui.Container(discord.ui.TextDisplay("alpha is running"))
    row: discord.ui.ActionRow[StatusView] = discord.ui.ActionRow()

    @row.button(label="Restart", custom_id="restart")
    async def restart(self, interaction: discord.Interaction, button: discord.ui.Button[StatusView]) -> None:
        await interaction.response.send_message("Restarting alpha.", ephemeral=True)


class Demo(commands.Cog):
    user = app_commands.Group(name="user", description="Look up panel users")

    def __init__(self, bot: DemoBot) -> None:
        self.bot = bot

    @app_commands.command(name="ping", description="Replies privately")
    async def ping(self, interaction: discord.Interaction) -> None:
        where = "DM" if interaction.guild is None else interaction.guild.name
        await interaction.response.send_message(f"pong from {where}", ephemeral=True)

    @app_commands.command(name="slow", description="Defers, then follows up")
    async def slow(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        await interaction.followup.send("done", file=discord.File(io.BytesIO(b"id,name\n1,alpha\n"), "servers.csv"))

    @app_commands.command(name="delete-account", description="Deletes your account after confirmation")
    async def delete_account(self, interaction: discord.Interaction) -> None:
        view = ConfirmView(interaction.user.id)
        await interaction.response.send_message("Delete your panel account?", view=view)
        await view.wait()
        self.bot.confirmations.put_nowait(view.confirmed)

    @app_commands.command(name="pick", description="Offers select menus")
    async def pick(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Pick one", view=PickView(), ephemeral=True)

    @app_commands.command(name="new-server", description="Asks for a new server's details")
    async def new_server(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(NewServerModal())

    @app_commands.command(name="status", description="Shows a server's status")
    async def status(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(view=StatusView())

    @app_commands.command(name="progress", description="Edits its answers as work goes on")
    async def progress(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("step 1")
        original = await interaction.original_response()
        await interaction.edit_original_response(content=f"step 2 of {original.id}")
        extra = await interaction.followup.send("extra", wait=True)
        await extra.edit(content="extra, edited")
        await extra.delete()

    @app_commands.command(name="reset-password", description="Sets a new panel password")
    async def reset_password(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(PasswordModal())

    @user.command(name="info", description="Shows a member's panel account")
    @app_commands.describe(member="Whose account", server="One of their servers")
    async def info(self, interaction: discord.Interaction, member: discord.Member, server: str | None = None) -> None:
        embed = discord.Embed(title=member.display_name, description=f"server: {server}")
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @info.autocomplete("server")
    async def server_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=s, value=s) for s in SERVERS if s.startswith(current)]

    @app_commands.command(name="notify", description="Sends a member a DM")
    @app_commands.describe(member="Who to notify")
    async def notify(self, interaction: discord.Interaction, member: discord.Member) -> None:
        await interaction.response.defer(ephemeral=True)
        try:
            await member.send("Your server is ready.")
        except discord.Forbidden as exc:
            self.bot.failures.put_nowait(exc)
            await interaction.followup.send("Their DMs are closed.", ephemeral=True)
        else:
            await interaction.followup.send("Sent.", ephemeral=True)

    @app_commands.command(name="grant", description="Gives a member the panel role")
    @app_commands.describe(member="Who gets the role")
    @app_commands.default_permissions(manage_roles=True)
    async def grant(self, interaction: discord.Interaction, member: discord.Member) -> None:
        await member.add_roles(discord.Object(MEMBER_ROLE), reason="linked a panel account")
        await interaction.response.send_message(f"Gave {member.mention} the role.", ephemeral=True)

    @app_commands.command(name="announce", description="Posts once, even if retried")
    async def announce(self, interaction: discord.Interaction) -> None:
        first = await interaction.channel.send("Maintenance at 18:00", nonce="maint-1800")
        again = await interaction.channel.send("Maintenance at 18:00", nonce="maint-1800")
        await interaction.response.send_message(f"{first.id} {again.id}", ephemeral=True)

    @app_commands.command(name="long", description="Replies with too much text")
    async def long(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("x" * 2001)

    @app_commands.command(name="late", description="Answers after Discord gave up")
    async def late(self, interaction: discord.Interaction) -> None:
        await asyncio.sleep(self.bot.delay)
        await interaction.response.send_message("finally")

    @app_commands.command(name="early", description="Follows up before answering")
    async def early(self, interaction: discord.Interaction) -> None:
        await interaction.followup.send("too soon")

    @app_commands.command(name="sync-info", description="A guild-only admin command")
    @app_commands.guilds(GUILD)
    async def sync_info(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("synced", ephemeral=True)


class DemoBot(commands.Bot):
    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.members = True
        # guild_ready_timeout: on_ready comes this long after the last GUILD_CREATE (discord.py's default is 2 s).
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, guild_ready_timeout=0.05)
        self.failures: asyncio.Queue[Exception] = asyncio.Queue()
        self.confirmations: asyncio.Queue[bool | None] = asyncio.Queue()
        self.delay = 0.0

    async def setup_hook(self) -> None:
        await self.add_cog(Demo(self))
        self.tree.on_error = self.record_error
        await self.tree.sync()
        await self.tree.sync(guild=discord.Object(GUILD))

    async def record_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        self.failures.put_nowait(getattr(error, "original", error))

    async def next_failure(self) -> Exception:
        return await asyncio.wait_for(self.failures.get(), 5)


@pytest.fixture
async def standin(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordStandIn]:
    # Registered with monkeypatch first, so whatever point_discord_at sets is undone after the test.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)
    async with DiscordStandIn(token=TOKEN) as fake:
        guild = fake.add_guild(GUILD, "Hosting Co")
        guild.add_role(MEMBER_ROLE, "Panel user")
        guild.add_role(STAFF_ROLE, "Staff", permissions=MANAGE_ROLES)
        guild.add_channel(CHANNEL, "general")
        guild.add_member(ALICE, "alice")
        guild.add_member(BOB, "bob")
        guild.add_member(CAROL, "carol", dms_open=False)
        guild.add_member(STAFF, "staff", roles=[STAFF_ROLE])
        point_discord_at(fake.api_base, fake.gateway_url)
        yield fake


@pytest.fixture
async def bot(standin: DiscordStandIn) -> AsyncIterator[DemoBot]:
    demo = DemoBot()
    running = asyncio.create_task(demo.start(TOKEN))
    try:
        await standin.wait_until_identified(bot_task=running)
        yield demo
    finally:
        await demo.close()
        await running
    assert standin.unhandled_requests == []


async def rest(standin: DiscordStandIn, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """A raw request to the stand-in, with the bot's credentials."""
    headers = {"Authorization": f"Bot {TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, standin.api_base + path, json=body, headers=headers) as response,
    ):
        return response.status, await response.json() if response.status != 204 else None


def errors_at(errors: dict[str, Any], path: tuple[str, ...]) -> list[str]:
    for part in path:
        errors = errors[part]
    return [e["code"] for e in errors["_errors"]]


# --------------------------------------------------------------------------- through the bot


async def test_login_gateway_and_command_sync(standin: DiscordStandIn, bot: DemoBot) -> None:
    assert bot.user is not None and bot.user.id == standin.bot_user.id
    assert bot.application_id == standin.application_id
    # discord.py asks for zlib-stream but reads the stand-in's uncompressed text frames as they are.
    assert standin.gateway_urls == ["/gateway?v=10&encoding=json&compress=zlib-stream"]
    identify = standin.identify_payloads[0]
    assert identify["token"] == TOKEN and identify["intents"] == bot.intents.value
    await asyncio.wait_for(bot.wait_until_ready(), 5)
    assert standin.heartbeats >= 1 and bot.latency != float("inf")  # beat right after HELLO, and ACKed
    guild = bot.get_guild(GUILD)
    assert guild is not None and guild.get_channel(CHANNEL) is not None and guild.me is not None
    assert {m.id for m in guild.members} >= {ALICE, BOB, CAROL, STAFF}  # REQUEST_GUILD_MEMBERS was answered

    global_names = {c["name"] for c in standin.registered_commands()}
    assert {"ping", "slow", "user", "grant"} <= global_names and "sync-info" not in global_names
    (guild_command,) = standin.registered_commands(GUILD)
    assert guild_command["name"] == "sync-info" and guild_command["guild_id"] == str(GUILD)
    assert {"id", "application_id", "version"} <= guild_command.keys()
    grant = next(c for c in standin.registered_commands() if c["name"] == "grant")
    assert grant["default_member_permissions"] == str(MANAGE_ROLES)
    synced_again = await bot.tree.sync()
    assert {c.id for c in synced_again} == {int(c["id"]) for c in standin.registered_commands()}
    assert standin.errors_returned == []


async def test_ephemeral_reply_in_a_guild_and_in_dms(standin: DiscordStandIn, bot: DemoBot) -> None:
    record = await standin.run_command("ping", user=ALICE, guild=GUILD)
    (response,) = await record.wait_for()
    assert response.kind == "reply" and response.payload == {
        "type": 4,
        "data": {"content": "pong from Hosting Co", "tts": False, "flags": 64},
    }
    assert response.message is not None and response.message.ephemeral
    assert record.first_response_at is not None and record.first_response_at >= record.dispatched_at
    assert standin.channel_messages(CHANNEL, include_ephemeral=False) == []

    in_dm = await standin.run_command("ping", user=ALICE, guild=None)
    assert (await in_dm.wait_for_message()).content == "pong from DM"
    with pytest.raises(ValueError, match="registered"):
        await standin.run_command("sync-info", user=ALICE, guild=None)  # guild commands never show in DMs


async def test_defer_then_followup_resolves_the_placeholder(standin: DiscordStandIn, bot: DemoBot) -> None:
    record = await standin.run_command("slow", user=ALICE, guild=GUILD)
    defer, followup = await record.wait_for(2)
    assert defer.kind == "defer" and defer.message is not None and defer.message.loading
    assert followup.kind == "followup" and followup.message is not None
    # The first follow-up after a defer edits the "thinking…" message and keeps the defer's ephemerality.
    assert followup.message.id == defer.message.id and followup.message.ephemeral
    message = await record.wait_for_message()
    assert message.content == "done" and not message.loading and len(message.history) == 1
    (attachment,) = message.attachments
    assert attachment.filename == "servers.csv" and attachment.content == b"id,name\n1,alpha\n"


async def test_guild_command_and_subcommand_with_resolved_member(standin: DiscordStandIn, bot: DemoBot) -> None:
    synced = await standin.run_command("sync-info", user=ALICE, guild=GUILD)
    assert (await synced.wait_for_message()).content == "synced"
    record = await standin.run_command("user info", user=STAFF, guild=GUILD, options={"member": BOB, "server": "beta"})
    message = await record.wait_for_message()
    assert message.embeds[0]["title"] == "bob" and message.embeds[0]["description"] == "server: beta"
    subcommand = record.payload["data"]["options"][0]
    assert subcommand["type"] == 1 and subcommand["name"] == "info"
    assert subcommand["options"][0] == {"type": 6, "name": "member", "value": str(BOB)}
    assert record.payload["data"]["resolved"]["members"][str(BOB)]["roles"] == []


async def test_client_side_rules_are_applied_before_dispatch(standin: DiscordStandIn, bot: DemoBot) -> None:
    with pytest.raises(ValueError, match="needs a subcommand"):
        await standin.run_command("user", user=ALICE, guild=GUILD)
    with pytest.raises(ValueError, match="without"):
        await standin.run_command("user info", user=ALICE, guild=GUILD)
    with pytest.raises(ValueError, match="no option"):
        await standin.run_command("user info", user=ALICE, guild=GUILD, options={"membr": BOB})
    with pytest.raises(ValueError, match="hides /grant"):
        await standin.run_command("grant", user=ALICE, guild=GUILD, options={"member": BOB})
    assert standin.interactions == {}


async def test_autocomplete(standin: DiscordStandIn, bot: DemoBot) -> None:
    choices = await standin.autocomplete(
        "user info", user=ALICE, guild=GUILD, focused="server", options={"server": "al"}
    )
    assert choices == [{"name": "alpha", "value": "alpha"}, {"name": "alpine", "value": "alpine"}]
    (record,) = standin.interactions.values()
    assert record.type == 4 and record.responses[0].kind == "autocomplete"
    focused = record.payload["data"]["options"][0]["options"]
    assert focused == [{"type": 3, "name": "server", "value": "al", "focused": True}]


async def test_buttons_answer_only_the_invoker(standin: DiscordStandIn, bot: DemoBot) -> None:
    command = await standin.run_command("delete-account", user=ALICE, guild=GUILD)
    prompt = await command.wait_for_message()
    assert not prompt.ephemeral and prompt.custom_ids() == ["confirm", "cancel"]
    assert [b["label"] for b in prompt.buttons()] == ["Delete", "Keep"]

    stranger = await standin.press(prompt, "confirm", user=BOB)
    refusal = await stranger.wait_for_message()
    assert refusal.content == "Not your button." and refusal.ephemeral
    assert standin.message(prompt.id).content == "Delete your panel account?"

    owner = await standin.press(prompt, "confirm", user=ALICE)
    (update,) = await owner.wait_for()
    assert update.kind == "update" and update.message is not None and update.message.id == prompt.id
    edited = await command.wait_for_message(lambda m: m.content == "Deleted.")
    assert edited.components == [] and edited.history[0].content == "Delete your panel account?"
    assert await asyncio.wait_for(bot.confirmations.get(), 5) is True
    with pytest.raises(ValueError, match="no component"):
        await standin.press(prompt, "confirm", user=ALICE)


async def test_select_menus(standin: DiscordStandIn, bot: DemoBot) -> None:
    menu = await (await standin.run_command("pick", user=ALICE, guild=GUILD)).wait_for_message()
    picked = await standin.select(menu, "server", ["beta"], user=ALICE)
    assert (await picked.wait_for_message()).content == "server beta"
    chosen = await standin.select(menu, "who", [str(BOB)], user=ALICE)
    assert (await chosen.wait_for_message()).content == "user bob"
    with pytest.raises(ValueError, match="offers"):
        await standin.select(menu, "server", ["gamma"], user=ALICE)
    with pytest.raises(ValueError, match="ephemeral"):
        await standin.select(menu, "server", ["beta"], user=BOB)


async def test_edits_of_the_original_and_of_followups(standin: DiscordStandIn, bot: DemoBot) -> None:
    record = await standin.run_command("progress", user=ALICE, guild=GUILD)
    responses = await record.wait_for(5)
    kinds = ["reply", "edit_original", "followup", "edit_followup", "delete_followup"]
    assert [r.kind for r in responses] == kinds
    original, extra = (standin.message(r.message.id) for r in responses[1:3] if r.message is not None)
    assert original.content == f"step 2 of {original.id}" and original.history[0].content == "step 1"
    assert extra.deleted and extra.content == "extra, edited"
    assert await record.wait_for_message() is original  # the deleted follow-up no longer counts


async def test_components_v2_buttons(standin: DiscordStandIn, bot: DemoBot) -> None:
    status = await (await standin.run_command("status", user=ALICE, guild=GUILD)).wait_for_message()
    assert status.flags & (1 << 15) and status.content == "" and status.custom_ids() == ["restart"]
    pressed = await standin.press(status, "restart", user=BOB)
    assert (await pressed.wait_for_message()).content == "Restarting alpha."


async def test_modal_with_labels(standin: DiscordStandIn, bot: DemoBot) -> None:
    opened = await standin.run_command("new-server", user=ALICE, guild=GUILD)
    await opened.wait_for()
    values = {"name": "survival", "region": "eu", "owner": [str(BOB)]}
    submitted = await standin.submit_modal(opened, values, user=ALICE)
    assert (await submitted.wait_for_message()).content == "survival in eu for bob"


async def test_modal_submit(standin: DiscordStandIn, bot: DemoBot) -> None:
    opened = await standin.run_command("reset-password", user=ALICE, guild=GUILD)
    (modal,) = await opened.wait_for()
    assert modal.kind == "modal" and modal.modal["title"] == "Reset password"
    with pytest.raises(ValueError, match=r"takes 8\.\.64"):
        await standin.submit_modal(opened, {"password": "short"}, user=ALICE)
    with pytest.raises(ValueError, match="shown to user"):
        await standin.submit_modal(opened, {"password": "correct horse"}, user=BOB)
    submitted = await standin.submit_modal(opened, {"password": "correct horse"}, user=ALICE)
    message = await submitted.wait_for_message()
    assert message.content == "Password of 13 characters set." and message.ephemeral
    assert submitted.payload["data"]["components"][0]["components"][0]["value"] == "correct horse"


async def test_dm_to_closed_dms_fails_like_discord(standin: DiscordStandIn, bot: DemoBot) -> None:
    sent = await standin.run_command("notify", user=STAFF, guild=GUILD, options={"member": ALICE})
    assert (await sent.wait_for_message()).content == "Sent."
    assert (await standin.wait_for_dm(ALICE)).content == "Your server is ready."

    refused = await standin.run_command("notify", user=STAFF, guild=GUILD, options={"member": CAROL})
    assert (await refused.wait_for_message()).content == "Their DMs are closed."
    failure = await bot.next_failure()
    assert isinstance(failure, discord.Forbidden) and failure.code == 50007
    assert failure.text == "Cannot send messages to this user"
    assert standin.dms(CAROL) == []
    assert [(e.status, e.body["code"]) for e in standin.errors_returned] == [(403, 50007)]


async def test_nonce_dedupe_returns_the_first_message(standin: DiscordStandIn, bot: DemoBot) -> None:
    record = await standin.run_command("announce", user=ALICE, guild=GUILD)
    first_id, again_id = (await record.wait_for_message()).content.split()
    assert first_id == again_id
    (posted,) = standin.channel_messages(CHANNEL, include_ephemeral=False)
    assert posted.id == int(first_id) and posted.nonce == "maint-1800"


async def test_role_change_reaches_the_bots_cache(standin: DiscordStandIn, bot: DemoBot) -> None:
    await asyncio.wait_for(bot.wait_until_ready(), 5)  # members are chunked by then
    updated = asyncio.ensure_future(bot.wait_for("member_update", check=lambda before, after: after.id == BOB))
    record = await standin.run_command("grant", user=STAFF, guild=GUILD, options={"member": BOB})
    await record.wait_for_message()
    assert standin.role_changes == [(GUILD, BOB, MEMBER_ROLE, True, "linked a panel account")]
    _before, after = await asyncio.wait_for(updated, 5)
    assert MEMBER_ROLE in [r.id for r in after.roles]
    assert standin.guilds[GUILD].member(BOB).roles == [MEMBER_ROLE]


async def test_role_above_the_bot_is_refused(standin: DiscordStandIn, bot: DemoBot) -> None:
    standin.guilds[GUILD].roles[MEMBER_ROLE].position = 500
    record = await standin.run_command("grant", user=STAFF, guild=GUILD, options={"member": BOB})
    failure = await bot.next_failure()
    assert isinstance(failure, discord.Forbidden) and failure.code == 50013
    assert standin.role_changes == [] and record.responses == []


async def test_discord_py_paces_role_changes_on_the_rate_limit_headers(standin: DiscordStandIn, bot: DemoBot) -> None:
    standin.role_rate_limit = (5, 0.25)
    standin.role_latency = 0.02  # so that requests sent together are in flight together
    guild = standin.guilds[GUILD]
    for number, user in enumerate(CROWD):
        guild.add_member(user, f"crowd{number}")
    await asyncio.gather(*(bot.http.add_role(GUILD, user, MEMBER_ROLE, reason="role sync") for user in CROWD))
    # Not one 429, and no 429 needed to find the bucket: discord.py's bucket starts as 1 request of 1, so the
    # first request goes alone and its headers (limit 5, remaining 4, bucket hash) size the bucket; then it
    # sends 4, sleeps out Reset-After, sends 5, and so on.
    assert standin.rate_limited == [] and standin.errors_returned == []
    assert standin.role_requests == 20 and 1 < standin.max_role_requests_in_flight <= 5
    assert all(guild.member(user).roles == [MEMBER_ROLE] for user in CROWD)


async def test_discord_py_waits_out_a_429_it_could_not_foresee(standin: DiscordStandIn, bot: DemoBot) -> None:
    standin.role_rate_limit = (2, 1.0)
    for user in (ALICE, BOB):  # someone else spends the bucket; discord.py has not seen its headers yet
        assert await rest(standin, "PUT", f"/guilds/{GUILD}/members/{user}/roles/{MEMBER_ROLE}") == (204, None)
    await bot.http.add_role(GUILD, CAROL, MEMBER_ROLE)
    # Retried after retry_after rather than raised: the 429 has the Via header discord.py demands of Discord's
    # own 429s (without it, it takes the answer for a Cloudflare ban).
    path = f"/api/v10/guilds/{GUILD}/members/{CAROL}/roles/{MEMBER_ROLE}"
    assert standin.rate_limited == [("PUT", path)]
    assert standin.guilds[GUILD].member(CAROL).roles == [MEMBER_ROLE]


async def test_role_delete_reaches_the_bots_cache(standin: DiscordStandIn, bot: DemoBot) -> None:
    await asyncio.wait_for(bot.wait_until_ready(), 5)  # members are chunked by then
    guild = standin.guilds[GUILD]
    await bot.http.add_role(GUILD, BOB, MEMBER_ROLE)
    await standin.wait_for_role_change()
    cached = bot.get_guild(GUILD)
    assert cached is not None
    deleted = asyncio.ensure_future(bot.wait_for("guild_role_delete"))
    role = guild.delete_role(MEMBER_ROLE)
    assert (await asyncio.wait_for(deleted, 5)).id == role.id == MEMBER_ROLE
    assert cached.get_role(MEMBER_ROLE) is None and MEMBER_ROLE not in guild.roles
    bob = cached.get_member(BOB)
    assert bob is not None and [r.id for r in bob.roles] == [GUILD]  # only @everyone is left
    assert guild.member(BOB).roles == []
    with pytest.raises(discord.NotFound) as refused:
        await bot.http.add_role(GUILD, BOB, MEMBER_ROLE)
    assert refused.value.code == 10011  # Unknown Role
    with pytest.raises(ValueError, match="managed"):
        guild.delete_role(guild.bot_role.id)


async def test_answering_twice_is_rejected(standin: DiscordStandIn, bot: DemoBot) -> None:
    record = await standin.run_command("ping", user=ALICE, guild=GUILD)
    await record.wait_for()
    # discord.py refuses a second answer itself (InteractionResponded), so send it as a second process would.
    url = f"{standin.api_base}/interactions/{record.id}/{record.token}/callback"
    async with aiohttp.ClientSession() as session, session.post(url, json={"type": 4, "data": {"content": "2"}}) as r:
        assert r.status == 400
        assert await r.json() == {"code": 40060, "message": "Interaction has already been acknowledged."}
    assert len(record.responses) == 1 and record.rejected[0].status == 400


async def test_answering_late_is_rejected(standin: DiscordStandIn, bot: DemoBot) -> None:
    standin.response_window = 0.05
    bot.delay = 0.1
    record = await standin.run_command("late", user=ALICE, guild=GUILD)
    failure = await bot.next_failure()
    assert isinstance(failure, discord.NotFound) and failure.code == 10062
    assert record.responses == [] and record.rejected[0].body["message"] == "Unknown interaction"


async def test_followup_before_answer_is_rejected(standin: DiscordStandIn, bot: DemoBot) -> None:
    await standin.run_command("early", user=ALICE, guild=GUILD)
    failure = await bot.next_failure()
    assert isinstance(failure, discord.NotFound) and failure.code == 10015


async def test_overlong_content_is_rejected(standin: DiscordStandIn, bot: DemoBot) -> None:
    record = await standin.run_command("long", user=ALICE, guild=GUILD)
    failure = await bot.next_failure()
    assert isinstance(failure, discord.HTTPException) and failure.status == 400 and failure.code == 50035
    assert errors_at(record.rejected[0].body["errors"], ("data", "content")) == ["BASE_TYPE_MAX_LENGTH"]
    assert "Must be 2000 or fewer in length." in failure.text


async def test_invalid_command_payload_fails_sync(standin: DiscordStandIn, bot: DemoBot) -> None:
    async def callback(interaction: discord.Interaction) -> None:
        raise AssertionError("never registered")

    bad = app_commands.Command(name="too-wordy", description="d" * 101, callback=callback)
    bot.tree.add_command(bad, guild=discord.Object(GUILD))
    with pytest.raises(app_commands.CommandSyncFailure) as failure:
        await bot.tree.sync(guild=discord.Object(GUILD))
    assert failure.value.status == 400 and failure.value.code == 50035
    (refused,) = standin.errors_returned
    index = str(bot.tree.get_commands(guild=discord.Object(GUILD)).index(bad))
    assert errors_at(refused.body["errors"], (index, "description")) == ["BASE_TYPE_BAD_LENGTH"]
    assert [c["name"] for c in standin.registered_commands(GUILD)] == ["sync-info"]  # nothing was replaced


async def test_bot_closes_cleanly(standin: DiscordStandIn) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        demo = DemoBot()
        running = asyncio.create_task(demo.start(TOKEN))
        await standin.wait_until_identified(bot_task=running)
        await (await standin.run_command("ping", user=ALICE, guild=GUILD)).wait_for_message()
        # discord.py's _delay_ready task outlives a close() made within guild_ready_timeout of READY.
        await asyncio.wait_for(demo.wait_until_ready(), 5)
        await demo.close()
        await running
        await standin.wait_until_disconnected()
        del demo, running
        gc.collect()
    assert [str(w.message) for w in caught] == []
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == [], [t.get_coro() for t in others]
    for heartbeat in [t for t in threading.enumerate() if t.name.startswith("keep-alive-handler")]:
        await asyncio.to_thread(heartbeat.join, 5)
        assert not heartbeat.is_alive()
    assert standin.unhandled_requests == [] and standin.errors_returned == []


async def test_wrong_token_is_refused_at_login(standin: DiscordStandIn) -> None:
    demo = DemoBot()
    with pytest.raises(discord.LoginFailure):
        await demo.start("not-the-token")
    await demo.close()
    assert [(e.path, e.status) for e in standin.errors_returned] == [("/api/v10/users/@me", 401)]


# --------------------------------------------------------------------------- the gateway and REST directly


async def test_gateway_protocol(standin: DiscordStandIn) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(standin.gateway_url + "?v=10&encoding=json&compress=zlib-stream") as ws:
            hello = await ws.receive_json()
            assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41250
            await ws.send_json({"op": 1, "d": None})
            assert await ws.receive_json() == {"op": 11}
            await ws.send_json({"op": 6, "d": {"token": TOKEN, "session_id": "gone", "seq": 3}})
            assert await ws.receive_json() == {"op": 9, "d": False}
            await ws.send_json({"op": 2, "d": {"token": TOKEN, "intents": 1, "properties": {}}})
            ready = await ws.receive_json()
            assert (ready["op"], ready["t"], ready["s"]) == (0, "READY", 1)
            assert ready["d"]["application"]["id"] == str(standin.application_id)
            assert ready["d"]["guilds"] == [{"id": str(GUILD), "unavailable": True}]
            guild_create = await ws.receive_json()
            assert (guild_create["t"], guild_create["s"]) == ("GUILD_CREATE", 2)
            # Without GUILD_PRESENCES, GUILD_CREATE lists only the bot itself among the members.
            members = guild_create["d"]["members"]
            assert [m["user"]["id"] for m in members] == [str(standin.bot_user.id)]
            assert guild_create["d"]["member_count"] == 5
        async with session.ws_connect(standin.gateway_url + "?v=10&encoding=json") as ws:
            await ws.receive_json()
            await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 1, "properties": {}}})
            assert (await ws.receive()).type is aiohttp.WSMsgType.CLOSE
            assert ws.close_code == 4004
    assert standin.gateway_closes == [(4004, "Authentication failed.")]


async def test_members_and_roles_over_rest(standin: DiscordStandIn) -> None:
    status, member = await rest(standin, "GET", f"/guilds/{GUILD}/members/{STAFF}")
    assert status == 200 and member["user"]["username"] == "staff" and member["roles"] == [str(STAFF_ROLE)]
    status, members = await rest(standin, "GET", f"/guilds/{GUILD}/members?limit=1000")
    assert status == 200 and len(members) == 5
    assert await rest(standin, "PUT", f"/guilds/{GUILD}/members/{ALICE}/roles/{MEMBER_ROLE}") == (204, None)
    assert await rest(standin, "DELETE", f"/guilds/{GUILD}/members/{ALICE}/roles/{MEMBER_ROLE}") == (204, None)
    status, edited = await rest(standin, "PATCH", f"/guilds/{GUILD}/members/{ALICE}", {"roles": [str(MEMBER_ROLE)]})
    assert status == 200 and edited["roles"] == [str(MEMBER_ROLE)]
    changes = [(True, MEMBER_ROLE), (False, MEMBER_ROLE), (True, MEMBER_ROLE)]
    assert [(c.added, c.role_id) for c in standin.role_changes] == changes
    standin.guilds[GUILD].add_member(99, "elsewhere")
    standin.guilds[GUILD].remove_member(99)
    assert await rest(standin, "PUT", f"/guilds/{GUILD}/members/99/roles/{MEMBER_ROLE}") == (
        404,
        {"message": "Unknown Member", "code": 10007},
    )
    assert await rest(standin, "PUT", f"/guilds/{GUILD}/members/{ALICE}/roles/12345") == (
        404,
        {"message": "Unknown Role", "code": 10011},
    )


async def test_role_routes_past_the_limit_get_429_and_change_nothing(standin: DiscordStandIn) -> None:
    standin.role_rate_limit = (2, 5.0)
    headers = {"Authorization": f"Bot {TOKEN}"}
    answers: list[tuple[int, Any, Any]] = []
    async with aiohttp.ClientSession() as session:
        for user in (ALICE, BOB, CAROL):
            url = f"{standin.api_base}/guilds/{GUILD}/members/{user}/roles/{MEMBER_ROLE}"
            async with session.put(url, headers=headers) as response:
                body = await response.json() if response.status == 429 else None
                answers.append((response.status, response.headers.copy(), body))
        # A bucket is per route and guild: editing a member (another route) still goes through.
        url = f"{standin.api_base}/guilds/{GUILD}/members/{CAROL}"
        async with session.patch(url, json={"roles": [str(MEMBER_ROLE)]}, headers=headers) as response:
            edit_status, edit_headers = response.status, response.headers.copy()
    (first_status, first, _), (second_status, second, _), (status, refused, body) = answers
    assert (first_status, second_status, status) == (204, 204, 429)
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"], second["X-RateLimit-Remaining"]) == (
        "2",
        "1",
        "0",
    )
    assert first["X-RateLimit-Bucket"] == refused["X-RateLimit-Bucket"] != edit_headers["X-RateLimit-Bucket"]
    assert 0 < float(first["X-RateLimit-Reset-After"]) <= 5
    assert abs(float(first["X-RateLimit-Reset"]) - time.time() - 5) < 1
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert 0 < body["retry_after"] <= 5 and refused["Retry-After"] == "5"
    assert refused["X-RateLimit-Scope"] == "user" and refused["X-RateLimit-Remaining"] == "0"
    assert standin.guilds[GUILD].member(CAROL).roles == [MEMBER_ROLE]  # by the edit; the refused PUT changed nothing
    assert [(c.user_id, c.added) for c in standin.role_changes] == [(ALICE, True), (BOB, True), (CAROL, True)]
    path = f"/api/v10/guilds/{GUILD}/members/{CAROL}/roles/{MEMBER_ROLE}"
    assert standin.rate_limited == [("PUT", path)] and [e.status for e in standin.errors_returned] == [429]
    assert edit_status == 200 and edit_headers["X-RateLimit-Remaining"] == "1"
    assert standin.role_requests == 4


def test_unlimited_role_routes_still_send_headers() -> None:
    verdict = RouteRateLimits(None).take("PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}", GUILD)
    assert verdict.allowed and verdict.headers["X-RateLimit-Limit"] == "10000"
    assert verdict.headers["X-RateLimit-Remaining"] == "9999" and "Retry-After" not in verdict.headers


async def test_unknown_routes_are_recorded(standin: DiscordStandIn) -> None:
    status, body = await rest(standin, "GET", "/stickers/1")
    assert status == 404 and "no handler for GET /api/v10/stickers/1" in body["standin"]
    assert standin.unhandled_requests == [("GET", "/api/v10/stickers/1")]


def test_account_age_lives_in_the_id(standin: DiscordStandIn) -> None:
    created = datetime(2025, 6, 1, tzinfo=UTC)
    member = standin.guilds[GUILD].add_member(snowflake_at(created), "newbie", created_at=created)
    assert member.user.created_at == created
    with pytest.raises(ValueError, match="snowflake_at"):
        standin.guilds[GUILD].add_member(5, "mismatch", created_at=created)


def command(name: str = "cmd", **overrides: Any) -> dict[str, Any]:
    return {"name": name, "description": "does things", "type": 1} | overrides


def option(name: str, kind: int = 3, **overrides: Any) -> dict[str, Any]:
    return {"name": name, "description": "an option", "type": kind} | overrides


def choices(count: int, name: str = "c") -> list[dict[str, Any]]:
    return [{"name": f"{i}{name}"[:100], "value": f"v{i}"} for i in range(count)]


INVALID_COMMANDS = [
    ([command("Upper")], ("0", "name"), "APPLICATION_COMMAND_INVALID_NAME"),
    ([command("has space")], ("0", "name"), "APPLICATION_COMMAND_INVALID_NAME"),
    ([command("x" * 33)], ("0", "name"), "APPLICATION_COMMAND_INVALID_NAME"),
    ([command(description="")], ("0", "description"), "BASE_TYPE_BAD_LENGTH"),
    ([command(description="d" * 101)], ("0", "description"), "BASE_TYPE_BAD_LENGTH"),
    ([command(options=[option(f"o{i}") for i in range(26)])], ("0", "options"), "BASE_TYPE_MAX_LENGTH"),
    (
        [command(options=[option("a"), option("b", required=True)])],
        ("0", "options"),
        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
    ),
    ([command(options=[option("a", choices=choices(26))])], ("0", "options", "0", "choices"), "BASE_TYPE_MAX_LENGTH"),
    (
        [command(options=[option("a", choices=[{"name": "", "value": "v"}])])],
        ("0", "options", "0", "choices", "0", "name"),
        "BASE_TYPE_BAD_LENGTH",
    ),
    (
        [command(options=[option("g", 2, options=[option("h", 2, options=[option("s", 1)])])])],
        ("0", "options", "0", "options", "0", "type"),
        "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
    ),
    (
        [command(options=[option("same"), option("same")])],
        ("0", "options", "1", "name"),
        "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
    ),
    ([command("same"), command("same")], ("1",), "APPLICATION_COMMANDS_DUPLICATE_NAME"),
    ([command(f"c{i}") for i in range(101)], (), "BASE_TYPE_MAX_LENGTH"),
    (
        [command(options=[option(f"o{i}", choices=choices(10, "n" * 100)) for i in range(4)])],
        ("0",),
        "APPLICATION_COMMAND_TOO_LARGE",
    ),
]


@pytest.mark.parametrize(("payload", "path", "code"), INVALID_COMMANDS)
async def test_invalid_command_payloads(
    standin: DiscordStandIn, payload: list[dict[str, Any]], path: tuple[str, ...], code: str
) -> None:
    status, body = await rest(standin, "PUT", f"/applications/{standin.application_id}/commands", payload)
    assert (status, body["code"], body["message"]) == (400, 50035, "Invalid Form Body")
    assert code in errors_at(body["errors"], path)
    assert standin.registered_commands() == []


async def test_overwrites_keep_command_ids(standin: DiscordStandIn) -> None:
    nested = command("panel", options=[option("users", 2, options=[option("list", 1, options=[option("q")])])])
    path = f"/applications/{standin.application_id}/commands"
    _, first = await rest(standin, "PUT", path, [nested, command("ping")])
    _, second = await rest(standin, "PUT", path, [command("ping"), nested])
    assert {c["name"]: c["id"] for c in first} == {c["name"]: c["id"] for c in second}
    assert all(c["application_id"] == str(standin.application_id) for c in second)


def button(custom_id: str, **overrides: Any) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": "Go", "custom_id": custom_id} | overrides


def row(*components: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(components)}


def string_select(count: int, **overrides: Any) -> dict[str, Any]:
    options = [{"label": f"o{i}", "value": f"o{i}"} for i in range(count)]
    return {"type": 3, "custom_id": "pick", "options": options} | overrides


INVALID_MESSAGES = [
    ({"content": "x" * 2001}, ("content",), "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [{"title": "t"}] * 11}, ("embeds",), "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [{"title": "t" * 257}]}, ("embeds", "0", "title"), "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [{"description": "d" * 4097}]}, ("embeds", "0", "description"), "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]}, ("embeds", "0", "fields"), "BASE_TYPE_MAX_LENGTH"),
    ({"embeds": [{"fields": [{"name": "n" * 257, "value": "v"}]}]}, ("embeds", "0", "fields", "0", "name"), None),
    ({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}, ("embeds", "0", "fields", "0", "value"), None),
    ({"embeds": [{"footer": {"text": "f" * 2049}}]}, ("embeds", "0", "footer", "text"), None),
    ({"embeds": [{"author": {"name": "a" * 257}}]}, ("embeds", "0", "author", "name"), None),
    ({"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}, ("embeds",), "MAX_EMBED_SIZE_EXCEEDED"),
    ({"components": [row(button("b"))] * 6}, ("components",), "BASE_TYPE_MAX_LENGTH"),
    (
        {"components": [row(*[button(f"b{i}") for i in range(6)])]},
        ("components", "0", "components"),
        "BASE_TYPE_MAX_LENGTH",
    ),
    (
        {"components": [row(button("same"), button("same"))]},
        ("components", "0", "components", "1", "custom_id"),
        "COMPONENT_CUSTOM_ID_DUPLICATED",
    ),
    ({"components": [row(button("c" * 101))]}, ("components", "0", "components", "0", "custom_id"), None),
    ({"components": [row(button("b", label="l" * 81))]}, ("components", "0", "components", "0", "label"), None),
    ({"components": [row(string_select(26))]}, ("components", "0", "components", "0", "options"), None),
    (
        {"components": [row(string_select(1, placeholder="p" * 151))]},
        ("components", "0", "components", "0", "placeholder"),
        None,
    ),
    (
        {"components": [row(string_select(1), button("b"))]},
        ("components", "0", "components"),
        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
    ),
]


@pytest.mark.parametrize(("payload", "path", "code"), INVALID_MESSAGES)
async def test_invalid_messages(
    standin: DiscordStandIn, payload: dict[str, Any], path: tuple[str, ...], code: str | None
) -> None:
    status, body = await rest(standin, "POST", f"/channels/{CHANNEL}/messages", payload)
    assert (status, body["code"]) == (400, 50035)
    found = errors_at(body["errors"], path)
    assert code in found if code else found
    assert standin.channel_messages(CHANNEL) == []


async def test_empty_message_is_refused(standin: DiscordStandIn) -> None:
    assert await rest(standin, "POST", f"/channels/{CHANNEL}/messages", {"content": ""}) == (
        400,
        {"message": "Cannot send an empty message", "code": 50006},
    )


def test_modal_limits() -> None:
    text_input = {"type": 4, "custom_id": "a", "style": 1, "label": "l" * 46}
    errors = FormErrors()
    validate_modal({"custom_id": "m", "title": "t" * 46, "components": [row(text_input)] * 6}, errors)
    tree = errors.tree["data"]
    assert errors_at(tree, ("title",)) == ["BASE_TYPE_BAD_LENGTH"]
    assert errors_at(tree, ("components",)) == ["BASE_TYPE_BAD_LENGTH"]
    assert errors_at(tree, ("components", "0", "components", "0", "label")) == ["BASE_TYPE_BAD_LENGTH"]
    assert "COMPONENT_CUSTOM_ID_DUPLICATED" in errors_at(tree, ("components", "1", "components", "0", "custom_id"))


def test_autocomplete_limits() -> None:
    errors = FormErrors()
    validate_autocomplete({"choices": [{"name": "", "value": "v"}, *choices(25)]}, errors)
    assert errors_at(errors.tree, ("data", "choices")) == ["BASE_TYPE_MAX_LENGTH"]
    assert errors_at(errors.tree, ("data", "choices", "0", "name")) == ["BASE_TYPE_BAD_LENGTH"]
