"""What a queued notice says, in a member's DMs or in a channel."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import discord

from storage import OutboxItem
from storage.account_states import SUSPENDED, SUSPENSION_ANNOUNCEMENT, UNSUSPENDED
from storage.credits import LOW_CREDIT, RUNOUT, TOPUP, TOPUP_ANNOUNCEMENT

from .text import safe

if TYPE_CHECKING:
    from bot import PanelDesk


def credits(value: str | None) -> str:
    amount = Decimal(value or "0")
    return f"{amount:,.2f}".rstrip("0").rstrip(".") if amount % 1 else f"{amount:,.0f}"


def notice_embed(bot: PanelDesk, item: OutboxItem) -> discord.Embed:
    payload = item.payload
    panel = bot.panels.get(item.panel)
    where = f"{item.panel} ({panel.display_name})" if panel else item.panel
    if item.kind == TOPUP:
        embed = discord.Embed(title=f"+{credits(payload['amount'])} credits", colour=discord.Colour.green())
        if payload.get("source") == "staff":
            giver = f"<@{payload['actor_id']}>" if bot.settings.credit_notice_names_staff else "Staff"
            embed.description = f"{giver} added credits to your account on the {where} panel."
            if payload.get("reason"):
                embed.add_field(name="Reason", value=safe(payload["reason"], limit=500), inline=False)
        else:
            embed.description = (
                f"Credits arrived on your account on the {where} panel (a payment, a voucher or a panel admin)."
            )
        embed.add_field(name="New balance", value=credits(payload["balance"]))
        embed.set_footer(text="Turn these messages off with /notifications off")
        return embed
    if item.kind == LOW_CREDIT:
        embed = discord.Embed(title="Your credits are running low", colour=discord.Colour.orange())
        embed.description = (
            f"Your balance on the {where} panel is down to **{credits(payload['balance'])}** credits "
            f"(below {credits(payload['threshold'])}). Servers are suspended when credits run out: top up to keep "
            "them running."
        )
        embed.set_footer(text="Turn these messages off with /notifications off")
        return embed
    if item.kind == RUNOUT:
        return _runout_embed(item, where)
    if item.kind == TOPUP_ANNOUNCEMENT:
        source = f"from <@{payload['actor_id']}>" if payload.get("source") == "staff" else "on the panel"
        embed = discord.Embed(title=f"Top-up: +{credits(payload['amount'])} credits", colour=discord.Colour.green())
        embed.description = f"<@{item.discord_id}> (account #{safe(payload.get('account', '?'))}) {source}."
        if payload.get("reason"):
            embed.add_field(name="Reason", value=safe(payload["reason"], limit=500), inline=False)
        embed.add_field(name="New balance", value=credits(payload["balance"]))
        embed.set_footer(text=f"{where} panel")
        return embed
    if item.kind == ACCOUNT_DELETED:
        name = safe(payload.get("username") or f"#{payload.get('account', '?')}", limit=100)
        embed = discord.Embed(title="Your linked account no longer exists", colour=discord.Colour.dark_grey())
        embed.description = (
            f"The account **{name}** you linked on the {where} panel was deleted there, so its link to your Discord "
            "account ended. If you have another account on that panel, `/link` links it."
        )
        return embed
    if item.kind in (SUSPENDED, UNSUSPENDED):
        return _suspension_embed(bot, item, where)
    if item.kind == SUSPENSION_ANNOUNCEMENT:
        verb = "suspended" if payload.get("suspended") else "unsuspended"
        by = f"by <@{payload['actor_id']}>" if payload.get("source") == "staff" else "on the panel"
        embed = discord.Embed(title=f"Account {verb}", colour=discord.Colour.dark_grey())
        embed.description = f"<@{item.discord_id}> (account #{safe(payload.get('account', '?'))}) was {verb} {by}."
        if payload.get("reason"):
            embed.add_field(name="Reason", value=safe(payload["reason"], limit=500), inline=False)
        embed.set_footer(text=f"{where} panel")
        return embed
    raise ValueError(f"no wording for notices of kind {item.kind!r}")


ACCOUNT_DELETED = "account_deleted"
# Sent to a staff channel, not to the member.
ANNOUNCEMENTS = frozenset({TOPUP_ANNOUNCEMENT, SUSPENSION_ANNOUNCEMENT})


def _suspension_embed(bot: PanelDesk, item: OutboxItem, where: str) -> discord.Embed:
    payload = item.payload
    if item.kind == SUSPENDED:
        embed = discord.Embed(title="Your account was suspended", colour=discord.Colour.red())
        embed.description = (
            f"Your account on the {where} panel is suspended: its servers are stopped and you cannot log in until it "
            "is lifted. If you think this is a mistake, ask staff."
        )
        if payload.get("reason") and bot.settings.suspension_notice_reason:
            embed.add_field(name="Reason", value=safe(payload["reason"], limit=500), inline=False)
    else:
        embed = discord.Embed(title="Your account is no longer suspended", colour=discord.Colour.green())
        embed.description = f"The suspension of your account on the {where} panel was lifted: welcome back."
    return embed


def _runout_embed(item: OutboxItem, where: str) -> discord.Embed:
    payload = item.payload
    days = Decimal(payload["days"])
    left = "less than a day" if days < 1 else "about 1 day" if days < Decimal("1.5") else f"about {days:.0f} days"
    embed = discord.Embed(title="Your credits will run out soon", colour=discord.Colour.orange())
    embed.description = (
        f"Your balance on the {where} panel is **{credits(payload['balance'])}** credits: {left} of credits left at "
        f"your current use (about {credits(payload['per_day'])} a day). Servers are suspended when credits run "
        "out: top up to keep them running."
    )
    embed.set_footer(text="Turn these warnings off with /notifications off warnings")
    return embed
