"""/audit: what staff changed, for admins."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from i18n import _
from panel_api import NotFound

from .common.auditing import describe
from .common.checks import Access, require
from .common.resolve import panel_autocomplete, panel_for, resolve_user, user_autocomplete
from .common.text import NO_MENTIONS, safe

if TYPE_CHECKING:
    from bot import PanelDesk

RECENT_LIMIT = 15


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Audit(commands.GroupCog, group_name="audit", group_description="The record of staff changes"):
    def __init__(self, bot: PanelDesk) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="recent", description="Recent staff changes, optionally by one member or about one user")
    @app_commands.describe(
        member="Only changes made by this member",
        user="Only changes to this panel account (id, email, username, external id)",
        panel="Which panel the account is on (the default one when left out)",
    )
    @app_commands.autocomplete(user=user_autocomplete, panel=panel_autocomplete)
    @require(Access.ADMIN)
    async def recent(
        self,
        interaction: discord.Interaction[PanelDesk],
        member: discord.Member | None = None,
        user: str | None = None,
        panel: str | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        target_user_id = gone = None
        panel_name = None
        if user:
            panel_name, client = panel_for(interaction, panel)
            try:
                target_user_id = (await resolve_user(self.bot, panel_name, client, user)).id
            except NotFound:
                gone = user.strip()  # deleted since: its entries still carry the id and name it had
        entries = await self.bot.audit.recent(
            limit=RECENT_LIMIT,
            actor_id=member.id if member else None,
            target_user_id=target_user_id,
            panel=panel_name,
            target_id_or_label=gone,
        )
        lines = [describe(entry, emails=True) for entry in entries] or [_("Nothing recorded yet.")]
        if gone is not None:
            lines.insert(
                0,
                _("No account {account} on the panel now; entries recorded under that id or name:", account=safe(gone)),
            )
        embed = discord.Embed(title=_("Recent staff changes"), colour=discord.Colour.dark_grey())
        description = ""
        for line in lines:
            if len(description) + len(line) + 1 > 4000:
                break
            description += line + "\n"
        embed.description = description
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: PanelDesk) -> None:
    await bot.add_cog(Audit(bot))
