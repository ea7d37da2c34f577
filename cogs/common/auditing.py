"""Recording each staff change: a row in the audit log, and a post in the audit channel when one is set."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord

from i18n import _, speaking
from panel_api import PanelError, PanelUnavailable, PanelUser
from storage import AuditEntry, AuditOutcome

from .embeds import FIELD_LABELS
from .errors import UserFacingError
from .text import NO_MENTIONS, safe

if TYPE_CHECKING:
    from bot import PanelDesk

log = logging.getLogger(__name__)

OUTCOME_MARKS = {AuditOutcome.OK: "✅", AuditOutcome.REFUSED: "⛔", AuditOutcome.FAILED: "⚠️"}


@dataclass
class Change:
    """One change in progress; the command fills in the target and details as it learns them."""

    action: str
    panel: str
    target: PanelUser | None = None
    target_label: str | None = None
    target_discord_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    target_email: str | None = None

    def about(self, user: PanelUser) -> None:
        self.target = user
        self.target_label = user.username
        self.target_email = user.email


@asynccontextmanager
async def audited(
    interaction: discord.Interaction[PanelDesk], action: str, *, panel: str, target: PanelUser | None = None
) -> AsyncIterator[Change]:
    """Audit the block: OK when it ends normally, REFUSED/FAILED (with the reason) when it raises, then re-raise.

    Refused means the panel or the bot said no (validation, conflict, servers still owned); failed means the panel
    could not be reached or broke, so the outcome on the panel is uncertain.
    """
    change = Change(action=action, panel=panel)
    if target is not None:
        change.about(target)
    try:
        yield change
    except (PanelError, UserFacingError) as exc:
        outcome = AuditOutcome.FAILED if isinstance(exc, PanelUnavailable) else AuditOutcome.REFUSED
        await record(interaction.client, interaction.user.id, change, outcome, error=str(exc))
        raise
    except Exception as exc:
        await record(interaction.client, interaction.user.id, change, AuditOutcome.FAILED, error=type(exc).__name__)
        raise
    await record(interaction.client, interaction.user.id, change, AuditOutcome.OK)


async def record(
    bot: PanelDesk, actor_id: int | None, change: Change, outcome: AuditOutcome, *, error: str | None = None
) -> AuditEntry:
    details = dict(change.details)
    if error:
        details["error"] = error
    entry = await bot.audit.record(
        change.action,
        actor_id=actor_id,
        outcome=outcome,
        panel=change.panel,
        target_user_id=change.target.id if change.target else None,
        target_label=change.target_label,
        target_discord_id=change.target_discord_id,
        details=details,
        target_email=change.target_email,
    )
    await post_to_channel(bot, entry)
    return entry


def describe(entry: AuditEntry, *, emails: bool) -> str:
    """One line of an audit listing. `emails`: where only staff read it privately, the account's email follows its
    name; a channel post names accounts by username and id only (AUDIT_CHANNEL_SHOWS_EMAILS turns emails on)."""
    when = discord.utils.format_dt(entry.at, "R")
    actor = f"<@{entry.actor_id}>" if entry.actor_id else _("the bot")
    target = safe(entry.target_label or entry.target_user_id or "—", limit=80)
    if entry.target_user_id and entry.target_label:
        target += f" (#{safe(entry.target_user_id, limit=40)})"
    if emails and entry.target_email:
        target += f" <{safe(entry.target_email, limit=80)}>"
    line = f"{OUTCOME_MARKS[entry.outcome]} {when} {actor} `{entry.action}` {target}"
    if entry.target_discord_id:
        line += f" (<@{entry.target_discord_id}>)"
    if entry.panel:
        line += " " + _("on {panel}", panel=safe(entry.panel))
    changed = entry.details.get("changed")
    if isinstance(changed, dict) and changed:
        line += " — " + ", ".join(_(FIELD_LABELS[name]) if name in FIELD_LABELS else safe(name) for name in changed)
    if entry.details.get("error"):
        line += f" — {safe(entry.details['error'], limit=120)}"
    return line


async def post_to_channel(bot: PanelDesk, entry: AuditEntry) -> None:
    channel_id = bot.settings.audit_channel_id
    if not channel_id:
        return
    try:
        channel = bot.get_channel(channel_id) or await bot.fetch_channel(channel_id)
        if isinstance(channel, discord.abc.Messageable):
            with speaking(bot.staff_language()):
                line = describe(entry, emails=bot.settings.audit_channel_shows_emails)
            await channel.send(line, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as exc:
        log.warning("could not post audit entry %s to channel %s: %s", entry.id, channel_id, exc)
