"""How a panel account looks in Discord."""

from __future__ import annotations

from datetime import datetime

import discord

from panel_api import PanelClient, PanelUser

from .text import safe

FIELD_LABELS = {
    "email": "Email",
    "username": "Username",
    "first_name": "First name",
    "last_name": "Last name",
    "admin": "Admin",
    "language": "Language",
    "external_id": "External id",
    "password": "Password",
}


def timestamp(moment: datetime | None) -> str:
    return discord.utils.format_dt(moment, "f") if moment else "—"


def yes_no(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")


def show_value(name: str, value: object) -> str:
    if name == "password":
        return "changed"
    if isinstance(value, bool):
        return yes_no(value)
    return safe(value, limit=200) if value not in (None, "") else "—"


def user_embed(
    user: PanelUser,
    client: PanelClient,
    *,
    linked_member: int | None = None,
    title: str | None = None,
    colour: discord.Colour | None = None,
) -> discord.Embed:
    """Every field the panel has for this account; fields the panel kind lacks are left out, not shown empty."""
    embed = discord.Embed(
        title=title or safe(user.username, limit=256),
        colour=colour or (discord.Colour.red() if user.suspended else discord.Colour.blurple()),
    )
    embed.add_field(name="ID", value=safe(user.id))
    embed.add_field(name="Email", value=safe(user.email))
    embed.add_field(name="Admin", value=yes_no(user.admin))
    if user.full_name:
        embed.add_field(name="Name", value=safe(user.full_name))
    optional = [
        ("UUID", user.uuid),
        ("Language", user.language),
        ("Two-factor", None if user.two_factor is None else yes_no(user.two_factor)),
        ("External id", user.external_id),
        ("Role", user.role),
        ("Credits", None if user.credits is None else f"{user.credits:,.2f}"),
        ("Server limit", user.server_limit),
        ("Servers", user.servers_count),
        ("Suspended", None if user.suspended is None else yes_no(user.suspended)),
        ("Discord (on the panel)", None if user.discord_id is None else f"<@{user.discord_id}>"),
    ]
    for label, value in optional:
        if value is not None:
            embed.add_field(name=label, value=value if label.startswith("Discord") else safe(value))
    embed.add_field(name="Linked member", value=f"<@{linked_member}>" if linked_member else "not linked")
    embed.add_field(name="Created", value=timestamp(user.created_at))
    embed.add_field(name="Updated", value=timestamp(user.updated_at))
    embed.set_footer(text=f"{client.name} · {client.display_name}")
    return embed


def user_line(user: PanelUser) -> str:
    """One line of a user list."""
    parts = [f"`#{safe(user.id)}` **{safe(user.username, limit=64)}**", safe(user.email, limit=80)]
    if user.admin:
        parts.append("admin")
    if user.credits is not None:
        parts.append(f"{user.credits:,.2f} credits")
    if user.servers_count is not None:
        parts.append(f"{user.servers_count} servers")
    if user.suspended:
        parts.append("suspended")
    return " · ".join(parts)
