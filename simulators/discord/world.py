"""The demo server the Discord stand-in serves to `python bot.py --demo` and `python -m simulators discord`.

One place holds its ids, so the `.env` lines the simulator prints and the world the demo builds name the same
roles, channels and members.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from simulators.discord.models import FakeGuild, snowflake_at
from simulators.discord.server import DiscordStandIn

TOKEN = "demo-bot-token"
GUILD = 7_200_000_000_000_000_001
GENERAL = 7_200_000_000_000_000_002
AUDIT_CHANNEL = 7_200_000_000_000_000_003
LINK_REQUESTS = 7_200_000_000_000_000_004
ADMIN_ROLE = 7_200_000_000_000_000_010
STAFF_ROLE = 7_200_000_000_000_000_011
LINKED_ROLE = 7_200_000_000_000_000_012
CUSTOMER_ROLE = 7_200_000_000_000_000_013  # the demo's role rules: credits on billing, and a suspended account
SUSPENDED_ROLE = 7_200_000_000_000_000_014
MANAGE_GUILD = 1 << 5


@dataclass(frozen=True)
class DemoMember:
    """Who can type at the demo's prompt: `as admin` switches to the member whose `role` is admin."""

    role: str
    name: str
    id: int


# Ids made at a plausible moment: Discord encodes an account's creation time in its id, and the bot shows it
# (link requests) and may refuse young accounts (MIN_ACCOUNT_AGE_DAYS).
_JOINED_DISCORD = datetime(2021, 3, 14, 12, 0, tzinfo=UTC)
MEMBERS = (
    DemoMember("admin", "alice", snowflake_at(_JOINED_DISCORD, 1)),
    DemoMember("staff", "sam", snowflake_at(_JOINED_DISCORD, 2)),
    DemoMember("member", "bob", snowflake_at(_JOINED_DISCORD, 3)),
)


def seed_demo_guild(standin: DiscordStandIn) -> FakeGuild:
    """Add the demo server: roles admin and staff (both may see staff commands, as Manage Server holders do),
    a general, an audit and a link-requests channel, the Linked, Customer and Suspended roles, and the three
    members of `MEMBERS`."""
    guild = standin.add_guild(GUILD, "Panel Desk demo")
    guild.add_role(ADMIN_ROLE, "Admin", permissions=MANAGE_GUILD)
    guild.add_role(STAFF_ROLE, "Staff", permissions=MANAGE_GUILD)
    guild.add_role(LINKED_ROLE, "Linked")
    guild.add_role(CUSTOMER_ROLE, "Customer")
    guild.add_role(SUSPENDED_ROLE, "Suspended")
    guild.add_channel(GENERAL, "general")
    guild.add_channel(AUDIT_CHANNEL, "audit")
    guild.add_channel(LINK_REQUESTS, "link-requests")
    roles = {"admin": [ADMIN_ROLE], "staff": [STAFF_ROLE], "member": []}
    for member in MEMBERS:
        guild.add_member(member.id, member.name, roles=roles[member.role])
    return guild


def bot_settings(standin: DiscordStandIn) -> dict[str, Any]:
    """The Discord half of the bot's settings for this server, as `Settings` keyword arguments."""
    return {
        "discord_token": TOKEN,
        "discord_api_base": standin.api_base,
        "discord_gateway_url": standin.gateway_url,
        "guild_ids": [GUILD],
        "admin_role_ids": [ADMIN_ROLE],
        "staff_role_ids": [STAFF_ROLE],
        "audit_channel_id": AUDIT_CHANNEL,
        "link_requests_channel_id": LINK_REQUESTS,
        "linked_role_id": LINKED_ROLE,
    }


async def serve(host: str, port: int) -> None:
    """`python -m simulators discord`: the stand-in with the demo server, until cancelled, after printing the
    `.env` lines that point a bot at it (run the bot with them, then drive it from tests or `send_raw`)."""
    standin = DiscordStandIn(token=TOKEN)
    await standin.start(host, port)
    try:
        seed_demo_guild(standin)
        settings = bot_settings(standin)
        print(f"Discord stand-in on {standin.api_base.removesuffix('/api/v10')} with the server 'Panel Desk demo'")
        print("Settings: " + " ".join(f"{name.upper()}={_env_value(value)}" for name, value in settings.items()))
        for member in MEMBERS:
            print(f"Member {member.name} ({member.role}): id {member.id}")
        print("Press Ctrl-C to stop.", flush=True)
        await asyncio.Event().wait()
    finally:
        await standin.close()


def _env_value(value: Any) -> str:
    """As `.env` takes it: id lists as JSON (`[1, 2]` without spaces, so the line splits on spaces)."""
    return "[" + ",".join(map(str, value)) + "]" if isinstance(value, list) else str(value)
