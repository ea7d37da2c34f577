"""The Discord stand-in: one aiohttp server on 127.0.0.1 playing Discord's REST API (v10) and gateway.

Point an unchanged discord.py bot at it with ``discord_endpoints.point_discord_at(standin.api_base,
standin.gateway_url)``, start the bot with the stand-in's token, and drive it from a test: dispatch slash
commands, button presses, selects and modal submits, then assert on what the bot answered. Anything the
bot asks for that Discord would refuse is refused the same way (status, JSON error code, message), and
every refusal is kept in ``errors_returned`` so a test can demand there was none.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
import traceback
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, web

from simulators.discord import errors as err
from simulators.discord.commands import CommandStore, Resolver, command_data, modal_submission, resolve_select_value
from simulators.discord.errors import DiscordAPIError, FormErrors
from simulators.discord.gateway import CLOSE_INVALID_API_VERSION, GatewaySession
from simulators.discord.models import (
    ADMINISTRATOR,
    CHANNEL_DM,
    MANAGE_ROLES,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    SnowflakeFactory,
    iso,
)
from simulators.discord.ratelimits import RATE_LIMITED_MESSAGE, RouteRateLimits, Verdict
from simulators.discord.records import (
    FLAG_EPHEMERAL,
    FLAG_IS_COMPONENTS_V2,
    FLAG_LOADING,
    FLAG_SUPPRESS_EMBEDS,
    FLAG_SUPPRESS_NOTIFICATIONS,
    Changes,
    ErrorResponse,
    InteractionRecord,
    RecordedAttachment,
    RecordedMessage,
    RecordedResponse,
    RoleChange,
)
from simulators.discord.validation import (
    BUTTON,
    SELECTS,
    STRING_SELECT,
    has_message_body,
    validate_autocomplete,
    validate_command,
    validate_commands,
    validate_message,
    validate_modal,
)

DEFAULT_APPLICATION_ID = 1_187_000_000_000_000_001
DEFAULT_OWNER_ID = 1_187_000_000_000_000_002
API_PREFIX = "/api/v10"

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
REPLY, DEFER, DEFERRED_UPDATE, UPDATE, AUTOCOMPLETE_RESULT, MODAL = 4, 5, 6, 7, 8, 9
CALLBACK_KINDS = {
    REPLY: "reply",
    DEFER: "defer",
    DEFERRED_UPDATE: "deferred_update",
    UPDATE: "update",
    AUTOCOMPLETE_RESULT: "autocomplete",
    MODAL: "modal",
}
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {REPLY, DEFER, MODAL},
    MESSAGE_COMPONENT: {REPLY, DEFER, DEFERRED_UPDATE, UPDATE, MODAL},
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {REPLY, DEFER, DEFERRED_UPDATE, UPDATE},
}
MESSAGE_TYPE_DEFAULT, MESSAGE_TYPE_CHAT_INPUT_COMMAND = 0, 20
# Flags a bot may set on a message it sends; anything else it sends is ignored, as Discord does.
SETTABLE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_IS_COMPONENTS_V2
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

Handler = Callable[..., Awaitable[Any]]
Route = tuple[str, re.Pattern[str], Handler, bool, str | None]


@dataclass
class _Call:
    """One REST request as a handler sees it."""

    method: str
    path: str
    query: dict[str, str]
    headers: Any
    body: Any = None
    files: list[RecordedAttachment] = field(default_factory=list)
    interaction: InteractionRecord | None = None

    @property
    def reason(self) -> str | None:
        reason = self.headers.get("X-Audit-Log-Reason")
        return urllib.parse.unquote(reason) if reason else None

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true")


class DiscordStandIn:
    """See the module docstring. Times are ``time.perf_counter()`` stamps."""

    def __init__(
        self,
        *,
        token: str = "test-token",
        application_id: int = DEFAULT_APPLICATION_ID,
        bot_user_id: int | None = None,
        bot_name: str = "Panel Desk",
        owner_id: int = DEFAULT_OWNER_ID,
        response_window: float = 3.0,
        token_lifetime: float = 15 * 60,
        heartbeat_interval: float = 41.25,
        nonce_window: float = 5 * 60,
        role_rate_limit: tuple[int, float] | None = None,
        role_latency: float = 0.0,
    ) -> None:
        """``role_rate_limit`` is (requests, window seconds) per member-role route and guild, as Discord limits
        them; None never refuses but still sends the headers. ``role_latency`` is how long each member-role
        request takes to answer, Discord's round trip: with it, requests a bot fires at once overlap here and
        ``max_role_requests_in_flight`` shows how many it had out together."""
        self.token = token
        self.application_id = application_id
        # GATEWAY_GUILD_MEMBERS_LIMITED | GATEWAY_MESSAGE_CONTENT_LIMITED | APPLICATION_COMMAND_BADGE
        self.application_flags = (1 << 15) | (1 << 19) | (1 << 23)
        self.owner_id = owner_id
        self.response_window = response_window
        self.token_lifetime = token_lifetime
        self.heartbeat_interval = heartbeat_interval
        self.nonce_window = nonce_window
        self.role_latency = role_latency
        self._rate_limits = RouteRateLimits(role_rate_limit)
        self.api_base = ""
        self.gateway_url = ""

        self.new_id = SnowflakeFactory()
        self.bot_user = FakeUser(bot_user_id or application_id, bot_name, bot=True)
        self.users: dict[int, FakeUser] = {self.bot_user.id: self.bot_user}
        self.guilds: dict[int, FakeGuild] = {}
        self.dm_channels: dict[int, FakeChannel] = {}  # by recipient id
        self.messages: dict[int, RecordedMessage] = {}
        self.interactions: dict[int, InteractionRecord] = {}
        self.commands = CommandStore(application_id, self.new_id)

        self.role_changes: list[RoleChange] = []
        self.unhandled_requests: list[tuple[str, str]] = []
        self.errors_returned: list[ErrorResponse] = []
        self.internal_errors: list[str] = []  # tracebacks of the stand-in's own failures
        self.requests: list[tuple[str, str]] = []
        # Member-role requests: how many arrived, every one answered 429 (also in errors_returned), and the
        # most that were being answered at once.
        self.role_requests = 0
        self.rate_limited: list[tuple[str, str]] = []
        self.max_role_requests_in_flight = 0
        self._role_requests_in_flight = 0
        self.identify_payloads: list[dict[str, Any]] = []
        self.gateway_urls: list[str] = []  # as the bot opened them, query included
        self.gateway_closes: list[tuple[int, str]] = []  # close codes the stand-in ended connections with
        self.heartbeats = 0

        self._changes = Changes()
        self._sessions: list[GatewaySession] = []
        self._nonces: dict[tuple[int, str], tuple[float, int]] = {}
        self._runner: web.AppRunner | None = None
        self._routes = self._route_table()

    @property
    def role_rate_limit(self) -> tuple[int, float] | None:
        """(requests, window seconds) per member-role route and guild, or None. Settable at any time: buckets
        already open keep their count, and the new numbers apply from the next request on."""
        return self._rate_limits.limit

    @role_rate_limit.setter
    def role_rate_limit(self, limit: tuple[int, float] | None) -> None:
        self._rate_limits.limit = limit

    # ----------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=ATTACHMENT_SIZE_LIMIT * 11)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.api_base = f"http://{host}:{port}{API_PREFIX}"
        self.gateway_url = f"ws://{host}:{port}/gateway"

    async def close(self) -> None:
        for session in list(self._sessions):
            await session.ws.close(code=1001, message=b"stand-in closing")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ----------------------------------------------------------------- the world

    def add_guild(self, guild_id: int, name: str = "Test Guild", *, owner_id: int | None = None) -> FakeGuild:
        guild = FakeGuild(
            guild_id,
            name,
            bot_user=self.bot_user,
            users=self.users,
            new_id=self.new_id,
            emit=self._emit,
            owner_id=owner_id,
        )
        self.guilds[guild_id] = guild
        for session in self._sessions:
            session.dispatch("GUILD_CREATE", guild.payload(intents=session.intents, bot_joined_at=datetime.now(UTC)))
        return guild

    async def wait_until_identified(
        self,
        timeout: float = 10,  # noqa: ASYNC109 - tests pass timeouts as to discord.py's Client.wait_for
        *,
        bot_task: asyncio.Task[Any] | None = None,
    ) -> None:
        """Until a connected bot sent IDENTIFY and READY and every GUILD_CREATE went out to it. Pass the task
        running ``bot.start`` as ``bot_task`` to fail at once, with the bot's own exception, if it dies first."""
        if bot_task is not None:
            bot_task.add_done_callback(lambda _: self._changes.notify())

        def identified() -> bool | None:
            if any(session.ready for session in self._sessions):
                return True
            if bot_task is not None and bot_task.done():
                bot_task.result()
                raise RuntimeError("the bot stopped before it identified")
            return None

        await self._changes.wait_until(
            identified,
            timeout,
            lambda: (
                f"the bot did not identify; requests so far: {self.requests}, errors: {self.errors_returned}, "
                f"gateway closes: {self.gateway_closes}"
            ),
        )

    async def wait_until_disconnected(self, timeout: float = 5) -> None:  # noqa: ASYNC109
        """Until no bot is connected to the gateway any more (e.g. after ``bot.close()``)."""
        await self._changes.wait_until(
            lambda: not self._sessions or None, timeout, lambda: f"{len(self._sessions)} connection(s) still open"
        )

    def gateway_changed(self) -> None:
        self._changes.notify()

    def registered_commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        return self.commands.list(guild_id)

    def message(self, message_id: int) -> RecordedMessage:
        """A message's current state."""
        return self.messages[message_id]

    def dms(self, user_id: int) -> list[RecordedMessage]:
        channel = self.dm_channels.get(user_id)
        return self.channel_messages(channel.id) if channel else []

    def channel_messages(self, channel_id: int, *, include_ephemeral: bool = True) -> list[RecordedMessage]:
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id and not m.deleted and (include_ephemeral or not m.ephemeral)
        ]

    async def wait_for_dm(
        self,
        user_id: int,
        predicate: Callable[[RecordedMessage], bool] | None = None,
        timeout: float = 5,  # noqa: ASYNC109
    ) -> RecordedMessage:
        def find() -> RecordedMessage | None:
            return next((m for m in reversed(self.dms(user_id)) if predicate is None or predicate(m)), None)

        return await self._changes.wait_until(find, timeout, lambda: f"no matching DM to {user_id}")

    async def wait_for_role_change(self, count: int = 1, timeout: float = 5) -> list[RoleChange]:  # noqa: ASYNC109
        return await self._changes.wait_until(
            lambda: self.role_changes if len(self.role_changes) >= count else None,
            timeout,
            lambda: f"wanted {count} role change(s), have {self.role_changes}; errors: {self.errors_returned}",
        )

    # ----------------------------------------------------------------- driving interactions

    async def run_command(
        self,
        path: str,
        *,
        user: int,
        guild: int | None,
        channel: int | None = None,
        options: dict[str, Any] | None = None,
        client_checks: bool = True,
    ) -> InteractionRecord:
        """Dispatch ``/path`` as ``user`` typed it. ``guild=None`` runs it in the bot's DM with the user."""
        data = self._command_data(path, user, guild, options or {}, focused=None, client_checks=client_checks)
        return await self._dispatch(APPLICATION_COMMAND, data, user_id=user, guild_id=guild, channel_id=channel)

    async def autocomplete(
        self,
        path: str,
        *,
        user: int,
        guild: int | None,
        focused: str,
        options: dict[str, Any] | None = None,
        channel: int | None = None,
        timeout: float = 5,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """Dispatch an autocomplete request while ``user`` types into ``focused``; returns the choices."""
        data = self._command_data(path, user, guild, options or {}, focused=focused, client_checks=True)
        record = await self._dispatch(AUTOCOMPLETE, data, user_id=user, guild_id=guild, channel_id=channel)
        responses = await record.wait_for(1, timeout)
        return responses[0].choices

    async def send_raw(
        self, kind: int, data: Any, *, user: int, guild: int | None, channel: int | None = None
    ) -> InteractionRecord:
        """Dispatch an interaction whose ``data`` is exactly as given, unchecked: what a proxy, a modified client
        or a future Discord change might send, for tests of how the bot copes."""
        return await self._dispatch(kind, data, user_id=user, guild_id=guild, channel_id=channel)

    async def press(self, message: RecordedMessage | int, custom_id: str, *, user: int) -> InteractionRecord:
        live = self._visible_message(message, user)
        component = self._component(live, custom_id)
        if component.get("type") != BUTTON:
            raise ValueError(f"{custom_id!r} is not a button but component type {component.get('type')}")
        if component.get("disabled"):
            raise ValueError(f"button {custom_id!r} is disabled; Discord's client cannot press it")
        data = {"custom_id": custom_id, "component_type": BUTTON}
        return await self._dispatch_component(live, data, user)

    async def click(self, message: RecordedMessage | int, label: str, *, user: int) -> InteractionRecord:
        """Press the button labelled ``label``, as a person does: by what it says, whatever its custom id."""
        live = self._visible_message(message, user)
        matching = [b for b in live.buttons() if b.get("label") == label and "custom_id" in b]
        if len(matching) != 1:
            labels = [b.get("label") for b in live.buttons()]
            raise ValueError(f"message {live.id} has {len(matching)} buttons labelled {label!r}; it has {labels}")
        return await self.press(live, matching[0]["custom_id"], user=user)

    async def select(
        self, message: RecordedMessage | int, custom_id: str, values: list[str], *, user: int
    ) -> InteractionRecord:
        live = self._visible_message(message, user)
        component = self._component(live, custom_id)
        kind = component.get("type")
        if kind not in SELECTS:
            raise ValueError(f"{custom_id!r} is not a select menu but component type {kind}")
        if component.get("disabled"):
            raise ValueError(f"select {custom_id!r} is disabled; Discord's client cannot use it")
        low, high = component.get("min_values", 1), component.get("max_values", 1)
        if not low <= len(values) <= high:
            raise ValueError(f"select {custom_id!r} takes {low}..{high} values, not {len(values)}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": kind, "values": [str(v) for v in values]}
        if kind == STRING_SELECT:
            offered = [option["value"] for option in component.get("options", [])]
            if any(v not in offered for v in data["values"]):
                raise ValueError(f"select {custom_id!r} offers {offered}, not {values}")
        else:
            resolver = Resolver(self._guild_of(live.channel_id), self.users, self._channel, user)
            for value in values:
                resolve_select_value(resolver, kind, int(value))
            data["resolved"] = resolver.resolved
        return await self._dispatch_component(live, data, user)

    async def submit_modal(
        self, interaction: InteractionRecord, values: dict[str, str | list[str]], *, user: int
    ) -> InteractionRecord:
        """Fill in and submit the modal that ``interaction`` answered with."""
        modal = next((r.modal for r in reversed(interaction.responses) if r.kind == "modal"), None)
        if modal is None or not interaction.modal_open:
            raise ValueError(f"{interaction!r} has no open modal to submit")
        if user != interaction.user_id:
            raise ValueError(f"the modal was shown to user {interaction.user_id}, not {user}")
        guild_id = _int_or_none(interaction.payload.get("guild_id"))
        resolver = Resolver(self.guilds.get(guild_id or 0), self.users, self._channel, user)
        data: dict[str, Any] = {
            "custom_id": modal["custom_id"],
            "components": modal_submission(modal, dict(values), resolver),
        }
        if resolver.resolved:
            data["resolved"] = resolver.resolved
        interaction.modal_open = False
        source = self.messages.get(interaction.source_message_id or 0)
        return await self._dispatch(
            MODAL_SUBMIT,
            data,
            user_id=user,
            guild_id=guild_id,
            channel_id=int(interaction.payload["channel"]["id"]),
            message=source,
        )

    # ----------------------------------------------------------------- interaction plumbing

    def _command_data(
        self,
        path: str,
        user_id: int,
        guild_id: int | None,
        values: dict[str, Any],
        *,
        focused: str | None,
        client_checks: bool,
    ) -> dict[str, Any]:
        parts = path.strip().lstrip("/").split()
        command = self.commands.find(parts[0], guild_id=guild_id)
        guild = self.guilds[guild_id] if guild_id is not None else None
        if client_checks:
            self._check_command_visible(command, user_id, guild)
        resolver = Resolver(guild, self.users, self._channel, user_id)
        return command_data(command, parts, values, resolver, focused=focused, client_checks=client_checks)

    def _check_command_visible(self, command: dict[str, Any], user_id: int, guild: FakeGuild | None) -> None:
        """Discord's client only offers a command where its contexts and default permissions allow."""
        contexts = command.get("contexts")
        context = 0 if guild is not None else 1
        if (contexts is not None and context not in contexts) or (guild is None and not command.get("dm_permission")):
            raise ValueError(f"/{command['name']} is not available in {'guilds' if guild else 'DMs'}")
        required = command.get("default_member_permissions")
        if guild is None or required is None:
            return
        member = self._member(guild, user_id)
        held = guild.permissions_of(member)
        if held & ADMINISTRATOR:
            return
        if int(required) == 0 or held & int(required) != int(required):
            raise ValueError(
                f"Discord's client hides /{command['name']} from user {user_id}: needs permissions {required}"
            )

    async def _dispatch_component(
        self, message: RecordedMessage, data: dict[str, Any], user_id: int
    ) -> InteractionRecord:
        guild = self._guild_of(message.channel_id)
        return await self._dispatch(
            MESSAGE_COMPONENT,
            data,
            user_id=user_id,
            guild_id=guild.id if guild else None,
            channel_id=message.channel_id,
            message=message,
        )

    async def _dispatch(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        message: RecordedMessage | None = None,
    ) -> InteractionRecord:
        session = next((s for s in reversed(self._sessions) if s.identified and not s.ws.closed), None)
        if session is None:
            raise RuntimeError("no bot is connected to the stand-in's gateway")
        interaction_id = self.new_id()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(96)
        payload = self._interaction_payload(kind, data, interaction_id, token, user_id, guild_id, channel_id)
        if message is not None:
            payload["message"] = self._message_payload(message)
        record = InteractionRecord(
            interaction_id=interaction_id,
            token=token,
            type=kind,
            payload=payload,
            user_id=user_id,
            changes=self._changes,
            live_message=self.messages.get,
            source_message_id=message.id if message is not None else None,
        )
        self.interactions[interaction_id] = record
        session.dispatch("INTERACTION_CREATE", payload)
        await session.flushed()
        return record

    def _interaction_payload(
        self,
        kind: int,
        data: dict[str, Any],
        interaction_id: int,
        token: str,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "locale": self.users[user_id].locale if user_id in self.users else "en-US",
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if guild_id is None:
            if user_id not in self.users:
                raise ValueError(f"user {user_id} is unknown to the stand-in; add_member it to a guild first")
            channel = self._dm_channel(self.users[user_id])
            payload |= {
                "user": self.users[user_id].payload(),
                "channel_id": str(channel.id),
                "channel": channel.payload(),
                "app_permissions": str(SEND_MESSAGES | VIEW_CHANNEL),
                "authorizing_integration_owners": {"0": "0"},
                "context": 1,
            }
            return payload
        guild = self.guilds[guild_id]
        member = self._member(guild, user_id)
        if channel_id is None:
            if not guild.channels:
                raise ValueError(f"guild {guild_id} has no channel to run the command in; add_channel one")
            channel_id = next(iter(guild.channels))
        channel = self._channel(channel_id)
        payload |= {
            "guild_id": str(guild_id),
            "guild": {"id": str(guild_id), "locale": guild.preferred_locale, "features": []},
            "guild_locale": guild.preferred_locale,
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "member": member.payload() | {"permissions": str(guild.permissions_of(member))},
            "app_permissions": str(guild.permissions_of(guild.bot_member)),
            "authorizing_integration_owners": {"0": str(guild_id)},
            "context": 0,
        }
        return payload

    def _visible_message(self, message: RecordedMessage | int, user_id: int) -> RecordedMessage:
        live = self.messages.get(message if isinstance(message, int) else message.id)
        if live is None or live.deleted:
            raise ValueError(f"message {message if isinstance(message, int) else message.id} does not exist")
        if live.ephemeral and live.interaction_id is not None:
            owner = self.interactions[live.interaction_id].user_id
            if owner != user_id:
                raise ValueError(f"message {live.id} is ephemeral: only user {owner} sees it, not {user_id}")
        return live

    @staticmethod
    def _component(message: RecordedMessage, custom_id: str) -> dict[str, Any]:
        try:
            return message.component(custom_id)
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None

    # ----------------------------------------------------------------- HTTP plumbing

    def _route_table(self) -> list[Route]:
        """(method, path pattern, handler, needs the bot token, rate-limit route name or None)."""
        snowflake, token = r"(?P<{}>\d+)", r"(?P<token>[^/]+)"
        app = snowflake.format("app")
        guild = snowflake.format("guild")
        channel = snowflake.format("channel")
        message = r"(?P<message>\d+|@original)"
        user = snowflake.format("user")
        table: list[tuple[str, str, Handler, bool]] = [
            ("GET", "/users/@me", self._get_me, True),
            ("GET", f"/users/{user}", self._get_user, True),
            ("POST", "/users/@me/channels", self._open_dm, True),
            ("GET", "/gateway", self._get_gateway, False),
            ("GET", "/gateway/bot", self._get_gateway_bot, True),
            ("GET", "/oauth2/applications/@me", self._get_application, True),
            ("GET", "/applications/@me", self._get_application, True),
            ("GET", f"/applications/{app}/commands", self._list_commands, True),
            ("PUT", f"/applications/{app}/commands", self._overwrite_commands, True),
            ("POST", f"/applications/{app}/commands", self._upsert_command, True),
            ("GET", f"/applications/{app}/commands/(?P<command>\\d+)", self._get_command, True),
            ("DELETE", f"/applications/{app}/commands/(?P<command>\\d+)", self._delete_command, True),
            ("GET", f"/applications/{app}/guilds/{guild}/commands", self._list_commands, True),
            ("PUT", f"/applications/{app}/guilds/{guild}/commands", self._overwrite_commands, True),
            ("POST", f"/applications/{app}/guilds/{guild}/commands", self._upsert_command, True),
            ("GET", f"/applications/{app}/guilds/{guild}/commands/(?P<command>\\d+)", self._get_command, True),
            ("DELETE", f"/applications/{app}/guilds/{guild}/commands/(?P<command>\\d+)", self._delete_command, True),
            ("POST", f"/interactions/(?P<interaction>\\d+)/{token}/callback", self._interaction_callback, False),
            ("POST", f"/webhooks/{app}/{token}", self._followup, False),
            ("GET", f"/webhooks/{app}/{token}/messages/{message}", self._get_webhook_message, False),
            ("PATCH", f"/webhooks/{app}/{token}/messages/{message}", self._edit_webhook_message, False),
            ("DELETE", f"/webhooks/{app}/{token}/messages/{message}", self._delete_webhook_message, False),
            ("GET", f"/channels/{channel}", self._get_channel, True),
            ("POST", f"/channels/{channel}/messages", self._create_message, True),
            ("GET", f"/channels/{channel}/messages/{message}", self._get_channel_message, True),
            ("PATCH", f"/channels/{channel}/messages/{message}", self._edit_channel_message, True),
            ("DELETE", f"/channels/{channel}/messages/{message}", self._delete_channel_message, True),
            ("POST", f"/channels/{channel}/typing", self._typing, True),
            ("GET", f"/guilds/{guild}", self._get_guild, True),
            ("GET", f"/guilds/{guild}/roles", self._get_roles, True),
            ("GET", f"/guilds/{guild}/channels", self._get_guild_channels, True),
            ("GET", f"/guilds/{guild}/members", self._list_members, True),
            ("GET", f"/guilds/{guild}/members/{user}", self._get_member, True),
            ("PATCH", f"/guilds/{guild}/members/{user}", self._edit_member, True),
            ("PUT", f"/guilds/{guild}/members/{user}/roles/(?P<role>\\d+)", self._add_role, True),
            ("DELETE", f"/guilds/{guild}/members/{user}/roles/(?P<role>\\d+)", self._remove_role, True),
        ]
        # The member-role routes get Discord's per-route rate limits; named as discord.py's Route.key names them.
        limited: dict[Handler, str] = {
            self._edit_member: "PATCH /guilds/{guild_id}/members/{user_id}",
            self._add_role: "PUT /guilds/{guild_id}/members/{user_id}/roles/{role_id}",
            self._remove_role: "DELETE /guilds/{guild_id}/members/{user_id}/roles/{role_id}",
        }
        return [
            (method, re.compile(f"^{pattern}$"), handler, auth, limited.get(handler))
            for method, pattern, handler, auth in table
        ]

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        method, full_path = request.method, request.path
        self.requests.append((method, full_path))
        path = full_path[len(API_PREFIX) :] if full_path.startswith(API_PREFIX + "/") else None
        for route_method, pattern, handler, auth, limited in self._routes if path is not None else []:
            assert path is not None
            match = pattern.match(path)
            if match is None or route_method != method:
                continue
            call = _Call(method, full_path, dict(request.query), request.headers)
            if limited is None:
                return await self._answer(request, call, match, handler, auth)
            return await self._answer_rate_limited(request, call, match, handler, auth, limited)
        self.unhandled_requests.append((method, full_path))
        body = {
            "message": "404: Not Found",
            "code": 0,
            "standin": f"the stand-in has no handler for {method} {full_path}",
        }
        self.errors_returned.append(ErrorResponse(method, full_path, 404, body))
        self._changes.notify()
        return _json(body, status=404)

    async def _answer(
        self, request: web.Request, call: _Call, match: re.Match[str], handler: Handler, auth: bool
    ) -> web.Response:
        try:
            if auth and request.headers.get("Authorization") != f"Bot {self.token}":
                raise err.unauthorized()
            await self._read_body(request, call)
            params = {k: (v if k in ("token", "message") else int(v)) for k, v in match.groupdict().items()}
            if "app" in params and params["app"] != self.application_id:
                raise (
                    err.unknown_webhook() if "token" in params else DiscordAPIError(404, 10002, "Unknown Application")
                )
            result = await handler(call, **params)
        except DiscordAPIError as exc:
            return self._refuse(call, exc)
        except Exception as exc:
            # A bug in the stand-in, not an answer Discord would give. Not a 5xx: discord.py retries those
            # with growing sleeps; a 418 fails the bot's call at once, and the test through errors_returned.
            self.internal_errors.append(traceback.format_exc())
            error = DiscordAPIError(418, -1, f"stand-in internal error: {exc!r}")
            return self._refuse(call, error)
        self._changes.notify()
        if result is None:
            return web.Response(status=204)
        return _json(result)

    async def _answer_rate_limited(
        self, request: web.Request, call: _Call, match: re.Match[str], handler: Handler, auth: bool, route: str
    ) -> web.Response:
        """A member-role request: it waits out ``role_latency``, then spends one request of its (route, guild)
        bucket. Refused with Discord's 429 and left unapplied when the bucket is empty; every answer, errors
        included (Discord counts those too), carries the bucket's headers."""
        self.role_requests += 1
        self._role_requests_in_flight += 1
        self.max_role_requests_in_flight = max(self.max_role_requests_in_flight, self._role_requests_in_flight)
        try:
            await asyncio.sleep(self.role_latency)
            verdict = self._rate_limits.take(route, int(match["guild"]))
            if verdict.allowed:
                response = await self._answer(request, call, match, handler, auth)
            else:
                response = self._rate_limit_refusal(call, verdict)
            response.headers.update(verdict.headers)
            return response
        finally:
            self._role_requests_in_flight -= 1

    def _rate_limit_refusal(self, call: _Call, verdict: Verdict) -> web.Response:
        body = {"message": RATE_LIMITED_MESSAGE, "retry_after": verdict.retry_after, "global": False}
        self.rate_limited.append((call.method, call.path))
        self.errors_returned.append(ErrorResponse(call.method, call.path, 429, body))
        self._changes.notify()
        return _json(body, status=429)

    def _refuse(self, call: _Call, exc: DiscordAPIError) -> web.Response:
        error = ErrorResponse(call.method, call.path, exc.status, exc.body())
        self.errors_returned.append(error)
        if call.interaction is not None:
            call.interaction.reject(error)
        self._changes.notify()
        return _json(exc.body(), status=exc.status)

    async def _read_body(self, request: web.Request, call: _Call) -> None:
        if not request.can_read_body:
            return
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue  # Discord takes no nested multipart
                if part.name == "payload_json":
                    call.body = json.loads(await part.text())
                elif part.filename is not None:
                    content = bytes(await part.read())
                    if len(content) > ATTACHMENT_SIZE_LIMIT:
                        raise err.entity_too_large()
                    content_type = part.headers.get("Content-Type")
                    call.files.append(RecordedAttachment(self.new_id(), part.filename, content, content_type))
        else:
            text = await request.text()
            try:
                call.body = json.loads(text) if text else None
            except ValueError:
                raise DiscordAPIError(400, 50109, "The request body contains invalid JSON.") from None

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        for session in self._sessions:
            session.dispatch(event, data)

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        self.gateway_urls.append(str(request.rel_url))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = GatewaySession(ws, self)
        if request.query.get("v") != "10" or request.query.get("encoding", "json") != "json":
            self.gateway_closes.append((CLOSE_INVALID_API_VERSION, "Invalid API version"))
            await ws.close(code=CLOSE_INVALID_API_VERSION, message=b"Invalid API version")
            return ws
        self._sessions.append(session)
        try:
            await session.run()
        finally:
            self._sessions.remove(session)
            self._changes.notify()
        return ws

    # ----------------------------------------------------------------- REST: users, gateway, application

    def _message(self, message_id: int | None) -> RecordedMessage:
        """The message an interaction answers or comes from; Discord's "Unknown Message" when it has none."""
        if message_id is None or message_id not in self.messages:
            raise err.unknown_message()
        return self.messages[message_id]

    async def _get_me(self, call: _Call) -> dict[str, Any]:
        return self.bot_user.payload() | {"verified": True, "mfa_enabled": False, "email": None, "locale": "en-US"}

    async def _get_user(self, call: _Call, user: int) -> dict[str, Any]:
        if user not in self.users:
            raise err.unknown_user()
        return self.users[user].payload()

    async def _get_gateway(self, call: _Call) -> dict[str, Any]:
        return {"url": self.gateway_url}

    async def _get_gateway_bot(self, call: _Call) -> dict[str, Any]:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}

    async def _get_application(self, call: _Call) -> dict[str, Any]:
        owner = self.users.get(self.owner_id) or FakeUser(self.owner_id, "owner")
        return {
            "id": str(self.application_id),
            "name": self.bot_user.name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": owner.payload(),
            "team": None,
            "flags": self.application_flags,
            "bot": self.bot_user.payload(),
            "approximate_guild_count": len(self.guilds),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "integration_types_config": {"0": {}},
        }

    async def _open_dm(self, call: _Call) -> dict[str, Any]:
        recipient = int((call.body or {}).get("recipient_id", 0))
        if recipient not in self.users:
            raise err.unknown_user()
        return self._dm_channel(self.users[recipient]).payload()

    # ----------------------------------------------------------------- REST: application commands

    async def _list_commands(self, call: _Call, app: int, guild: int | None = None) -> list[dict[str, Any]]:
        self._require_guild(guild)
        return self.commands.list(guild)

    async def _overwrite_commands(self, call: _Call, app: int, guild: int | None = None) -> list[dict[str, Any]]:
        self._require_guild(guild)
        errors = FormErrors()
        validate_commands(call.body, errors)
        errors.raise_if_any()
        return self.commands.overwrite(guild, call.body)

    async def _upsert_command(self, call: _Call, app: int, guild: int | None = None) -> dict[str, Any]:
        self._require_guild(guild)
        errors = FormErrors()
        validate_command(call.body or {}, errors)
        errors.raise_if_any()
        stored, _created = self.commands.upsert(guild, call.body)
        return stored

    async def _get_command(self, call: _Call, app: int, command: int, guild: int | None = None) -> dict[str, Any]:
        self._require_guild(guild)
        return self.commands.get(guild, command)

    async def _delete_command(self, call: _Call, app: int, command: int, guild: int | None = None) -> None:
        self._require_guild(guild)
        self.commands.delete(guild, command)

    # ----------------------------------------------------------------- REST: interaction responses

    async def _interaction_callback(self, call: _Call, interaction: int, token: str) -> dict[str, Any] | None:
        now = time.perf_counter()
        record = self.interactions.get(interaction)
        if record is None or record.token != token:
            raise err.unknown_interaction()
        call.interaction = record
        if record.acknowledged:
            raise err.already_acknowledged()
        if now - record.dispatched_at > self.response_window:
            raise err.unknown_interaction()
        body = call.body or {}
        callback: int = body.get("type", -1)  # checked against ALLOWED_CALLBACKS below
        data = body.get("data") or {}
        errors = FormErrors()
        allowed = ALLOWED_CALLBACKS[record.type]
        if record.source_message_id is None:
            allowed -= {UPDATE, DEFERRED_UPDATE}  # only interactions that come from a message can update it
        if callback not in allowed:
            errors.add(("type",), "INTERACTION_RESPONSE_TYPE_INVALID", f"Value must be one of {sorted(allowed)}.")
        elif callback in (REPLY, UPDATE):
            validate_message(data, errors, ("data",))
        elif callback == AUTOCOMPLETE_RESULT:
            validate_autocomplete(data, errors)
        elif callback == MODAL:
            validate_modal(data, errors)
        errors.raise_if_any()
        if callback == REPLY and not has_message_body(data, len(call.files)):
            raise err.empty_message()
        if callback == UPDATE and self._message(record.source_message_id).deleted:
            raise err.unknown_message()

        message: RecordedMessage | None = None
        if callback == REPLY:
            message = self._new_message(record, data, call.files, flags=data.get("flags") or 0)
        elif callback == DEFER:
            loading = FLAG_LOADING | ((data.get("flags") or 0) & FLAG_EPHEMERAL)
            message = self._new_message(record, {}, [], flags=loading)
            record.loading_unresolved = True
        elif callback == UPDATE:
            message = self._edit(self._message(record.source_message_id), data, call.files)
        if callback in (REPLY, DEFER):
            assert message is not None
            record.original_message_id = message.id
        elif callback in (UPDATE, DEFERRED_UPDATE):
            record.original_message_id = record.source_message_id
        record.modal_open = callback == MODAL
        record.callback_type = callback
        record.record(RecordedResponse(CALLBACK_KINDS[callback], body, now, message.snapshot() if message else None))
        if not call.flag("with_response"):
            return None
        summary: dict[str, Any] = {"id": str(record.id), "type": record.type}
        response: dict[str, Any] = {"interaction": summary}
        if message is not None:
            summary |= {
                "response_message_id": str(message.id),
                "response_message_loading": message.loading,
                "response_message_ephemeral": message.ephemeral,
            }
            response["resource"] = {"type": callback, "message": self._message_payload(message)}
        return response

    def _interaction_by_token(self, call: _Call, token: str) -> InteractionRecord:
        record = next((r for r in self.interactions.values() if r.token == token), None)
        if record is None:
            raise err.unknown_webhook()
        call.interaction = record
        if time.perf_counter() - record.dispatched_at > self.token_lifetime:
            raise DiscordAPIError(401, 50027, "Invalid Webhook Token")
        if not record.acknowledged:
            # The interaction's webhook only exists once the interaction has been answered.
            raise err.unknown_webhook()
        return record

    def _interaction_message(self, record: InteractionRecord, message: str) -> RecordedMessage:
        message_id = record.original_message_id if message == "@original" else int(message)
        live = self.messages.get(message_id or 0)
        if live is None or live.deleted:
            raise err.unknown_message()
        if message != "@original" and live.interaction_id != record.id and message_id != record.original_message_id:
            raise err.unknown_message()
        return live

    async def _followup(self, call: _Call, app: int, token: str) -> dict[str, Any]:
        record = self._interaction_by_token(call, token)
        data = call.body or {}
        errors = FormErrors()
        validate_message(data, errors)
        errors.raise_if_any()
        if not has_message_body(data, len(call.files)):
            raise err.empty_message()
        if record.loading_unresolved:
            # "If you send a followup without resolving the loading state, we interpret your followup as you
            # resolving the loading state" (Discord): it edits the placeholder, keeping the defer's
            # ephemerality whatever flags the follow-up asks for.
            message = self._edit(self._message(record.original_message_id), data, call.files, resolve=True)
            record.loading_unresolved = False
        else:
            message = self._new_message(record, data, call.files, flags=data.get("flags") or 0, followup=True)
        record.record(RecordedResponse("followup", data, time.perf_counter(), message.snapshot()))
        return self._message_payload(message)

    async def _get_webhook_message(self, call: _Call, app: int, token: str, message: str) -> dict[str, Any]:
        record = self._interaction_by_token(call, token)
        return self._message_payload(self._interaction_message(record, message))

    async def _edit_webhook_message(self, call: _Call, app: int, token: str, message: str) -> dict[str, Any]:
        record = self._interaction_by_token(call, token)
        target = self._interaction_message(record, message)
        data = call.body or {}
        errors = FormErrors()
        validate_message(data, errors)
        errors.raise_if_any()
        original = target.id == record.original_message_id
        edited = self._edit(target, data, call.files, resolve=original and record.loading_unresolved)
        if original:
            record.loading_unresolved = False
        kind = "edit_original" if original else "edit_followup"
        record.record(RecordedResponse(kind, data, time.perf_counter(), edited.snapshot()))
        return self._message_payload(edited)

    async def _delete_webhook_message(self, call: _Call, app: int, token: str, message: str) -> None:
        record = self._interaction_by_token(call, token)
        target = self._interaction_message(record, message)
        target.deleted = True
        kind = "delete_original" if target.id == record.original_message_id else "delete_followup"
        record.record(RecordedResponse(kind, {}, time.perf_counter(), target.snapshot()))

    # ----------------------------------------------------------------- REST: channels and messages

    async def _get_channel(self, call: _Call, channel: int) -> dict[str, Any]:
        return self._channel(channel).payload()

    async def _typing(self, call: _Call, channel: int) -> None:
        self._check_can_send(self._channel(channel))

    async def _create_message(self, call: _Call, channel: int) -> dict[str, Any]:
        target = self._channel(channel)
        data = call.body or {}
        errors = FormErrors()
        validate_message(data, errors)
        nonce = data.get("nonce")
        if nonce is not None and len(str(nonce)) > 25:
            errors.max_length(("nonce",), 25)
        errors.raise_if_any()
        if not has_message_body(data, len(call.files)):
            raise err.empty_message()
        self._check_can_send(target)
        key = (target.id, str(nonce))
        if nonce is not None and data.get("enforce_nonce"):
            seen = self._nonces.get(key)
            if seen is not None and time.monotonic() - seen[0] < self.nonce_window:
                return self._message_payload(self.messages[seen[1]])
        message = self._store_message(
            target, data, call.files, flags=(data.get("flags") or 0) & SETTABLE_FLAGS, author_id=self.bot_user.id
        )
        if nonce is not None:
            self._nonces[key] = (time.monotonic(), message.id)
        return self._message_payload(message)

    async def _get_channel_message(self, call: _Call, channel: int, message: str) -> dict[str, Any]:
        return self._message_payload(self._channel_message(channel, message))

    async def _edit_channel_message(self, call: _Call, channel: int, message: str) -> dict[str, Any]:
        target = self._channel_message(channel, message)
        if target.author_id != self.bot_user.id:
            raise err.cannot_edit_others_message()
        errors = FormErrors()
        validate_message(call.body or {}, errors)
        errors.raise_if_any()
        return self._message_payload(self._edit(target, call.body or {}, call.files))

    async def _delete_channel_message(self, call: _Call, channel: int, message: str) -> None:
        self._channel_message(channel, message).deleted = True

    def _channel_message(self, channel_id: int, message: str) -> RecordedMessage:
        self._channel(channel_id)
        live = self.messages.get(int(message)) if message.isdigit() else None
        if live is None or live.deleted or live.channel_id != channel_id or live.ephemeral:
            raise err.unknown_message()
        return live

    def _check_can_send(self, channel: FakeChannel) -> None:
        if channel.type == CHANNEL_DM:
            recipient = channel.recipient
            assert recipient is not None
            shared = [g.members[recipient.id] for g in self.guilds.values() if recipient.id in g.members]
            if recipient.bot or not any(member.dms_open for member in shared):
                raise err.cannot_message_user()
            return
        guild = self.guilds[channel.guild_id or 0]
        held = guild.permissions_of(guild.bot_member)
        if not held & VIEW_CHANNEL:
            raise err.missing_access()
        if not held & SEND_MESSAGES:
            raise err.missing_permissions()

    # ----------------------------------------------------------------- REST: guilds, members, roles

    async def _get_guild(self, call: _Call, guild: int) -> dict[str, Any]:
        payload = self._guild(guild).payload(intents=0, bot_joined_at=self._guild(guild).bot_member.joined_at)
        keep = ("members", "channels", "threads", "presences", "voice_states", "joined_at", "large", "member_count")
        return {k: v for k, v in payload.items() if k not in keep}

    async def _get_roles(self, call: _Call, guild: int) -> list[dict[str, Any]]:
        return [role.payload() for role in self._guild(guild).roles.values()]

    async def _get_guild_channels(self, call: _Call, guild: int) -> list[dict[str, Any]]:
        return [channel.payload() for channel in self._guild(guild).channels.values()]

    async def _list_members(self, call: _Call, guild: int) -> list[dict[str, Any]]:
        limit = min(int(call.query.get("limit", 1)), 1000)
        after = int(call.query.get("after", 0))
        members = sorted((m for m in self._guild(guild).members.values() if m.id > after), key=lambda m: m.id)
        return [member.payload() for member in members[:limit]]

    async def _get_member(self, call: _Call, guild: int, user: int) -> dict[str, Any]:
        return self._member_or_404(self._guild(guild), user).payload()

    async def _add_role(self, call: _Call, guild: int, user: int, role: int) -> None:
        self._change_role(call, guild, user, role, added=True)

    async def _remove_role(self, call: _Call, guild: int, user: int, role: int) -> None:
        self._change_role(call, guild, user, role, added=False)

    async def _edit_member(self, call: _Call, guild: int, user: int) -> dict[str, Any]:
        """Only ``roles`` (the complete new set) and ``nick`` are understood; other fields are refused loudly."""
        body = call.body or {}
        unsupported = set(body) - {"roles", "nick"}
        if unsupported:
            raise DiscordAPIError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "standin": {
                        "_errors": [
                            {
                                "code": "STANDIN_UNSUPPORTED",
                                "message": f"the stand-in cannot edit {sorted(unsupported)}",
                            }
                        ]
                    }
                },
            )
        target_guild = self._guild(guild)
        member = self._member_or_404(target_guild, user)
        if "roles" in body:
            wanted = [int(r) for r in body["roles"] or []]
            for role_id in wanted:
                if role_id not in target_guild.roles:
                    raise err.unknown_role()
            changes = [(r, True) for r in wanted if r not in member.roles]
            changes += [(r, False) for r in member.roles if r not in wanted]
            for role_id, _added in changes:
                self._check_can_assign(target_guild, target_guild.roles[role_id])
            for role_id, added in changes:
                self.role_changes.append(RoleChange(guild, user, role_id, added, call.reason))
            member.roles = wanted
        if "nick" in body:
            member.nick = body["nick"] or None
        self._emit("GUILD_MEMBER_UPDATE", {"guild_id": str(guild), **member.payload()})
        return member.payload()

    def _change_role(self, call: _Call, guild_id: int, user_id: int, role_id: int, *, added: bool) -> None:
        guild = self._guild(guild_id)
        member = self._member_or_404(guild, user_id)
        role = guild.roles.get(role_id)
        if role is None:
            raise err.unknown_role()
        self._check_can_assign(guild, role)
        self.role_changes.append(RoleChange(guild_id, user_id, role_id, added, call.reason))
        if added == (role_id in member.roles):
            return
        if added:
            member.roles.append(role_id)
        else:
            member.roles.remove(role_id)
        self._emit("GUILD_MEMBER_UPDATE", {"guild_id": str(guild_id), **member.payload()})

    @staticmethod
    def _check_can_assign(guild: FakeGuild, role: FakeRole) -> None:
        """Discord's role hierarchy: the bot needs Manage Roles, and may only hand out or take away roles
        below its own highest one; managed roles and @everyone are never assignable."""
        bot = guild.bot_member
        if not guild.permissions_of(bot) & (MANAGE_ROLES | ADMINISTRATOR) or role.managed or role is guild.everyone:
            raise err.missing_permissions()
        if role.position >= guild.top_position(bot) and bot.id != guild.owner_id:
            raise err.missing_permissions()

    # ----------------------------------------------------------------- lookups

    def _guild(self, guild_id: int) -> FakeGuild:
        if guild_id not in self.guilds:
            raise err.unknown_guild()
        return self.guilds[guild_id]

    def _require_guild(self, guild_id: int | None) -> None:
        if guild_id is not None and guild_id not in self.guilds:
            # Discord answers 403 Missing Access when the application is not in (or not authorised for) the guild.
            raise err.missing_access()

    def _member(self, guild: FakeGuild, user_id: int) -> FakeMember:
        if user_id not in guild.members:
            raise ValueError(f"user {user_id} is not a member of guild {guild.id}; add_member them first")
        return guild.members[user_id]

    def _member_or_404(self, guild: FakeGuild, user_id: int) -> FakeMember:
        if user_id not in guild.members:
            raise err.unknown_member() if user_id in self.users else err.unknown_user()
        return guild.members[user_id]

    def _channel(self, channel_id: int) -> FakeChannel:
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        for channel in self.dm_channels.values():
            if channel.id == channel_id:
                return channel
        raise err.unknown_channel()

    def _guild_of(self, channel_id: int) -> FakeGuild | None:
        guild_id = self._channel(channel_id).guild_id
        return self.guilds[guild_id] if guild_id is not None else None

    def _dm_channel(self, user: FakeUser) -> FakeChannel:
        if user.id not in self.dm_channels:
            self.dm_channels[user.id] = FakeChannel(self.new_id(), "", type=CHANNEL_DM, recipient=user)
        return self.dm_channels[user.id]

    # ----------------------------------------------------------------- messages

    def _new_message(
        self,
        record: InteractionRecord,
        data: dict[str, Any],
        files: list[RecordedAttachment],
        *,
        flags: int,
        followup: bool = False,
    ) -> RecordedMessage:
        channel = self._channel(int(record.payload["channel"]["id"]))
        message_type = MESSAGE_TYPE_CHAT_INPUT_COMMAND
        if followup or record.type != APPLICATION_COMMAND:
            message_type = MESSAGE_TYPE_DEFAULT
        flags &= SETTABLE_FLAGS | FLAG_EPHEMERAL | FLAG_LOADING
        message = self._store_message(channel, data, files, flags=flags, author_id=self.bot_user.id)
        message.interaction_id = record.id
        message.message_type = message_type
        return message

    def _store_message(
        self,
        channel: FakeChannel,
        data: dict[str, Any],
        files: list[RecordedAttachment],
        *,
        flags: int,
        author_id: int,
    ) -> RecordedMessage:
        message = RecordedMessage(
            id=self.new_id(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=data.get("content") or "",
            embeds=list(data.get("embeds") or []),
            components=list(data.get("components") or []),
            flags=flags,
            allowed_mentions=data.get("allowed_mentions"),
            nonce=data.get("nonce"),
            created_at=datetime.now(UTC),
            attachments=_attachments(data, files, []),
            tts=bool(data.get("tts")),
        )
        self.messages[message.id] = message
        return message

    def _edit(
        self, message: RecordedMessage, data: dict[str, Any], files: list[RecordedAttachment], *, resolve: bool = False
    ) -> RecordedMessage:
        """PATCH semantics: fields present replace, absent ones stay. Resolving a deferred placeholder clears
        its loading state and keeps the ephemerality chosen when deferring."""
        message.history.append(message.snapshot())
        if "content" in data:
            message.content = data["content"] or ""
        if "embeds" in data:
            message.embeds = list(data["embeds"] or [])
        if "components" in data:
            message.components = list(data["components"] or [])
        if "allowed_mentions" in data:
            message.allowed_mentions = data["allowed_mentions"]
        if "attachments" in data or files:
            message.attachments = _attachments(data, files, message.attachments)
        if data.get("flags") is not None:
            message.flags = (message.flags & ~SETTABLE_FLAGS) | (data["flags"] & SETTABLE_FLAGS)
        if resolve:
            message.flags &= ~FLAG_LOADING
        else:
            message.edited_at = datetime.now(UTC)
        return message

    def _message_payload(self, message: RecordedMessage) -> dict[str, Any]:
        author = self.users.get(message.author_id) or self.bot_user
        payload: dict[str, Any] = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "type": message.message_type,
            "content": message.content,
            "author": author.payload(),
            "attachments": [_attachment_payload(message.channel_id, a) for a in message.attachments],
            "embeds": [{"type": "rich"} | embed for embed in message.embeds],
            "components": message.components,
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": message.tts,
            "timestamp": iso(message.created_at),
            "edited_timestamp": iso(message.edited_at) if message.edited_at else None,
            "flags": message.flags,
        }
        if message.nonce is not None:
            payload["nonce"] = message.nonce
        if message.interaction_id is not None:
            record = self.interactions[message.interaction_id]
            metadata: dict[str, Any] = {
                "id": str(record.id),
                "type": record.type,
                "user": self.users[record.user_id].payload(),
                "authorizing_integration_owners": record.payload["authorizing_integration_owners"],
            }
            if record.type == APPLICATION_COMMAND:
                metadata["name"] = record.payload["data"]["name"]
            if record.original_message_id not in (None, message.id):
                metadata["original_response_message_id"] = str(record.original_message_id)
            if record.source_message_id is not None:
                metadata["interacted_message_id"] = str(record.source_message_id)
            payload |= {
                "webhook_id": str(self.application_id),
                "application_id": str(self.application_id),
                "interaction_metadata": metadata,
            }
        return payload


