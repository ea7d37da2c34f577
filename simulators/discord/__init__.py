"""A Discord stand-in for offline end-to-end tests: REST API v10 and gateway on one loopback server."""

from simulators.discord.errors import DiscordAPIError
from simulators.discord.models import (
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    snowflake_at,
    snowflake_time,
)
from simulators.discord.records import (
    ErrorResponse,
    InteractionRecord,
    RecordedAttachment,
    RecordedMessage,
    RecordedResponse,
    RoleChange,
)
from simulators.discord.server import DiscordStandIn

__all__ = [
    "DiscordAPIError",
    "DiscordStandIn",
    "ErrorResponse",
    "FakeChannel",
    "FakeGuild",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "InteractionRecord",
    "RecordedAttachment",
    "RecordedMessage",
    "RecordedResponse",
    "RoleChange",
    "snowflake_at",
    "snowflake_time",
]
