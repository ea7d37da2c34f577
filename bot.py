"""Panel Desk: run a game panel's user accounts from Discord.

`python bot.py` runs the bot; `python bot.py --check` checks settings, database and panels without Discord.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from cogs.common.errors import PanelDeskTree, answer_if_forgotten
from cogs.common.pager import OpenLists
from cogs.common.text import NO_MENTIONS
from discord_endpoints import DISCORD_API_BASE, point_discord_at
from health import Health
from log_hygiene import protect_logs
from metrics import BotMetrics
from panel_api import PanelRegistry, create_client
from settings import Settings, SettingsProblem, load_settings, settings_warnings
from storage import (
    AuditLog,
    BotState,
    CreditLedger,
    Database,
    LinkRequests,
    LinkStore,
    NotificationStore,
    ProofFailures,
    StorageError,
)
from web_server import WebServer

log = logging.getLogger("panel_desk")


INITIAL_EXTENSIONS = ("cogs.panels", "cogs.users", "cogs.audit", "cogs.linking", "cogs.notifications", "cogs.credits")


class PanelDesk(commands.Bot):
    """The bot. It owns the panel clients and the database and closes them when it closes."""

    settings: Settings
    panels: PanelRegistry
    db: Database
    links: LinkStore
    audit: AuditLog
    notifications: NotificationStore
    state: BotState
    ledger: CreditLedger
    link_requests: LinkRequests
    proof_failures: ProofFailures
    open_lists: OpenLists
    metrics: BotMetrics
    health: Health
    web: WebServer | None

    def __init__(self, settings: Settings, panels: PanelRegistry, database: Database) -> None:
        intents = discord.Intents.default()
        # Only needed to hear members leave; privileged, so asked for only when a setting depends on it.
        intents.members = settings.on_member_leave == "unlink"
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=PanelDeskTree,
            help_command=None,
            allowed_mentions=NO_MENTIONS,
        )
        # Set once logged in: background tasks (notice sender, credit watcher) wait for it before using Discord.
        self.started = asyncio.Event()
        self.settings = settings
        self.panels = panels
        self.db = database
        self.links = LinkStore(database)
        self.audit = AuditLog(database)
        self.notifications = NotificationStore(database)
        self.state = BotState(database)
        self.ledger = CreditLedger(database)
        self.link_requests = LinkRequests(database)
        self.proof_failures = ProofFailures(database)
        self.open_lists = OpenLists()
        self.metrics = BotMetrics()
        for name, client in panels.items():
            client.transport.observer = self.metrics.panel_observer(name)
        self.health = Health(self)
        # Off unless HTTP_PORT is set; later features add their routes to it before `setup_hook` starts it.
        self.web = WebServer(settings.http_host, settings.http_port) if settings.http_port is not None else None
        self._fallbacks: set[asyncio.Task[None]] = set()

    async def setup_hook(self) -> None:
        if self.web is not None:  # first, so that liveness answers while the commands sync
            self.web.add_routes(self.health.routes())
            await self.web.start()
        await self.sync_commands()
        self.started.set()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Buttons and forms nothing answers any more (made before a restart, or long expired) still get a
        sentence: discord.py drops them silently, and Discord would show the member "This interaction failed"."""
        self.metrics.interaction_received(interaction)
        if interaction.type in (discord.InteractionType.component, discord.InteractionType.modal_submit):
            task = asyncio.create_task(answer_if_forgotten(interaction))
            self._fallbacks.add(task)
            task.add_done_callback(self._fallbacks.discard)

    async def close(self) -> None:
        for fallback in self._fallbacks:  # nothing can answer once the connection is gone
            fallback.cancel()
        try:
            await super().close()
        finally:
            await self.health.close()
            if self.web is not None:
                await self.web.close()
            await self.panels.close()
            await self.db.close()

    # --- command registration -------------------------------------------------------------------------------

    def command_payloads(self, guild: discord.abc.Snowflake | None = None) -> list[dict[str, Any]]:
        """Exactly what `tree.sync` would send for `guild` (None: global)."""
        return [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]

    async def sync_commands(self, *, force: bool = False) -> int:
        """Register commands with Discord only when they changed since the last sync (Discord rate-limits syncs).

        With GUILD_IDS set, commands are registered per guild (instant) instead of globally (cached by clients).
        """
        targets: list[discord.Object | None] = [discord.Object(g) for g in self.settings.guild_ids] or [None]
        count = 0
        for guild in targets:
            if guild is not None:
                self.tree.copy_global_to(guild=guild)
            payload = self.command_payloads(guild)
            digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
            key = f"commands_hash:{guild.id if guild else 'global'}"
            if force or await self.state.get(key) != digest:
                synced = await self.tree.sync(guild=guild)
                await self.state.set(key, digest)
                log.info("registered %d commands %s", len(synced), f"in guild {guild.id}" if guild else "globally")
            count = len(payload)
        return count


