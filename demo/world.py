"""Everything the demo bot talks to, started on loopback in this process: one simulator per panel kind, the
Discord stand-in with the demo server, and the settings that point the real bot at them."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from bot import PanelDesk, create_bot
from discord_endpoints import point_discord_at
from settings import Settings
from simulators.calagopus import CalagopusSimulator
from simulators.convoy import ConvoySimulator
from simulators.ctrlpanel import CtrlPanelSimulator
from simulators.discord import DiscordStandIn, FakeGuild
from simulators.discord.world import (
    CUSTOMER_ROLE,
    GUILD,
    MEMBERS,
    SUSPENDED_ROLE,
    TOKEN,
    DemoMember,
    bot_settings,
    seed_demo_guild,
)
from simulators.loopback import LoopbackServer
from simulators.pterodactyl import PterodactylSimulator
from simulators.pterodactyl_legacy import LegacyPterodactylSimulator

# The people on every panel, so that `/user list search:ali` and `/credits add user:bob` find someone.
PEOPLE = ("alice", "bob", "carol", "dave", "erin")
SEEDED_USERS = 20  # more, so that lists have a second page
BILLING = "billing"  # the CtrlPanel, with credits; the default panel, so `/credits add` needs no `panel:`


class DemoSettings(Settings):
    """Settings from the keyword arguments alone: a stray `.env` or `PANEL_*` variable in the shell must not
    point the demo at a real panel or a real Discord."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


@dataclass
class DemoWorld:
    """The stand-in, its demo server, the panels by name, and the bot once `start_bot` ran."""

    discord: DiscordStandIn
    guild: FakeGuild
    panels: dict[str, LoopbackServer]
    settings: Settings
    bot: PanelDesk | None = None
    bot_task: asyncio.Task[None] | None = field(default=None, repr=False)

    def member(self, role: str) -> DemoMember:
        return next(m for m in MEMBERS if m.role == role)

    async def start_bot(self) -> None:
        """The real bot, built and started as `python bot.py` does, until the demo server is in its cache."""
        self.bot = bot = await create_bot(self.settings)
        self.bot_task = asyncio.create_task(bot.start(TOKEN), name="demo-bot")
        await self.discord.wait_until_identified(bot_task=self.bot_task)
        # discord.py handles interactions once the guild is cached, before its READY (held 2 s for more guilds).
        async with asyncio.timeout(10):
            while bot.get_guild(GUILD) is None:  # noqa: ASYNC110 - discord.py has no event for "guild cached"
                await asyncio.sleep(0.01)


def seed_panels(members: dict[str, int]) -> dict[str, LoopbackServer]:
    """One simulator per panel kind, named as hosting companies name them, each with the same people. Bob is
    already known to two panels as Discord member `bob` (his external id; CtrlPanel's Discord link), so `/link`
    works for him at once."""
    bob = members["bob"]
    main = PterodactylSimulator()
    eu = PterodactylSimulator(flavor="pelican")
    billing = CtrlPanelSimulator()
    convoy = ConvoySimulator()
    calagopus = CalagopusSimulator()
    legacy = LegacyPterodactylSimulator()
    for sim in (main, eu):
        for name in PEOPLE:
            sim.add_user(
                username=name,
                email=f"{name}@example.com",
                first_name=name.title(),
                last_name="Demo",
                external_id=str(bob) if name == "bob" and sim is main else None,
            )
        sim.seed_users(SEEDED_USERS)
    for index, name in enumerate(PEOPLE):
        billing.add_user(
            name=name,
            email=f"{name}@example.com",
            credits=100 * (index + 1),
            discord_id=bob if name == "bob" else None,
            discord_username=name,
        )
    billing.seed_users(SEEDED_USERS)
    for other in (convoy, calagopus, legacy):
        for name in PEOPLE:
            other.add_user(username=name, email=f"{name}@example.com")
        other.seed_users(SEEDED_USERS)
    return {"main": main, "eu": eu, BILLING: billing, "convoy": convoy, "calagopus": calagopus, "legacy": legacy}


PANEL_KINDS = {
    "main": "pterodactyl",
    "eu": "pelican",
    BILLING: "ctrlpanel",
    "convoy": "convoy",
    "calagopus": "calagopus",
    "legacy": "pterodactyl-legacy",
}


def demo_settings(discord: DiscordStandIn, panels: dict[str, LoopbackServer], database: Path) -> Settings:
    """The bot's settings: `main` as the `PANEL_*` panel, the others as `PANELS` entries (the way
    `tests/e2e/harness.billing` adds a CtrlPanel), the CtrlPanel the default."""
    keys: dict[str, Any] = {name: getattr(sim, "api_key") for name, sim in panels.items()}  # noqa: B009
    extra = {
        name: {"kind": PANEL_KINDS[name], "url": sim.url, "api_key": keys[name], "timeout": 5}
        for name, sim in panels.items()
        if name != "main"
    }
    values: dict[str, Any] = dict(
        bot_settings(discord),
        panel_name="main",
        panel_kind="pterodactyl",
        panel_url=panels["main"].url,
        panel_api_key=keys["main"],
        panel_timeout=5,
        panels=extra,
        default_panel=BILLING,
        database_path=database,
        log_level="WARNING",
        # One sweep a minute (the least allowed), so a top-up made on the panel shows up while trying it.
        credit_watch_interval_seconds=60,
        low_credit_threshold=50,
        # Customer while the billing account holds credits; Suspended while any linked account is suspended.
        role_rules=[
            {"role_id": CUSTOMER_ROLE, "when": "credits_at_least", "value": 1, "panel": BILLING},
            {"role_id": SUSPENDED_ROLE, "when": "suspended"},
        ],
    )
    return DemoSettings(**values)


@contextlib.asynccontextmanager
async def demo_world() -> AsyncIterator[DemoWorld]:
    """Start everything on 127.0.0.1 (ports chosen by the system), yield it, then close it all and forget the
    temporary database."""
    discord = DiscordStandIn(token=TOKEN)
    members = {m.name: m.id for m in MEMBERS}
    panels = seed_panels(members)
    with tempfile.TemporaryDirectory(prefix="panel-desk-demo-") as folder:
        async with contextlib.AsyncExitStack() as stack:
            await discord.start("127.0.0.1")
            stack.push_async_callback(discord.close)
            for sim in panels.values():
                await sim.start("127.0.0.1")
                stack.push_async_callback(sim.close)
            guild = seed_demo_guild(discord)
            world = DemoWorld(discord, guild, panels, demo_settings(discord, panels, Path(folder) / "demo.sqlite3"))
            stack.callback(point_discord_at, None, None)
            try:
                yield world
            finally:
                if world.bot is not None and not world.bot.is_closed():
                    await world.bot.close()
                if world.bot_task is not None:
                    with contextlib.suppress(Exception, asyncio.CancelledError):
                        await asyncio.wait_for(world.bot_task, 10)
