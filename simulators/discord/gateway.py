"""One bot connection to the stand-in's gateway: HELLO, heartbeats, IDENTIFY → READY + GUILD_CREATE, and
the dispatches that follow. Frames are uncompressed JSON text: discord.py asks for ``compress=zlib-stream``
but only inflates *binary* frames (``DiscordWebSocket.received_message``), so text frames are read as-is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from simulators.discord.server import DiscordStandIn

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
RESUME, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 8, 9, 10, 11

CLOSE_UNKNOWN_OPCODE, CLOSE_DECODE_ERROR, CLOSE_NOT_AUTHENTICATED = 4001, 4002, 4003
CLOSE_AUTHENTICATION_FAILED, CLOSE_ALREADY_AUTHENTICATED, CLOSE_INVALID_API_VERSION = 4004, 4005, 4012

# The event a dispatch belongs to decides which intent the bot needs to receive it.
EVENT_INTENTS = {
    "GUILD_CREATE": 1 << 0,
    "GUILD_ROLE_CREATE": 1 << 0,
    "CHANNEL_CREATE": 1 << 0,
    "GUILD_MEMBER_ADD": 1 << 1,
    "GUILD_MEMBER_UPDATE": 1 << 1,
    "GUILD_MEMBER_REMOVE": 1 << 1,
}


class GatewaySession:
    def __init__(self, ws: web.WebSocketResponse, standin: DiscordStandIn) -> None:
        self.ws = ws
        self.standin = standin
        self.session_id = secrets.token_hex(16)
        self.identified = False
        self.ready = False  # READY and every GUILD_CREATE have been written
        self.intents = 0
        self.shard: tuple[int, int] = (0, 1)
        self.sequence = 0
        self._outbox: asyncio.Queue[str | asyncio.Event | None] = asyncio.Queue()
        self._finished = False

    async def run(self) -> None:
        writer = asyncio.create_task(self._write(), name="discord-standin-gateway-writer")
        try:
            self._send({"op": HELLO, "d": {"heartbeat_interval": int(self.standin.heartbeat_interval * 1000)}})
            async for message in self.ws:
                if message.type is not WSMsgType.TEXT:
                    break
                try:
                    frame = json.loads(message.data)
                except ValueError:
                    await self._close(CLOSE_DECODE_ERROR, "Error while decoding payload.")
                    break
                if not await self._handle(frame):
                    break
        finally:
            self._finished = True
            self._outbox.put_nowait(None)
            await writer

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Queue a DISPATCH if this connection is identified and its intents cover the event."""
        if not self.identified:
            return
        needed = EVENT_INTENTS.get(event, 0)
        if needed and not self.intents & needed:
            return
        if event.startswith("GUILD_") and "guild_id" in data and not self.serves(int(data["guild_id"])):
            return
        self.sequence += 1
        self._send({"op": DISPATCH, "t": event, "s": self.sequence, "d": data})

    def serves(self, guild_id: int) -> bool:
        shard_id, shard_count = self.shard
        return (guild_id >> 22) % shard_count == shard_id

    async def flushed(self) -> None:
        """Wait until everything queued so far has been written to the socket (or the connection ended)."""
        if self._finished:
            return
        done = asyncio.Event()
        self._outbox.put_nowait(done)
        await done.wait()

    def _send(self, frame: dict[str, Any]) -> None:
        self._outbox.put_nowait(json.dumps(frame))

    async def _write(self) -> None:
        while (item := await self._outbox.get()) is not None:
            if isinstance(item, asyncio.Event):
                item.set()
            elif not self.ws.closed:
                # The bot may hang up at any moment; keep draining so that flushed() never waits forever.
                with contextlib.suppress(ConnectionError):
                    await self.ws.send_str(item)

    async def _handle(self, frame: dict[str, Any]) -> bool:
        op, data = frame.get("op"), frame.get("d")
        if op == HEARTBEAT:
            self.standin.heartbeats += 1
            self._send({"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            return await self._identify(data or {})
        elif op == RESUME:
            # Sessions are not kept: the bot must IDENTIFY afresh, as after a real session expiry.
            self._send({"op": INVALID_SESSION, "d": False})
        elif not self.identified:
            await self._close(CLOSE_NOT_AUTHENTICATED, "Not authenticated.")
            return False
        elif op == REQUEST_GUILD_MEMBERS:
            self._members_chunk(data or {})
        elif op not in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
            await self._close(CLOSE_UNKNOWN_OPCODE, "Unknown opcode.")
            return False
        return True

    async def _identify(self, data: dict[str, Any]) -> bool:
        if self.identified:
            await self._close(CLOSE_ALREADY_AUTHENTICATED, "Already authenticated.")
            return False
        if data.get("token") != self.standin.token:
            await self._close(CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return False
        self.standin.identify_payloads.append(data)
        self.intents = int(data.get("intents", 0))
        if data.get("shard"):
            self.shard = (int(data["shard"][0]), int(data["shard"][1]))
        self.identified = True
        guilds = [g for g in self.standin.guilds.values() if self.serves(g.id)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": self.standin.bot_user.payload() | {"verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(guild.id), "unavailable": True} for guild in guilds],
            "session_id": self.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.standin.gateway_url,
            "application": {"id": str(self.standin.application_id), "flags": self.standin.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
            "_trace": ['["discord-standin",{"micros":0}]'],
        }
        if data.get("shard"):
            ready["shard"] = list(self.shard)
        self.dispatch("READY", ready)
        for guild in guilds:
            self.dispatch("GUILD_CREATE", guild.payload(intents=self.intents, bot_joined_at=guild.bot_member.joined_at))
        await self.flushed()
        self.ready = True
        self.standin.gateway_changed()
        return True

    def _members_chunk(self, data: dict[str, Any]) -> None:
        guild = self.standin.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        members = list(guild.members.values())
        user_ids = data.get("user_ids")
        not_found: list[str] = []
        if user_ids is not None:
            wanted = [int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])]
            not_found = [str(u) for u in wanted if u not in guild.members]
            members = [m for m in members if m.id in wanted]
        elif data.get("query"):
            query = str(data["query"]).lower()
            members = [m for m in members if m.user.name.lower().startswith(query)]
        if data.get("limit"):
            members = members[: int(data["limit"])]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [member.payload() for member in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": not_found,
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    async def _close(self, code: int, reason: str) -> None:
        self.standin.gateway_closes.append((code, reason))
        await self.flushed()
        await self.ws.close(code=code, message=reason.encode())
