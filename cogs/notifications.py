"""The panel watcher (top-ups and what role rules ask), the sender that delivers each notice once, /notifications.

The watcher sweeps every panel with credits or that a role rule reads; each account it reads is told to the role
sync (`bot.roles`), which runs its pass once the sweep of every panel is done.

Exactly once: a notice is written to the outbox (in the same transaction as the balance it accounts for) before
anything is sent; the sender sends it with the nonce kept in the outbox, so a resend after a crash between sending
and marking it sent is recognised by Discord and returns the first message; it is marked sent after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from i18n import N_, _, speaking
from panel_api import Capability, PanelClient, PanelError, PanelUser
from storage import (
    NOTICE_KINDS,
    AuditOutcome,
    CreditNoticeChoices,
    Link,
    OutboxItem,
    Reading,
    StaffChange,
    StaffSuspension,
    StateReading,
)

from .common.auditing import Change, record
from .common.linking import end_deleted_link
from .common.notices import ACCOUNT_DELETED, ANNOUNCEMENTS, notice_embed
from .common.resolve import panel_autocomplete, panel_for
from .common.text import NO_MENTIONS

if TYPE_CHECKING:
    from bot import PanelDesk

log = logging.getLogger(__name__)

CLOSED_DMS = 50007  # Discord: "Cannot send messages to this user"
# A notice that fails is tried again after 30 s, 1 min, 2 min, ... at most an hour apart: twelve tries span about
# 5.1 hours (63.5 minutes of doubling waits, then four of an hour), so an outage on Discord's side loses nothing,
# and a member nobody can reach is given up on.
MAX_ATTEMPTS = 12
KIND_WORDS = {
    "credits": N_("messages when credits arrive"),
    "warnings": N_("warnings when your credits run low or will soon run out"),
    "account": N_("messages about your account (suspended, lifted, deleted)"),
}
EVERY_KIND = N_("messages from the bot (credits, warnings and your account)")
KIND_CHOICES = [
    app_commands.Choice(name="credits: top-ups", value="credits"),
    app_commands.Choice(name="warnings: low credits, running out", value="warnings"),
    app_commands.Choice(name="account: suspension, deletion", value="account"),
]
PANEL_CHOICE_HELP = N_("Only for this panel (every panel when left out)")
# A sweep ends the links of at most this many deleted accounts, or a tenth of the links if more (`_accounts_gone`).
MASS_DELETION_FLOOR = 5


@dataclass
class SweepReport:
    """What one sweep of one panel did; the benchmark prints these."""

    panel: str
    linked: int = 0
    mode: str = "idle"
    requests: int = 0
    notices: int = 0
    error: str | None = None
    resumed_at: int = 0
    users_seen: set[str] = field(default_factory=set, repr=False)
    gone: list[Link] = field(default_factory=list, repr=False)  # linked accounts the panel says no longer exist


@dataclass
class _Walk:
    """One walk of a panel's whole user list, which may span sweeps (a sweep cut short resumes at its page)."""

    began: datetime
    complete: bool = True  # False when the bot started mid-walk: what earlier pages held is not known
    seen: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class FinishedSweep:
    """The watcher's last sweep of one panel, for `/panel status` and the metrics."""

    finished_at: float  # time.time()
    seconds: float
    error: str | None