def _json(body: Any, status: int = 200) -> web.Response:
    # Exactly "application/json", as Discord sends it: discord.py's json_or_text compares the header verbatim
    # and treats "application/json; charset=utf-8" (aiohttp's json_response) as plain text.
    return web.Response(body=json.dumps(body).encode(), status=status, headers={"Content-Type": "application/json"})


def _int_or_none(value: Any) -> int | None:
    return int(value) if value is not None else None


def _attachments(
    data: dict[str, Any], files: list[RecordedAttachment], existing: list[RecordedAttachment]
) -> list[RecordedAttachment]:
    """Uploaded files, described by ``data["attachments"]`` entries whose ``id`` is the file's index;
    entries naming an existing attachment's id keep it (how edits retain attachments)."""
    kept_ids = {int(a["id"]) for a in data.get("attachments") or [] if "id" in a}
    kept = [a for a in existing if a.id in kept_ids]
    described = {int(a["id"]): a for a in data.get("attachments") or [] if "id" in a}
    for index, upload in enumerate(files):
        upload.description = described.get(index, {}).get("description")
    return kept + files


def _attachment_payload(channel_id: int, attachment: RecordedAttachment) -> dict[str, Any]:
    url = f"https://cdn.discordapp.com/attachments/{channel_id}/{attachment.id}/{attachment.filename}"
    payload: dict[str, Any] = {
        "id": str(attachment.id),
        "filename": attachment.filename,
        "size": len(attachment.content),
        "url": url,
        "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
    }
    if attachment.content_type:
        payload["content_type"] = attachment.content_type
    if attachment.description:
        payload["description"] = attachment.description
    return payload
