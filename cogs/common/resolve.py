"""Turning what staff type for `<user>` (an id, email, username, external id or a linked @member) into an account."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from i18n import N_, _
from panel_api import Capability, NotFound, PanelClient, PanelError, PanelUser

from .errors import UserFacingError
from .options import MAX_SNOWFLAKE

if TYPE_CHECKING:
    from bot import PanelDesk

log = logging.getLogger(__name__)

_MENTION = re.compile(r"^<@!?(\d{15,20})>$")
# Discord ids are 17-20 digits; no panel numbers its users that high, so a bare snowflake means a member.
_SNOWFLAKE = re.compile(r"^\d{17,20}$")
AUTOCOMPLETE_BUDGET = 2.0  # seconds; Discord drops autocomplete answers after 3
# Option descriptions shared by every command that takes a panel account or a panel.
USER_HELP = N_("An id, email, username or external id, or a linked @member")
PANEL_HELP = N_("Which panel (the default one when left out)")


def panel_for(interaction: discord.Interaction[PanelDesk], panel: str | None) -> tuple[str, PanelClient]:
    """The panel a command should act on: the one named, or the default."""
    client = interaction.client.panels.get_panel(panel)
    return client.name, client


# English in the logs and the audit trail; the reply translates it (errors.describe_panel_error).
_NO_SUCH_USER = N_("No user on the {panel} panel has the id, email, username or external id {reference}.")


async def resolve_user(bot: PanelDesk, panel_name: str, client: PanelClient, reference: str) -> PanelUser:
    text = reference.strip()
    if not text:
        raise UserFacingError(_("Say which user: an id, email, username, external id or a linked @member."))
    member = _MENTION.match(text) or _SNOWFLAKE.match(text)
    if member and int(member.group(1) if member.re is _MENTION else member.group(0)) > MAX_SNOWFLAKE:
        raise NotFound(_NO_SUCH_USER, values={"panel": panel_name, "reference": repr(text)})
    if member:
        discord_id = int(member.group(1) if member.re is _MENTION else member.group(0))
        link = await bot.links.get_for_member(panel_name, discord_id)
        if link is not None:
            return await client.get_user(link.panel_user_id)
        # Not linked, but an account's external id may name the member (set by the panel's admins or billing).
        found = await client.find_user(str(discord_id)) if client.supports(Capability.EXTERNAL_ID) else None
        if found is None:
            raise UserFacingError(
                _("{member} has no linked account on the {panel} panel.", member=f"<@{discord_id}>", panel=panel_name)
            )
        return found
    if text.isascii() and text.isdigit() and int(text) <= MAX_SNOWFLAKE:  # no panel numbers its users higher
        try:
            return await client.get_user(text)
        except NotFound:
            pass  # a username can be all digits too
    user = await client.find_user(text)
    if user is None:
        raise NotFound(_NO_SUCH_USER, values={"panel": panel_name, "reference": repr(text)})
    return user


def user_choice(user: PanelUser) -> app_commands.Choice[str]:
    label = f"{user.username} · {user.email} (#{user.id})"
    return app_commands.Choice(name=label[:100], value=user.id)


async def user_autocomplete(
    interaction: discord.Interaction[PanelDesk], current: str
) -> list[app_commands.Choice[str]]:
    """Up to 25 panel users matching what is typed so far; an empty list rather than an error when slow."""
    try:
        _unused, client = panel_for(interaction, getattr(interaction.namespace, "panel", None))
        # A request per keystroke would spend the panel's rate limit on typing: suggestions come from recent
        # answers where they can, and otherwise from a share of the budget that commands never wait behind.
        users = await asyncio.wait_for(client.suggest_users(_typed(current), limit=25), AUTOCOMPLETE_BUDGET)
    except (PanelError, TimeoutError) as exc:
        log.info("user autocomplete gave up: %s", type(exc).__name__)
        return []
    except Exception:  # discord.py would log it and leave Discord's app showing "Loading options failed"
        log.exception("user autocomplete failed")
        return []
    return [user_choice(user) for user in users]


async def panel_autocomplete(
    interaction: discord.Interaction[PanelDesk], current: str
) -> list[app_commands.Choice[str]]:
    needle = _typed(current).casefold()
    panels = interaction.client.panels
    return [
        app_commands.Choice(name=f"{name} ({client.display_name})", value=name)
        for name, client in panels.items()
        if needle in name.casefold()
    ][:25]


def _typed(current: object) -> str:
    """What the member has typed so far. Discord sends the focused value of a number option as typed, which may
    be a number or text, so autocomplete never assumes a str."""
    return current.strip() if isinstance(current, str) else str(current)
