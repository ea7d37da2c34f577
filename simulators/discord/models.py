"""The stand-in's world: users, guilds, roles, channels and members, and their JSON as Discord sends it."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions), only those the stand-in reasons about.
ADMINISTRATOR = 1 << 3
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_DEFAULT_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | EMBED_LINKS | ATTACH_FILES | ADD_REACTIONS
) | USE_APPLICATION_COMMANDS
# What a typical "invite with these permissions" link grants a panel bot: no administrator.
BOT_DEFAULT_PERMISSIONS = EVERYONE_DEFAULT_PERMISSIONS | USE_EXTERNAL_EMOJIS | MANAGE_ROLES

# Gateway intents the stand-in honours when deciding what to send.
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8

CHANNEL_GUILD_TEXT = 0
CHANNEL_DM = 1


def snowflake_at(moment: datetime, increment: int = 0) -> int:
    """A snowflake whose embedded time is ``moment`` (discord.py derives ``created_at`` from ids)."""
    ms = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
    if ms < 0:
        raise ValueError("Discord snowflakes cannot predate 2015-01-01")
    return (ms << 22) | (increment & 0xFFF)


def snowflake_time(snowflake: int) -> datetime:
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat()


class SnowflakeFactory:
    """Fresh ids stamped with the current time, strictly increasing like Discord's."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._last = 0

    def __call__(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22 | (1 << 17) | (next(self._counter) & 0xFFF)
        self._last = max(candidate, self._last + 1)
        return self._last


@dataclass
class FakeUser:
    id: int
    name: str
    bot: bool = False
    global_name: str | None = None
    # The language of this user's Discord client: each interaction they make carries it as `locale`.
    locale: str = "en-US"

    @property
    def created_at(self) -> datetime:
        return snowflake_time(self.id)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "public_flags": 0,
            "flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class FakeRole:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    bot_id: int | None = None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class FakeChannel:
    id: int
    name: str
    guild_id: int | None = None
    type: int = CHANNEL_GUILD_TEXT
    position: int = 0
    recipient: FakeUser | None = None

    def payload(self) -> dict[str, Any]:
        if self.type == CHANNEL_DM:
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": CHANNEL_DM,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self.recipient.payload()],
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": 0,
        }