class Notifications(commands.GroupCog, group_name="notifications", group_description="Messages from the bot"):
    # Seconds the idle sender waits before looking again for notices whose next try has come (a new notice wakes
    # it at once).
    retry_interval = 30.0
    retry_first = 30.0  # seconds before the second try of a failed notice; doubling up to `retry_longest`
    retry_longest = 3600.0

    def __init__(self, bot: PanelDesk) -> None:
        self.bot = bot
        self.wakeup = asyncio.Event()
        self.sweep_lock = asyncio.Lock()
        self.user_totals: dict[str, int] = {}
        # Where an interrupted sweep stopped, per panel, as (mode, page or index): the next sweep in the same mode
        # resumes there instead of starting over; one that reads the other way starts from the beginning.
        self.cursors: dict[str, tuple[str, int]] = {}
        self._walks: dict[str, _Walk] = {}
        # Accounts a webhook asked to look at: one look each at a time, and one more if asked again meanwhile, so
        # a burst of events for one account costs two reads, not one per event.
        self._looks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._look_again: set[tuple[str, str]] = set()
        self.known: dict[str, Decimal] = {}
        self.known_states: dict[str, bool] = {}  # suspended or not, as last told, for the panel being swept
        # Accounts whose credits staff are changing through the bot, and when each change last began: the watcher
        # leaves such an account alone until it reads a balance taken after the change was recorded, so a staff
        # top-up is told by the command (with its reason), in full, once.
        self._staff_busy: Counter[tuple[str, str]] = Counter()
        self._staff_began: dict[tuple[str, str], float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        # Set when the bot stops: the sender ends after the notice it is sending, the watcher after the page (or
        # account) it is recording, so a stop never cuts either between a write and what it accounts for.
        self._stop = asyncio.Event()
        # The watcher's last sweep of each panel, for `/panel status` (the metrics are told as well).
        self.last_sweeps: dict[str, FinishedSweep] = {}
        super().__init__()

    async def cog_load(self) -> None:
        self._tasks.append(asyncio.create_task(self._send_forever(), name="notice-sender"))
        if self.watched_panels() or self.bot.roles.enabled:  # role rules: a pass each interval, even with no sweep
            self._tasks.append(asyncio.create_task(self._watch_forever(), name="panel-watcher"))

    async def stop_at_safe_point(self) -> None:
        """End the sender and the watcher where they are safe to leave (see `_stop`); the bot bounds the wait."""
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _until_started(self) -> bool:
        """Wait for the bot to log in; False when it stops first (a SIGTERM during start-up)."""
        started = asyncio.ensure_future(self.bot.started.wait())
        stopped = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait({started, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for waiter in (started, stopped):
            waiter.cancel()
        return not self._stop.is_set()

    async def _pause(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        """Sleep `seconds`, or less when `wake` is set or the bot stops. Not wait_for: on Python 3.11 it swallows a
        cancel that lands as the event is set, and the bot could then never shut down."""
        waiters = [asyncio.ensure_future(self._stop.wait())]
        if wake is not None:
            waiters.append(asyncio.ensure_future(wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def watched_panels(self) -> list[str]:
        """The panels the watcher sweeps: those with credits, and those a role rule asks about."""
        for_roles = set(self.bot.roles.panels_to_read())
        return [
            name for name, client in self.bot.panels.items() if client.supports(Capability.CREDITS) or name in for_roles
        ]

    async def cog_unload(self) -> None:
        tasks = [*self._tasks, *self._looks.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- members ---------------------------------------------------------------------------------------------

    @app_commands.command(name="off", description="Stop messages from the bot: every kind, or the kind you choose")
    @app_commands.describe(kind="Only this kind (every kind when left out)", panel=PANEL_CHOICE_HELP)
    @app_commands.choices(kind=KIND_CHOICES)
    @app_commands.autocomplete(panel=panel_autocomplete)
    async def off(
        self, interaction: discord.Interaction[PanelDesk], kind: str | None = None, panel: str | None = None
    ) -> None:
        what, panel_name = await self._choose(interaction, kind, panel, enabled=False)
        if panel_name:
            text = _(
                "You will no longer get {what} on the {panel} panel. `/notifications on` turns them back on.",
                what=what,
                panel=panel_name,
            )
        else:
            text = _("You will no longer get {what}. `/notifications on` turns them back on.", what=what)
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="on", description="Get messages from the bot: every kind, or the kind you choose")
    @app_commands.describe(kind="Only this kind (every kind when left out)", panel=PANEL_CHOICE_HELP)
    @app_commands.choices(kind=KIND_CHOICES)
    @app_commands.autocomplete(panel=panel_autocomplete)
    async def on(
        self, interaction: discord.Interaction[PanelDesk], kind: str | None = None, panel: str | None = None
    ) -> None:
        what, panel_name = await self._choose(interaction, kind, panel, enabled=True)
        if panel_name:
            text = _("You will get {what} on the {panel} panel.", what=what, panel=panel_name)
        else:
            text = _("You will get {what}.", what=what)
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="show", description="Which messages you get from the bot, panel by panel")
    async def show(self, interaction: discord.Interaction[PanelDesk]) -> None:
        lines = []
        for name in self.bot.panels:
            choices = await self.bot.notifications.member_choices(interaction.user.id, name)
            kinds = [
                f"{'✅' if choices.wants(interaction.user.id, kind) else '—'} {_(KIND_WORDS[kind])}"
                for kind in NOTICE_KINDS
                if kind in self._kinds_of(name)
            ]
            lines.append(f"**{name}**: " + ", ".join(kinds))
        lines.append(_("`/notifications off kind:…` or `on` changes them; leave out `panel` for every panel."))
        await interaction.response.send_message("\n".join(lines), ephemeral=True)

    def _kinds_of(self, panel_name: str) -> list[str]:
        """The kinds of notice a panel can give: credit ones need credits; account ones every panel has (deletion)."""
        client = self.bot.panels[panel_name]
        return [kind for kind in NOTICE_KINDS if kind == "account" or client.supports(Capability.CREDITS)]

    async def _choose(
        self, interaction: discord.Interaction[PanelDesk], kind: str | None, panel: str | None, *, enabled: bool
    ) -> tuple[str, str | None]:
        """Turn the kinds on or off; (what was changed, in words; the panel, when only one)."""
        panel_name = panel_for(interaction, panel)[0] if panel else None
        for each in [kind] if kind else NOTICE_KINDS:
            await self.bot.notifications.set_kind(interaction.user.id, each, enabled=enabled, panel=panel_name)
        return _(KIND_WORDS[kind] if kind else EVERY_KIND), panel_name

    # --- recording ----------------------------------------------------------------------------------------------

    async def observe(
        self, panel_name: str, link: Link, user: PanelUser, *, staff: StaffChange | None = None
    ) -> list[OutboxItem]:
        """Take in an account's current balance; queue and wake the sender for whatever is owed."""
        if user.credits is None:
            return []
        choices = await self.bot.notifications.member_choices(link.discord_id, panel_name)
        balance = Decimal(str(user.credits))
        reading = Reading(
            user.id,
            link.discord_id,
            balance,
            notify=choices.credit_notices(link.discord_id),
            staff=staff,
            warn=choices.warnings(link.discord_id),
        )
        return await self._record(panel_name, [reading])

    async def _record(self, panel_name: str, readings: list[Reading]) -> list[OutboxItem]:
        settings = self.bot.settings
        threshold, days = settings.low_credit_threshold, settings.credit_warning_days
        queued = await self.bot.ledger.observe_many(
            panel_name,
            readings,
            low_threshold=None if threshold is None else Decimal(str(threshold)),
            warning_days=None if days is None else Decimal(str(days)),
            announce=settings.topup_announce_channel_id is not None,
        )
        if queued:
            self.bot.metrics.notices_were_queued(queued)
            self.wakeup.set()
        return queued

    @contextlib.asynccontextmanager
    async def staff_change(self, panel_name: str, panel_user_id: str) -> AsyncIterator[None]:
        """Around a staff change of an account's credits and its `observe`: the watcher keeps out meanwhile."""
        key = (panel_name, panel_user_id)
        self._staff_busy[key] += 1
        self._staff_began[key] = time.monotonic()
        try:
            yield
        finally:
            self._staff_busy[key] -= 1
            if not self._staff_busy[key]:
                del self._staff_busy[key]

    def _staff_touched(self, panel_name: str, panel_user_id: str, read_at: float) -> bool:
        """True when a balance read at `read_at` may predate, or race, a staff change the command is telling."""
        key = (panel_name, panel_user_id)
        return key in self._staff_busy or self._staff_began.get(key, -math.inf) >= read_at

    # --- one account, now (webhooks) ----------------------------------------------------------------------------

    def look_soon(self, panel_name: str, *, user_id: str | None = None, email: str | None = None) -> None:
        """Look at one account in the background, coalescing repeats (`webhooks.py`)."""
        key = (panel_name, f"id:{user_id}" if user_id is not None else f"email:{(email or '').casefold()}")
        if key in self._looks:
            self._look_again.add(key)
            return
        task = asyncio.create_task(self._looks_for(key, user_id, email), name="webhook-look")
        self._looks[key] = task

    async def _looks_for(self, key: tuple[str, str], user_id: str | None, email: str | None) -> None:
        try:
            while True:
                self._look_again.discard(key)
                try:
                    await self.look_at(key[0], user_id=user_id, email=email)
                except PanelError as exc:
                    log.warning("webhook look at an account on %s failed: %s", key[0], exc.message)
                except Exception:
                    log.exception("webhook look at an account on %s failed", key[0])
                if key not in self._look_again or self._stop.is_set():
                    return
        finally:
            self._looks.pop(key, None)

    async def wait_for_looks(self) -> None:
        """Until no look is under way (tests, the benchmark)."""
        while self._looks:
            await asyncio.gather(*list(self._looks.values()), return_exceptions=True)

    async def look_at(self, panel_name: str, *, user_id: str | None = None, email: str | None = None) -> None:
        """Read one account from the panel and do what a sweep would for it: credits, suspension, deletion, roles."""
        client = self.bot.panels[panel_name]
        if user_id is None:
            found = await client.find_user(email or "")
            if found is None or found.email.casefold() != (email or "").casefold():
                return  # no such account: nothing to tell anyone
            user_id = found.id
        link = await self.bot.links.get_for_account(panel_name, user_id)
        if link is None:
            return  # nobody to tell; its roles are nobody's
        try:
            user = await client.get_user(user_id)
        except PanelError as exc:
            if exc.status != 404:
                raise
            report = SweepReport(panel_name, linked=await self.bot.links.count(panel_name))
            report.gone.append(link)
            await self._accounts_gone(panel_name, report)
            return
        if user.credits is not None:
            await self.observe(panel_name, link, user)
        await self.observe_state(panel_name, link, user)
        await self.bot.roles.reconcile(link.discord_id, fresh=[(panel_name, user)])

    # --- the watcher ---------------------------------------------------------------------------------------------

    async def _watch_forever(self) -> None:
        if not await self._until_started():
            return
        while not self._stop.is_set():
            try:
                await self.sweep_all()
            except Exception:  # sweep_all reports its own failures; this is the last guard of a forever task
                log.exception("panel sweep failed; trying again next interval")
            await self._pause(self.bot.settings.credit_watch_interval_seconds)

    async def sweep_all(self, *, role_pass: bool = True) -> list[SweepReport]:
        """One sweep of every watched panel, then (`role_pass`) the role sync's pass in the background. Never runs
        twice at once; never raises."""
        reports = []
        async with self.sweep_lock:
            watched = self.watched_panels()
            for name, client in self.bot.panels.items():
                if self._stop.is_set():
                    break
                if name in watched:
                    reports.append(await self.sweep(name, client))
        if role_pass and not self._stop.is_set():
            self.bot.roles.request_pass()
        return reports

    async def sweep(self, panel_name: str, client: PanelClient) -> SweepReport:
        """Compare every linked account's balance with the ledger, by whichever reading costs fewer requests."""
        report = SweepReport(panel_name)
        sent_before = client.transport.requests_sent
        started = time.perf_counter()
        try:
            links = {link.panel_user_id: link for link in await self.bot.links.all_for_panel(panel_name)}
            report.linked = len(links)
            if not links:
                return report
            # Most balances do not move between sweeps: compare with the ledger in memory, and write only changes.
            balances = await self.bot.notifications.balances(panel_name)
            self.known = {user_id: balance.credits for user_id, balance in balances.items()}
            suspension = client.supports(Capability.SUSPENSION)
            self.known_states = await self.bot.account_states.known(panel_name) if suspension else {}
            # Read once for the sweep: a choice made meanwhile counts from the next one.
            choices = await self.bot.notifications.credit_notice_choices(panel_name)
            horizon = time.monotonic() - 3600
            self._staff_began = {key: at for key, at in self._staff_began.items() if at > horizon}
            if panel_name not in self.user_totals:
                self.user_totals[panel_name] = (await client.list_users(per_page=1)).total
            pages = math.ceil(self.user_totals[panel_name] / client.iter_page_size)
            if pages < len(links):
                await self._sweep_pages(panel_name, client, links, choices, report)
            else:
                await self._sweep_each(panel_name, client, links, choices, report)
        except PanelError as exc:
            report.error = exc.message
            log.warning("panel sweep of %s stopped at %s: %s", panel_name, self.cursors.get(panel_name), exc.message)
        except Exception:
            report.error = "unexpected"
            log.exception("panel sweep of %s failed", panel_name)
        if report.gone:
            await self._accounts_gone(panel_name, report)
        report.requests = client.transport.requests_sent - sent_before
        finished = FinishedSweep(time.time(), time.perf_counter() - started, report.error)
        self.last_sweeps[panel_name] = finished
        self.bot.metrics.sweep_finished("credits", panel_name, finished)
        return report

    async def _sweep_pages(
        self,
        panel_name: str,
        client: PanelClient,
        links: dict[str, Link],
        choices: CreditNoticeChoices,
        report: SweepReport,
    ) -> None:
        """Read the panel's whole user list, recording each page's changes in one transaction. The cursor moves past
        a page only once that transaction committed, so a sweep stopped anywhere (the panel failed, the database
        failed, the process died) loses nothing it read and tells nothing twice when it goes on."""
        report.mode = "pages"
        mode, saved = self.cursors.get(panel_name, ("pages", 1))
        page = report.resumed_at = saved if mode == "pages" else 1
        roles = self.bot.roles
        servers = roles.needs_servers(panel_name)
        if page == 1:
            self._walks[panel_name] = _Walk(discord.utils.utcnow())
        walk = self._walks.setdefault(panel_name, _Walk(discord.utils.utcnow(), complete=False))
        while True:
            self.cursors[panel_name] = ("pages", page)
            read_at = time.monotonic()
            result = await client.sweep_page(page, servers=servers)
            self.user_totals[panel_name] = result.total
            for user in result.items:
                if user.id in links:
                    roles.saw(panel_name, user)
                    walk.seen.add(user.id)
            readings = [
                self._reading(links[user.id], user, choices)
                for user in result.items
                if user.id in links and self._moved(user) and not self._staff_touched(panel_name, user.id, read_at)
            ]
            report.notices += len(await self._record(panel_name, readings))
            states = [
                StateReading(
                    user.id,
                    links[user.id].discord_id,
                    bool(user.suspended),
                    notify=choices.account(links[user.id].discord_id),
                )
                for user in result.items
                if user.id in links
                and self._state_moved(user)
                and not self._staff_touched(panel_name, user.id, read_at)
            ]
            report.notices += len(await self._record_states(panel_name, states))
            if not result.items or page >= result.total_pages:
                break
            page += 1
            if self._stop.is_set():  # this page is recorded; the next sweep goes on from the next one
                self.cursors[panel_name] = ("pages", page)
                return
        self.cursors[panel_name] = ("pages", 1)
        if walk.complete:
            await self._look_for_missing(panel_name, client, links, walk, report)

    async def _look_for_missing(
        self, panel_name: str, client: PanelClient, links: dict[str, Link], walk: _Walk, report: SweepReport
    ) -> None:
        """Linked accounts a whole walk did not meet: deleted, or moved to a page already read while the walk went
        on (a deletion shifts every later account back). One read each says which, so no role is taken on a guess."""
        for user_id, link in links.items():
            if user_id in walk.seen or link.linked_at >= walk.began:
                continue
            try:
                self.bot.roles.saw(panel_name, await client.get_user(user_id))
            except PanelError as exc:
                if exc.status != 404:
                    raise
                report.gone.append(link)

    async def _sweep_each(
        self,
        panel_name: str,
        client: PanelClient,
        links: dict[str, Link],
        choices: CreditNoticeChoices,
        report: SweepReport,
    ) -> None:
        """Read each linked account on its own, chosen when that is fewer requests than the whole list: fewer
        accounts than pages, so one transaction per account that moved costs less than the request that read it."""
        report.mode = "each"
        ordered = sorted(links.values(), key=lambda link: link.linked_at)
        mode, saved = self.cursors.get(panel_name, ("each", 0))
        start = report.resumed_at = min(saved, len(ordered)) if mode == "each" else 0
        for index in range(start, len(ordered)):
            self.cursors[panel_name] = ("each", index)
            link = ordered[index]
            read_at = time.monotonic()
            try:
                user = await client.get_user(link.panel_user_id)
            except PanelError as exc:
                if exc.status != 404:
                    raise
                report.gone.append(link)
                continue
            self.bot.roles.saw(panel_name, user)
            if self._moved(user) and not self._staff_touched(panel_name, user.id, read_at):
                report.notices += len(await self._record(panel_name, [self._reading(link, user, choices)]))
            if self._state_moved(user) and not self._staff_touched(panel_name, user.id, read_at):
                state = StateReading(
                    user.id, link.discord_id, bool(user.suspended), notify=choices.account(link.discord_id)
                )
                report.notices += len(await self._record_states(panel_name, [state]))
            if self._stop.is_set():
                self.cursors[panel_name] = ("each", index + 1)
                return
        self.cursors[panel_name] = ("each", 0)

    @staticmethod
    def _reading(link: Link, user: PanelUser, choices: CreditNoticeChoices) -> Reading:
        # Only called for a user that `_moved`, so its credits are known.
        balance = Decimal(str(user.credits))
        member = link.discord_id
        return Reading(user.id, member, balance, notify=choices.credit_notices(member), warn=choices.warnings(member))

    async def _accounts_gone(self, panel_name: str, report: SweepReport) -> None:
        """Linked accounts deleted on the panel: each link ends, and its member is told once. Many at once is more
        likely a panel answering 404 by mistake (a wrong URL behind a proxy, a restore under way) than a purge, so
        then nothing ends and staff are told in the log."""
        most = max(MASS_DELETION_FLOOR, report.linked // 10)
        if len(report.gone) > most:
            log.warning(
                "panel %s says %d linked accounts no longer exist; links are kept until fewer are missing at once "
                "(at most %d) — check the panel, then unlink by hand with /link-admin remove if they were deleted",
                panel_name,
                len(report.gone),
                most,
            )
            return
        for link in report.gone:
            key = f"{ACCOUNT_DELETED}:{panel_name}:{link.panel_user_id}:{link.discord_id}:{link.linked_at.isoformat()}"
            payload = {"account": link.panel_user_id, "username": link.panel_username}
            # Queued before the link ends, under a key naming this link: a stop in between queues nothing twice.
            choices = await self.bot.notifications.member_choices(link.discord_id, panel_name)
            item = None
            if choices.account(link.discord_id):
                item = await self.bot.notifications.enqueue(
                    panel_name, link.discord_id, ACCOUNT_DELETED, dedupe_key=key, payload=payload
                )
            if item is not None:
                report.notices += 1
                self.bot.metrics.notices_were_queued([item])
                self.wakeup.set()
            await end_deleted_link(self.bot, None, panel_name, link)

    def _state_moved(self, user: PanelUser) -> bool:
        return user.suspended is not None and self.known_states.get(user.id) != user.suspended

    async def _record_states(self, panel_name: str, readings: list[StateReading]) -> list[OutboxItem]:
        announce = self.bot.settings.topup_announce_channel_id is not None
        queued = await self.bot.account_states.observe(panel_name, readings, announce=announce)
        if queued:
            self.bot.metrics.notices_were_queued(queued)
            self.wakeup.set()
        return queued

    async def observe_state(
        self, panel_name: str, link: Link | None, user: PanelUser, *, staff: StaffSuspension | None = None
    ) -> list[OutboxItem]:
        """An account's suspension as a staff command just left it (inside `staff_change`: told once, with who did
        it and why, `staff`) or as a webhook's look read it. Nothing for an account linked to nobody."""
        if user.suspended is None or link is None:
            return []
        wanted = (await self.bot.notifications.member_choices(link.discord_id, panel_name)).account(link.discord_id)
        return await self._record_states(
            panel_name, [StateReading(user.id, link.discord_id, user.suspended, notify=wanted, staff=staff)]
        )

    def _moved(self, user: PanelUser) -> bool:
        if user.credits is None:
            return False
        return self.known.get(user.id) != Decimal(str(user.credits))

    # --- the sender ----------------------------------------------------------------------------------------------

    async def _send_forever(self) -> None:
        if not await self._until_started():
            return
        while not self._stop.is_set():
            self.wakeup.clear()
            try:
                await self.deliver_pending()
            except Exception:
                log.exception("delivering notices failed; will retry")
            await self._pause(self.retry_interval, self.wakeup)  # woken early by a new notice

    async def deliver_pending(self) -> int:
        """Send the notices still owed, oldest first; returns how many were settled.

        A pass stops at the first batch with a failure, so one unreachable member is retried each interval rather
        than many times in a row.
        """
        settled = 0
        batch_size = 50
        while not self._stop.is_set() and (
            batch := await self.bot.notifications.pending(batch_size, max_attempts=MAX_ATTEMPTS)
        ):
            results: list[bool] = []
            for item in batch:
                if self._stop.is_set():  # what is left stays in the outbox for the next start
                    return settled + sum(results)
                results.append(await self.deliver(item))
            settled += sum(results)
            if not all(results) or len(batch) < batch_size:
                break
        return settled

    async def deliver(self, item: OutboxItem) -> bool:
        """One delivery attempt; True when the notice is settled (sent or, with nowhere to go, dropped). A member's
        notice is written in their language as last seen; an announcement in the staff channel's."""
        staff = item.kind in ANNOUNCEMENTS
        language = self.bot.staff_language() if staff else await self.bot.member_language(item.discord_id)
        with speaking(language):
            return await self._deliver(item)

    async def _deliver(self, item: OutboxItem) -> bool:
        store = self.bot.notifications
        embed = notice_embed(self.bot, item)
        try:
            if item.kind in ANNOUNCEMENTS:
                message = await self._post(self.bot.settings.topup_announce_channel_id, None, embed, item)
            else:
                message = await self._dm(item, embed)
        except discord.Forbidden as exc:
            if exc.code != CLOSED_DMS or item.kind in ANNOUNCEMENTS:
                await self._failed(item, exc)
                return False
            fallback = self.bot.settings.notice_fallback_channel_id
            if fallback is None:
                await store.mark_dropped(item.id, "the member's DMs are closed and no fallback channel is set")
                self.bot.metrics.notice_dropped(item)
                await self._audit_drop(item, "DMs closed, no fallback channel")
                return True
            try:
                message = await self._post(fallback, item.discord_id, embed, item)
            except discord.HTTPException as fallback_error:
                await self._failed(item, fallback_error)
                return False
        except discord.NotFound:
            await store.mark_dropped(item.id, "unknown Discord user")
            self.bot.metrics.notice_dropped(item)
            await self._audit_drop(item, "unknown Discord user")
            return True
        except discord.HTTPException as exc:
            await self._failed(item, exc)
            return False
        await store.mark_sent(item.id, message.id)
        self.bot.metrics.notice_sent(item)
        return True

    async def _dm(self, item: OutboxItem, embed: discord.Embed) -> discord.Message:
        user = self.bot.get_user(item.discord_id) or await self.bot.fetch_user(item.discord_id)
        channel = user.dm_channel or await user.create_dm()
        # The outbox's nonce: if this exact notice reached Discord before a crash, Discord returns that message.
        return await channel.send(embed=embed, nonce=item.nonce, allowed_mentions=NO_MENTIONS)

    async def _post(
        self, channel_id: int | None, mention: int | None, embed: discord.Embed, item: OutboxItem
    ) -> discord.Message:
        if channel_id is None:
            raise discord.ClientException("no channel configured")
        channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        assert isinstance(channel, discord.abc.Messageable)
        content = (
            _("{member}, your DMs are closed, so here is your notice:", member=f"<@{mention}>") if mention else None
        )
        pings = discord.AllowedMentions(users=[discord.Object(mention)]) if mention else NO_MENTIONS
        return await channel.send(content, embed=embed, nonce=item.nonce, allowed_mentions=pings)

    async def _failed(self, item: OutboxItem, error: Exception) -> None:
        retry_in = min(self.retry_first * 2**item.attempts, self.retry_longest)
        await self.bot.notifications.mark_failed(item.id, f"{type(error).__name__}: {error}", retry_in=retry_in)
        self.bot.metrics.notice_failed(item, given_up=item.attempts + 1 >= MAX_ATTEMPTS)
        if item.attempts + 1 >= MAX_ATTEMPTS:
            await self._audit_drop(item, f"gave up after {MAX_ATTEMPTS} attempts: {error}")

    async def _audit_drop(self, item: OutboxItem, reason: str) -> None:
        change = Change("notice.dropped", item.panel, target_discord_id=item.discord_id)
        change.details.update(kind=item.kind, notice=item.id, reason=reason)
        await record(self.bot, None, change, AuditOutcome.FAILED)


async def setup(bot: PanelDesk) -> None:
    await bot.add_cog(Notifications(bot))
