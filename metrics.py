"""The bot's Prometheus metrics, served at `/metrics` by `health.py`.

Discord's side keeps the names discord.py bots already chart (discord-ext-prometheus: `discord_connected`,
`discord_latency_seconds`, `discord_event_on_interaction`, `discord_stat_total_*`), so existing dashboards work;
ours start with `panel_desk_`. Every label value comes from a bounded set (command names, panel names, notice
kinds, HTTP methods, status classes), never from members: a user id or email as a label would leak it and grow the
series without end.

Each bot has its own `CollectorRegistry`: the global one would mix the bots a test run starts in one process, and
refuses a second registration of the same name.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import discord
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from cogs.notifications import MAX_ATTEMPTS
from panel_api import RetryReason, TransportObserver

if TYPE_CHECKING:
    from bot import PanelDesk
    from cogs.common.role_sync import PassReport
    from cogs.notifications import FinishedSweep
    from storage import OutboxItem

# Panel answers take from tens of milliseconds (a user page) to the 15 s default timeout (a slow panel).
PANEL_LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)


def status_class(status: int | None) -> str:
    """2xx, 3xx, 4xx or 5xx for an answer, "error" for none (refused, timed out, cut off)."""
    if status is None or not 100 <= status < 600:
        return "error"
    return f"{status // 100}xx"


class BotMetrics:
    """Every metric of one bot. Counters are moved as things happen; gauges are read at scrape time (`render`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        # --- Discord, as discord-ext-prometheus names them -----------------------------------------------------
        self.discord_connected = Gauge(
            "discord_connected", "1 while the bot's gateway connection to Discord is open", registry=registry
        )
        self.discord_latency = Gauge(
            "discord_latency_seconds",
            "Time between the last gateway heartbeat and its acknowledgement (NaN before the first)",
            registry=registry,
        )
        self.interactions = Counter(
            "discord_event_on_interaction",
            "Interactions received, by type and slash command (empty for buttons and forms)",
            ["interaction", "command"],
            registry=registry,
        )
        self.guilds = Gauge("discord_stat_total_guilds", "Servers the bot is a member of", registry=registry)
        self.commands = Gauge("discord_stat_total_commands", "Slash commands the bot registers", registry=registry)
        # --- panels ----------------------------------------------------------------------------------------------
        self.panel_requests = Counter(
            "panel_desk_panel_requests",
            "Requests sent to each panel, by method and answer class (2xx, 3xx, 4xx, 5xx; error: no answer)",
            ["panel", "method", "status"],
            registry=registry,
        )
        self.panel_latency = Histogram(
            "panel_desk_panel_request_duration_seconds",
            "Time from sending a request to a panel to its whole answer (or the failure)",
            ["panel"],
            buckets=PANEL_LATENCY_BUCKETS,
            registry=registry,
        )
        self.panel_rate_limited = Counter(
            "panel_desk_panel_rate_limited", "429 answers from each panel", ["panel"], registry=registry
        )
        self.panel_limiter_wait = Counter(
            "panel_desk_panel_rate_limit_wait_seconds",
            "Seconds requests waited for the bot's own rate limit on each panel (or a pause the panel asked for)",
            ["panel"],
            registry=registry,
        )
        self.panel_retries = Counter(
            "panel_desk_panel_retries",
            "Requests sent again after a failure, by reason",
            ["panel", "reason"],
            registry=registry,
        )
        self.panel_up = Gauge(
            "panel_desk_panel_up",
            "1 when the panel's last answer to the bot's key was a success, 0 when it failed (absent: not asked yet)",
            ["panel"],
            registry=registry,
        )
        self.links = Gauge(
            "panel_desk_links", "Discord members linked to an account, by panel", ["panel"], registry=registry
        )
        # --- notices ----------------------------------------------------------------------------------------------
        notice_labels = ["panel", "kind"]
        self.notices_queued = Counter(
            "panel_desk_notices_queued", "Notices written to the outbox", notice_labels, registry=registry
        )
        self.notices_sent = Counter("panel_desk_notices_sent", "Notices delivered", notice_labels, registry=registry)
        self.notices_failed = Counter(
            "panel_desk_notices_failed",
            "Delivery attempts that failed (tried again later)",
            notice_labels,
            registry=registry,
        )
        self.notices_given_up = Counter(
            "panel_desk_notices_given_up",
            "Notices no longer tried after their last failed attempt",
            notice_labels,
            registry=registry,
        )
        self.notices_dropped = Counter(
            "panel_desk_notices_dropped",
            "Notices with nowhere to go (DMs closed and no fallback channel, unknown member)",
            notice_labels,
            registry=registry,
        )
        self.outbox_depth = Gauge(
            "panel_desk_outbox_depth", "Notices waiting to be sent (given-up ones not counted)", registry=registry
        )
        self.outbox_oldest_age = Gauge(
            "panel_desk_outbox_oldest_age_seconds",
            "Age of the oldest notice waiting to be sent (0 when none waits)",
            registry=registry,
        )
        self.outbox_given_up = Gauge(
            "panel_desk_outbox_given_up", "Unsent notices the bot gave up on, kept for staff", registry=registry
        )
        # --- watchers ---------------------------------------------------------------------------------------------
        self.sweep_time = Gauge(
            "panel_desk_watcher_last_sweep_timestamp_seconds",
            "When each watcher last finished a sweep of a panel (Unix time)",
            ["watcher", "panel"],
            registry=registry,
        )
        self.sweep_duration = Gauge(
            "panel_desk_watcher_last_sweep_duration_seconds",
            "How long each watcher's last sweep of a panel took",
            ["watcher", "panel"],
            registry=registry,
        )
        self.sweep_ok = Gauge(
            "panel_desk_watcher_last_sweep_ok",
            "1 when each watcher's last sweep of a panel finished without an error, else 0",
            ["watcher", "panel"],
            registry=registry,
        )

        # --- roles ------------------------------------------------------------------------------------------------
        self.mails = Counter(
            "panel_desk_mails", "Code mails accepted by the mail server, or not", ["outcome"], registry=registry
        )
        self.role_changes = Counter(
            "panel_desk_role_changes", "Managed roles given or taken by the role sync", ["change"], registry=registry
        )
        self.role_pass_time = Gauge(
            "panel_desk_role_sync_last_pass_timestamp_seconds",
            "When the role sync last finished a pass over every member (Unix time)",
            registry=registry,
        )
        self.role_problems = Gauge(
            "panel_desk_role_sync_problem_roles",
            "Managed roles the bot cannot give or take (hierarchy, permissions, deleted), at the last pass",
            registry=registry,
        )

    def mail_was_sent(self, *, ok: bool) -> None:
        self.mails.labels("sent" if ok else "failed").inc()

    def role_changed(self, added: bool) -> None:
        self.role_changes.labels("added" if added else "removed").inc()

    def role_pass_finished(self, report: PassReport) -> None:
        self.role_pass_time.set(report.finished_at)
        self.role_problems.set(len(report.problems))

    def panel_observer(self, panel: str) -> PanelMetrics:
        """The observer to set on the transport of panel `panel` (`client.transport.observer`)."""
        return PanelMetrics(self, panel)

    # --- what the bot reports as it happens ----------------------------------------------------------------------

    def interaction_received(self, interaction: discord.Interaction[Any]) -> None:
        command = ""
        if interaction.type in (discord.InteractionType.application_command, discord.InteractionType.autocomplete):
            # Only commands the tree knows resolve, so the label stays one of our own command names. discord.py
            # resolves it from the raw data, which a hostile or broken payload can leave unreadable.
            try:
                found = interaction.command
            except (AttributeError, KeyError, TypeError, ValueError):
                found = None
            command = found.qualified_name if found is not None else "unknown"
        self.interactions.labels(interaction.type.name, command).inc()

    def notices_were_queued(self, items: list[OutboxItem]) -> None:
        for item in items:
            self.notices_queued.labels(item.panel, item.kind).inc()

    def notice_sent(self, item: OutboxItem) -> None:
        self.notices_sent.labels(item.panel, item.kind).inc()

    def notice_failed(self, item: OutboxItem, *, given_up: bool) -> None:
        self.notices_failed.labels(item.panel, item.kind).inc()
        if given_up:
            self.notices_given_up.labels(item.panel, item.kind).inc()

    def notice_dropped(self, item: OutboxItem) -> None:
        self.notices_dropped.labels(item.panel, item.kind).inc()

    def sweep_finished(self, watcher: str, panel: str, sweep: FinishedSweep) -> None:
        self.sweep_time.labels(watcher, panel).set(sweep.finished_at)
        self.sweep_duration.labels(watcher, panel).set(sweep.seconds)
        self.sweep_ok.labels(watcher, panel).set(0 if sweep.error else 1)

    # --- what is read when scraped -------------------------------------------------------------------------------

    async def render(self, bot: PanelDesk) -> bytes:
        """The Prometheus text: the gauges read now (two database queries), then every metric."""
        self.discord_connected.set(1 if gateway_open(bot) else 0)
        latency = bot.latency
        self.discord_latency.set(latency if math.isfinite(latency) else math.nan)
        self.guilds.set(len(bot.guilds))
        self.commands.set(sum(1 for _ in bot.tree.walk_commands()))
        for name, client in bot.panels.items():
            ok = client.transport.contact.ok
            if ok is not None:
                self.panel_up.labels(name).set(1 if ok else 0)
        links = await bot.links.count_by_panel()
        for name in bot.panels:
            self.links.labels(name).set(links.get(name, 0))
        # The sender's retry policy decides when a notice counts as given up.
        outbox = await bot.notifications.outbox_summary(max_attempts=MAX_ATTEMPTS)
        self.outbox_depth.set(outbox.waiting)
        self.outbox_given_up.set(outbox.given_up)
        oldest = outbox.oldest_waiting
        self.outbox_oldest_age.set(max(0.0, time.time() - oldest.timestamp()) if oldest is not None else 0.0)
        return generate_latest(self.registry)


def gateway_open(bot: PanelDesk) -> bool:
    """Whether the bot holds an open gateway connection now (discord.py replaces `ws` on every reconnect)."""
    return not bot.is_closed() and bot.ws is not None and bot.ws.open


class PanelMetrics(TransportObserver):
    """The metrics of one panel, as its transport reports them."""

    def __init__(self, metrics: BotMetrics, panel: str) -> None:
        self._metrics = metrics
        self._panel = panel

    def request_done(self, method: str, status: int | None, seconds: float) -> None:
        self._metrics.panel_requests.labels(self._panel, method, status_class(status)).inc()
        self._metrics.panel_latency.labels(self._panel).observe(seconds)

    def rate_limited(self) -> None:
        self._metrics.panel_rate_limited.labels(self._panel).inc()

    def retried(self, reason: RetryReason) -> None:
        self._metrics.panel_retries.labels(self._panel, reason.replace(" ", "_")).inc()

    def limiter_waited(self, seconds: float) -> None:
        self._metrics.panel_limiter_wait.labels(self._panel).inc(seconds)
