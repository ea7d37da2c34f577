"""/credits and /server-limit: staff change what a panel account may spend, where the panel has credits."""

from __future__ import annotations

import contextlib
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from i18n import N_, _, number
from panel_api import Capability, PanelClient, PanelUser
from storage import StaffChange

from .common.auditing import audited
from .common.checks import Access, require
from .common.errors import UserFacingError, refuse_invalid
from .common.linking import follow_account
from .common.resolve import PANEL_HELP, USER_HELP, panel_autocomplete, panel_for, resolve_user, user_autocomplete
from .common.text import NO_MENTIONS, safe

if TYPE_CHECKING:
    from bot import PanelDesk
    from cogs.notifications import Notifications


def parse_amount(text: str, *, maximum: float, whole: bool) -> Decimal:
    """A positive amount, at most `maximum`, with at most two decimals (or none for whole numbers)."""
    try:
        amount = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise UserFacingError(_("{text} is not a number.", text=safe(text))) from None
    if not amount.is_finite() or amount <= 0:
        raise UserFacingError(_("The amount must be more than zero."))
    if amount > Decimal(str(maximum)):
        raise UserFacingError(
            _("The amount may be at most {maximum} per command (MAX_* settings).", maximum=number(maximum))
        )
    places = 0 if whole else 2
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise UserFacingError(_("Use a whole number.") if whole else _("Use at most two decimals."))
    return amount


NO_CREDITS = N_("{kind} panels have no credits.")
NO_SERVER_LIMITS = N_("{kind} panels have no server limits.")


