"""/panel: the configured panels' health, and re-registering the slash commands when Discord lost them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands
from discord.ext import commands

from panel_api.contact import PanelContact
from storage import OutboxSummary

from .common.checks import Access, require
from .common.text import NO_MENTIONS, safe
from .notifications import MAX_ATTEMPTS, FinishedSweep, Notifications

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
        # Read before this command's own check replaces it: an outage between commands shows here.
        contacts = [contact_line(client.transport.contact) for _, client in panels]
        reports = await asyncio.gather(*(client.check() for _, client in panels))
        embed = discord.Embed(title="Panels", colour=discord.Colour.blurple())
        for (name, client), report, contact in zip(panels, reports, contacts, strict=True):
            mark = "✅" if report.ok else "⚠️"
            default = " (default)" if name == self.bot.panels.default_name else ""
            features = ", ".join(sorted(c.value.replace("_", " ") for c in client.capabilities)) or "users only"
            embed.add_field(
                name=f"{mark} {name}{default}: {client.display_name}",
                value=f"{safe(report.detail, limit=400)}\n{contact}\nFeatures: {features}",
                inline=False,
            )
        cog = self.bot.get_cog("Notifications")
        if cog is not None:
            # Not isinstance: discord.py loads each extension as a module object of its own, so the cog's class is
            # not the one imported here.
            notices = cast("Notifications", cog)
            outbox = await self.bot.notifications.outbox_summary(max_attempts=MAX_ATTEMPTS)
            lines = [outbox_line(outbox, MAX_ATTEMPTS)]
            watched = [name for name, client in panels if name in notices.watched_panels()]
            lines += [sweep_line(name, notices.last_sweeps.get(name)) for name in watched]
            embed.add_field(name="Notices", value="\n".join(lines), inline=False)
        if self.bot.roles.enabled:
            embed.add_field(name="Roles", value=roles_status(self.bot)[:1024], inline=False)
        if self.bot.mailer is not None:
            problem = await self.bot.mailer.check()
            state = "✅ connected and logged in" if problem is None else f"⚠️ {problem}"
            embed.add_field(
                name="Mail", value=f"{state}\n{self.bot.mailer.sent} code mail(s) sent since start", inline=False
            )
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="sync", description="Register the bot's slash commands with Discord again")
    @require(Access.ADMIN)
    async def sync(self, interaction: discord.Interaction[PanelDesk]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        count = await self.bot.sync_commands(force=True)
        await interaction.followup.send(f"Registered {count} commands with Discord.", ephemeral=True)


def contact_line(contact: PanelContact) -> str:
    """The panel's state before this check, as the transport last saw it."""
    if contact.ok is None or contact.last_contact is None:
        return "Before this check: not asked since the bot started."
    if contact.ok:
        return f"Before this check: answered {_ago(contact.last_contact)}."
    since = contact.failing_since or contact.last_contact
    return f"Before this check: failing since {_ago(since)}: {safe(contact.problem or 'no answer', limit=300)}"


def outbox_line(outbox: OutboxSummary, max_attempts: int) -> str:
    if outbox.waiting:
        assert outbox.oldest_waiting is not None
        oldest = discord.utils.format_dt(outbox.oldest_waiting, "R")
        text = f"Outbox: {outbox.waiting} waiting, the oldest queued {oldest}"
    else:
        text = "Outbox: nothing waiting"
    if outbox.given_up:
        text += f"; {outbox.given_up} given up after {max_attempts} tries (see /audit recent)"
    return text + "."


def sweep_line(panel: str, sweep: FinishedSweep | None) -> str:
    if sweep is None:
        return f"Panel watcher on {panel}: not swept yet."
    outcome = f", stopped: {safe(sweep.error, limit=200)}" if sweep.error else ""
    return f"Panel watcher on {panel}: last sweep {_ago(sweep.finished_at)}, took {sweep.seconds:.1f} s{outcome}."


def roles_status(bot: PanelDesk) -> str:
    """The role sync's last pass, and each managed role it cannot give, with the fix."""
    roles = bot.roles
    last = roles.last_pass
    if last is None:
        lines = ["Role sync: no pass yet (one follows each sweep)."]
    else:
        changed = roles.summary(last) or "nothing to change"
        lines = [
            f"Role sync: last pass {_ago(last.finished_at)} over {last.members} member(s), {changed}, "
            f"took {last.seconds:.1f} s."
        ]
        if last.failed:
            lines[0] += f" {last.failed} change(s) failed; the next pass tries again."
    lines += [f"⚠️ <@&{role_id}>: {problem}" for role_id, problem in roles.problems().items()]
    return "\n".join(lines)


def _ago(moment: float) -> str:
    return discord.utils.format_dt(datetime.fromtimestamp(moment, UTC), "R")


async def setup(bot: PanelDesk) -> None:
    await bot.add_cog(Panels(bot))
