"""/panel: the configured panels' health, and re-registering the slash commands when Discord lost them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands
from discord.ext import commands

from i18n import N_, _, n_, number
from panel_api import Capability
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
        contacts = [contact_line(client.transport.contact) for _name, client in panels]
        reports = await asyncio.gather(*(client.check() for _name, client in panels))
        embed = discord.Embed(title=_("Panels"), colour=discord.Colour.blurple())
        for (name, client), report, contact in zip(panels, reports, contacts, strict=True):
            mark = "✅" if report.ok else "⚠️"
            features = ", ".join(sorted(_(FEATURES[c]) for c in client.capabilities)) or _("users only")
            if name == self.bot.panels.default_name:
                title = _("{mark} {panel} (default): {kind}", mark=mark, panel=name, kind=client.display_name)
            else:
                title = f"{mark} {name}: {client.display_name}"
            embed.add_field(
                name=title,
                value=f"{safe(report.detail, limit=400)}\n{contact}\n" + _("Features: {features}", features=features),
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
            embed.add_field(name=_("Notices"), value="\n".join(lines), inline=False)
        if self.bot.roles.enabled:
            embed.add_field(name=_("Roles"), value=roles_status(self.bot)[:1024], inline=False)
        if self.bot.mailer is not None:
            problem = await self.bot.mailer.check()
            state = _("✅ connected and logged in") if problem is None else f"⚠️ {problem}"
            sent = n_("{count} code mail sent since start", "{count} code mails sent since start", self.bot.mailer.sent)
            embed.add_field(name=_("Mail"), value=f"{state}\n{sent}", inline=False)
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="sync", description="Register the bot's slash commands with Discord again")
    @require(Access.ADMIN)
    async def sync(self, interaction: discord.Interaction[PanelDesk]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        count = await self.bot.sync_commands(force=True)
        await interaction.followup.send(
            n_("Registered {count} command with Discord.", "Registered {count} commands with Discord.", count),
            ephemeral=True,
        )


# The features /panel status lists for each panel, in words.
FEATURES = {
    Capability.CREDITS: N_("credits"),
    Capability.SERVER_LIMIT: N_("server limit"),
    Capability.SUSPENSION: N_("suspension"),
    Capability.EXTERNAL_ID: N_("external id"),
    Capability.ROLES: N_("roles"),
    Capability.ACCOUNT_FOR_KEY: N_("account for key"),
    Capability.NAMES: N_("names"),
    Capability.LANGUAGE: N_("language"),
    Capability.PASSWORD: N_("password"),
    Capability.DISCORD_ACCOUNT: N_("discord account"),
    Capability.SERVERS_COUNT: N_("servers count"),
}


def contact_line(contact: PanelContact) -> str:
    """The panel's state before this check, as the transport last saw it."""
    if contact.ok is None or contact.last_contact is None:
        return _("Before this check: not asked since the bot started.")
    if contact.ok:
        return _("Before this check: answered {when}.", when=_ago(contact.last_contact))
    since = contact.failing_since or contact.last_contact
    problem = safe(contact.problem, limit=300) if contact.problem else _("no answer")
    return _("Before this check: failing since {when}: {problem}", when=_ago(since), problem=problem)


def outbox_line(outbox: OutboxSummary, max_attempts: int) -> str:
    if outbox.waiting:
        assert outbox.oldest_waiting is not None
        oldest = discord.utils.format_dt(outbox.oldest_waiting, "R")
        text = _("Outbox: {count} waiting, the oldest queued {when}", count=number(outbox.waiting), when=oldest)
    else:
        text = _("Outbox: nothing waiting")
    if outbox.given_up:
        text += _(
            "; {count} given up after {tries} tries (see /audit recent)",
            count=number(outbox.given_up),
            tries=max_attempts,
        )
    return text + "."


def sweep_line(panel: str, sweep: FinishedSweep | None) -> str:
    if sweep is None:
        return _("Panel watcher on {panel}: not swept yet.", panel=panel)
    values = {"panel": panel, "when": _ago(sweep.finished_at), "seconds": number(sweep.seconds, places=1, fixed=True)}
    if sweep.error:
        return _(
            "Panel watcher on {panel}: last sweep {when}, took {seconds} s, stopped: {error}.",
            error=safe(sweep.error, limit=200),
            **values,
        )
    return _("Panel watcher on {panel}: last sweep {when}, took {seconds} s.", **values)


def roles_status(bot: PanelDesk) -> str:
    """The role sync's last pass, and each managed role it cannot give, with the fix."""
    roles = bot.roles
    last = roles.last_pass
    if last is None:
        lines = [_("Role sync: no pass yet (one follows each sweep).")]
    else:
        lines = [
            _(
                "Role sync: last pass {when} over {members}, {changed}, took {seconds} s.",
                when=_ago(last.finished_at),
                members=n_("{count} member", "{count} members", last.members),
                changed=roles.summary(last) or _("nothing to change"),
                seconds=number(last.seconds, places=1, fixed=True),
            )
        ]
        if last.failed:
            lines[0] += " " + n_(
                "{count} change failed; the next pass tries again.",
                "{count} changes failed; the next pass tries again.",
                last.failed,
            )
    lines += [f"⚠️ <@&{role_id}>: {problem}" for role_id, problem in roles.problems().items()]
    return "\n".join(lines)


def _ago(moment: float) -> str:
    return discord.utils.format_dt(datetime.fromtimestamp(moment, UTC), "R")


async def setup(bot: PanelDesk) -> None:
    await bot.add_cog(Panels(bot))