def require_capability(client: PanelClient, capability: Capability, refusal: str) -> None:
    """Stop a command on a panel without `capability`; `refusal` is a sentence marked with `N_`, `{kind}` being
    the panel's kind."""
    if not client.supports(capability):
        raise UserFacingError(_(refusal, kind=client.display_name))


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Credits(
    commands.GroupCog,
    group_name="credits",
    group_description="Panel credits of an account",
    group_extras={"capability": Capability.CREDITS},
):
    def __init__(self, bot: PanelDesk) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="add", description="Add credits to an account; its linked member is told")
    @app_commands.describe(user=USER_HELP, amount="Credits to add", reason="Why (shown to the member)")
    @app_commands.describe(panel=PANEL_HELP)
    @app_commands.autocomplete(user=user_autocomplete, panel=panel_autocomplete)
    @require(Access.ADMIN)
    async def add(
        self,
        interaction: discord.Interaction[PanelDesk],
        user: str,
        amount: app_commands.Range[str, 1, 20],
        reason: app_commands.Range[str, 1, 300] | None = None,
        panel: str | None = None,
    ) -> None:
        await self._change(interaction, user, amount, reason, panel, sign=1)

    @app_commands.command(name="remove", description="Remove credits from an account")
    @app_commands.describe(user=USER_HELP, amount="Credits to remove", reason="Why (kept in the audit log)")
    @app_commands.describe(panel=PANEL_HELP)
    @app_commands.autocomplete(user=user_autocomplete, panel=panel_autocomplete)
    @require(Access.ADMIN)
    async def remove(
        self,
        interaction: discord.Interaction[PanelDesk],
        user: str,
        amount: app_commands.Range[str, 1, 20],
        reason: app_commands.Range[str, 1, 300] | None = None,
        panel: str | None = None,
    ) -> None:
        await self._change(interaction, user, amount, reason, panel, sign=-1)

    @app_commands.command(name="show", description="An account's credits and server limit")
    @app_commands.describe(user=USER_HELP, panel=PANEL_HELP)
    @app_commands.autocomplete(user=user_autocomplete, panel=panel_autocomplete)
    @require(Access.STAFF)
    async def show(self, interaction: discord.Interaction[PanelDesk], user: str, panel: str | None = None) -> None:
        panel_name, client = panel_for(interaction, panel)
        require_capability(client, Capability.CREDITS, NO_CREDITS)
        await interaction.response.defer(ephemeral=True, thinking=True)
        account = await resolve_user(self.bot, panel_name, client, user)
        await interaction.followup.send(embed=balance_embed(account, client), ephemeral=True)

    async def _change(
        self,
        interaction: discord.Interaction[PanelDesk],
        user: str,
        amount_text: str,
        reason: str | None,
        panel: str | None,
        *,
        sign: int,
    ) -> None:
        panel_name, client = panel_for(interaction, panel)
        require_capability(client, Capability.CREDITS, NO_CREDITS)
        amount = parse_amount(amount_text, maximum=self.bot.settings.max_credit_change, whole=False)
        await interaction.response.defer(ephemeral=True, thinking=True)
        account = await resolve_user(self.bot, panel_name, client, user)
        notices: Notifications | None = self.bot.get_cog("Notifications")  # type: ignore[assignment]
        async with notices.staff_change(panel_name, account.id) if notices else contextlib.nullcontext():
            action = "credits.add" if sign > 0 else "credits.remove"
            async with audited(interaction, action, panel=panel_name, target=account) as change:
                change.details.update(amount=str(amount), reason=reason, before=account.credits)
                refuse_invalid(client.check_credit_change(account, sign * amount))
                updated = await client.change_credits(account.id, float(sign * amount))
                change.details["after"] = updated.credits
            told = await self._tell_member(notices, panel_name, updated, sign * amount, interaction.user.id, reason)
        values = {"amount": number(amount), "username": safe(updated.username), "balance": number(str(updated.credits))}
        if sign > 0:
            lines = [_("Added {amount} credits to **{username}**. Balance: {balance}.", **values)]
        else:
            lines = [_("Removed {amount} credits from **{username}**. Balance: {balance}.", **values)]
        if told:
            lines.append(told)
        lines += await follow_account(self.bot, panel_name, updated)
        await interaction.followup.send("\n".join(lines), ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _tell_member(
        self,
        notices: Notifications | None,
        panel_name: str,
        account: PanelUser,
        delta: Decimal,
        actor_id: int,
        reason: str | None,
    ) -> str | None:
        link = await self.bot.links.get_for_account(panel_name, account.id)
        if link is None or notices is None:
            return _("The account is not linked to a Discord member, so nobody was told.") if delta > 0 else None
        queued = await notices.observe(
            panel_name, link, account, staff=StaffChange(delta=delta, actor_id=actor_id, reason=reason)
        )
        if any(item.discord_id == link.discord_id and item.kind == "credit_topup" for item in queued):
            return _("{member} will be told.", member=f"<@{link.discord_id}>")
        return None


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ServerLimits(
    commands.GroupCog,
    group_name="server-limit",
    group_description="How many servers an account may have",
    group_extras={"capability": Capability.SERVER_LIMIT},
):
    def __init__(self, bot: PanelDesk) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="add", description="Let an account have more servers")
    @app_commands.describe(user=USER_HELP, amount="How many more servers", panel=PANEL_HELP)
    @app_commands.autocomplete(user=user_autocomplete, panel=panel_autocomplete)
    @require(Access.ADMIN)
    async def add(
        self,
        interaction: discord.Interaction[PanelDesk],
        user: str,
        amount: app_commands.Range[int, 1, 10000],
        panel: str | None = None,
    ) -> None:
        await self._change(interaction, user, amount, panel, sign=1)

    @app_commands.command(name="remove", description="Let an account have fewer servers")
    @app_commands.describe(user=USER_HELP, amount="How many fewer servers", panel=PANEL_HELP)
    @app_commands.autocomplete(user=user_autocomplete, panel=panel_autocomplete)
    @require(Access.ADMIN)
    async def remove(
        self,
        interaction: discord.Interaction[PanelDesk],
        user: str,
        amount: app_commands.Range[int, 1, 10000],
        panel: str | None = None,
    ) -> None:
        await self._change(interaction, user, amount, panel, sign=-1)

    async def _change(
        self, interaction: discord.Interaction[PanelDesk], user: str, amount: int, panel: str | None, *, sign: int
    ) -> None:
        panel_name, client = panel_for(interaction, panel)
        require_capability(client, Capability.SERVER_LIMIT, NO_SERVER_LIMITS)
        parse_amount(str(amount), maximum=self.bot.settings.max_server_limit_change, whole=True)
        await interaction.response.defer(ephemeral=True, thinking=True)
        account = await resolve_user(self.bot, panel_name, client, user)
        action = "server_limit.add" if sign > 0 else "server_limit.remove"
        async with audited(interaction, action, panel=panel_name, target=account) as change:
            change.details.update(amount=amount, before=account.server_limit)
            refuse_invalid(client.check_server_limit_change(account, sign * amount))
            updated = await client.change_server_limit(account.id, sign * amount)
            change.details["after"] = updated.server_limit
        owns, limit = updated.servers_count, updated.server_limit
        values = {"username": safe(updated.username), "limit": str(limit) if limit is None else number(limit)}
        if owns is not None:
            lines = [_("**{username}** may now have {limit} servers (owns {owns}).", owns=number(owns), **values)]
        else:
            lines = [_("**{username}** may now have {limit} servers.", **values)]
        if owns is not None and limit is not None and owns > limit:
            lines.append(
                _(
                    "They own more servers than the new limit: those keep running, but no new server can be "
                    "created until they are under it."
                )
            )
        lines += await follow_account(self.bot, panel_name, updated)
        await interaction.followup.send("\n".join(lines), ephemeral=True, allowed_mentions=NO_MENTIONS)


def balance_embed(account: PanelUser, client: PanelClient) -> discord.Embed:
    embed = discord.Embed(title=safe(account.username, limit=256), colour=discord.Colour.blurple())
    embed.add_field(name=_("Credits"), value=number(str(account.credits or 0)))
    if account.server_limit is not None:
        embed.add_field(name=_("Server limit"), value=str(account.server_limit))
    if account.servers_count is not None:
        embed.add_field(name=_("Servers"), value=str(account.servers_count))
    embed.set_footer(text=f"#{account.id} · {client.name} · {client.display_name}")
    return embed


async def setup(bot: PanelDesk) -> None:
    await bot.add_cog(Credits(bot))
    await bot.add_cog(ServerLimits(bot))
