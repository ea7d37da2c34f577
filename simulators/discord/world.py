"""The demo server the Discord stand-in serves to `python bot.py --demo` and `python -m simulators discord`.

One place holds its ids, so the `.env` lines the simulator prints and the world the demo builds name the same
roles, channels and members.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulators.discord.models import FakeGuild
from simulators.discord.server import DiscordStandIn

TOKEN = "demo-bot-token"
GUILD = 7_200_000_000_000_000_001
GENERAL = 7_200_000_000_000_000_002
AUDIT_CHANNEL = 7_200_000_000_000_000_003
LINK_REQUESTS = 7_200_000_000_000_000_004
ADMIN_ROLE = 7_200_000_000_000_000_010
STAFF_ROLE = 7_200_000_000_000_000_011
LINKED_ROLE = 7_200_000_000_000_000_012
MANAGE_GUILD = 1 << 5


@dataclass(frozen=True)
class DemoMember:
    """Who can type at the demo's prompt: `as admin` switches to the member whose `role` is admin."""

    role: str
    name: str
    id: int


MEMBERS = (
    DemoMember("admin", "alice", 7_200_000_000_000_000_100),
    DemoMember("staff", "sam", 7_200_000_000_000_000_101),
    DemoMember("member", "bob", 7_200_000_000_000_000_102),
)


def seed_demo_guild(standin: DiscordStandIn) -> FakeGuild:
    """Add the demo server: roles admin and staff (both may see staff commands, as Manage Server holders do),
    a general, an audit and a link-requests channel, a Linked role, and the three members of `MEMBERS`."""
    guild = standin.add_guild(GUILD, "Panel Desk demo")
    guild.add_role(ADMIN_ROLE, "Admin", permissions=MANAGE_GUILD)
    guild.add_role(STAFF_ROLE, "Staff", permissions=MANAGE_GUILD)
    guild.add_role(LINKED_ROLE, "Linked")
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
