"""The linking rules every way of linking shares: who may link, cooldowns, the link itself, its role and audit.

Members prove ownership in different ways (cogs/linking.py); staff link directly or approve requests. Whatever the
way, a link is made and undone here, so the rules read the same everywhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import discord

from i18n import N_, _, n_
from panel_api import Capability, PanelClient, PanelError, PanelUser, UserChanges
from storage import AccountAlreadyLinked, AuditOutcome, Link, LinkMethod, MemberAlreadyLinked, StateReading

from .auditing import Change, audited, record
from .errors import UserFacingError, in_words
from .text import safe

if TYPE_CHECKING:
    from bot import PanelDesk

log = logging.getLogger(__name__)

METHOD_WORDS = {
    LinkMethod.EXTERNAL_ID: N_("the panel account's external id names you"),
    LinkMethod.PANEL_DISCORD: N_("you connected this Discord account on the panel"),
    LinkMethod.CLIENT_KEY: N_("you showed one of the account's API keys"),
    LinkMethod.EMAIL_CODE: N_("you typed the code mailed to the account's email"),
    LinkMethod.REGISTERED: N_("you created it with /register"),
    LinkMethod.STAFF_APPROVAL: N_("staff approved your request"),
    LinkMethod.STAFF: N_("linked by staff"),
    LinkMethod.CREATED: N_("staff created the account for you"),
}
# Staff decide with full knowledge; cooldowns only hold back self-service.
STAFF_METHODS = {LinkMethod.STAFF, LinkMethod.STAFF_APPROVAL, LinkMethod.CREATED}


def when(moment: datetime) -> str:
    return discord.utils.format_dt(moment, "R")


@dataclass(frozen=True)
class LinkResult:
    link: Link
    notes: list[str]


async def ensure_may_link(bot: PanelDesk, panel_name: str, member: discord.User | discord.Member) -> None:
    """Refuse early, before any proof is asked for: account too new, already linked, too many failed attempts."""
    settings = bot.settings
    now = discord.utils.utcnow()
    if settings.min_account_age_days:
        old_enough_at = member.created_at + timedelta(days=settings.min_account_age_days)
        if now < old_enough_at:
            raise UserFacingError(
                _(
                    "Your Discord account is too new to link a panel account; you can link {when}.",
                    when=when(old_enough_at),
                )
            )
    existing = await bot.links.get_for_member(panel_name, member.id)
    if existing is not None:
        name = safe(existing.panel_username or f"#{existing.panel_user_id}")
        raise UserFacingError(
            _(
                "You are already linked to **{name}** on the {panel} panel. Use `/unlink` first to link another.",
                name=name,
                panel=panel_name,
            )
        )
    await ensure_attempts_left(bot, member.id)


async def ensure_attempts_left(bot: PanelDesk, discord_id: int) -> None:
    retry_at = await _next_attempt_at(bot, discord_id)
    if retry_at is not None:
        raise UserFacingError(_("Too many failed attempts to prove an account. Try again {when}.", when=when(retry_at)))


async def _next_attempt_at(bot: PanelDesk, discord_id: int) -> datetime | None:
    """When a member out of attempts may try again; None while attempts are left."""
    settings = bot.settings
    window = timedelta(minutes=settings.link_attempt_window_minutes)
    failures = await bot.proof_failures.since(discord_id, window)
    if len(failures) < settings.link_attempts:
        return None
    return failures[-settings.link_attempts] + window


async def proof_failed(bot: PanelDesk, discord_id: int, reason: str) -> str:
    """Record a failed proof and say how many tries are left, or when the next one is allowed."""
    await bot.proof_failures.record(discord_id, reason)
    settings = bot.settings
    retry_at = await _next_attempt_at(bot, discord_id)
    if retry_at is not None:
        return _("No attempts left for now; you can try again {when}.", when=when(retry_at))
    used = len(await bot.proof_failures.since(discord_id, timedelta(minutes=settings.link_attempt_window_minutes)))
    left = max(0, settings.link_attempts - used)
    return n_("{count} attempt left.", "{count} attempts left.", left)


async def ensure_cooldowns(bot: PanelDesk, panel_name: str, discord_id: int, account: PanelUser) -> None:
    cooldown = timedelta(hours=bot.settings.link_cooldown_hours)
    if not cooldown:
        return
    now = discord.utils.utcnow()
    mine = await bot.links.last_unlink_of_member(panel_name, discord_id)
    if mine is not None and mine.panel_user_id != account.id and now < mine.unlinked_at + cooldown:
        raise UserFacingError(
            _(
                "You unlinked another account {unlinked}; you can link a different account {allowed}.",
                unlinked=when(mine.unlinked_at),
                allowed=when(mine.unlinked_at + cooldown),
            )
        )
    theirs = await bot.links.last_unlink_of_account(panel_name, account.id)
    if theirs is not None and theirs.discord_id != discord_id and now < theirs.unlinked_at + cooldown:
        raise UserFacingError(
            _(
                "That account was recently unlinked from another member; it can be linked again {allowed}. "
                "Ask staff if it is yours.",
                allowed=when(theirs.unlinked_at + cooldown),
            )
        )


async def create_link(
    interaction: discord.Interaction[PanelDesk],
    *,
    panel_name: str,
    client: PanelClient,
    member: discord.abc.Snowflake,
    account: PanelUser,
    method: LinkMethod,
) -> LinkResult:
    """Link `member` to `account`, enforcing the rules for `method`; audited whatever the outcome.

    `interaction.user` is who acted: the member themselves, or the staff member linking or approving.
    """
    bot = interaction.client
    by_staff = method in STAFF_METHODS
    async with audited(interaction, "link.create", panel=panel_name, target=account) as change:
        change.target_discord_id = member.id
        change.details["method"] = method.value
        if not by_staff:
            await ensure_cooldowns(bot, panel_name, member.id, account)
        try:
            link = await bot.links.link(
                panel_name,
                member.id,
                account.id,
                method=method,
                panel_username=account.username,
                linked_by=interaction.user.id if by_staff else None,
            )
        except AccountAlreadyLinked as conflict:
            change.details["linked_to"] = conflict.existing.discord_id
            if by_staff:
                raise UserFacingError(
                    _(
                        "**{name}** is already linked to {member}; remove that link first.",
                        name=safe(account.username),
                        member=f"<@{conflict.existing.discord_id}>",
                    )
                ) from None
            raise UserFacingError(
                _("That panel account is already linked to another member. If it is yours, ask staff for help.")
            ) from None
        except MemberAlreadyLinked as conflict:
            account_id = safe(conflict.existing.panel_user_id)
            if by_staff:
                refusal = _(
                    "{member} is already linked to #{id} on the {panel} panel.",
                    member=f"<@{member.id}>",
                    id=account_id,
                    panel=panel_name,
                )
            else:
                refusal = _("You are already linked to #{id} on the {panel} panel.", id=account_id, panel=panel_name)
            raise UserFacingError(refusal) from None
    if account.credits is not None:
        # The balance at link time is where top-up notices count from: a payment made before the first sweep
        # after linking is then told, not taken as the starting point.
        await bot.ledger.observe(panel_name, account.id, member.id, Decimal(str(account.credits)), notify=False)
    if account.suspended is not None:
        # Where suspension notices count from: a suspension before the link is not news to the member.
        start = StateReading(account.id, member.id, account.suspended, notify=False)
        await bot.account_states.observe(panel_name, [start], announce=False)
    roles = await bot.roles.reconcile(member.id, fresh=[(panel_name, account)])
    notes = [*roles.notes]
    if external := await write_external_id(bot, client, account, member.id):
        notes.append(external)
    return LinkResult(link, notes)


async def remove_link(
    interaction: discord.Interaction[PanelDesk], *, panel_name: str, discord_id: int, reason: str
) -> Link | None:
    """Undo a member's link on a panel (audited); takes the linked role back when no link is left."""
    bot = interaction.client
    async with audited(interaction, "link.remove", panel=panel_name) as change:
        change.target_discord_id = discord_id
        change.details["reason"] = reason
        link = await bot.links.unlink_member(panel_name, discord_id, reason=reason)
        if link is None:
            raise UserFacingError(
                _("{member} has no link on the {panel} panel.", member=f"<@{discord_id}>", panel=panel_name)
            )
        change.target_label = link.panel_username
        change.details["method"] = link.method.value
        change.details["panel_user_id"] = link.panel_user_id
    bot.roles.forget(panel_name, link.panel_user_id)
    await bot.roles.reconcile(discord_id)  # the account's roles go with it
    await clear_external_id(bot, panel_name, link)
    return link