@dataclass
class FakeMember:
    user: FakeUser
    guild: FakeGuild
    roles: list[int] = field(default_factory=list)
    joined_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    nick: str | None = None
    # Discord's "Allow direct messages from server members" is a per-server privacy setting.
    dms_open: bool = True

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def permissions(self) -> int:
        return self.guild.permissions_of(self)

    def payload(self, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(role_id) for role_id in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
            "unusual_dm_activity_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data


Emit = Callable[[str, dict[str, Any]], None]


class FakeGuild:
    """A guild as the bot sees it. Changes made after the bot connected are announced over the gateway."""

    def __init__(
        self,
        guild_id: int,
        name: str,
        *,
        bot_user: FakeUser,
        users: dict[int, FakeUser],
        new_id: Callable[[], int],
        emit: Emit,
        owner_id: int | None = None,
    ) -> None:
        self.id = guild_id
        self.name = name
        self.owner_id = owner_id if owner_id is not None else new_id()
        # The server's primary language (Community settings): `preferred_locale`, and each interaction's
        # `guild_locale`.
        self.preferred_locale = "en-US"
        self.roles: dict[int, FakeRole] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.members: dict[int, FakeMember] = {}
        self._users = users
        self._emit = emit
        self.everyone = self._put_role(FakeRole(guild_id, guild_id, "@everyone", EVERYONE_DEFAULT_PERMISSIONS, 0))
        # Discord creates a managed role for a bot invited with permissions; it sits at the top by default.
        self.bot_role = self._put_role(
            FakeRole(new_id(), guild_id, bot_user.name, BOT_DEFAULT_PERMISSIONS, 100, managed=True, bot_id=bot_user.id)
        )
        self.bot_member = self._put_member(
            FakeMember(bot_user, self, [self.bot_role.id], joined_at=datetime.now(UTC) - timedelta(days=1))
        )

    def add_role(self, role_id: int, name: str, permissions: int = 0, *, position: int | None = None) -> FakeRole:
        if position is None:
            position = 1 + max((r.position for r in self.roles.values() if r is not self.bot_role), default=0)
        role = self._put_role(FakeRole(role_id, self.id, name, permissions, position))
        self._emit("GUILD_ROLE_CREATE", {"guild_id": str(self.id), "role": role.payload()})
        return role

    def delete_role(self, role_id: int) -> FakeRole:
        """Delete a role, as a server admin does in Discord's client: it leaves the guild and every member who
        held it. Discord announces only GUILD_ROLE_DELETE, no GUILD_MEMBER_UPDATE per holder (discord.py drops
        the role from the guild and members' ``roles`` skip ids the guild no longer has)."""
        role = self.roles.get(role_id)
        if role is None:
            raise ValueError(f"role {role_id} is not in guild {self.id}")
        if role is self.everyone or role.managed:
            raise ValueError(f"role {role.name!r} cannot be deleted: Discord refuses @everyone and managed roles")
        del self.roles[role_id]
        for member in self.members.values():
            if role_id in member.roles:
                member.roles.remove(role_id)
        self._emit("GUILD_ROLE_DELETE", {"guild_id": str(self.id), "role_id": str(role_id)})
        return role

    def add_channel(self, channel_id: int, name: str) -> FakeChannel:
        channel = FakeChannel(channel_id, name, guild_id=self.id, position=len(self.channels))
        self.channels[channel_id] = channel
        self._emit("CHANNEL_CREATE", channel.payload())
        return channel

    def add_member(
        self,
        user_id: int,
        name: str,
        *,
        roles: list[int] | tuple[int, ...] = (),
        dms_open: bool = True,
        created_at: datetime | None = None,
        bot: bool = False,
        joined_at: datetime | None = None,
        nick: str | None = None,
    ) -> FakeMember:
        """Add a member. ``created_at`` is the account's age, which Discord encodes in the id itself:
        pass an id made with :func:`snowflake_at` and it is checked to agree."""
        if created_at is not None and abs((snowflake_time(user_id) - created_at).total_seconds()) > 1:
            raise ValueError(
                f"user {user_id} was created at {snowflake_time(user_id):%Y-%m-%d} by its id; "
                f"use snowflake_at({created_at!r}) as the id to get an account of that age"
            )
        for role_id in roles:
            if role_id not in self.roles:
                raise ValueError(f"role {role_id} is not in guild {self.id}; add_role it first")
        user = self._users.setdefault(user_id, FakeUser(user_id, name, bot=bot))
        member = FakeMember(
            user,
            self,
            list(roles),
            joined_at=joined_at or max(user.created_at + timedelta(days=1), datetime(2024, 1, 1, tzinfo=UTC)),
            nick=nick,
            dms_open=dms_open,
        )
        self._put_member(member)
        self._emit("GUILD_MEMBER_ADD", {"guild_id": str(self.id), **member.payload()})
        return member

    def remove_member(self, user_id: int) -> None:
        member = self.members.pop(user_id)
        self._emit("GUILD_MEMBER_REMOVE", {"guild_id": str(self.id), "user": member.user.payload()})

    def member(self, user_id: int) -> FakeMember:
        return self.members[user_id]

    def permissions_of(self, member: FakeMember) -> int:
        if member.id == self.owner_id:
            return ALL_PERMISSIONS
        value = self.everyone.permissions
        for role_id in member.roles:
            value |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def top_position(self, member: FakeMember) -> int:
        return max((self.roles[r].position for r in member.roles), default=0)

    def payload(self, *, intents: int, bot_joined_at: datetime) -> dict[str, Any]:
        """GUILD_CREATE. Without GUILD_PRESENCES Discord lists only the bot itself (and voice users) in
        ``members``; discord.py then asks for the rest with REQUEST_GUILD_MEMBERS if it has GUILD_MEMBERS."""
        members = list(self.members.values()) if intents & INTENT_GUILD_PRESENCES else [self.bot_member]
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": self.preferred_locale,
            "features": [],
            "roles": [role.payload() for role in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "application_id": None,
            "vanity_url_code": None,
            "max_members": 500000,
            "joined_at": iso(bot_joined_at),
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "members": [member.payload() for member in members],
            # Channels inside GUILD_CREATE carry no guild_id of their own.
            "channels": [_without(channel.payload(), "guild_id") for channel in self.channels.values()],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _put_role(self, role: FakeRole) -> FakeRole:
        self.roles[role.id] = role
        return role

    def _put_member(self, member: FakeMember) -> FakeMember:
        self.members[member.id] = member
        return member


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}
