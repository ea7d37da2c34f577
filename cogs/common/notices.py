"""What a queued notice says, in a member's DMs or in a channel."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import discord

from i18n import _, n_, number
from storage import OutboxItem
from storage.account_states import SUSPENDED, SUSPENSION_ANNOUNCEMENT, UNSUSPENDED
from storage.credits import LOW_CREDIT, RUNOUT, TOPUP, TOPUP_ANNOUNCEMENT

from .text import safe

if TYPE_CHECKING:
    from bot import PanelDesk


def credits(value: str | None) -> str:
    """An amount of credits as the reader's language writes it (at most two decimals)."""
    return number(Decimal(value or "0"))


def notice_embed(bot: PanelDesk, item: OutboxItem) -> discord.Embed:
    payload = item.payload
    panel = bot.panels.get(item.panel)
    where = f"{item.panel} ({panel.display_name})" if panel else item.panel
    if item.kind == TOPUP:
        embed = discord.Embed(
            title=_("+{amount} credits", amount=credits(payload["amount"])), colour=discord.Colour.green()
        )
        if payload.get("source") != "staff":
            embed.description = _(
                "Credits arrived on your account on the {where} panel (a payment, a voucher or a panel admin).",
                where=where,
            )
        elif bot.settings.credit_notice_names_staff:
            embed.description = _(
                "{giver} added credits to your account on the {where} panel.",
                giver=f"<@{payload['actor_id']}>",
                where=where,
            )
        else:
            embed.description = _("Staff added credits to your account on the {where} panel.", where=where)
        if payload.get("source") == "staff" and payload.get("reason"):
            embed.add_field(name=_("Reason"), value=safe(payload["reason"], limit=500), inline=False)
        embed.add_field(name=_("New balance"), value=credits(payload["balance"]))
        embed.set_footer(text=_("Turn these messages off with /notifications off"))
        return embed
    if item.kind == LOW_CREDIT:
        embed = discord.Embed(title=_("Your credits are running low"), colour=discord.Colour.orange())
        embed.description = _(
            "Your balance on the {where} panel is down to **{balance}** credits (below {threshold}). Servers are "
            "suspended when credits run out: top up to keep them running.",
            where=where,
            balance=credits(payload["balance"]),
            threshold=credits(payload["threshold"]),
        )
        embed.set_footer(text=_("Turn these messages off with /notifications off"))
        return embed
    if item.kind == RUNOUT:
        return _runout_embed(item, where)
    if item.kind == TOPUP_ANNOUNCEMENT:
        embed = discord.Embed(
            title=_("Top-up: +{amount} credits", amount=credits(payload["amount"])), colour=discord.Colour.green()
        )
        member, account = f"<@{item.discord_id}>", safe(payload.get("account", "?"))
        if payload.get("source") == "staff":
            embed.description = _(
                "{member} (account #{account}) from {staff}.",
                member=member,
                account=account,
                staff=f"<@{payload['actor_id']}>",
            )
        else:
            embed.description = _("{member} (account #{account}) on the panel.", member=member, account=account)
        if payload.get("reason"):
            embed.add_field(name=_("Reason"), value=safe(payload["reason"], limit=500), inline=False)
        embed.add_field(name=_("New balance"), value=credits(payload["balance"]))
        embed.set_footer(text=_("{where} panel", where=where))
        return embed
    if item.kind == ACCOUNT_DELETED:
        name = safe(payload.get("username") or f"#{payload.get('account', '?')}", limit=100)
        embed = discord.Embed(title=_("Your linked account no longer exists"), colour=discord.Colour.dark_grey())
        embed.description = _(
            "The account **{name}** you linked on the {where} panel was deleted there, so its link to your Discord "
            "account ended. If you have another account on that panel, `/link` links it.",
            name=name,
            where=where,
        )
        return embed
    if item.kind in (SUSPENDED, UNSUSPENDED):
        return _suspension_embed(bot, item, where)
    if item.kind == SUSPENSION_ANNOUNCEMENT:
        embed = discord.Embed(colour=discord.Colour.dark_grey())
        embed.title = _("Account suspended") if payload.get("suspended") else _("Account unsuspended")
        embed.description = _suspension_announcement(item)
        if payload.get("reason"):
            embed.add_field(name=_("Reason"), value=safe(payload["reason"], limit=500), inline=False)
        embed.set_footer(text=_("{where} panel", where=where))
        return embed
    raise ValueError(f"no wording for notices of kind {item.kind!r}")


ACCOUNT_DELETED = "account_deleted"
# Sent to a staff channel, not to the member.
ANNOUNCEMENTS = frozenset({TOPUP_ANNOUNCEMENT, SUSPENSION_ANNOUNCEMENT})


def _suspension_announcement(item: OutboxItem) -> str:
    payload = item.payload
    values = {"member": f"<@{item.discord_id}>", "account": safe(payload.get("account", "?"))}
    if payload.get("source") == "staff":
        values["staff"] = f"<@{payload['actor_id']}>"
        if payload.get("suspended"):
            return _("{member} (account #{account}) was suspended by {staff}.", **values)
        return _("{member} (account #{account}) was unsuspended by {staff}.", **values)
    if payload.get("suspended"):
        return _("{member} (account #{account}) was suspended on the panel.", **values)
    return _("{member} (account #{account}) was unsuspended on the panel.", **values)


def _suspension_embed(bot: PanelDesk, item: OutboxItem, where: str) -> discord.Embed:
    payload = item.payload
    if item.kind == SUSPENDED:
        embed = discord.Embed(title=_("Your account was suspended"), colour=discord.Colour.red())
        embed.description = _(
            "Your account on the {where} panel is suspended: its servers are stopped and you cannot log in until it "
            "is lifted. If you think this is a mistake, ask staff.",
            where=where,
        )
        if payload.get("reason") and bot.settings.suspension_notice_reason:
            embed.add_field(name=_("Reason"), value=safe(payload["reason"], limit=500), inline=False)
    else:
        embed = discord.Embed(title=_("Your account is no longer suspended"), colour=discord.Colour.green())
        embed.description = _(
            "The suspension of your account on the {where} panel was lifted: welcome back.", where=where
        )
    return embed


def _runout_embed(item: OutboxItem, where: str) -> discord.Embed:
    payload = item.payload
    days = Decimal(payload["days"])
    values = {"where": where, "balance": credits(payload["balance"]), "per_day": credits(payload["per_day"])}
    embed = discord.Embed(title=_("Your credits will run out soon"), colour=discord.Colour.orange())
    if days < 1:
        embed.description = _(
            "Your balance on the {where} panel is **{balance}** credits: less than a day of credits left at your "
            "current use (about {per_day} a day). Servers are suspended when credits run out: top up to keep them "
            "running.",
            **values,
        )
    else:
        embed.description = n_(
            "Your balance on the {where} panel is **{balance}** credits: about {count} day of credits left at your "
            "current use (about {per_day} a day). Servers are suspended when credits run out: top up to keep them "
            "running.",
            "Your balance on the {where} panel is **{balance}** credits: about {count} days of credits left at your "
            "current use (about {per_day} a day). Servers are suspended when credits run out: top up to keep them "
            "running.",
            1 if days < Decimal("1.5") else int(days.quantize(Decimal(1))),
            **values,
        )
    embed.set_footer(text=_("Turn these warnings off with /notifications off warnings"))
    return embed
