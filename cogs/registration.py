"""/register: a member creates their own panel account from Discord (REGISTRATION=open or roles).

The email is proved by a code sent to it before anything is created, so nobody signs up with someone else's
address. Limits: one account per member per panel (a link, or an earlier sign-up), MIN_ACCOUNT_AGE_DAYS, and
REGISTRATIONS_PER_DAY for the whole server, reserved in one transaction so members signing up at once cannot pass
it together. Where the panel has external ids, the member's Discord id is written there. The account is linked at
once (the linked role and role rules follow), and each sign-up is in the audit log and its channel.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from i18n import N_, _
from panel_api import Capability, NewUser, PanelClient, PanelError, PanelUser
from storage import AlreadyRegistered, LinkMethod, Purpose
from storage.email_codes import email_subject

from .common.auditing import audited
from .common.codes import EnterCodeView, check_code, ensure_may_send, send_code
from .common.errors import UserFacingError
from .common.linking import create_link, ensure_may_link
from .common.resolve import PANEL_HELP, panel_autocomplete, panel_for
from .common.text import safe

if TYPE_CHECKING:
    from bot import PanelDesk

log = logging.getLogger(__name__)


class Registration(commands.Cog):
    def __init__(self, bot: PanelDesk) -> None:
        self.bot = bot

    @app_commands.command(name="register", description="Create your own panel account, linked to this Discord account")
    @app_commands.describe(
        username="The username you want on the panel",
        email="Your email address: a code is sent there to prove it is yours",
        first_name="Your first name, on panels that keep names (the username when left out)",
        last_name="Your last name, on panels that keep names (the username when left out)",
        panel=PANEL_HELP,
    )
    @app_commands.autocomplete(panel=panel_autocomplete)
    @app_commands.guild_only()
    async def register(
        self,
        interaction: discord.Interaction[PanelDesk],
        username: app_commands.Range[str, 1, 191],
        email: app_commands.Range[str, 3, 191],
        first_name: app_commands.Range[str, 1, 191] | None = None,
        last_name: app_commands.Range[str, 1, 191] | None = None,
        panel: str | None = None,
    ) -> None:
        panel_name, client = panel_for(interaction, panel)
        self._ensure_may_register(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        member = interaction.user
        wanted = NewUser(
            email=email.strip(),
            username=username.strip(),
            first_name=(first_name or username).strip(),
            last_name=(last_name or username).strip(),
            external_id=str(member.id) if client.supports(Capability.EXTERNAL_ID) else None,
        )
        await self._ensure_none_yet(panel_name, member)
        problems = client.check_new_user(wanted.model_copy(update={"password": _PROBE}))
        if problems:
            raise UserFacingError(" ".join(" ".join(said) for said in problems.values()))
        await ensure_may_send(self.bot, member.id, Purpose.REGISTER)
        if await self.bot.email_codes.registrations_today() >= self.bot.settings.registrations_per_day:
            raise UserFacingError(_(_FULL))
        await send_code(
            self.bot, member, panel_name, Purpose.REGISTER, subject=email_subject(wanted.email), to=wanted.email
        )
        needs_password = _needs_password(client)

        async def entered(answer: discord.Interaction[Any], code: str | None, typed: dict[str, str]) -> None:
            await self.create(answer, panel_name, client, wanted, code or "", typed)

        view = EnterCodeView(
            author_id=member.id,
            title=_("Create your account"),
            handler=entered,
            extra=lambda: _password_fields(required=needs_password),
        )
        if needs_password:
            sent = _(
                "A code is on its way to the email address you gave. It works once, for 10 minutes. Press **Enter "
                "the code** when you have it (check the spam folder too); the form also asks for your new password."
            )
        else:
            sent = _(
                "A code is on its way to the email address you gave. It works once, for 10 minutes. Press **Enter "
                "the code** when you have it (check the spam folder too); the form also asks for a password (or "
                "leave it to the panel's reset)."
            )
        view.message = await interaction.followup.send(
            sent,
            view=view,
            ephemeral=True,
            wait=True,
        )

    def _ensure_may_register(self, interaction: discord.Interaction[PanelDesk]) -> None:
        settings = self.bot.settings
        if settings.registration != "roles":
            return
        roles = {role.id for role in getattr(interaction.user, "roles", [])}
        if not roles & set(settings.registration_role_ids):
            named = ", ".join(f"<@&{role}>" for role in settings.registration_role_ids)
            raise UserFacingError(
                _("Sign-up from Discord is open to members with one of these roles: {roles}.", roles=named)
            )

    async def _ensure_none_yet(self, panel_name: str, member: discord.User | discord.Member) -> None:
        """One account per member per panel, and the rules linking has (account age, failed proofs)."""
        await ensure_may_link(self.bot, panel_name, member)
        if await self.bot.email_codes.registered(member.id, panel_name) is not None:
            raise UserFacingError(_(_ALREADY, panel=panel_name))

    async def create(
        self,
        interaction: discord.Interaction[PanelDesk],
        panel_name: str,
        client: PanelClient,
        wanted: NewUser,
        code: str,
        typed: dict[str, str],
    ) -> None:
        """Password first (a typo spends nothing), then the code, then a place in today's sign-ups, then the
        account, then the link."""
        member = interaction.user
        password, again = typed.get("password", ""), typed.get("again", "")
        if password != again:
            raise UserFacingError(_("The two passwords are not the same. Nothing was created; try again."))
        new = wanted.model_copy(update={"password": password or None})
        email = new.email
        problems = client.check_new_user(new)
        if problems:
            said = " ".join(" ".join(messages) for messages in problems.values())
            raise UserFacingError(_("{problems} Nothing was created.", problems=said))
        await self._ensure_none_yet(panel_name, member)
        proved = await check_code(self.bot, member.id, panel_name, Purpose.REGISTER, code)
        if proved != email_subject(email):
            raise UserFacingError(_("That code was for another email address. Nothing was created."))
        existing = await client.find_user(email)
        if existing is not None and existing.email.casefold() == email.casefold():
            raise UserFacingError(
                _(
                    "An account with that email already exists on the {panel} panel. Run `/link` to link it.",
                    panel=panel_name,
                )
            )
        try:
            reservation = await self.bot.email_codes.reserve_registration(
                member.id, panel_name, per_day=self.bot.settings.registrations_per_day
            )
        except AlreadyRegistered:
            raise UserFacingError(_(_ALREADY, panel=panel_name)) from None
        if reservation is None:
            raise UserFacingError(_(_FULL))
        try:
            async with audited(interaction, "user.register", panel=panel_name) as change:
                change.target_discord_id = member.id
                change.target_label = new.username
                change.target_email = email
                change.details["sign_in"] = "password set by the member" if password else "panel's password reset"
                created = await client.create_user(new)
                change.about(created)
        except (PanelError, UserFacingError):
            await self.bot.email_codes.release_registration(reservation)
            raise
        await self.bot.email_codes.complete_registration(reservation, created.id)
        log.info("member %s signed up as account %s on %s", member.id, created.id, panel_name)
        await interaction.followup.send(
            await self._linked(interaction, panel_name, client, created, password), ephemeral=True
        )

    async def _linked(
        self,
        interaction: discord.Interaction[PanelDesk],
        panel_name: str,
        client: PanelClient,
        created: PanelUser,
        password: str,
    ) -> str:
        lines = [
            _(
                "Your account **{username}** was created on the {panel} panel ({url}).",
                username=safe(created.username),
                panel=panel_name,
                url=client.base_url,
            )
        ]
        try:
            result = await create_link(
                interaction,
                panel_name=panel_name,
                client=client,
                member=interaction.user,
                account=created,
                method=LinkMethod.REGISTERED,
            )
        except UserFacingError as refused:
            lines.append(
                _("It could not be linked to your Discord account: {reason} Ask staff to link it.", reason=refused)
            )
        else:
            lines += [_("It is linked to your Discord account."), *result.notes]
        if password:
            lines.append(_("Sign in with your email and the password you chose."))
        else:
            lines.append(_("Set your password with the panel's *Forgot password* page, using this email."))
        return "\n".join(lines)


_ALREADY = N_("You already created an account on the {panel} panel with `/register`.")
_FULL = N_("Today's sign-ups are all taken. Try again tomorrow, or ask staff.")
# A stand-in password, so that checking a username and email before the code is sent does not complain of a
# password the member has not been asked for yet.
_PROBE = "a-probe-password-0"


def _needs_password(client: PanelClient) -> bool:
    """Whether the panel refuses an account without a password (CtrlPanel, Convoy), asked of its own rules."""
    return "password" in client.check_new_user(NewUser(email="probe@example.com", username="probe"))


def _password_fields(*, required: bool) -> list[discord.ui.TextInput[Any]]:
    """The form's password fields, in English: the code form says them in the member's language (`localize`)."""
    hint = N_("8 characters or more") if required else N_("Leave empty to set it with the panel's password reset")
    return [
        discord.ui.TextInput(
            label=N_("Your new password"),
            custom_id="password",
            min_length=8,
            max_length=128,
            required=required,
            placeholder=hint,
        ),
        discord.ui.TextInput(
            label=N_("The password again"), custom_id="again", min_length=8, max_length=128, required=required
        ),
    ]


async def setup(bot: PanelDesk) -> None:
    if bot.settings.registration != "off":
        await bot.add_cog(Registration(bot))