async def create_bot(settings: Settings) -> PanelDesk:
    """Build the bot with its panel clients, storage and cogs, without contacting Discord or any panel.

    The database file is opened and migrated here, so a bot that exists has a usable database.
    """
    point_discord_at(settings.discord_api_base or None, settings.discord_gateway_url or None)
    panels = settings.all_panels()
    protect_logs([settings.discord_token.get_secret_value(), *(p.api_key.get_secret_value() for p in panels.values())])
    clients = {
        name: create_client(
            panel.kind,
            panel.url,
            panel.api_key,
            name=name,
            timeout=panel.timeout,
            **_tuning(panel.rate_limit),
            **panel.options,
        )
        for name, panel in panels.items()
    }
    database = await Database.open(settings.database_path)
    bot = PanelDesk(settings, PanelRegistry(clients, settings.default_panel_name), database)
    for extension in INITIAL_EXTENSIONS:
        await bot.load_extension(extension)
    remove_unservable_commands(bot)
    return bot


def _tuning(rate_limit: int | None) -> dict[str, Any]:
    """A panel's own rate limit when set; otherwise its kind's default stands."""
    return {"rate_limit": rate_limit} if rate_limit else {}


def remove_unservable_commands(bot: PanelDesk) -> None:
    """Leave out each command or group whose `extras["capability"]` no configured panel has.

    `/credits` on a Pterodactyl-only host could only ever answer "this panel has no credits", so it is not offered
    at all; with several panels, a command stays when one of them can serve it and says so on the others.
    """
    available = set().union(*(client.capabilities for client in bot.panels.values()))

    def unservable(command: app_commands.Command[Any, ..., Any] | app_commands.Group) -> bool:
        needed = command.extras.get("capability")
        return needed is not None and needed not in available

    def prune(group: app_commands.Group) -> None:
        for child in list(group.commands):
            if unservable(child):
                group.remove_command(child.name)
            elif isinstance(child, app_commands.Group):
                prune(child)

    for command in bot.tree.get_commands():
        if not isinstance(command, app_commands.Command | app_commands.Group):
            continue
        if unservable(command):
            bot.tree.remove_command(command.name)
        elif isinstance(command, app_commands.Group):
            prune(command)


def command_names(bot: PanelDesk) -> list[str]:
    """Every slash command path the bot registers, e.g. 'panel status'."""
    names: list[str] = []

    def walk(command: app_commands.Command[Any, ..., Any] | app_commands.Group) -> None:
        if isinstance(command, app_commands.Group):
            for child in command.commands:
                walk(child)
        else:
            names.append(command.qualified_name)

    for command in bot.tree.get_commands():
        if isinstance(command, app_commands.Command | app_commands.Group):
            walk(command)
    return sorted(names)


async def run_check(settings: Settings) -> int:
    """`--check`: settings, database, each panel, and the commands, without ever contacting Discord."""
    ok = True
    print("Settings: loaded.")
    for warning in settings_warnings(settings):
        print(f"Warning: {warning}")
    bot = await create_bot(settings)
    try:
        print(f"Database: {settings.database_path} ready (schema version {bot.db.schema_version}).")
        for name, client in bot.panels.items():
            report = await client.check()
            ok &= report.ok
            default = ", default" if name == bot.panels.default_name else ""
            print(f"Panel {name!r} ({client.display_name} at {client.base_url}{default}): {report.detail}")
            features = ", ".join(sorted(c.value for c in client.capabilities)) or "users only"
            print(f"  capabilities: {features}")
        if not settings.admin_role_ids:
            print("Warning: ADMIN_ROLE_IDS is empty, so nobody can use the admin commands.")
        names = command_names(bot)
        where = f"guilds {', '.join(map(str, settings.guild_ids))}" if settings.guild_ids else "globally"
        print(f"Slash commands ({len(names)}, registered {where}): " + ", ".join(f"/{n}" for n in names))
    finally:
        await bot.panels.close()
        await bot.db.close()
    print("All good." if ok else "Some checks failed; see above.")
    return 0 if ok else 1


class DiscordUnreachable(Exception):
    """Discord's API could not be reached at start-up; `str()` is the line printed to the operator."""


async def run_bot(settings: Settings) -> None:
    for warning in settings_warnings(settings):
        log.warning("%s", warning)
    async with await create_bot(settings) as bot:
        try:
            await bot.start(settings.discord_token.get_secret_value())
        except (aiohttp.ClientError, OSError) as exc:
            # Only logging in (and the command sync in `setup_hook`) lets these out: once connected, discord.py
            # retries a lost gateway with backoff itself, as it should through a Discord outage.
            proxied = bool(settings.discord_api_base)
            where = f"{settings.discord_api_base} (DISCORD_API_BASE)" if proxied else DISCORD_API_BASE
            raise DiscordUnreachable(
                f"Could not reach Discord's API at {where}: {str(exc) or type(exc).__name__}. Check the network"
                " connection, DNS and firewall" + (", or DISCORD_API_BASE." if proxied else ".")
            ) from exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="check settings, database and panels, then exit")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsProblem as problem:
        print(problem, file=sys.stderr)
        return 2
    discord.utils.setup_logging(level=getattr(logging, settings.log_level), root=True)
    try:
        if args.check:
            return asyncio.run(run_check(settings))
        asyncio.run(run_bot(settings))
    except discord.LoginFailure:
        print("Discord refused DISCORD_TOKEN: reset the token in the developer portal and update it.", file=sys.stderr)
        return 2
    except discord.PrivilegedIntentsRequired:
        print("Enable the intents the bot needs under Bot > Privileged Gateway Intents.", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"The database could not be opened: {exc}. Check DATABASE_PATH.", file=sys.stderr)
        return 2
    except DiscordUnreachable as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
