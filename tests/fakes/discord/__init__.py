"""A Discord stand-in for offline end-to-end tests: REST API v10 and gateway on one loopback server."""

from tests.fakes.discord.errors import DiscordAPIError
from tests.fakes.discord.models import (
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    snowflake_at,
    snowflake_time,
)
from tests.fakes.discord.records import (
    ErrorResponse,
    InteractionRecord,
    RecordedAttachment,
    RecordedMessage,
    RecordedResponse,
    RoleChange,
)
from tests.fakes.discord.server import DiscordStandIn

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
