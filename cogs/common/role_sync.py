"""Roles that follow the panel: compare what ROLE_RULES say with each member's roles, and change only what differs.

Two ways in. Events (a link made or undone, a staff change through the bot, a member joining) reconcile one member
at once, with the account just read. The panel watcher's sweep reads every linked account (`saw`, `gone`) and then
asks for a pass (`request_pass`) over every member of the servers the managed roles live in. A pass decides each
member from the facts known at the moment it reaches them, so facts a later sweep brings supersede older ones even
mid-pass; a pass cut short (a stop, Discord failing) leaves the rest to the next, which finds the same differences.

Nothing here removes a role on what it could not read: an account no sweep has read yet, or whose panel failed,
is unknown, and an unknown rule leaves the role as it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import discord

from i18n import N_, SOURCE, Sentence, _, number, speaking
from panel_api import Capability, PanelError, PanelUser
from settings import RoleRule
from storage import AuditOutcome, Link

from .role_rules import GONE, AccountFacts, Fact, Verdict, decide, managed_roles, needs_panel_data, rule_panels
from .text import NO_MENTIONS, safe

if TYPE_CHECKING:
    from bot import PanelDesk

log = logging.getLogger(__name__)


# Why the bot cannot give or take a managed role, with the fix: said in the reader's language (/roles, /panel status),
# in English in the log and `--check`.
Problem = Sentence


@dataclass(frozen=True, slots=True)
class RoleChange:
    member_id: int
    role_id: int
    added: bool


@dataclass
class PassReport:
    """What one pass did, for /roles sync, the audit channel's summary, /panel status and the benchmark."""

    members: int = 0
    added: Counter[int] = field(default_factory=Counter)
    removed: Counter[int] = field(default_factory=Counter)
    failed: int = 0
    problems: dict[int, Problem] = field(default_factory=dict)
    unknown: int = 0  # member-roles left as they are because a rule could not be decided
    cut_short: bool = False
    seconds: float = 0.0
    finished_at: float = 0.0
    changes: list[RoleChange] = field(default_factory=list, repr=False)

    @property
    def changed(self) -> int:
        return sum(self.added.values()) + sum(self.removed.values())


@dataclass
class MemberOutcome:
    """What reconciling one member did: the roles given and taken, and sentences for the reply."""

    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verdicts: dict[int, Verdict] = field(default_factory=dict)


