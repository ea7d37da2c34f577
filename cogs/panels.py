"""/panel: the configured panels' health, and re-registering the slash commands when Discord lost them."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from .common.checks import Access, require
from .common.text import NO_MENTIONS, safe

if TYPE_CHECKING:
    from bot import PanelDesk


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Panels(commands.GroupCog, group_name="panel", group_description="The game panels this bot manages"):
    def __init__(self, bot: PanelDesk) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="status", description="Check that every configured panel answers and accepts its key")
    @require(Access.STAFF)
    async def status(self, interaction: discord.Interaction[PanelDesk]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        panels = list(self.bot.panels.items())
        reports = await asyncio.gather(*(client.check() for _, client in panels))
        embed = discord.Embed(title="Panels", colour=discord.Colour.blurple())
        for (name, client), report in zip(panels, reports, strict=True):
            mark = "✅" if report.ok else "⚠️"
            default = " (default)" if name == self.bot.panels.default_name else ""
            features = ", ".join(sorted(c.value.replace("_", " ") for c in client.capabilities)) or "users only"
            embed.add_field(
                name=f"{mark} {name}{default}: {client.display_name}",
                value=f"{safe(report.detail, limit=400)}\nFeatures: {features}",
                inline=False,
            )
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="sync", description="Register the bot's slash commands with Discord again")
    @require(Access.ADMIN)
    async def sync(self, interaction: discord.Interaction[PanelDesk]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        count = await self.bot.sync_commands(force=True)
        await interaction.followup.send(f"Registered {count} commands with Discord.", ephemeral=True)


async def setup(bot: PanelDesk) -> None:
    await bot.add_cog(Panels(bot))
