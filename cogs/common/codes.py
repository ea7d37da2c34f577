"""A code sent by email, typed back in Discord: the step /link, /account password and /register share.

What the member is told never depends on whether an account has the email they typed (no account discovery): the
code is issued either way, and only one sent to a real mailbox can match. Mails go out at most one a minute and
`SENDS_PER_HOUR` an hour per member, so the bot cannot be used to flood someone's inbox. A wrong code counts as a
failed proof (LINK_ATTEMPTS), and a code has `MAX_TRIES` guesses of its own.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord

from i18n import N_, _, localize, number
from mailer import Mail, MailError
from storage import CodeVerdict, Purpose
from storage.email_codes import CODE_DIGITS, CODE_LIFETIME

from .errors import UserFacingError, report_error
from .forms import submitted_value
from .linking import proof_failed, when
from .views import InvokerView

if TYPE_CHECKING:
    from bot import PanelDesk

log = logging.getLogger(__name__)

SEND_GAP = timedelta(seconds=60)
SENDS_PER_HOUR = 5
MODAL_TIMEOUT = 15 * 60

_ASKED = {
    Purpose.LINK: N_("The Discord account {who} asked to link itself to your account on the {panel} panel."),
    Purpose.PASSWORD: N_(
        "The Discord account {who} asked to change the password of your account on the {panel} panel."
    ),
    Purpose.REGISTER: N_("The Discord account {who} asked to create an account with this email on the {panel} panel."),
}
_SUBJECT = {
    Purpose.LINK: N_("{code} is your code to link your Discord account"),
    Purpose.PASSWORD: N_("{code} is your code to change your panel password"),
    Purpose.REGISTER: N_("{code} is your code to create your panel account"),
}
_HELLO = N_("Hello,")
_TYPE_IT = N_("Type it in Discord, in the form the bot showed. It works once, for {minutes} minutes.")
_NOT_YOU = N_(
    "If this was not you: do not give this code to anyone, and ignore this mail. Nothing changes without the code. "
    "If it happens again, tell the server's staff."
)


async def ensure_may_send(bot: PanelDesk, discord_id: int, purpose: Purpose) -> None:
    """Refuse before anything is sent: mail is off, or this member asked for codes too often lately (one a minute
    for the same thing; `SENDS_PER_HOUR` in all)."""
    if bot.mailer is None:
        raise UserFacingError(_("Codes by email are not set up on this server. Ask staff."))
    recent = await bot.email_codes.sent_since(discord_id, timedelta(hours=1))
    same = [at for at, asked in recent if asked is purpose]
    if same and bot.db.now() < same[-1] + SEND_GAP:
        raise UserFacingError(
            _("A code was sent a moment ago. You can ask for another {when}.", when=when(same[-1] + SEND_GAP))
        )
    if len(recent) >= SENDS_PER_HOUR:
        again = recent[-SENDS_PER_HOUR][0] + timedelta(hours=1)
        raise UserFacingError(
            _(
                "You asked for {count} codes this hour. You can ask again {when}.",
                count=number(len(recent)),
                when=when(again),
            )
        )


async def send_code(
    bot: PanelDesk,
    member: discord.abc.User,
    panel_name: str,
    purpose: Purpose,
    *,
    subject: str | None,
    to: str | None,
) -> None:
    """Issue a code for `subject` and mail it to `to`; with either None, issue one that matches nothing and send
    nothing. A mail server that refuses ends the code and raises a sentence for the member."""
    assert bot.mailer is not None
    issued = await bot.email_codes.issue(member.id, panel_name, purpose, subject if to else None)
    client = bot.panels.get(panel_name)
    place = f"{panel_name} ({client.display_name})" if client else panel_name
    try:
        if to is None or subject is None:
            # No account has that email: nothing is sent, but the mail server is tried as far as a mail would go
            # before its recipient, so a server that is down reads the same whichever email was typed.
            await bot.mailer.try_sender()
            return
        await bot.mailer.send(code_mail(member, place, purpose, issued.code, to))
    except MailError as problem:
        await bot.email_codes.withdraw(member.id, panel_name, purpose)
        bot.metrics.mail_was_sent(ok=False)
        log.warning("a %s code for member %s was not sent: %s", purpose.value, member.id, problem)
        if problem.about_this_mail and purpose is Purpose.LINK:
            # Refused for this address alone: saying so would tell the member that an account has it. They read
            # what an unknown email reads; staff have the warning above and the failed-mail count.
            return
        raise UserFacingError(problem.member_text) from None
    bot.metrics.mail_was_sent(ok=True)
    log.info("sent a %s code to the email of an account on %s for member %s", purpose.value, panel_name, member.id)


def code_mail(member: discord.abc.User, place: str, purpose: Purpose, code: str, to: str) -> Mail:
    """The mail, in the current language (the member's: it is sent while answering them)."""
    who = _("{name} (Discord id {id})", name=member.name, id=member.id)
    minutes = number(_minutes())
    hello, type_it, not_you = _(_HELLO), _(_TYPE_IT, minutes=minutes), _(_NOT_YOU)
    asked = _(_ASKED[purpose], who=who, panel=place)
    your_code = _("Your code: {code}", code=code)
    text = f"{hello}\n\n{asked}\n\n{your_code}\n\n{type_it}\n\n{not_you}\n"
    # The same sentences as markup: the translated words escaped, the member's name and the panel's too.
    asked_markup = html.escape(_(_ASKED[purpose]), quote=False).format(
        who=f"<b>{html.escape(who)}</b>", panel=html.escape(place)
    )
    markup = (
        f"<p>{_html(hello)}</p><p>{asked_markup}</p>"
        f'<p style="font-size:24px;letter-spacing:4px"><b>{code}</b></p>'
        f"<p>{_html(type_it)}</p><p>{_html(not_you)}</p>"
    )
    return Mail(to=to, subject=_(_SUBJECT[purpose], code=code), text=text, html=markup)


def _html(sentence: str) -> str:
    return html.escape(sentence, quote=False)


async def check_code(bot: PanelDesk, discord_id: int, panel_name: str, purpose: Purpose, typed: str) -> str:
    """The subject a right code proves; a wrong, spent or expired one is a failed proof and a sentence."""
    result = await bot.email_codes.check(discord_id, panel_name, purpose, typed)
    if result.verdict is CodeVerdict.OK and result.subject is not None:
        return result.subject
    left = await proof_failed(bot, discord_id, f"{purpose.value} code {result.verdict.value}")
    if result.verdict is CodeVerdict.WRONG:
        raise UserFacingError(_("That code is not right. {left}", left=left))
    raise UserFacingError(
        _(
            "That code has expired or was already used. Ask for a new one (codes last {minutes} minutes). {left}",
            minutes=number(_minutes()),
            left=left,
        )
    )


def _minutes() -> int:
    return int(CODE_LIFETIME.total_seconds() // 60)


def sent_text(panel: str) -> str:
    """The reply after asking for a code: the same whether or not an account has that email."""
    return _(
        "If an account on the {panel} panel has that email address, a code is on its way to it. It works once, for "
        "{minutes} minutes. Press **Enter the code** when you have it (check the spam folder too).",
        panel=panel,
        minutes=number(_minutes()),
    )


# --- the form the code is typed into ---------------------------------------------------------------------------

CodeHandler = Callable[[discord.Interaction[Any], str | None, dict[str, str]], Awaitable[None]]


class CodeModal(discord.ui.Modal):
    """One member's code form. No fixed custom id (cogs/common/forms.py); values are read from the submission."""

    code: discord.ui.TextInput[CodeModal] = discord.ui.TextInput(
        label=N_("The code from the mail"),
        custom_id="code",
        min_length=CODE_DIGITS,
        max_length=CODE_DIGITS + 6,
        placeholder="123456",
    )

    def __init__(self, title: str, handler: CodeHandler, extra: list[discord.ui.TextInput[Any]]) -> None:
        """`extra`: more fields, their labels in English (marked with `N_`): said here in the member's language."""
        super().__init__(title=title, timeout=MODAL_TIMEOUT)
        self.handler = handler
        self.extra_ids = [item.custom_id for item in extra]
        for item in extra:
            self.add_item(item)
        localize(self)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        code = submitted_value(interaction, "code")
        extra = {custom_id: submitted_value(interaction, custom_id) for custom_id in self.extra_ids}
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.handler(interaction, code, extra)

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        await report_error(interaction, error, "modal CodeModal")


class EnterCodeView(InvokerView):
    """The "Enter the code" button under the reply, for the member who asked only."""

    def __init__(
        self,
        *,
        author_id: int,
        title: str,
        handler: CodeHandler,
        extra: Callable[[], list[discord.ui.TextInput[Any]]] = list,
    ) -> None:
        super().__init__(author_id=author_id, timeout=MODAL_TIMEOUT)
        self.title = title
        self.handler = handler
        self.extra = extra

    @discord.ui.button(label=N_("Enter the code"), style=discord.ButtonStyle.primary, custom_id="code:enter")
    async def enter(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        # A new modal at each press, its fields made afresh: one member's form never holds another's input.
        await interaction.response.send_modal(CodeModal(self.title, self.handler, self.extra()))


def password_fields() -> list[discord.ui.TextInput[Any]]:
    """A new password, twice, for one form (made afresh for each), in English: the form says it (`localize`)."""
    return [
        discord.ui.TextInput(
            label=N_("New password"),
            custom_id="password",
            min_length=8,
            max_length=128,
            placeholder=N_("At least 8 characters"),
        ),
        discord.ui.TextInput(label=N_("The new password again"), custom_id="again", min_length=8, max_length=128),
    ]


class PasswordModal(discord.ui.Modal):
    """A new password without a code (PASSWORD_RESET_WITHOUT_EMAIL=true); one member's, no fixed custom id."""

    def __init__(self, handler: CodeHandler) -> None:
        super().__init__(title=N_("Set a new password"), timeout=MODAL_TIMEOUT)
        self.handler = handler
        for item in password_fields():
            self.add_item(item)
        localize(self)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        typed = {name: submitted_value(interaction, name) for name in ("password", "again")}
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.handler(interaction, None, typed)

    async def on_error(self, interaction: discord.Interaction, error: Exception, /) -> None:  # type: ignore[override]
        await report_error(interaction, error, "modal PasswordModal")


def masked(email: str) -> str:
    """ "c•••@e•••.com": enough for a member to know which mailbox to open, not enough to learn an address."""
    local, _at, domain = email.partition("@")
    name, dot, tld = domain.rpartition(".")
    return f"{local[:1]}•••@{name[:1]}•••{dot}{tld}" if name else f"{local[:1]}•••@{domain[:1]}•••"
