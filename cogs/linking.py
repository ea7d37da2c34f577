"""/link, /unlink, /account for members, and /link-admin for admins.

A member proves they own a panel account with the strongest proof the panel allows: the panel's own record of their
Discord account or an external id naming them (no input at all), a client API key of the account (checked once
with the panel, then forgotten), or a request that staff approve.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from i18n import N_, _, localize, number, speaking
from panel_api import Capability, NotFound, PanelClient, PanelUser, Unauthorized, UserChanges
from panel_api import Forbidden as PanelForbidden
from storage import AuditOutcome, Link, LinkMethod, LinkRequest, Purpose, RequestStatus

from .common.auditing import Change, audited, record
from .common.checks import Access, NotAllowed, member_access, require
from .common.codes import (
    EnterCodeView,
    PasswordModal,
    check_code,
    ensure_may_send,
    masked,
    password_fields,
    send_code,
    sent_text,
)
from .common.errors import UserFacingError, in_words, report_error
from .common.forms import submitted_value
from .common.linking import (
    create_link,
    ensure_may_link,
    linked_message,
    proof_failed,
    remove_link,
    unlink_departed_member,
)
from .common.resolve import PANEL_HELP, panel_autocomplete, panel_for, resolve_user, user_autocomplete
from .common.text import NO_MENTIONS, safe
from .common.views import ConfirmView, InvokerView

if TYPE_CHECKING:
    from bot import PanelDesk

log = logging.getLogger(__name__)

KEY_HELP_ELSEWHERE = N_("your account page")
KEY_HELP = {
    "pterodactyl": N_("Account → API Credentials"),
    "pelican": N_("your profile → API Keys"),
    "calagopus": N_("Account → API Keys"),
}


class ProofChoice(InvokerView):
    """The proofs left when none was automatic: a code by email (where mail is set up), a client API key (where the
    panel can check one), or staff."""

    def __init__(
        self, cog: Linking, *, author_id: int, panel_name: str, client: PanelClient, ask_staff: bool, by_mail: bool
    ):
        super().__init__(author_id=author_id, timeout=cog.choice_timeout)
        self.cog = cog
        self.panel_name = panel_name
        self.client = client
        if not by_mail:
            self.remove_item(self.send_code)
        if not client.supports(Capability.ACCOUNT_FOR_KEY):
            self.remove_item(self.use_key)
        if not ask_staff:
            self.remove_item(self.ask_staff)

    @discord.ui.button(label=N_("Send me a code"), style=discord.ButtonStyle.primary, custom_id="link:mail")
    async def send_code(self, interaction: discord.Interaction[PanelDesk], button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_modal(CodeEmailModal(self.cog, self.panel_name, self.client))

    @discord.ui.button(label=N_("Use a client API key"), style=discord.ButtonStyle.primary, custom_id="link:key")
    async def use_key(self, interaction: discord.Interaction[PanelDesk], button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_modal(KeyModal(self.cog, self.panel_name, self.client))

    @discord.ui.button(label=N_("Ask staff"), style=discord.ButtonStyle.secondary, custom_id="link:staff")
    async def ask_staff(self, interaction: discord.Interaction[PanelDesk], button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_modal(EmailModal(self.cog, self.panel_name, self.client))


# A modal nobody submits is forgotten after this long (Discord gives no sign that it was dismissed).
MODAL_TIMEOUT = 15 * 60


class ProofModal(discord.ui.Modal):
    """One member's proof form, opened from one press of theirs.

    Never given a fixed custom id (see cogs/common/forms.py): discord.py generates one per modal, so two members'
    open forms never replace each other, and each submission is read from its own interaction.
    """

    def __init__(self, cog: Linking, panel_name: str, client: PanelClient) -> None:
        super().__init__(timeout=MODAL_TIMEOUT)
        self.cog = cog
        self.panel_name = panel_name
        self.client = client
        localize(self)

    # discord.py's Modal overrides BaseView.on_error without the item argument, and so does every modal.
    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        await report_error(interaction, error, f"modal {type(self).__name__}")


class KeyModal(ProofModal, title=N_("Link with a client API key")):
    key: discord.ui.TextInput[KeyModal] = discord.ui.TextInput(
        label=N_("Client API key"),
        placeholder=N_("Create one on the panel's account page, paste it here"),
        custom_id="key",
        min_length=16,
        max_length=255,
    )

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        # The key is used for one request to the panel, asking whose key it is, and goes no further: it is not
        # stored, logged or echoed, and the modal holding it is dropped when this returns.
        key = submitted_value(interaction, "key").strip()
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot: PanelDesk = interaction.client
        await ensure_may_link(bot, self.panel_name, interaction.user)
        if not key:
            raise UserFacingError(_("Paste the client API key you created on the panel."))
        try:
            account = await self.client.account_for_key(key)
        except (Unauthorized, PanelForbidden, NotFound) as refused:
            left = await proof_failed(bot, interaction.user.id, "client key refused")
            raise UserFacingError(f"{in_words(refused)} {left}") from None
        await self.cog.finish_link(interaction, self.panel_name, self.client, account, LinkMethod.CLIENT_KEY)


class CodeEmailModal(ProofModal, title=N_("Get a code by email")):
    email: discord.ui.TextInput[CodeEmailModal] = discord.ui.TextInput(
        label=N_("Your panel account's email address"), custom_id="email", min_length=3, max_length=191
    )

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        email = submitted_value(interaction, "email").strip()
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.cog.send_link_code(interaction, self.panel_name, self.client, email)


class EmailModal(ProofModal, title=N_("Ask staff to link your account")):
    email: discord.ui.TextInput[EmailModal] = discord.ui.TextInput(
        label=N_("Your panel account's email address"), custom_id="email", min_length=3, max_length=191
    )

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        email = submitted_value(interaction, "email").strip()
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.cog.request_staff_link(interaction, self.panel_name, self.client, email)


REQUEST_BUTTONS = {
    "approve": (N_("Approve"), discord.ButtonStyle.success),
    "deny": (N_("Deny"), discord.ButtonStyle.danger),
    "email": (N_("Show email"), discord.ButtonStyle.secondary),
}


class RequestButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"linkreq:(?P<action>approve|deny|email):(?P<id>\d{1,18})",
):
    """Approve, Deny and Show email on a request in the staff channel. The custom id carries the request, so the
    buttons keep working after the bot restarts."""

    def __init__(self, action: str, request_id: int) -> None:
        label, style = REQUEST_BUTTONS[action]
        super().__init__(discord.ui.Button(label=_(label), style=style, custom_id=f"linkreq:{action}:{request_id}"))
        self.action = action
        self.request_id = request_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RequestButton:
        return cls(match["action"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction[PanelDesk]) -> None:  # type: ignore[override]
        cog = interaction.client.get_cog("Linking")
        assert isinstance(cog, Linking)
        try:
            if self.action == "email":
                await cog.show_request_email(interaction, self.request_id)
            else:
                await cog.decide_request(interaction, self.request_id, approve=self.action == "approve")
        except Exception as error:  # the tree's handler does not see component callbacks
            await report_error(interaction, error, f"link request {self.request_id}")


def request_view(request_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in REQUEST_BUTTONS:
        view.add_item(RequestButton(action, request_id))
    return view


class Linking(commands.Cog):
    # Seconds the proof buttons and the unlink confirmation keep answering.
    choice_timeout = 300.0
    confirm_timeout = 60.0

    link_admin = app_commands.Group(
        name="link-admin",
        description="Manage members' links to panel accounts",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    account = app_commands.Group(name="account", description="Your linked panel account", guild_only=True)

    def __init__(self, bot: PanelDesk) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(RequestButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RequestButton)

    @commands.Cog.listener()
    async def on_member_remove(self, member: discord.Member) -> None:
        if self.bot.settings.on_member_leave != "unlink":
            return
        if any(guild.get_member(member.id) for guild in self.bot.guilds if guild.id != member.guild.id):
            return  # still in another of the company's servers
        await unlink_departed_member(self.bot, member)

    # --- members ---------------------------------------------------------------------------------------------

    @app_commands.command(name="link", description="Link your Discord account to your own panel account")
    @app_commands.describe(panel=PANEL_HELP)
    @app_commands.autocomplete(panel=panel_autocomplete)
    @app_commands.guild_only()
    async def link(self, interaction: discord.Interaction[PanelDesk], panel: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        panel_name, client = panel_for(interaction, panel)
        await ensure_may_link(self.bot, panel_name, interaction.user)
        automatic = await self.automatic_proof(client, interaction.user.id)
        if automatic is not None:
            account, method = automatic
            await self.finish_link(interaction, panel_name, client, account, method)
            return
        ask_staff = self.bot.settings.link_requests_channel_id is not None
        can_key = client.supports(Capability.ACCOUNT_FOR_KEY)
        by_mail = self.bot.mailer is not None
        if not can_key and not ask_staff and not by_mail:
            raise UserFacingError(
                _(
                    "The {panel} panel does not show this Discord account on any panel account. "
                    "Ask staff to link you (`/link-admin set`).",
                    panel=panel_name,
                )
            )
        lines = [
            _(
                "No account on the {panel} panel names this Discord account yet. Prove which one is yours:",
                panel=panel_name,
            )
        ]
        if by_mail:
            lines.append(
                _(
                    "• **Send me a code**: type your account's email address; the bot mails a code to it, and you "
                    "type the code back here."
                )
            )
        if can_key:
            where = _(KEY_HELP.get(client.kind.value, KEY_HELP_ELSEWHERE))
            lines.append(
                _(
                    "• **Use a client API key**: create one on the panel ({where}) and paste it. The bot asks the "
                    "panel whose key it is, links that account and forgets the key; delete the key afterwards.",
                    where=where,
                )
            )
        if ask_staff:
            lines.append(_("• **Ask staff**: give your account's email address; staff approve the request."))
        view = ProofChoice(
            self,
            author_id=interaction.user.id,
            panel_name=panel_name,
            client=client,
            ask_staff=ask_staff,
            by_mail=by_mail,
        )
        view.message = await interaction.followup.send("\n".join(lines), view=view, ephemeral=True, wait=True)

    @app_commands.command(name="unlink", description="Remove the link between your Discord and panel accounts")
    @app_commands.describe(panel=PANEL_HELP)
    @app_commands.autocomplete(panel=panel_autocomplete)
    @app_commands.guild_only()
    async def unlink(self, interaction: discord.Interaction[PanelDesk], panel: str | None = None) -> None:
        panel_name, _unused = panel_for(interaction, panel)
        link = await self.bot.links.get_for_member(panel_name, interaction.user.id)
        if link is None:
            raise UserFacingError(_("You have no linked account on the {panel} panel.", panel=panel_name))
        view = ConfirmView(author_id=interaction.user.id, timeout=self.confirm_timeout, confirm_label=N_("Unlink"))
        cooldown = self.bot.settings.link_cooldown_hours
        question = _(
            "Unlink **{name}** from your Discord account?", name=safe(link.panel_username or link.panel_user_id)
        )
        if cooldown:
            question += " " + _(
                "Linking a different account is possible again after {hours} hours.", hours=number(cooldown)
            )
        await interaction.response.send_message(
            question,
            view=view,
            ephemeral=True,
        )
        view.message = await interaction.original_response()
        if await view.wait() or view.value is None:
            view.disable_all()
            await interaction.edit_original_response(content=_("No answer in time; still linked."), view=view)
            return
        if not view.value:
            await interaction.edit_original_response(content=_("Cancelled; still linked."), view=None)
            return
        await remove_link(interaction, panel_name=panel_name, discord_id=interaction.user.id, reason="member unlinked")
        await interaction.edit_original_response(content=_("Unlinked."), view=None)

    @account.command(name="show", description="Your linked panel account")
    @app_commands.describe(panel=PANEL_HELP)
    @app_commands.autocomplete(panel=panel_autocomplete)
    async def account_show(self, interaction: discord.Interaction[PanelDesk], panel: str | None = None) -> None:
        panel_name, client = panel_for(interaction, panel)
        link = await self._own_link(panel_name, interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        user = await self._linked_account(panel_name, client, link.panel_user_id)
        await interaction.followup.send(embed=account_embed(user, client, link.linked_at), ephemeral=True)

    @account.command(
        name="password",
        description="Set a new password for your linked panel account",
        extras={"capability": Capability.PASSWORD},
    )
    @app_commands.describe(panel=PANEL_HELP)
    @app_commands.autocomplete(panel=panel_autocomplete)
    async def account_password(self, interaction: discord.Interaction[PanelDesk], panel: str | None = None) -> None:
        panel_name, client = panel_for(interaction, panel)
        link = await self._own_link(panel_name, interaction.user.id)
        if not client.supports(Capability.PASSWORD):
            raise UserFacingError(
                _(
                    "The {panel} panel ({kind}) does not let the bot set passwords. Use the panel's own password "
                    "reset.",
                    panel=panel_name,
                    kind=client.display_name,
                )
            )
        settings = self.bot.settings

        async def change(answer: discord.Interaction[Any], code: str | None, typed: dict[str, str]) -> None:
            await self.change_password(answer, panel_name, client, code, typed)

        if settings.password_reset_without_email:
            # The form is the first answer (a modal cannot follow a deferral): no code, only the new password.
            await interaction.response.send_modal(PasswordModal(change))
            return
        if self.bot.mailer is None:
            raise UserFacingError(
                _(
                    "Changing your password from Discord needs a code sent to your account's email, and mail is not "
                    "set up on this server. Use the panel's own password reset, or ask staff."
                )
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        await ensure_may_send(self.bot, interaction.user.id, Purpose.PASSWORD)
        user = await self._linked_account(panel_name, client, link.panel_user_id)
        await send_code(self.bot, interaction.user, panel_name, Purpose.PASSWORD, subject=user.id, to=user.email)
        view = EnterCodeView(
            author_id=interaction.user.id, title=_("Set a new password"), handler=change, extra=password_fields
        )
        view.message = await interaction.followup.send(
            _(
                "A code is on its way to the email of your account (**{email}**). It works once, for 10 minutes. "
                "Press **Enter the code** and type it with your new password.",
                email=masked(user.email),
            ),
            view=view,
            ephemeral=True,
            wait=True,
        )

    async def change_password(
        self,
        interaction: discord.Interaction[PanelDesk],
        panel_name: str,
        client: PanelClient,
        code: str | None,
        typed: dict[str, str],
    ) -> None:
        """Check the new password first (a typo must not spend the code), then the code, then set it once. The
        password goes to the panel in one request and nowhere else: not stored, logged, echoed or audited."""
        member = interaction.user
        password, again = typed.get("password", ""), typed.get("again", "")
        if password != again:
            raise UserFacingError(_("The two passwords are not the same. Nothing was changed; try again."))
        problems = client.check_changes(UserChanges(password=password))
        if problems:
            raise UserFacingError(
                _(
                    "{problems} Nothing was changed.",
                    problems=" ".join(" ".join(messages) for messages in problems.values()),
                )
            )
        link = await self._own_link(panel_name, member.id)
        if code is not None:
            proved = await check_code(self.bot, member.id, panel_name, Purpose.PASSWORD, code)
            if proved != link.panel_user_id:
                raise UserFacingError(_("That code was for another account. Nothing was changed."))
        user = await self._linked_account(panel_name, client, link.panel_user_id)
        async with audited(interaction, "account.password", panel=panel_name, target=user) as change:
            change.target_discord_id = member.id
            change.details["credentials"] = "password changed"
            change.details["proof"] = "email code" if code is not None else "none (PASSWORD_RESET_WITHOUT_EMAIL)"
            await client.update_user(user.id, UserChanges(password=password))
        await interaction.followup.send(
            _(
                "Your password on the {panel} panel was changed. Sign in with the new one from now on.",
                panel=panel_name,
            ),
            ephemeral=True,
        )

    async def _own_link(self, panel_name: str, discord_id: int) -> Link:
        link = await self.bot.links.get_for_member(panel_name, discord_id)
        if link is None:
            raise UserFacingError(
                _("You have no linked account on the {panel} panel yet. Run `/link` to link it.", panel=panel_name)
            )
        return link

    async def _linked_account(self, panel_name: str, client: PanelClient, panel_user_id: str) -> PanelUser:
        try:
            return await client.get_user(panel_user_id)
        except NotFound:
            raise UserFacingError(
                _(
                    "Your linked account (#{id}) no longer exists on the {panel} panel. "
                    "Run `/unlink`, then `/link` your current account.",
                    id=panel_user_id,
                    panel=panel_name,
                )
            ) from None

    # --- admins ------------------------------------------------------------------------------------------------

    @link_admin.command(name="set", description="Link a member to a panel account")
    @app_commands.describe(member="The Discord member", user="The panel account: id, email, username or external id")
    @app_commands.describe(panel=PANEL_HELP)
    @app_commands.autocomplete(user=user_autocomplete, panel=panel_autocomplete)
    @require(Access.ADMIN)
    async def admin_set(
        self, interaction: discord.Interaction[PanelDesk], member: discord.Member, user: str, panel: str | None = None
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        panel_name, client = panel_for(interaction, panel)
        account = await resolve_user(self.bot, panel_name, client, user)
        result = await create_link(
            interaction, panel_name=panel_name, client=client, member=member, account=account, method=LinkMethod.STAFF
        )
        linked = _(
            "Linked {member} to **{name}** (#{id}).",
            member=member.mention,
            name=safe(account.username),
            id=safe(account.id),
        )
        lines = [linked, *result.notes]
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @link_admin.command(name="remove", description="Remove a member's link")
    @app_commands.describe(member="The Discord member", panel=PANEL_HELP)
    @app_commands.autocomplete(panel=panel_autocomplete)
    @require(Access.ADMIN)
    async def admin_remove(
        self, interaction: discord.Interaction[PanelDesk], member: discord.Member, panel: str | None = None
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        panel_name, _unused = panel_for(interaction, panel)
        link = await remove_link(interaction, panel_name=panel_name, discord_id=member.id, reason="removed by staff")
        name = safe(link.panel_username or link.panel_user_id) if link else "?"
        await interaction.followup.send(
            _("Removed the link of {member} to **{name}**.", member=member.mention, name=name), ephemeral=True
        )

    @link_admin.command(name="show", description="Show the link of a member or of a panel account")
    @app_commands.describe(member="A Discord member", user="Or a panel account", panel=PANEL_HELP)
    @app_commands.autocomplete(user=user_autocomplete, panel=panel_autocomplete)
    @require(Access.ADMIN)
    async def admin_show(
        self,
        interaction: discord.Interaction[PanelDesk],
        member: discord.Member | None = None,
        user: str | None = None,
        panel: str | None = None,
    ) -> None:
        if (member is None) == (user is None):
            raise UserFacingError(_("Give either a member or a panel account."))
        await interaction.response.defer(ephemeral=True, thinking=True)
        panel_name, client = panel_for(interaction, panel)
        if member is not None:
            link = await self.bot.links.get_for_member(panel_name, member.id)
            who = member.mention
        else:
            account = await resolve_user(self.bot, panel_name, client, user or "")
            link = await self.bot.links.get_for_account(panel_name, account.id)
            who = f"**{safe(account.username)}**"
        if link is None:
            await interaction.followup.send(
                _("{member} has no link on the {panel} panel.", member=who, panel=panel_name), ephemeral=True
            )
            return
        values = {
            "member": f"<@{link.discord_id}>",
            "name": safe(link.panel_username or "?"),
            "id": safe(link.panel_user_id),
            "panel": panel_name,
            "when": discord.utils.format_dt(link.linked_at, "R"),
            "method": link.method.value,
        }
        if link.linked_by:
            shown = _(
                "{member} ↔ **{name}** (#{id}) on {panel}: linked {when} ({method}, by {staff}).",
                staff=f"<@{link.linked_by}>",
                **values,
            )
        else:
            shown = _("{member} ↔ **{name}** (#{id}) on {panel}: linked {when} ({method}).", **values)
        await interaction.followup.send(shown, ephemeral=True)

    # --- the steps behind the commands --------------------------------------------------------------------------

    async def automatic_proof(self, client: PanelClient, discord_id: int) -> tuple[PanelUser, LinkMethod] | None:
        """An account the panel itself ties to this Discord id, needing nothing from the member."""
        if client.supports(Capability.DISCORD_ACCOUNT):
            account = await client.find_by_discord_id(discord_id)
            if account is not None:
                return account, LinkMethod.PANEL_DISCORD
        if client.supports(Capability.EXTERNAL_ID):
            account = await client.get_user_by_external_id(str(discord_id))
            if account is not None:
                return account, LinkMethod.EXTERNAL_ID
        return None

    async def finish_link(
        self,
        interaction: discord.Interaction[PanelDesk],
        panel_name: str,
        client: PanelClient,
        account: PanelUser,
        method: LinkMethod,
    ) -> None:
        try:
            result = await create_link(
                interaction,
                panel_name=panel_name,
                client=client,
                member=interaction.user,
                account=account,
                method=method,
            )
        except UserFacingError as refused:
            if method is LinkMethod.CLIENT_KEY:
                await proof_failed(self.bot, interaction.user.id, "account not available")
            raise refused
        notes = list(result.notes)
        if method is LinkMethod.CLIENT_KEY:
            notes.append(_("The key has not been kept: you can delete it on the panel now."))
        await interaction.followup.send(linked_message(account, panel_name, method, notes), ephemeral=True)

    async def send_link_code(
        self, interaction: discord.Interaction[PanelDesk], panel_name: str, client: PanelClient, email: str
    ) -> None:
        """Mail a code to the account with exactly this email, if there is one; the reply is the same either way."""
        member = interaction.user
        await ensure_may_link(self.bot, panel_name, member)
        await ensure_may_send(self.bot, member.id, Purpose.LINK)
        account = await client.find_user(email) if "@" in email else None
        if account is not None and account.email.casefold() != email.casefold():
            account = None
        await send_code(
            self.bot,
            member,
            panel_name,
            Purpose.LINK,
            subject=account.id if account else None,
            to=account.email if account else None,
        )

        async def entered(answer: discord.Interaction[Any], code: str | None, extra: dict[str, str]) -> None:
            await self.finish_code_link(answer, panel_name, client, code or "")

        view = EnterCodeView(author_id=member.id, title=_("Link with the code"), handler=entered)
        view.message = await interaction.followup.send(sent_text(panel_name), view=view, ephemeral=True, wait=True)

    async def finish_code_link(
        self, interaction: discord.Interaction[PanelDesk], panel_name: str, client: PanelClient, code: str
    ) -> None:
        await ensure_may_link(self.bot, panel_name, interaction.user)
        account_id = await check_code(self.bot, interaction.user.id, panel_name, Purpose.LINK, code)
        try:
            account = await client.get_user(account_id)
        except NotFound:
            raise UserFacingError(_("That account no longer exists on the panel.")) from None
        await self.finish_link(interaction, panel_name, client, account, LinkMethod.EMAIL_CODE)

    async def request_staff_link(
        self, interaction: discord.Interaction[PanelDesk], panel_name: str, client: PanelClient, email: str
    ) -> None:
        member = interaction.user
        await ensure_may_link(self.bot, panel_name, member)
        pending = await self.bot.link_requests.pending_for_member(panel_name, member.id)
        if pending is not None:
            raise UserFacingError(
                _("You already have a request waiting for staff; you will get a DM when it is decided.")
            )
        account = await client.find_user(email) if "@" in email else None
        if account is None or account.email.casefold() != email.casefold():
            left = await proof_failed(self.bot, member.id, "unknown email")
            raise UserFacingError(
                _("No account on the {panel} panel has that email address.", panel=panel_name) + " " + left
            )
        holder = await self.bot.links.get_for_account(panel_name, account.id)
        if holder is not None:
            change = Change("link.request", panel_name, target_discord_id=member.id)
            change.about(account)
            await record(self.bot, member.id, change, AuditOutcome.REFUSED, error="account linked to another member")
            raise UserFacingError(
                _("That panel account is already linked to another member. If it is yours, ask staff for help.")
            )
        request = await self.bot.link_requests.open(
            panel_name, member.id, account.id, email=email, panel_username=account.username
        )
        if request is None:
            raise UserFacingError(_("You already have a request waiting for staff."))
        channel_id = self.bot.settings.link_requests_channel_id
        assert channel_id is not None
        channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
        assert isinstance(channel, discord.abc.Messageable)
        with speaking(self.bot.staff_language()):  # a post in a staff channel, not a reply to the member
            embed, view = request_embed(request, member, account), request_view(request.id)
        posted = await channel.send(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
        await self.bot.link_requests.posted(request.id, channel_id=channel_id, message_id=posted.id)
        change = Change("link.request", panel_name, target_discord_id=member.id)
        change.about(account)
        change.details["request"] = request.id
        await record(self.bot, member.id, change, AuditOutcome.OK)
        await interaction.followup.send(
            _("Your request was sent to staff. You will get a DM when it is decided (keep DMs from this server open)."),
            ephemeral=True,
        )

    async def show_request_email(self, interaction: discord.Interaction[PanelDesk], request_id: int) -> None:
        """The email a member gave, for the admin who asks: never written in the request's channel message."""
        if member_access(interaction) < Access.ADMIN:
            raise NotAllowed(Access.ADMIN, self.bot.settings.admin_role_ids)
        request = await self.bot.link_requests.get(request_id)
        if request is None:
            raise UserFacingError(_("This request no longer exists."))
        account = safe(request.panel_username or f"#{request.panel_user_id}")
        await interaction.response.send_message(
            _(
                "Request #{request}: {member} gave **{email}**, the email of **{name}** (#{id}) on the {panel} panel.",
                request=request.id,
                member=f"<@{request.discord_id}>",
                email=safe(request.email),
                name=account,
                id=safe(request.panel_user_id),
                panel=request.panel,
            ),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    async def decide_request(
        self, interaction: discord.Interaction[PanelDesk], request_id: int, *, approve: bool
    ) -> None:
        if member_access(interaction) < Access.ADMIN:
            raise NotAllowed(Access.ADMIN, self.bot.settings.admin_role_ids)
        await interaction.response.defer()
        request = await self.bot.link_requests.get(request_id)
        if request is None or request.status is not RequestStatus.PENDING:
            raise UserFacingError(already_decided(request))
        account: PanelUser | None = None
        if approve:
            # Read the account before deciding: if the panel is down, the request simply stays open.
            try:
                account = await self.bot.panels.get_panel(request.panel).get_user(request.panel_user_id)
            except NotFound:
                account = None
        status = RequestStatus.APPROVED if approve and account is not None else RequestStatus.DENIED
        decided = await self.bot.link_requests.decide(request_id, status, decided_by=interaction.user.id)
        if decided is None:  # another admin was quicker
            raise UserFacingError(already_decided(await self.bot.link_requests.get(request_id)))
        # The outcome replaces the request's post in the staff channel: it is written in that channel's language.
        with speaking(self.bot.staff_language()):
            if not approve:
                outcome = await self._deny(interaction, decided)
            elif account is None:
                dm = await self._tell(
                    decided.discord_id, N_("Your link request was closed: the account no longer exists.")
                )
                outcome = _("⚠️ The account no longer exists on the panel; the request is closed.") + " " + dm
            else:
                outcome = await self._approve(interaction, decided, account)
        embed = interaction.message.embeds[0] if interaction.message and interaction.message.embeds else None
        await interaction.edit_original_response(content=outcome, embed=embed, view=None)

    async def _approve(
        self, interaction: discord.Interaction[PanelDesk], request: LinkRequest, account: PanelUser
    ) -> str:
        try:
            result = await create_link(
                interaction,
                panel_name=request.panel,
                client=self.bot.panels.get_panel(request.panel),
                member=discord.Object(request.discord_id),
                account=account,
                method=LinkMethod.STAFF_APPROVAL,
            )
        except UserFacingError as problem:
            await self.bot.link_requests.approval_failed(request.id)
            await self._tell(
                request.discord_id, N_("Your link request could not be completed: {problem}"), problem=str(problem)
            )
            return _("⚠️ Could not link: {problem} The request is closed.", problem=str(problem))
        dm = await self._tell(
            request.discord_id,
            N_("Staff approved your request: your Discord account is now linked to **{name}** on the {panel} panel."),
            name=safe(account.username),
            panel=request.panel,
        )
        approved = _(
            "✅ Approved by {staff}: {member} is linked.",
            staff=interaction.user.mention,
            member=f"<@{request.discord_id}>",
        )
        return " ".join([approved, dm, *result.notes])

    async def _deny(self, interaction: discord.Interaction[PanelDesk], request: LinkRequest) -> str:
        change = Change("link.request", request.panel, target_discord_id=request.discord_id)
        change.target_label = request.panel_username
        change.details.update(request=request.id, decision="denied")
        await record(self.bot, interaction.user.id, change, AuditOutcome.REFUSED)
        dm = await self._tell(
            request.discord_id,
            N_(
                "Staff did not approve your request to link **{name}** on the {panel} panel. Ask staff if you think "
                "this is a mistake."
            ),
            name=safe(request.panel_username or "?"),
            panel=request.panel,
        )
        return _("⛔ Denied by {staff}.", staff=interaction.user.mention) + " " + dm

    async def _tell(self, discord_id: int, message: str, /, **values: Any) -> str:
        """DM a member `message` (a sentence marked with `N_`, its placeholders filled from `values`) in their
        language; returns a note for staff, in the current language, about whether it arrived."""
        with speaking(await self.bot.member_language(discord_id)):
            text = _(message, **values)
        try:
            user = self.bot.get_user(discord_id) or await self.bot.fetch_user(discord_id)
            await user.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            return _("(The member's DMs are closed, so they were not told.)")
        return _("(The member was told by DM.)")


# What an admin pressing a button on a request already decided is told: how it was decided, and by whom.
ALREADY_DECIDED = {
    RequestStatus.PENDING: (
        N_("This request was already pending."),
        N_("This request was already pending by {staff}."),
    ),
    RequestStatus.APPROVED: (
        N_("This request was already approved."),
        N_("This request was already approved by {staff}."),
    ),
    RequestStatus.DENIED: (N_("This request was already denied."), N_("This request was already denied by {staff}.")),
    RequestStatus.WITHDRAWN: (
        N_("This request was already withdrawn."),
        N_("This request was already withdrawn by {staff}."),
    ),
}


def already_decided(request: LinkRequest | None) -> str:
    if request is None:
        return _("This request no longer exists.")
    alone, by = ALREADY_DECIDED[request.status]
    if request.decided_by:
        return _(by, staff=f"<@{request.decided_by}>")
    return _(alone)


def account_embed(user: PanelUser, client: PanelClient, linked_at: datetime) -> discord.Embed:
    embed = discord.Embed(title=safe(user.username, limit=256), colour=discord.Colour.blurple())
    embed.add_field(name=_("Email"), value=safe(user.email))
    for label, value in (
        (_("Credits"), None if user.credits is None else number(user.credits, fixed=True)),
        (_("Server limit"), user.server_limit),
        (_("Servers"), user.servers_count),
        (_("Suspended"), None if not user.suspended else _("yes — contact staff")),
    ):
        if value is not None:
            embed.add_field(name=label, value=str(value))
    embed.add_field(name=_("Linked"), value=discord.utils.format_dt(linked_at, "R"))
    embed.set_footer(text=f"{client.name} · {client.display_name}")
    return embed


def request_embed(request: LinkRequest, member: discord.User | discord.Member, account: PanelUser) -> discord.Embed:
    embed = discord.Embed(title=_("Link request"), colour=discord.Colour.gold())
    embed.add_field(name=_("Member"), value=f"{member.mention} (`{member.id}`)", inline=False)
    embed.add_field(name=_("Discord account created"), value=discord.utils.format_dt(member.created_at, "R"))
    embed.add_field(name=_("Panel account"), value=f"**{safe(account.username)}** (#{safe(account.id)})", inline=False)
    embed.add_field(name=_("Email given"), value=_("matches the account's (admins: *Show email*)"))
    if account.created_at:
        embed.add_field(name=_("Panel account created"), value=discord.utils.format_dt(account.created_at, "R"))
    embed.set_footer(
        text=_("Request #{request} · {panel} panel · only admins can decide", request=request.id, panel=request.panel)
    )
    return embed


async def setup(bot: PanelDesk) -> None:
    await bot.add_cog(Linking(bot))