async def unlink_deleted_account(interaction: discord.Interaction[PanelDesk], *, panel_name: str, link: Link) -> None:
    """The linked account was deleted: its link ends like any other (audited, role taken back)."""
    await end_deleted_link(interaction.client, interaction.user.id, panel_name, link)


async def end_deleted_link(bot: PanelDesk, actor_id: int | None, panel_name: str, link: Link) -> None:
    """End the link of an account deleted (by staff through the bot, `actor_id`, or on the panel, None): audited,
    and the account's roles go with it."""
    await bot.links.unlink_account(panel_name, link.panel_user_id, reason="account deleted")
    await _record_unlink(bot, actor_id, link, "account deleted")
    bot.roles.forget(panel_name, link.panel_user_id)
    await bot.roles.reconcile(link.discord_id)


async def unlink_departed_member(bot: PanelDesk, member: discord.Member) -> None:
    """ON_MEMBER_LEAVE=unlink: the member left the server, so their links end (audited as the bot's doing)."""
    for link in await bot.links.links_of_member(member.id):
        await bot.links.unlink_member(link.panel, member.id, reason="left the server")
        await _record_unlink(bot, None, link, "left the server")
        await clear_external_id(bot, link.panel, link)


async def _record_unlink(bot: PanelDesk, actor_id: int | None, link: Link, reason: str) -> None:
    """The audit row of an unlink nobody ran /unlink for, with the same details as `remove_link` writes."""
    change = Change("link.remove", link.panel, target_label=link.panel_username, target_discord_id=link.discord_id)
    change.details.update(reason=reason, method=link.method.value, panel_user_id=link.panel_user_id)
    await record(bot, actor_id, change, AuditOutcome.OK)


