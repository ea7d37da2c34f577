"""/user: staff manage panel accounts. Staff may look; admins may change."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from i18n import N_, _, number
from panel_api import (
    Capability,
    NewUser,
    NotFound,
    PanelClient,
    PanelUser,
    UserChanges,
    UserHasServers,
)
from storage import LinkMethod, StaffSuspension

from .common.auditing import audited
from .common.checks import Access, require
from .common.embeds import FIELD_LABELS, show_value, user_embed, user_line
from .common.errors import UserFacingError, refuse_invalid
from .common.linking import create_link, follow_account, unlink_deleted_account
from .common.pager import PageTurn, forget, pager_view
from .common.resolve import PANEL_HELP, USER_HELP, panel_autocomplete, panel_for, resolve_user, user_autocomplete
from .common.text import NO_MENTIONS, safe
from .common.views import ConfirmView

if TYPE_CHECKING:
    from bot import PanelDesk

    from .notifications import Notifications

PAGE_SIZE = 10


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Users(commands.GroupCog, group_name="user", group_description="Manage the panel's user accounts"):
    # Seconds before Confirm/Cancel stop answering, and before a list's Previous/Next say it expired.
    confirm_timeout = 60.0
    pager_lifetime = 15 * 60.0

    def __init__(self, bot: PanelDesk) -> None:
        self.bot = bot
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PageTurn)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PageTurn)

    # --- looking -------------------------------------------------------------------------------------------------

    @app_commands.command(name="list", description="List panel users, optionally matching a search")
    @app_commands.describe(search="Part of a username, or of an email when it has an @", page="Page to start on")
    @app_commands.describe(panel=PANEL_HELP)
    @app_commands.autocomplete(panel=panel_autocomplete)
    @require(Access.STAFF)
    async def list_users(
        self,
        interaction: discord.Interaction[PanelDesk],
        search: app_commands.Range[str, 1, 100] | None = None,
        page: app_commands.Range[int, 1, 100000] = 1,
        panel: str | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        _unused, client = panel_for(interaction, panel)
        term = search.strip() if search else None

        async def render(wanted: int) -> tuple[discord.Embed, int]:
            result = await client.list_users(page=max(1, wanted), per_page=PAGE_SIZE, search=term)
            if not result.items and result.total and wanted > 1:
                result = await client.list_users(page=result.total_pages, per_page=PAGE_SIZE, search=term)
            title = _("Users matching “{search}”", search=safe(term, limit=80)) if term else _("Users")
            lines = [user_line(user) for user in result.items] or [_("No users found.")]
            embed = discord.Embed(title=title, description="\n".join(lines), colour=discord.Colour.blurple())
            footer = _(
                "{panel} · page {page} of {pages} · {total} users",
                panel=client.name,
                page=number(result.page),
                pages=number(result.total_pages),
                total=number(result.total),
            )
            embed.set_footer(text=footer)
            return embed, result.total_pages

        embed, total_pages = await render(max(1, page))
        if total_pages <= 1:
            await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        token = self.bot.open_lists.open(interaction.user.id, render, lifetime=self.pager_lifetime)
        view = pager_view(token, min(page, total_pages), total_pages)
        await interaction.followup.send(embed=embed, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS)
        forget(view)

    @app_commands.command(name="info", description="Show every detail of one panel account")
    @app_commands.describe(user=USER_HELP, panel=PANEL_HELP)
    @app_commands.autocomplete(user=user_autocomplete, panel=panel_autocomplete)
    @require(Access.STAFF)
    async def info(self, interaction: discord.Interaction[PanelDesk], user: str, panel: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        panel_name, client = panel_for(interaction, panel)
        account = await resolve_user(self.bot, panel_name, client, user)
        embed = await self._embed(panel_name, client, account)
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # --- changing ------------------------------------------------------------------------------------------------

    @app_commands.command(name="create", description="Create a panel account")
    @app_commands.describe(
        email="Email address of the new account",
        username="Username (Pterodactyl: letters, digits, - _ . inside, at least 3 characters)",
        first_name="First name (required where the panel stores names, e.g. Pterodactyl)",
        last_name="Last name (required where the panel stores names, e.g. Pterodactyl)",
        admin="Make the account a panel admin",
        password="Initial password (never shown again); leave out to let the user set their own",
        language="Panel language code, e.g. en",
        member="Link the new account to this Discord member",
        panel=PANEL_HELP,
    )
    @app_commands.autocomplete(panel=panel_autocomplete)
    @require(Access.ADMIN)
    async def create(
        self,
        interaction: discord.Interaction[PanelDesk],
        email: app_commands.Range[str, 3, 191],
        username: app_commands.Range[str, 1, 191],
        first_name: app_commands.Range[str, 1, 191] | None = None,
        last_name: app_commands.Range[str, 1, 191] | None = None,
        admin: bool = False,
        password: app_commands.Range[str, 8, 128] | None = None,
        language: app_commands.Range[str, 2, 10] | None = None,
        member: discord.Member | None = None,
        panel: str | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        panel_name, client = panel_for(interaction, panel)
        new = NewUser(
            email=email.strip(),
            username=username.strip(),
            first_name=first_name.strip() if first_name and client.supports(Capability.NAMES) else None,
            last_name=last_name.strip() if last_name and client.supports(Capability.NAMES) else None,
            admin=admin,
            password=password,
            language=language.strip() if language else None,
        )
        if member is not None:
            await self._ensure_member_free(panel_name, member)
        async with audited(interaction, "user.create", panel=panel_name) as change:
            change.target_label, change.target_email = new.username, new.email
            change.details["fields"] = new.model_dump(exclude={"password"}, exclude_none=True)
            change.details["sign_in"] = "password set by staff" if password else "set-password link emailed"
            refuse_invalid(client.check_new_user(new))
            created = await client.create_user(new)
            change.about(created)
        notes = [
            _("A password was set; it is not shown again.")
            if password
            else _(client.password_setup, email=safe(created.email))
        ]
        if member is not None:
            notes.append(await self._link_created(interaction, panel_name, client, created, member))
        embed = await self._embed(
            panel_name, client, created, title=_("Created {username}", username=safe(created.username, limit=200))
        )
        await interaction.followup.send("\n".join(notes), embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="edit", description="Change fields of a panel account; only the fields given change")
    @app_commands.describe(
        user=USER_HELP,
        email="New email address",
        username="New username",
        first_name="New first name",
        last_name="New last name",
        admin="Make the account a panel admin (true) or not (false)",
        password="New password (never shown)",
        language="New panel language code, e.g. en",
        panel=PANEL_HELP,
    )
    @app_commands.autocomplete(user=user_autocomplete, panel=panel_autocomplete)
    @require(Access.ADMIN)
    async def edit(
        self,
        interaction: discord.Interaction[PanelDesk],
        user: str,
        email: app_commands.Range[str, 3, 191] | None = None,
        username: app_commands.Range[str, 1, 191] | None = None,
        first_name: app_commands.Range[str, 1, 191] | None = None,
        last_name: app_commands.Range[str, 1, 191] | None = None,
        admin: bool | None = None,
        password: app_commands.Range[str, 8, 128] | None = None,
        language: app_commands.Range[str, 2, 10] | None = None,
        panel: str | None = None,
    ) -> None:
        given = {
            "email": email,
            "username": username,
            "first_name": first_name,
            "last_name": last_name,
            "admin": admin,
            "password": password,
            "language": language,
        }
        wanted = {
            name: value.strip() if isinstance(value, str) and name != "password" else value
            for name, value in given.items()
            if value is not None
        }
        if not wanted:
            raise UserFacingError(_("Nothing to change: give at least one field to edit."))
        await interaction.response.defer(ephemeral=True, thinking=True)
        panel_name, client = panel_for(interaction, panel)
        changes = UserChanges.model_validate(wanted)
        before = await resolve_user(self.bot, panel_name, client, user)
        async with audited(interaction, "user.edit", panel=panel_name, target=before) as change:
            refuse_invalid(client.check_changes(changes))
            change.details["changed"] = {
                name: {"before": getattr(before, name), "after": value}
                for name, value in wanted.items()
                if name != "password"
            }
            if password is not None:
                change.details["credentials"] = "password changed"
            after = await client.update_user(before.id, changes)
        embed = discord.Embed(
            title=_("Edited {username}", username=safe(after.username, limit=200)), colour=discord.Colour.green()
        )
        for name in wanted:
            old = getattr(before, name, None)
            new = getattr(after, name, None)
            value = _("changed") if name == "password" else f"{show_value(name, old)} → {show_value(name, new)}"
            embed.add_field(name=_(FIELD_LABELS[name]), value=value, inline=False)
        embed.set_footer(text=f"#{after.id} · {client.name} · {client.display_name}")
        notes = await follow_account(self.bot, panel_name, after)  # the admin flag may be a role rule's
        await interaction.followup.send("\n".join(notes), embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="delete", description="Delete a panel account (asks for confirmation)")
    @app_commands.describe(user=USER_HELP, panel=PANEL_HELP)
    @app_commands.autocomplete(user=user_autocomplete, panel=panel_autocomplete)
    @require(Access.ADMIN)
    async def delete(self, interaction: discord.Interaction[PanelDesk], user: str, panel: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        panel_name, client = panel_for(interaction, panel)
        account = await resolve_user(self.bot, panel_name, client, user)
        embed = await self._embed(
            panel_name, client, account, title=_("Delete {username}?", username=safe(account.username, limit=200))
        )
        embed.colour = discord.Colour.red()
        embed.description = delete_warning(client, account)
        view = ConfirmView(author_id=interaction.user.id, timeout=self.confirm_timeout, confirm_label=N_("Delete"))
        view.message = await interaction.followup.send(
            embed=embed, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS, wait=True
        )
        if await view.wait() or view.value is None:
            view.disable_all()
            await view.message.edit(content=_("No answer in time; nothing was deleted."), embed=embed, view=view)
            return
        if not view.value:
            await view.message.edit(content=_("Cancelled; nothing was deleted."), embed=embed, view=None)
            return
        try:
            async with audited(interaction, "user.delete", panel=panel_name, target=account) as change:
                link = await self.bot.links.get_for_account(panel_name, account.id)
                change.target_discord_id = link.discord_id if link else None
                try:
                    await client.delete_user(account.id)
                except NotFound:
                    # Gone between the question and the answer: deleted on the panel meanwhile, or our DELETE went
                    # through and its answer was lost. Either way the account no longer exists; finish the job.
                    change.details["already_gone"] = True
                if link is not None:
                    change.details["unlinked_member"] = link.discord_id
        except UserHasServers:
            if account.servers_count:
                refused = _(
                    "The panel refused: {username} still owns servers ({count}). "
                    "Delete or transfer them on the panel, then try again.",
                    username=safe(account.username),
                    count=number(account.servers_count),
                )
            else:
                refused = _(
                    "The panel refused: {username} still owns servers. "
                    "Delete or transfer them on the panel, then try again.",
                    username=safe(account.username),
                )
            await view.message.edit(
                content=refused,
                embed=embed,
                view=None,
            )
            return
        if link is not None:
            await unlink_deleted_account(interaction, panel_name=panel_name, link=link)
        names = {"username": safe(account.username), "id": safe(account.id)}
        if "already_gone" not in change.details:
            done = _("Deleted {username} (#{id}).", **names)
        else:
            done = _("Already gone from the panel: {username} (#{id}).", **names)
        if link:
            done += " " + _("Their link to {member} was removed.", member=f"<@{link.discord_id}>")
        await view.message.edit(content=done, embed=None, view=None)

    @app_commands.command(
        name="suspend",
        description="Suspend a panel account (where the panel supports it)",
        extras={"capability": Capability.SUSPENSION},
    )
    @app_commands.describe(user=USER_HELP, reason="Why (kept in the audit log, and on the panel where it has one)")
    @app_commands.describe(panel=PANEL_HELP)
    @app_commands.autocomplete(user=user_autocomplete, panel=panel_autocomplete)
    @require(Access.ADMIN)
    async def suspend(
        self,
        interaction: discord.Interaction[PanelDesk],
        user: str,
        reason: app_commands.Range[str, 1, 320] | None = None,  # CtrlPanel 1.2 keeps at most 320
        panel: str | None = None,
    ) -> None:
        await self._set_suspended(interaction, user, panel, suspend=True, reason=reason)

    @app_commands.command(
        name="unsuspend", description="Lift a panel account's suspension", extras={"capability": Capability.SUSPENSION}
    )
    @app_commands.describe(user=USER_HELP, panel=PANEL_HELP)
    @app_commands.autocomplete(user=user_autocomplete, panel=panel_autocomplete)
    @require(Access.ADMIN)
    async def unsuspend(self, interaction: discord.Interaction[PanelDesk], user: str, panel: str | None = None) -> None:
        await self._set_suspended(interaction, user, panel, suspend=False, reason=None)

    # --- shared ----------------------------------------------------------------------------------------------------

    async def _set_suspended(
        self,
        interaction: discord.Interaction[PanelDesk],
        user: str,
        panel: str | None,
        *,
        suspend: bool,
        reason: str | None,
    ) -> None:
        panel_name, client = panel_for(interaction, panel)
        if not client.supports(Capability.SUSPENSION):
            raise UserFacingError(
                _(
                    "{kind} panels have no user suspension. "
                    "Suspend the account's servers on the panel instead, or remove the member's link.",
                    kind=client.display_name,
                )
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        account = await resolve_user(self.bot, panel_name, client, user)
        action = "user.suspend" if suspend else "user.unsuspend"
        notices: Notifications | None = self.bot.get_cog("Notifications")  # type: ignore[assignment]
        async with notices.staff_change(panel_name, account.id) if notices else contextlib.nullcontext():
            async with audited(interaction, action, panel=panel_name, target=account) as change:
                if reason:
                    change.details["reason"] = reason
                if suspend:
                    updated = await client.suspend_user(account.id, reason)
                else:
                    updated = await client.unsuspend_user(account.id)
            link = await self.bot.links.get_for_account(panel_name, updated.id)
            if notices is not None and link is not None:
                staff = StaffSuspension(actor_id=interaction.user.id, reason=reason)
                await notices.observe_state(panel_name, link, updated, staff=staff)
        username = safe(updated.username, limit=200)
        if suspend:
            title = _("Suspended {username}", username=username)
        else:
            title = _("Lifted the suspension of {username}", username=username)
        embed = await self._embed(panel_name, client, updated, title=title)
        notes = await follow_account(self.bot, panel_name, updated)
        if reason and not client.keeps_suspend_reason:
            notes.insert(0, _("The reason is kept in the bot's audit log; this panel has nowhere to record it."))
        await interaction.followup.send("\n".join(notes), embed=embed, ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def _embed(
        self, panel_name: str, client: PanelClient, user: PanelUser, *, title: str | None = None
    ) -> discord.Embed:
        link = await self.bot.links.get_for_account(panel_name, user.id)
        return user_embed(user, client, linked_member=link.discord_id if link else None, title=title)

    async def _ensure_member_free(self, panel_name: str, member: discord.Member) -> None:
        existing = await self.bot.links.get_for_member(panel_name, member.id)
        if existing is not None:
            raise UserFacingError(
                _(
                    "{member} is already linked to account #{account} on the {panel} panel; "
                    "unlink them first or leave out `member`.",
                    member=member.mention,
                    account=existing.panel_user_id,
                    panel=panel_name,
                )
            )

    async def _link_created(
        self,
        interaction: discord.Interaction[PanelDesk],
        panel_name: str,
        client: PanelClient,
        user: PanelUser,
        member: discord.Member,
    ) -> str:
        try:
            result = await create_link(
                interaction,
                panel_name=panel_name,
                client=client,
                member=member,
                account=user,
                method=LinkMethod.CREATED,
            )
        except UserFacingError as refused:
            return _("The account was created, but not linked: {reason}", reason=str(refused))
        return "\n".join([_("Linked to {member}.", member=member.mention), *result.notes])


def delete_warning(client: PanelClient, user: PanelUser) -> str:
    lines = [_("This deletes the account on the panel. It cannot be undone.")]
    if client.deletes_servers_with_user:
        lines.append(_("**This panel also deletes every server the user owns.**"))
    if user.servers_count:
        lines.append(_("The account owns {count} server(s).", count=number(user.servers_count)))
    return "\n".join(lines)


async def setup(bot: PanelDesk) -> None:
    await bot.add_cog(Users(bot))
