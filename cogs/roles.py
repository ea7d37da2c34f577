"""/roles: run the role sync now, or see why a member has (or lacks) each managed role; members who join get theirs.

The deciding and the changing are in common/role_sync.py; this cog parses, checks, calls and replies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands
from discord.ext import commands

from i18n import N_, _, number

from .common.checks import Access, require
from .common.role_rules import describe_rules, managed_roles
from .common.role_sync import PassReport
from .common.text import NO_MENTIONS, safe

if TYPE_CHECKING:
    from bot import PanelDesk

    from .notifications import Notifications

# What the rule says, after the rule ("has_servers 1 on main"), one sentence each.
WANTED_WORDS = {
    True: N_("Rule: {rule} — should have it"),
    False: N_("Rule: {rule} — should not have it"),
    None: N_("Rule: {rule} — unknown, so left as it is"),
}


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Roles(commands.GroupCog, group_name="roles", group_description="Discord roles that follow the panel"):
    def __init__(self, bot: PanelDesk) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="sync", description="Set managed roles from the panel now, for everyone or one member")
    @app_commands.describe(member="Only this member (everyone when left out)")
    @require(Access.ADMIN)
    async def sync(self, interaction: discord.Interaction[PanelDesk], member: discord.Member | None = None) -> None:
        roles = self.bot.roles
        if not roles.enabled:
            await interaction.response.send_message(
                _("No role rules are set up: add ROLE_RULES (or LINKED_ROLE_ID) and restart the bot."), ephemeral=True
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        if member is not None:
            outcome = await roles.reconcile_joined(member)
            said = outcome.notes or [_("{member}'s managed roles already agree with the panel.", member=member.mention)]
            await interaction.followup.send("\n".join(said), ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        watcher = cast("Notifications | None", self.bot.get_cog("Notifications"))
        if watcher is not None:
            await watcher.sweep_all(role_pass=False)  # read every panel the rules ask about, then one pass
        report = await roles.run_pass()
        await interaction.followup.send(pass_reply(self.bot, report), ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="show", description="Which managed roles a member has, and which rule decided")
    @app_commands.describe(member="The member to look at")
    @require(Access.STAFF)
    async def show(self, interaction: discord.Interaction[PanelDesk], member: discord.Member) -> None:
        roles = self.bot.roles
        rules = roles.rules
        if not rules:
            await interaction.response.send_message(_("No role rules are set up (ROLE_RULES)."), ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        verdicts = await roles.explain(member)
        problems = roles.problems()
        embed = discord.Embed(title=_("Managed roles of {member}", member=safe(member.display_name, limit=80)))
        for role_id in managed_roles(rules):
            has = member.get_role(role_id) is not None
            verdict = verdicts.get(role_id)
            role = f"<@&{role_id}>"
            lines = [_("{role}: has it", role=role) if has else _("{role}: does not have it", role=role)]
            if verdict is not None:
                rule = safe(describe_rules(rules, role_id), limit=200)
                lines.append(_(WANTED_WORDS[verdict.wanted], rule=rule))
                if verdict.reason:
                    lines.append(_("Because: {reason}", reason=safe(verdict.reason, limit=200)))
                if verdict.wanted is not None and verdict.wanted != has and role_id not in problems:
                    lines.append(_("The next sync changes this."))
            if role_id in problems:
                lines.append(f"⚠️ {problems[role_id]}")
            embed.add_field(name=roles.role_name(role_id), value="\n".join(lines), inline=False)
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @commands.Cog.listener()
    async def on_member_join(self, member: discord.Member) -> None:
        """A member who joins, or comes back, gets the roles their linked accounts earn."""
        if self.bot.roles.enabled and not member.bot:
            await self.bot.roles.reconcile_joined(member)


def pass_reply(bot: PanelDesk, report: PassReport) -> str:
    roles = bot.roles
    summary = roles.summary(report)
    members = number(report.members)
    lines = [
        _("Checked {count} member(s): {summary}.", count=members, summary=summary)
        if summary
        else _("Checked {count} member(s): every managed role already agrees with the panel.", count=members)
    ]
    if report.failed:
        lines.append(_("{count} change(s) failed; the next sync tries them again.", count=number(report.failed)))
    if report.unknown:
        lines.append(
            _(
                "{count} role(s) of linked members were left as they are: their panel could not be read.",
                count=number(report.unknown),
            )
        )
    if report.cut_short:
        lines.append(_("The bot is stopping, so the sync stopped early; it goes on after the restart."))
    for role_id, problem in report.problems.items():
        lines.append(f"⚠️ <@&{role_id}>: {problem}")
    return "\n".join(lines)


async def setup(bot: PanelDesk) -> None:
    await bot.add_cog(Roles(bot))
