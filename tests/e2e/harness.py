"""The real bot, built by `bot.create_bot`, run against the Discord stand-in and a panel simulator on loopback.

Used by the end-to-end tests (through `conftest.py`) and by the benchmarks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload

from bot import PanelDesk, create_bot
from discord_endpoints import point_discord_at
from settings import Settings, load_settings
from simulators.discord import DiscordStandIn, FakeGuild, InteractionRecord, RecordedMessage
from simulators.pterodactyl import PterodactylSimulator

TOKEN = "e2e-bot-token"
GUILD = 7_100_000_000_000_000_001
GENERAL = 7_100_000_000_000_000_002
AUDIT_CHANNEL = 7_100_000_000_000_000_003
ADMIN_ROLE = 7_100_000_000_000_000_010
STAFF_ROLE = 7_100_000_000_000_000_011
ADMIN = 7_100_000_000_000_000_100
STAFF = 7_100_000_000_000_000_101
MEMBER = 7_100_000_000_000_000_102
OTHER_MEMBER = 7_100_000_000_000_000_103
STAFF_CHANNEL = 7_100_000_000_000_000_004
LINKED_ROLE = 7_100_000_000_000_000_012
MANAGE_GUILD = 1 << 5


@dataclass
class Desk:
    """Everything an end-to-end test drives: Discord, the panel, and the bot between them."""

    discord: DiscordStandIn
    guild: FakeGuild
    panel: PterodactylSimulator
    settings: Settings
    bot: PanelDesk = field(init=False)
    task: asyncio.Task[None] = field(init=False)

    async def start_bot(self, *, credit_watcher: bool = True) -> None:
        """Start a bot process's worth of state: a new bot from the same settings, so the same database.

        `credit_watcher=False` keeps the bot's own credit sweeps from starting, so that a benchmark's sweeps run
        alone and each is timed alone (sweeps never overlap: one started by hand would wait for the bot's).
        """
        self.bot = await create_bot(self.settings)
        if not credit_watcher:
            for task in self.bot.get_cog("Notifications")._tasks:
                if task.get_name() == "panel-watcher":
                    task.cancel()
        self.task = asyncio.create_task(self.bot.start(TOKEN))
        await self.discord.wait_until_identified(bot_task=self.task)
        # discord.py holds its READY event for `guild_ready_timeout` (2 s) after the last guild arrives, but it
        # handles interactions as soon as the guild is cached; waiting for that keeps each test fast.
        async with asyncio.timeout(10):
            while self.bot.get_guild(GUILD) is None:  # noqa: ASYNC110 - discord.py has no event for "guild cached"
                await asyncio.sleep(0.01)

    async def stop_bot(self) -> None:
        await self.bot.close()
        await asyncio.wait_for(self.task, 10)
        await self.discord.wait_until_disconnected()

    async def restart_bot(self, *, credit_watcher: bool = True) -> None:
        await self.stop_bot()
        await self.start_bot(credit_watcher=credit_watcher)

    async def run(self, path: str, *, by: int = ADMIN, **options: Any) -> InteractionRecord:
        # Members without Manage Server do not see the staff commands in Discord's client; a server admin can
        # show them under Integrations, which the stand-in does not model, so its client-side check is skipped
        # for them. The bot's own role check is what these tests are about.
        top = next(c for c in self.discord.registered_commands(GUILD) if c["name"] == path.split()[0])
        visible = by in (ADMIN, STAFF) or top.get("default_member_permissions") is None
        return await self.discord.run_command(
            path, user=by, guild=GUILD, channel=GENERAL, options=options, client_checks=visible
        )

    async def reply(self, path: str, *, by: int = ADMIN, **options: Any) -> RecordedMessage:
        """Run `path` as member `by` with `options`; return the message it finally shows (after any defer)."""
        record = await self.run(path, by=by, **options)
        return await record.wait_for_message()


StandIn = TypeVar("StandIn", bound=DiscordStandIn)


@overload
async def open_standin() -> tuple[DiscordStandIn, FakeGuild]: ...
@overload
async def open_standin(kind: type[StandIn]) -> tuple[StandIn, FakeGuild]: ...
async def open_standin(kind: type[DiscordStandIn] = DiscordStandIn) -> tuple[DiscordStandIn, FakeGuild]:
    """The Discord stand-in (or a test's subclass of it), started, with the test server: its roles, channels and
    members."""
    standin = kind(token=TOKEN)
    await standin.start()
    guild = standin.add_guild(GUILD, "Hosting Co")
    guild.add_role(ADMIN_ROLE, "Admin", permissions=MANAGE_GUILD)
    guild.add_role(STAFF_ROLE, "Staff", permissions=MANAGE_GUILD)
    guild.add_channel(GENERAL, "general")
    guild.add_channel(AUDIT_CHANNEL, "audit")
    guild.add_channel(STAFF_CHANNEL, "link-requests")
    guild.add_role(LINKED_ROLE, "Linked")
    guild.add_member(ADMIN, "alice", roles=[ADMIN_ROLE])
    guild.add_member(STAFF, "sam", roles=[STAFF_ROLE])
    guild.add_member(MEMBER, "max")
    guild.add_member(OTHER_MEMBER, "olga")
    return standin, guild


def desk_settings(
    standin: DiscordStandIn, panel: Any, database: Path, *, panel_kind: str = "pterodactyl"
) -> dict[str, Any]:
    """The settings of a bot pointed at `standin` and `panel`, as keyword arguments of `load_settings`."""
    return {
        "discord_token": TOKEN,
        "discord_api_base": standin.api_base,
        "discord_gateway_url": standin.gateway_url,
        "guild_ids": [GUILD],
        "admin_role_ids": [ADMIN_ROLE],
        "staff_role_ids": [STAFF_ROLE],
        "panel_kind": panel_kind,
        "panel_url": panel.url,
        "panel_api_key": panel.api_key,
        "panel_timeout": 5,
        "link_requests_channel_id": STAFF_CHANNEL,
        "linked_role_id": LINKED_ROLE,
        "database_path": database,
    }


async def start_desk(
    tmp_path: Path,
    panel: Any,
    *,
    panel_kind: str = "pterodactyl",
    database: Path | None = None,
    prepare: Callable[[FakeGuild], object] | None = None,
    credit_watcher: bool = True,
    **overrides: Any,
) -> AsyncGenerator[Desk, None]:
    """Discord stand-in + the bot, with `panel` (any simulator: it has `url` and `api_key`) as the default panel.
    `prepare` adds to the server (roles, members) before the bot connects; `credit_watcher` as `Desk.start_bot`."""
    standin, guild = await open_standin()
    if prepare is not None:
        prepare(guild)
    values = desk_settings(standin, panel, database or tmp_path / "desk.sqlite3", panel_kind=panel_kind)
    desk = Desk(standin, guild, panel, load_settings(**{**values, **overrides}))
    try:
        await desk.start_bot(credit_watcher=credit_watcher)
        yield desk
    finally:
        if not desk.bot.is_closed():
            await desk.stop_bot()
        await standin.close()
        point_discord_at(None, None)


def billing(panel: Any) -> dict[str, Any]:
    """A CtrlPanel simulator as an entry of PANELS, beside the default panel (credits, suspension, limits)."""
    return {"kind": "ctrlpanel", "url": panel.url, "api_key": panel.api_key}
