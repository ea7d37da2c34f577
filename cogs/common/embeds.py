"""How a panel account looks in Discord."""

from __future__ import annotations

from datetime import datetime

import discord

from i18n import N_, _, number
from panel_api import PanelClient, PanelUser

from .text import safe

FIELD_LABELS = {
    "email": N_("Email"),
    "username": N_("Username"),
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "admin": N_("Admin"),
    "language": N_("Language"),
    "external_id": N_("External id"),
    "password": N_("Password"),
}


def timestamp(moment: datetime | None) -> str:
    return discord.utils.format_dt(moment, "f") if moment else "—"


def yes_no(value: bool | None) -> str:
    return "—" if value is None else (_("yes") if value else _("no"))


def show_value(name: str, value: object) -> str:
    if name == "password":
        return _("changed")
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
    embed.add_field(name=_("ID"), value=safe(user.id))
    embed.add_field(name=_("Email"), value=safe(user.email))
    embed.add_field(name=_("Admin"), value=yes_no(user.admin))
    if user.full_name:
        embed.add_field(name=_("Name"), value=safe(user.full_name))
    optional = [
        (_("UUID"), user.uuid),
        (_("Language"), user.language),
        (_("Two-factor"), None if user.two_factor is None else yes_no(user.two_factor)),
        (_("External id"), user.external_id),
        (_("Role"), user.role),
        (_("Credits"), None if user.credits is None else number(user.credits, fixed=True)),
        (_("Server limit"), user.server_limit),
        (_("Servers"), user.servers_count),
        (_("Suspended"), None if user.suspended is None else yes_no(user.suspended)),
    ]
    for label, value in optional:
        if value is not None:
            embed.add_field(name=label, value=safe(value))
    if user.discord_id is not None:
        embed.add_field(name=_("Discord (on the panel)"), value=f"<@{user.discord_id}>")
    embed.add_field(name=_("Linked member"), value=f"<@{linked_member}>" if linked_member else _("not linked"))
    embed.add_field(name=_("Created"), value=timestamp(user.created_at))
    embed.add_field(name=_("Updated"), value=timestamp(user.updated_at))
    embed.set_footer(text=f"{client.name} · {client.display_name}")
    return embed


def user_line(user: PanelUser) -> str:
    """One line of a user list."""
    parts = [f"`#{safe(user.id)}` **{safe(user.username, limit=64)}**", safe(user.email, limit=80)]
    if user.admin:
        parts.append(_("admin"))
    if user.credits is not None:
        parts.append(_("{credits} credits", credits=number(user.credits, fixed=True)))
    if user.servers_count is not None:
        parts.append(_("{count} servers", count=number(user.servers_count)))
    if user.suspended:
        parts.append(_("suspended"))
    return " · ".join(parts)
