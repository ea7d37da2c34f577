"""Mail the bot sends: one-time codes proving that a member reads an account's mailbox.

One connection per message, through aiosmtplib: codes are rare (a member linking, a password change), so a kept-open
connection would mostly be a connection the server has already timed out. Every failure becomes a `MailError`
whose sentence names what to fix without the password, the server's own words (which may quote the recipient) or
the recipient's address, so it may go into a log line, `/panel status` or a member's reply as it is.
"""

from __future__ import annotations

import email.utils
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING

import aiosmtplib

from i18n import N_, Sentence, _

if TYPE_CHECKING:
    from settings import Settings

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15.0


class MailError(Exception):
    """The mail was not sent; `str()` is a sentence for staff in English (the logs, `--check`), `staff_text` the
    same in the current language (`/panel status`), `member_text` one for the member."""

    def __init__(self, problem: str, /, *, about_this_mail: bool = False, **values: object) -> None:
        """`problem`: the sentence (marked with `N_`), its `{placeholders}` filled from `values`.
        `about_this_mail`: the server took the login and the sender but refused this recipient or this message."""
        self.sentence = Sentence(problem, **values)
        super().__init__(self.sentence.english)
        self.about_this_mail = about_this_mail

    @property
    def staff_text(self) -> str:
        return str(self.sentence)

    @property
    def member_text(self) -> str:
        return _("The bot could not send mail just now, so no code was sent. Try again in a few minutes or ask staff.")


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None = None


class Mailer:
    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None and settings.smtp_from is not None
        self.host = settings.smtp_host
        self.port = settings.smtp_port_or_default
        self.security = settings.smtp_security
        self.sender = settings.smtp_from
        self._username = settings.smtp_username
        self._password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        self.sent = 0  # messages accepted by the server since start, for /panel status

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port} ({self.security})"

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            timeout=TIMEOUT_SECONDS,
        )

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = email.utils.formatdate(localtime=False)
        message["Message-ID"] = email.utils.make_msgid(domain=_domain(self.sender))
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a code
        message.set_content(mail.text)
        if mail.html is not None:
            message.add_alternative(mail.html, subtype="html")
        async with self._session() as client:
            try:
                await client.send_message(message)
            except aiosmtplib.SMTPRecipientsRefused:
                raise MailError(
                    N_("the mail server at {where} refused the recipient"), where=self.where, about_this_mail=True
                ) from None
            except aiosmtplib.SMTPSenderRefused as refused:
                raise self._sender_refused(refused) from None
            except aiosmtplib.SMTPResponseException as refused:
                raise MailError(
                    N_("the mail server at {where} refused the message ({code})"),
                    where=self.where,
                    code=refused.code,
                    about_this_mail=True,
                ) from None
        self.sent += 1

    async def try_sender(self) -> None:
        """Go as far as a mail would before naming its recipient (connect, log in, MAIL FROM, then RSET), raising
        the `MailError` a mail would meet there: for a code that goes nowhere, so that a server that is down
        answers the same whoever's email was typed."""
        async with self._session() as client:
            try:
                await client.mail(self.sender)
                await client.rset()
            except aiosmtplib.SMTPSenderRefused as refused:
                raise self._sender_refused(refused) from None
            except aiosmtplib.SMTPResponseException as refused:
                raise MailError(
                    N_("the mail server at {where} did not accept the connection ({kind})"),
                    where=self.where,
                    kind=type(refused).__name__,
                ) from None

    def _sender_refused(self, refused: aiosmtplib.SMTPSenderRefused) -> MailError:
        return MailError(
            N_("the mail server at {where} refused the sender SMTP_FROM ({code})"), where=self.where, code=refused.code
        )

    async def check(self) -> str | None:
        """None when the server takes the connection and the login; otherwise what is wrong, for `--check` and
        `/panel status`, in the current language (English outside an interaction)."""
        try:
            async with self._session():
                return None
        except MailError as problem:
            return problem.staff_text

    def _session(self) -> _Session:
        return _Session(self)


class _Session:
    """Connect, log in where a login is set, and always say goodbye, turning each failure into a `MailError`."""

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self.client = mailer._client()

    async def __aenter__(self) -> aiosmtplib.SMTP:
        where = self.mailer.where
        try:
            await self.client.connect()
            if self.mailer._username is not None and self.mailer._password is not None:
                await self.client.login(self.mailer._username, self.mailer._password)
        except aiosmtplib.SMTPAuthenticationError:
            await self._close()
            raise MailError(
                N_("the mail server at {where} refused the login (SMTP_USERNAME, SMTP_PASSWORD)"), where=where
            ) from None
        except aiosmtplib.SMTPException as failed:
            await self._close()
            if isinstance(failed, aiosmtplib.SMTPConnectError | aiosmtplib.SMTPTimeoutError):
                raise MailError(_UNREACHABLE, where=where) from None
            if "STARTTLS" in str(failed) or "TLS" in type(failed).__name__:
                raise MailError(
                    N_("the mail server at {where} does not offer TLS (SMTP_SECURITY)"), where=where
                ) from None
            kind = type(failed).__name__
            raise MailError(
                N_("the mail server at {where} did not accept the connection ({kind})"), where=where, kind=kind
            ) from None
        except OSError:
            await self._close()
            raise MailError(_UNREACHABLE, where=where) from None
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self._close()

    async def _close(self) -> None:
        if not self.client.is_connected:
            return
        try:
            await self.client.quit()
        except (aiosmtplib.SMTPException, OSError):
            self.client.close()


_UNREACHABLE = N_("the mail server at {where} cannot be reached")


def _domain(sender: str) -> str:
    address = email.utils.parseaddr(sender)[1]
    return address.rpartition("@")[2] or "panel-desk.invalid"