class RoleSync:
    """The bot's one role manager (`bot.roles`)."""

    def __init__(self, bot: PanelDesk) -> None:
        self.bot = bot
        # What each linked account last looked like: (panel, panel user id) -> facts, or GONE.
        self.facts: dict[tuple[str, str], Fact] = {}
        # One change at a time: a pass and an event never work on the same member at once.
        self._lock = asyncio.Lock()
        self._pass_lock = asyncio.Lock()  # passes never overlap: a second waits, then finds what is left
        self._pass: asyncio.Task[PassReport] | None = None
        self._again = False
        self._warned: set[int] = set()  # roles whose problem was logged since the last pass began
        # Roles Discord refused to change though the cache saw no problem (permissions changed meanwhile): skipped
        # for the rest of the pass, and named in /panel status until a change of that role succeeds.
        self._refused: dict[int, Problem] = {}
        self.last_pass: PassReport | None = None

    # --- what is managed --------------------------------------------------------------------------------------

    @property
    def rules(self) -> list[RoleRule]:
        return self.bot.settings.managed_role_rules()

    @property
    def enabled(self) -> bool:
        return bool(self.rules)

    def capabilities(self) -> dict[str, frozenset[Capability]]:
        return {name: client.capabilities for name, client in self.bot.panels.items()}

    def panels_to_read(self) -> list[str]:
        """The panels whose accounts a rule asks about: the watcher sweeps them even without credits."""
        capabilities = self.capabilities()
        wanted = {name for rule in self.rules if needs_panel_data(rule) for name in rule_panels(rule, capabilities)}
        return [name for name in self.bot.panels if name in wanted]

    def needs_servers(self, panel_name: str) -> bool:
        """Whether a has_servers rule reads this panel, so that its sweep must ask for server counts."""
        capabilities = self.capabilities()
        return any(
            rule.when.value == "has_servers" and panel_name in rule_panels(rule, capabilities) for rule in self.rules
        )

    # --- facts --------------------------------------------------------------------------------------------------

    def saw(self, panel_name: str, user: PanelUser) -> None:
        self.facts[(panel_name, user.id)] = AccountFacts.of(user)

    def gone(self, panel_name: str, panel_user_id: str) -> None:
        self.facts[(panel_name, panel_user_id)] = GONE

    def forget(self, panel_name: str, panel_user_id: str) -> None:
        self.facts.pop((panel_name, panel_user_id), None)

    # --- problems -----------------------------------------------------------------------------------------------

    def role_guilds(self) -> dict[int, discord.Guild]:
        """Where each managed role lives (role ids are unique across Discord)."""
        found: dict[int, discord.Guild] = {}
        for guild in self.bot.guilds:
            for role_id in managed_roles(self.rules):
                if guild.get_role(role_id) is not None:
                    found.setdefault(role_id, guild)
        return found

    def problems(self) -> dict[int, Problem]:
        """Each managed role the bot cannot give or take, with the fix, in one sentence."""
        where = self.role_guilds()
        found: dict[int, Problem] = {}
        for role_id in managed_roles(self.rules):
            guild = where.get(role_id)
            if guild is None:
                found[role_id] = missing_role(role_id)
                continue
            problem = role_problem(guild, guild.get_role(role_id))
            if problem:
                found[role_id] = problem
        return found

    def _warn(self, problems: Mapping[int, Problem]) -> None:
        """One WARNING per role per pass, however many members it would have changed."""
        for role_id, problem in problems.items():
            if role_id not in self._warned:
                self._warned.add(role_id)
                log.warning("Role sync skips role %s: %s", role_id, problem.english)

    # --- one member ---------------------------------------------------------------------------------------------

    async def reconcile(
        self, discord_id: int, *, fresh: Iterable[tuple[str, PanelUser]] = (), gone: Iterable[tuple[str, str]] = ()
    ) -> MemberOutcome:
        """Set one member's managed roles now, with the accounts just read (`fresh`) or found deleted (`gone`)."""
        for panel_name, user in fresh:
            self.saw(panel_name, user)
        for panel_name, user_id in gone:
            self.gone(panel_name, user_id)
        outcome = MemberOutcome()
        if not self.enabled:
            return outcome
        links = await self.bot.links.links_of_member(discord_id)
        problems = self.problems()
        self._warn(problems)
        async with self._lock:
            for guild in self._guilds(self.role_guilds()):
                member = await _member(guild, discord_id)
                if member is None:
                    continue  # not in this server (or left): set when they come back
                verdicts, changes = self.plan(member, links, problems)
                outcome.verdicts.update(verdicts)
                for change in changes:
                    done, note = await self._apply(member, change, reason=_reason(change, verdicts))
                    if done:
                        (outcome.added if change.added else outcome.removed).append(change.role_id)
                    elif note:
                        outcome.notes.append(note)
                for role_id, verdict in verdicts.items():
                    differs = verdict.wanted is not None and verdict.wanted != (member.get_role(role_id) is not None)
                    if role_id in problems and differs:
                        outcome.notes.append(
                            _("The {role} role is not the bot's to give; staff were told.", role=f"<@&{role_id}>")
                        )
        said = []
        if outcome.added:
            said.append(
                _("{member} now has the {roles} role.", member=f"<@{discord_id}>", roles=_mentions(outcome.added))
            )
        if outcome.removed:
            said.append(_("The {roles} role was taken back.", roles=_mentions(outcome.removed)))
        outcome.notes[:0] = said
        return outcome

    async def reconcile_joined(self, member: discord.Member) -> MemberOutcome:
        """A member joined or came back (or staff asked for them): read their accounts afresh, then set roles."""
        fresh, gone = await self.read_accounts(member.id)
        return await self.reconcile(member.id, fresh=fresh, gone=gone)

    async def explain(self, member: discord.Member) -> dict[int, Verdict]:
        """What the rules say of the member now, with their accounts read afresh; changes nothing."""
        fresh, gone = await self.read_accounts(member.id)
        for panel_name, user in fresh:
            self.saw(panel_name, user)
        for panel_name, user_id in gone:
            self.gone(panel_name, user_id)
        links = await self.bot.links.links_of_member(member.id)
        return decide(self.rules, links, self.facts, self.capabilities())

    async def read_accounts(self, discord_id: int) -> tuple[list[tuple[str, PanelUser]], list[tuple[str, str]]]:
        """The member's linked accounts on the panels rules read: (read, deleted). A panel that fails leaves the
        last sweep's facts (or nothing, so unknown)."""
        fresh: list[tuple[str, PanelUser]] = []
        gone: list[tuple[str, str]] = []
        wanted = self.panels_to_read()
        for link in await self.bot.links.links_of_member(discord_id):
            client = self.bot.panels.get(link.panel)
            if client is None or link.panel not in wanted:
                continue
            try:
                fresh.append((link.panel, await client.get_user(link.panel_user_id)))
            except PanelError as exc:
                if exc.status == 404:
                    gone.append((link.panel, link.panel_user_id))
        return fresh, gone

    def plan(
        self, member: discord.Member, links: list[Link], problems: Mapping[int, Problem]
    ) -> tuple[dict[int, Verdict], list[RoleChange]]:
        """The member's verdicts, and the changes that make their roles agree (problem roles left out)."""
        verdicts = decide(self.rules, links, self.facts, self.capabilities())
        changes: list[RoleChange] = []
        for role_id, verdict in verdicts.items():
            skipped = role_id in problems or role_id in self._refused or member.guild.get_role(role_id) is None
            if skipped or verdict.wanted is None:
                continue
            has = member.get_role(role_id) is not None
            if verdict.wanted != has:
                changes.append(RoleChange(member.id, role_id, verdict.wanted))
        return verdicts, changes

    # --- every member -------------------------------------------------------------------------------------------

    def request_pass(self) -> None:
        """After a sweep: run a pass in the background, or once more after the one running."""
        if not self.enabled:
            return
        if self._pass is not None and not self._pass.done():
            self._again = True
            return
        self._pass = asyncio.create_task(self._passes(), name="role-sync")
        self.bot._keep(self._pass)  # cancelled if the bot closes without a clean stop

    def running_pass(self) -> asyncio.Task[PassReport] | None:
        return self._pass if self._pass is not None and not self._pass.done() else None

    async def _passes(self) -> PassReport:
        report = await self.run_pass()
        while self._again and not self.bot.stopping:
            self._again = False
            report = await self.run_pass()
        return report

    async def wait_for_pass(self) -> PassReport | None:
        """The pass in flight, if any, once finished (tests, the benchmark, a clean stop)."""
        while self._pass is not None and not self._pass.done():
            await asyncio.wait({self._pass})
        return self.last_pass

    async def run_pass(self) -> PassReport:
        """Every member of the servers the managed roles live in, linked or not."""
        async with self._pass_lock:
            return await self._run_pass()

    async def _run_pass(self) -> PassReport:
        report = PassReport()
        started = time.perf_counter()
        if not self.enabled:
            return report
        self._warned.clear()
        self._refused.clear()
        report.problems = self.problems()
        self._warn(report.problems)
        by_member: dict[int, list[Link]] = {}
        for panel_name in self.bot.panels:
            for link in await self.bot.links.all_for_panel(panel_name):
                by_member.setdefault(link.discord_id, []).append(link)
        for guild in self._guilds(self.role_guilds()):
            for member in list(guild.members):
                if member.bot:
                    continue
                if self.bot.stopping:
                    report.cut_short = True
                    break
                report.members += 1
                async with self._lock:
                    verdicts, changes = self.plan(member, by_member.get(member.id, []), report.problems)
                    if changes:  # the links read at the start may be old by now (a long pass, an unlink meanwhile)
                        links = await self.bot.links.links_of_member(member.id)
                        verdicts, changes = self.plan(member, links, report.problems)
                    report.unknown += sum(1 for verdict in verdicts.values() if verdict.wanted is None)
                    for change in changes:
                        done, _note = await self._apply(member, change, reason=_reason(change, verdicts))
                        if done:
                            (report.added if change.added else report.removed)[change.role_id] += 1
                            report.changes.append(change)
                        else:
                            report.failed += 1
                        if change.role_id in self._refused:
                            report.problems.setdefault(change.role_id, self._refused[change.role_id])
        report.seconds = time.perf_counter() - started
        report.finished_at = time.time()
        self.last_pass = report
        self.bot.metrics.role_pass_finished(report)
        if report.changed or report.failed:
            with speaking(SOURCE):  # the log's digits, whoever asked for the pass
                summary = self.summary(report)
            log.info(
                "Role sync: %s over %d member(s) in %.1f s%s",
                summary or "nothing changed",
                report.members,
                report.seconds,
                f", {report.failed} change(s) failed" if report.failed else "",
            )
            await self._post_summary(report)
        return report

    def _guilds(self, where: Mapping[int, discord.Guild]) -> list[discord.Guild]:
        return list({guild.id: guild for guild in where.values()}.values())

    # --- applying -----------------------------------------------------------------------------------------------

    async def _apply(self, member: discord.Member, change: RoleChange, *, reason: str) -> tuple[bool, str | None]:
        """One PUT or DELETE (discord.py's route buckets pace them); audited when done."""
        role = discord.Object(change.role_id)
        try:
            if change.added:
                await member.add_roles(role, reason=reason, atomic=True)
            else:
                await member.remove_roles(role, reason=reason, atomic=True)
        except discord.Forbidden as exc:
            problem = role_problem(member.guild, member.guild.get_role(change.role_id)) or Problem(
                N_(
                    "Discord refused to change role {role_id} ({text}) — check the bot's Manage Roles permission and "
                    "that its highest role is above this one."
                ),
                role_id=change.role_id,
                text=exc.text,
            )
            self._refused[change.role_id] = problem
            self._warn({change.role_id: problem})
            return False, _("The {role} role could not be changed; staff were told.", role=f"<@&{change.role_id}>")
        except discord.NotFound:
            return False, None  # the member left or the role was deleted meanwhile: the next pass sees which
        except discord.HTTPException as exc:
            log.warning("Role sync: could not change role %s of member %s: %s", change.role_id, member.id, exc)
            return False, _("A role could not be changed just now; the next sync tries again.")
        self._refused.pop(change.role_id, None)
        # Discord tells the cache by a GUILD_MEMBER_UPDATE a moment later; until then the cache would have the next
        # pass (or an event) make the same change again.
        if change.added and not member._roles.has(change.role_id):
            member._roles.add(change.role_id)
        elif not change.added and member._roles.has(change.role_id):
            member._roles.remove(change.role_id)
        await self.bot.audit.record(
            "role.add" if change.added else "role.remove",
            actor_id=None,
            outcome=AuditOutcome.OK,
            target_discord_id=member.id,
            details={"role_id": change.role_id, "reason": reason},
        )
        self.bot.metrics.role_changed(change.added)
        return True, None

    # --- telling staff ------------------------------------------------------------------------------------------

    def role_name(self, role_id: int) -> str:
        guild = self.role_guilds().get(role_id)
        role = guild.get_role(role_id) if guild else None
        return safe(role.name, limit=60) if role else str(role_id)

    def summary(self, report: PassReport) -> str:
        """ "+12 Customer, -3 Customer, +1 Suspended", in the order the rules name the roles."""
        parts = []
        for role_id in managed_roles(self.rules):
            if report.added[role_id]:
                parts.append(f"+{number(report.added[role_id])} {self.role_name(role_id)}")
            if report.removed[role_id]:
                parts.append(f"-{number(report.removed[role_id])} {self.role_name(role_id)}")
        return ", ".join(parts)

    async def _post_summary(self, report: PassReport) -> None:
        channel_id = self.bot.settings.audit_channel_id
        if not channel_id or not report.changed:
            return
        with speaking(self.bot.staff_language()):  # a post in a staff channel
            summary, members = self.summary(report), number(report.members)
            if report.failed:
                line = _(
                    "🔁 Role sync: {summary} ({count} member(s) checked); {failed} change(s) failed and are tried "
                    "again next sync",
                    summary=summary,
                    count=members,
                    failed=number(report.failed),
                )
            else:
                line = _("🔁 Role sync: {summary} ({count} member(s) checked)", summary=summary, count=members)
        try:
            channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
            if isinstance(channel, discord.abc.Messageable):
                await channel.send(line, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("could not post the role sync summary to channel %s: %s", channel_id, exc)


def missing_role(role_id: int) -> Problem:
    return Problem(
        N_(
            "Role {role_id} in ROLE_RULES is in none of the bot's servers (deleted?) — create it again and put its new "
            "id in the rules, or remove the rule."
        ),
        role_id=role_id,
    )


def role_problem(guild: discord.Guild, role: discord.Role | None, me: discord.Member | None = None) -> Problem | None:
    """Why the bot cannot give or take `role` in `guild`, with the fix; None when it can. `me`: the bot's member,
    when the guild did not come from the gateway's cache (`--check` reads it over REST)."""
    if role is None:
        return Problem(N_("The role no longer exists (deleted?) — create it again and put its new id in ROLE_RULES."))
    name = repr(safe(role.name, limit=60))
    if role.is_default():
        return Problem(N_("@everyone is every member's role and cannot be given — name another role in ROLE_RULES."))
    if role.managed:
        return Problem(
            N_(
                "Role {name} ({role_id}) belongs to an integration (a bot or boosts) and cannot be given — use a role "
                "you created."
            ),
            name=name,
            role_id=role.id,
        )
    me = me or guild.me
    if me is None:
        return None  # not connected yet; checked again at the next pass
    if not me.guild_permissions.manage_roles:
        return Problem(
            N_("The bot lacks the Manage Roles permission — give its role Manage Roles in Server Settings > Roles.")
        )
    if role >= me.top_role and guild.owner_id != me.id:
        return Problem(
            N_(
                "Role {name} ({role_id}) is not below the bot's highest role {top} — in Server Settings > Roles, drag "
                "the bot's role above it."
            ),
            name=name,
            role_id=role.id,
            top=repr(safe(me.top_role.name, limit=60)),
        )
    return None


async def _member(guild: discord.Guild, discord_id: int) -> discord.Member | None:
    """The member, from the cache; asked of Discord only while the cache is still filling (just started): once a
    server is chunked, a member it lacks has left."""
    member = guild.get_member(discord_id)
    if member is not None or guild.chunked:
        return member
    try:
        return await guild.fetch_member(discord_id)
    except discord.NotFound:
        return None


async def check_roles_over_rest(client: discord.Client, rules: Iterable[RoleRule], guild_ids: list[int]) -> list[str]:
    """`--check`: each managed role's problem, read over REST with a logged-in client (no gateway), one line each."""
    assert client.user is not None
    guilds = guild_ids or [guild.id async for guild in client.fetch_guilds(limit=None)]
    found: dict[int, tuple[discord.Guild, discord.Member]] = {}
    for guild_id in guilds:
        guild = await client.fetch_guild(guild_id)
        me = await guild.fetch_member(client.user.id)
        for role in await guild.fetch_roles():
            found.setdefault(role.id, (guild, me))
    lines = []
    for role_id in managed_roles(rules):
        if role_id not in found:
            lines.append(missing_role(role_id).english)
            continue
        guild, me = found[role_id]
        problem = role_problem(guild, guild.get_role(role_id), me)
        if problem:
            lines.append(f"Role {role_id}: {problem.english}")
    return lines


def _mentions(role_ids: list[int]) -> str:
    return ", ".join(f"<@&{role_id}>" for role_id in role_ids)


def _reason(change: RoleChange, verdicts: Mapping[int, Verdict]) -> str:
    verdict = verdicts.get(change.role_id)
    rule = verdict.rule.describe() if verdict and verdict.rule else "role rules"
    return f"Panel Desk role rule: {rule}" + ("" if change.added else " no longer holds")
