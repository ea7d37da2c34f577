"""Panel Desk: run a game panel's user accounts from Discord.

`python bot.py` runs the bot; `python bot.py --check` checks settings, database, panels and managed roles;
`python bot.py --backup PATH` copies the database while the bot runs; `python bot.py --version` says which this is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import hashlib
import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

import i18n
from cogs.common.errors import PanelDeskTree, answer_if_forgotten
from cogs.common.pager import OpenLists
from cogs.common.role_sync import RoleSync, check_roles_over_rest
from cogs.common.text import NO_MENTIONS
from cogs.notifications import Notifications
from discord_endpoints import DISCORD_API_BASE, point_discord_at
from health import Health
from i18n import N_, SOURCE, CommandTranslator, _, language_of, set_language
from log_format import GatewayOutages, setup_logging
from log_hygiene import protect_logs
from mailer import Mailer
from metrics import BotMetrics
from panel_api import Capability, PanelClient, PanelRegistry, create_client
from settings import (
    Settings,
    SettingsProblem,
    client_options,
    database_path_setting,
    load_settings,
    settings_warnings,
)
from storage import (
    AccountStates,
    AuditLog,
    BotState,
    CreditLedger,
    Database,
    EmailCodes,
    LinkRequests,
    LinkStore,
    NotificationStore,
    ProofFailures,
    StorageError,
    backup_database,
)
from version import __version__
from web_server import WebServer, WebServerError
from webhooks import Webhooks

log = logging.getLogger("panel_desk")


# How long a stop (SIGTERM, SIGINT) waits for interactions in flight and the notice being sent, before it cuts
# them off. A supervisor must wait longer than this before it kills: systemd waits 90 s by default, but `docker
# stop` only 10 s, so containers need a stop timeout of 15 s (compose: `stop_grace_period: 15s`).
STOP_GRACE_SECONDS = 10.0
# discord.py runs each interaction's handler as a task with one of these names; a stop waits for them.
_INTERACTION_TASKS = ("CommandTree-invoker", "discord-ui-view-dispatch-", "discord-ui-modal-dispatch-")
STOPPING_ANSWER = N_("Panel Desk is restarting and cannot take this now; try again in a minute.")

INITIAL_EXTENSIONS = (
    "cogs.panels",
    "cogs.users",
    "cogs.audit",
    "cogs.linking",
    "cogs.notifications",
    "cogs.credits",
    "cogs.roles",
    "cogs.registration",
)


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
    account_states: AccountStates
    link_requests: LinkRequests
    proof_failures: ProofFailures
    open_lists: OpenLists
    roles: RoleSync
    metrics: BotMetrics
    health: Health
    web: WebServer | None

    def __init__(self, settings: Settings, panels: PanelRegistry, database: Database) -> None:
        # Panel Desk never joins voice: discord.py's two WARNINGs at every start that voice libraries are missing
        # would only send operators after packages they do not need.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.default()
        # Privileged, so asked for only when a setting depends on it: hearing members leave (ON_MEMBER_LEAVE) and
        # join, and knowing every member's roles, which ROLE_RULES compare with the panel. LINKED_ROLE_ID alone
        # does without, as it always did: its role follows links and unlinks, and the members the bot has seen.
        intents.members = settings.on_member_leave == "unlink" or bool(settings.role_rules)
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
        self.account_states = AccountStates(database)
        self.link_requests = LinkRequests(database)
        self.proof_failures = ProofFailures(database)
        self.email_codes = EmailCodes(database)
        # None without SMTP_HOST: then no code by email is offered anywhere.
        self.mailer = Mailer(settings) if settings.mail_enabled else None
        self.open_lists = OpenLists()
        self.roles = RoleSync(self)
        self.metrics = BotMetrics()
        for name, client in panels.items():
            client.transport.observer = self.metrics.panel_observer(name)
        self.health = Health(self)
        # Off unless HTTP_PORT is set; later features add their routes to it before `setup_hook` starts it.
        self.web = WebServer(settings.http_host, settings.http_port) if settings.http_port is not None else None
        self._fallbacks: set[asyncio.Task[None]] = set()
        # Set by `stop`: from then on interactions are answered with `STOPPING_ANSWER` instead of run.
        self.stopping = False
        self.began = time.monotonic()  # run_bot moves it back to when the process read its settings
        self.gateway = GatewayOutages()
        self._background: set[asyncio.Task[Any]] = set()
        self._languages: dict[int, str] = {}  # members' Discord locales as last seen (also stored)
        self._ready_logged = False
        self._gate_interactions()

    async def setup_hook(self) -> None:
        if self.web is not None:  # first, so that liveness answers while the commands sync
            self.web.add_routes(self.health.routes())
            self.web.add_routes(Webhooks(self).routes())
            await self.web.start()
        await self.tree.set_translator(CommandTranslator())
        await self.sync_commands()
        self.started.set()

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def _gate_interactions(self) -> None:
        """Once stopping, answer each new interaction with a sentence instead of starting it.

        discord.py has no hook that runs before it hands an interaction to the tree or a view, so its parser for
        INTERACTION_CREATE is wrapped (`ConnectionState.parsers`, stable since 1.0). Refusing rather than ignoring
        matters: an interaction nobody answers shows the member "This interaction failed" with no reason.
        """
        parsers = self._connection.parsers
        dispatch = parsers["INTERACTION_CREATE"]

        def gated(data: Any) -> None:
            # Each interaction runs in a context of its own whose language is the member's: the tasks discord.py
            # starts for it (command, button, form) copy that context, so `_` speaks the member's language there.
            contextvars.copy_context().run(self._in_language, dispatch, data)

        parsers["INTERACTION_CREATE"] = gated

    def _in_language(self, dispatch: Callable[[Any], None], data: Any) -> None:
        data = data if isinstance(data, dict) else {}
        locale = data.get("locale")
        set_language(language_of(locale))
        user = (data.get("member") or {}).get("user") or data.get("user") or {}
        if locale and str(user.get("id", "")).isdigit():
            self._remember_language(int(user["id"]), str(locale))
        if not self.stopping:
            dispatch(data)
            return
        interaction: discord.Interaction[Any] = discord.Interaction(data=data, state=self._connection)
        self._keep(asyncio.create_task(_refuse(interaction), name="panel-desk-refusal"))

    def _remember_language(self, discord_id: int, locale: str) -> None:
        """Store a member's locale when it changed, in the background (a write per interaction would be waste)."""
        if self._languages.get(discord_id) == locale:
            return
        self._languages[discord_id] = locale

        async def save() -> None:
            try:
                await self.notifications.saw_language(discord_id, locale)
            except StorageError as exc:
                log.warning("could not remember the language of member %s: %s", discord_id, exc)

        self._keep(asyncio.create_task(save(), name="panel-desk-language"))

    async def member_language(self, discord_id: int) -> str:
        """The language of a DM to this member: theirs as last seen, else the server's."""
        locale = self._languages.get(discord_id) or await self.notifications.language_of(discord_id)
        return language_of(locale) if locale else self.staff_language(server_only=True)

    def staff_language(self, *, server_only: bool = False) -> str:
        """The language of posts in staff channels: BOT_LANGUAGE, else the server's preferred locale."""
        if self.settings.bot_language and not server_only:
            return language_of(self.settings.bot_language)
        guild = next((self.get_guild(g) for g in self.settings.guild_ids if self.get_guild(g)), None)
        guild = guild or (self.guilds[0] if self.guilds else None)
        return language_of(guild.preferred_locale) if guild is not None else SOURCE

    def _keep(self, task: asyncio.Task[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def stop(self, reason: str) -> None:
        """A clean stop for SIGTERM/SIGINT: refuse new interactions, let those in flight and the notice being sent
        finish (at most `STOP_GRACE_SECONDS`), stop the credit watcher between two pages, then close.

        Nothing is lost when the grace runs out either: a notice cut off between sending and being marked sent is
        sent again after the restart with the same nonce, which Discord answers with the first message.
        """
        if self.stopping:
            return
        self.stopping = True
        began = time.monotonic()
        in_flight = [
            task for task in asyncio.all_tasks() if task.get_name().startswith(_INTERACTION_TASKS) and not task.done()
        ]
        log.info(
            "%s: stopping; waiting up to %.0f s for %d interaction(s) in flight and the notice sender",
            reason,
            STOP_GRACE_SECONDS,
            len(in_flight),
        )
        waits: list[asyncio.Future[Any]] = [*in_flight, *self._fallbacks]
        notices = self.get_cog("Notifications")
        if isinstance(notices, Notifications):
            waits.append(asyncio.ensure_future(notices.stop_at_safe_point()))
        if (role_pass := self.roles.running_pass()) is not None:
            waits.append(role_pass)  # it stops after the member it is changing
        unfinished: set[asyncio.Future[Any]] = set()
        if waits:
            _done, unfinished = await asyncio.wait(waits, timeout=STOP_GRACE_SECONDS)
        if unfinished:
            log.warning(
                "stopping: %d task(s) still running after %.0f s are cut off", len(unfinished), STOP_GRACE_SECONDS
            )
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        await self.close()
        log.info("stopped cleanly in %.1f s", time.monotonic() - began)

    async def on_connect(self) -> None:
        """Each READY from the gateway (a fresh session): the end of an outage, if there was one. Not `on_ready`,
        which discord.py holds back a further `guild_ready_timeout` (2 s) while guilds arrive."""
        self.gateway.connected()

    async def on_resumed(self) -> None:
        self.gateway.connected()

    async def on_disconnect(self) -> None:
        if not self.is_closed():
            self.gateway.disconnected()

    async def on_ready(self) -> None:
        """The ready line, once: discord.py fires this again after every fresh session."""
        if self._ready_logged:
            return
        self._ready_logged = True
        user = self.user
        log.info(
            "Ready: logged in as %s (id %s) in %d guild(s), start-up took %.1f s",
            user,
            user.id if user else "?",
            len(self.guilds),
            time.monotonic() - self.began,
        )
        for role_id, problem in self.roles.problems().items():
            log.warning("Role sync cannot manage role %s: %s", role_id, problem.english)

    def check_panels_in_background(self) -> None:
        """Probe every panel once, beside logging in: a dead panel is a WARNING at start, not a surprise at the
        first command; the bot starts either way, since the other panels (and linking) may still work."""
        for name, client in self.panels.items():
            self._keep(asyncio.create_task(_probe(name, client), name=f"panel-probe-{name}"))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Buttons and forms nothing answers any more (made before a restart, or long expired) still get a
        sentence: discord.py drops them silently, and Discord would show the member "This interaction failed"."""
        self.metrics.interaction_received(interaction)
        if interaction.type in (discord.InteractionType.component, discord.InteractionType.modal_submit):
            task = asyncio.create_task(answer_if_forgotten(interaction))
            self._fallbacks.add(task)
            task.add_done_callback(self._fallbacks.discard)

    async def close(self) -> None:
        self.stopping = True
        for task in [*self._fallbacks, *self._background]:  # nothing can answer once the connection is gone
            task.cancel()
        try:
            await super().close()
        finally:
            await self.health.close()
            if self.web is not None:
                await self.web.close()
            await self.panels.close()
            await self.db.close()

    # --- command registration -------------------------------------------------------------------------------

    async def command_payloads(self, guild: discord.abc.Snowflake | None = None) -> list[dict[str, Any]]:
        """Exactly what `tree.sync` would send for `guild` (None: global), localizations included."""
        commands_ = self.tree.get_commands(guild=guild)
        translator = self.tree.translator
        if translator is None:
            return [command.to_dict(self.tree) for command in commands_]
        return [await command.get_translated_payload(self.tree, translator) for command in commands_]

    async def sync_commands(self, *, force: bool = False) -> int:
        """Register commands with Discord only when they changed since the last sync (Discord rate-limits syncs).

        With GUILD_IDS set, commands are registered per guild (instant) instead of globally (cached by clients).
        """
        targets: list[discord.Object | None] = [discord.Object(g) for g in self.settings.guild_ids] or [None]
        count = 0
        for guild in targets:
            if guild is not None:
                self.tree.copy_global_to(guild=guild)
            payload = await self.command_payloads(guild)
            digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
            key = f"commands_hash:{guild.id if guild else 'global'}"
            if force or await self.state.get(key) != digest:
                synced = await self.tree.sync(guild=guild)
                await self.state.set(key, digest)
                log.info("registered %d commands %s", len(synced), f"in guild {guild.id}" if guild else "globally")
            count = len(payload)
        return count


async def _refuse(interaction: discord.Interaction[Any]) -> None:
    try:
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete([])
        else:
            await interaction.response.send_message(_(STOPPING_ANSWER), ephemeral=True)
    except discord.HTTPException as exc:
        log.debug("could not refuse an interaction while stopping: %s", exc)


async def _probe(name: str, client: PanelClient) -> None:
    report = await client.check()
    where = f"{client.display_name} at {panel_host(client.base_url)}"
    if report.ok:
        log.info("Panel %r (%s): %s", name, where, report.detail, extra={"panel": name})
        return
    log.warning(
        "Panel %r (%s) failed its start-up check: %s. Commands on it fail until this is fixed: check its URL and API"
        " key (PANEL_URL and PANEL_API_KEY, or its entry in PANELS) and run `python bot.py --check`; the bot goes"
        " on without it.",
        name,
        where,
        report.detail.rstrip("."),
        extra={"panel": name},
    )


def members_intent_reason(settings: Settings) -> str:
    """The settings that make the bot ask for the Server Members intent, for the sentence when Discord refuses it."""
    reasons = []
    if settings.on_member_leave == "unlink":
        reasons.append("ON_MEMBER_LEAVE=unlink")
    if settings.role_rules:
        reasons.append("ROLE_RULES")
    return " and ".join(reasons) or "the bot"


def panel_host(url: str) -> str:
    """A panel's host and port, for logs: never the path or any user:password a URL may carry."""
    parts = urlsplit(url)
    host = parts.hostname or url
    return f"{host}:{parts.port}" if parts.port else host


def optional_features(settings: Settings) -> tuple[list[str], list[str]]:
    """(on, off): the optional features and the settings behind them, for the start-up summary."""
    choices = {
        "audit channel (AUDIT_CHANNEL_ID)": settings.audit_channel_id is not None,
        "link requests to staff (LINK_REQUESTS_CHANNEL_ID)": settings.link_requests_channel_id is not None,
        "linked role (LINKED_ROLE_ID)": settings.linked_role_id is not None,
        "role rules (ROLE_RULES)": bool(settings.role_rules),
        "unlink when a member leaves (ON_MEMBER_LEAVE)": settings.on_member_leave == "unlink",
        "notice fallback channel (NOTICE_FALLBACK_CHANNEL_ID)": settings.notice_fallback_channel_id is not None,
        "top-up announcements (TOPUP_ANNOUNCE_CHANNEL_ID)": settings.topup_announce_channel_id is not None,
        "low-credit warnings (LOW_CREDIT_THRESHOLD)": settings.low_credit_threshold is not None,
        "codes by email (SMTP_HOST)": settings.mail_enabled,
        "sign-up (REGISTRATION)": settings.registration != "off",
        "run-out warnings (CREDIT_WARNING_DAYS)": settings.credit_warning_days is not None,
    }
    return [name for name, on in choices.items() if on], [name for name, on in choices.items() if not on]


def log_start_up_summary(bot: PanelDesk) -> None:
    """What an operator reading the first lines needs: which version runs, against which panels, where."""
    settings = bot.settings
    where = f"guild(s) {', '.join(map(str, settings.guild_ids))}" if settings.guild_ids else "all guilds (global)"
    log.info(
        "Panel Desk %s starting (discord.py %s, schema version %d), commands in %s",
        __version__,
        discord.__version__,
        bot.db.schema_version,
        where,
    )
    watcher = any(Capability.CREDITS in client.capabilities for client in bot.panels.values())
    for name, client in bot.panels.items():
        default = ", the default" if name == bot.panels.default_name else ""
        log.info(
            "Panel %r: %s at %s%s",
            name,
            client.display_name,
            panel_host(client.base_url),
            default,
            extra={"panel": name},
        )
    on, off = optional_features(settings)
    if watcher:
        on.insert(0, f"credit watcher every {settings.credit_watch_interval_seconds:g} s")
    log.info("Optional features on: %s; off: %s", ", ".join(on) or "none", ", ".join(off) or "none")
    counts = i18n.load_catalogs()  # at start: a catalog that does not parse is a line here, not a broken reply
    log.info(
        "Languages: English%s",
        "".join(f", {language} ({count} messages)" for language, count in counts.items() if count),
    )
    if not settings.admin_role_ids:
        log.warning("ADMIN_ROLE_IDS is empty, so nobody can use the admin commands.")


async def create_bot(settings: Settings) -> PanelDesk:
    """Build the bot with its panel clients, storage and cogs, without contacting Discord or any panel.

    The database file is opened and migrated here, so a bot that exists has a usable database.
    """
    point_discord_at(settings.discord_api_base or None, settings.discord_gateway_url or None)
    panels = settings.all_panels()
    webhook_secrets = [str(p.options["webhook_secret"]) for p in panels.values() if "webhook_secret" in p.options]
    protect_logs(
        [
            settings.discord_token.get_secret_value(),
            *(p.api_key.get_secret_value() for p in panels.values()),
            *webhook_secrets,
            *([settings.smtp_password.get_secret_value()] if settings.smtp_password else []),
        ]
    )
    clients = {
        name: create_client(
            panel.kind,
            panel.url,
            panel.api_key,
            name=name,
            timeout=panel.timeout,
            **_tuning(panel.rate_limit),
            **client_options(panel.options),
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
    """`--check`: settings, database, each panel, and the commands; Discord only over REST, and only to check the
    roles that role rules manage."""
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
        if bot.roles.enabled:
            ok &= await _check_roles(settings)
        if bot.mailer is not None:
            problem = await bot.mailer.check()
            ok &= problem is None
            login = "the login is accepted" if settings.smtp_username else "no login is set"
            print(f"Mail: {bot.mailer.where}: " + (f"connected, {login}." if problem is None else f"{problem}."))
        else:
            print("Mail: SMTP_HOST is empty, so no codes by email (linking by code, password changes, sign-up).")
        names = command_names(bot)
        where = f"guilds {', '.join(map(str, settings.guild_ids))}" if settings.guild_ids else "globally"
        print(f"Slash commands ({len(names)}, registered {where}): " + ", ".join(f"/{n}" for n in names))
    finally:
        await bot.panels.close()
        await bot.db.close()
    print("All good." if ok else "Some checks failed; see above.")
    return 0 if ok else 1


async def _check_roles(settings: Settings) -> bool:
    """With role rules, `--check` logs in to Discord's REST API (never the gateway) to see each managed role as the
    bot will: whether it exists, and whether the bot's permissions and place in the hierarchy let it give it."""
    client = discord.Client(intents=discord.Intents.none())
    try:
        await client.login(settings.discord_token.get_secret_value())
        problems = await check_roles_over_rest(client, settings.managed_role_rules(), settings.guild_ids)
    except discord.LoginFailure:
        print("Roles: Discord refused DISCORD_TOKEN, so the managed roles could not be checked.")
        return False
    except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
        print(f"Roles: Discord could not be asked about the managed roles ({type(exc).__name__}: {exc}).")
        return False
    finally:
        await client.close()
    count = len({rule.role_id for rule in settings.managed_role_rules()})
    if not problems:
        print(f"Roles: the bot can give and take each of the {count} managed role(s).")
    for line in problems:
        print(f"Roles: {line}")
    return not problems


class DiscordUnreachable(Exception):
    """Discord's API could not be reached at start-up; `str()` is the line printed to the operator."""


async def run_bot(settings: Settings, *, began: float | None = None) -> None:
    """Run until Discord or a signal ends it. SIGTERM (docker stop, systemd) and SIGINT (Ctrl-C) stop cleanly."""
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()
    received: list[str] = []

    def on_signal(signum: signal.Signals) -> None:
        if received:
            log.info("%s: already stopping", signum.name)
        received.append(signum.name)
        signalled.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    outages = GatewayOutages.install()
    try:
        for warning in settings_warnings(settings):
            log.warning("%s", warning)
        async with await create_bot(settings) as bot:
            bot.gateway = outages
            if began is not None:
                bot.began = began
            log_start_up_summary(bot)
            bot.check_panels_in_background()
            running = asyncio.create_task(_start(bot, settings), name="panel-desk-run")
            stopper = asyncio.create_task(signalled.wait(), name="panel-desk-signals")
            await asyncio.wait({running, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if signalled.is_set():
                await bot.stop(received[0])
            stopper.cancel()
            await running
    finally:
        outages.uninstall()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


async def _start(bot: PanelDesk, settings: Settings) -> None:
    try:
        await bot.start(settings.discord_token.get_secret_value())
    except (aiohttp.ClientError, OSError) as exc:
        if bot.stopping:  # a stop during login closes the session under it; that is no failure
            return
        # Only logging in (and the command sync in `setup_hook`) lets these out: once connected, discord.py
        # retries a lost gateway with backoff itself, as it should through a Discord outage.
        proxied = bool(settings.discord_api_base)
        where = f"{settings.discord_api_base} (DISCORD_API_BASE)" if proxied else DISCORD_API_BASE
        raise DiscordUnreachable(
            f"Could not reach Discord's API at {where}: {str(exc) or type(exc).__name__}. Check the network"
            " connection, DNS and firewall" + (", or DISCORD_API_BASE." if proxied else ".")
        ) from exc


def run_backup(target: str) -> int:
    """`--backup PATH`: needs only DATABASE_PATH, and works while the bot runs."""
    try:
        source = database_path_setting()
    except SettingsProblem as problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        report = backup_database(source, target)
    except StorageError as exc:
        print(f"Backup failed: {exc}.", file=sys.stderr)
        return 1
    print(
        f"Backed up {report.source} (schema version {report.schema_version}) to {report.target}: "
        f"{report.size_bytes / 1024:.0f} KiB in {report.seconds:.2f} s."
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    began = time.monotonic()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="check settings, database and panels, then exit")
    parser.add_argument("--version", action="version", version=f"Panel Desk {__version__}")
    parser.add_argument(
        "--backup",
        metavar="PATH",
        help="copy the database (DATABASE_PATH) to PATH, safely while the bot runs, then exit",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="try the bot with nothing configured: local panels, a local Discord stand-in and a prompt",
    )
    parser.add_argument(
        "--script", metavar="FILE", help="with --demo: type the lines of FILE instead; exit 1 if one got no answer"
    )
    args = parser.parse_args(argv)
    if args.script and not args.demo:
        parser.error("--script goes with --demo")
    if args.backup:
        return run_backup(args.backup)
    if args.demo:
        from demo.run import run_demo  # only the demo needs the simulators

        return run_demo(args.script)
    try:
        settings = load_settings()
    except SettingsProblem as problem:
        print(problem, file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.log_format)
    try:
        if args.check:
            return asyncio.run(run_check(settings))
        asyncio.run(run_bot(settings, began=began))
    except discord.LoginFailure:
        print("Discord refused DISCORD_TOKEN: reset the token in the developer portal and update it.", file=sys.stderr)
        return 2
    except discord.PrivilegedIntentsRequired:
        print(
            f"Discord refused the Server Members intent, which {members_intent_reason(settings)} needs: switch on "
            "Server Members Intent under Bot > Privileged Gateway Intents in the developer portal.",
            file=sys.stderr,
        )
        return 2
    except StorageError as exc:
        print(f"The database could not be opened: {exc}. Check DATABASE_PATH.", file=sys.stderr)
        return 2
    except DiscordUnreachable as exc:
        print(exc, file=sys.stderr)
        return 1
    except WebServerError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