async def follow_account(bot: PanelDesk, panel_name: str, account: PanelUser) -> list[str]:
    """After staff changed an account through the bot (suspension, credits, server limit): its member's roles
    follow at once, not at the next sweep. Sentences for the staff member's reply."""
    link = await bot.links.get_for_account(panel_name, account.id)
    if link is None:
        return []
    return (await bot.roles.reconcile(link.discord_id, fresh=[(panel_name, account)])).notes


async def write_external_id(bot: PanelDesk, client: PanelClient, account: PanelUser, discord_id: int) -> str | None:
    """LINK_WRITES_EXTERNAL_ID: record the member on the panel account, never overwriting an existing id (a billing
    system may own it)."""
    if not bot.settings.link_writes_external_id or not client.supports(Capability.EXTERNAL_ID):
        return None
    if account.external_id == str(discord_id):
        return None
    if account.external_id:
        return _(
            "The account's external id is already `{external_id}`; it was left as it is.",
            external_id=safe(account.external_id),
        )
    try:
        await client.update_user(account.id, UserChanges(external_id=str(discord_id)))
    except PanelError as exc:
        log.warning("could not write the external id of panel user %s: %s", account.id, exc.message)
        return _(
            "The member's Discord id could not be written to the account's external id: {problem}",
            problem=in_words(exc),
        )
    return None


async def clear_external_id(bot: PanelDesk, panel_name: str, link: Link) -> None:
    """LINK_WRITES_EXTERNAL_ID: an unlinked account stops naming the member, or the external-id proof would link it
    straight back (and, after the cooldown, to whoever the id names)."""
    client = bot.panels.get(panel_name)
    if not bot.settings.link_writes_external_id or client is None or not client.supports(Capability.EXTERNAL_ID):
        return
    try:
        account = await client.get_user(link.panel_user_id)
        if account.external_id == str(link.discord_id):
            await client.update_user(account.id, UserChanges(external_id=None))
    except PanelError as exc:
        log.warning("could not clear the external id of panel user %s: %s", link.panel_user_id, exc.message)


def linked_message(account: PanelUser, panel_name: str, method: LinkMethod, notes: list[str]) -> str:
    linked = _(
        "Linked to **{name}** on the {panel} panel ({how}).",
        name=safe(account.username),
        panel=panel_name,
        how=_(METHOD_WORDS[method]),
    )
    return "\n".join([linked, *notes])
