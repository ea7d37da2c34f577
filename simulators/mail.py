"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the tests and the demo.

It runs in the caller's event loop (no thread), speaks plain SMTP with AUTH allowed without TLS (loopback only),
and can be told to refuse: a login, every recipient, or every message, or to be down altogether.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import warnings
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

# aiosmtpd logs each session, and warns at each about AUTH without TLS and its own deprecations: noise in a log.
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        part = self.message.get_body(("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str | None:
        part = self.message.get_body(("html",))
        return part.get_content() if part is not None else None


@dataclass
class MailServer:
    """`async with MailServer() as server:` then point SMTP_HOST/SMTP_PORT at `server.host`/`server.port`."""

    username: str | None = None
    password: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    refuse_recipients: bool = False
    refuse_messages: bool = False
    received: list[ReceivedMail] = field(default_factory=list)
    logins: int = 0
    _server: asyncio.Server | None = None
    _arrived: asyncio.Condition | None = None

    async def __aenter__(self) -> MailServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._arrived = asyncio.Condition()
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening: the server is down until `start` (same port) again."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _protocol(self) -> SMTP:
        login = self.username is not None
        with warnings.catch_warnings():  # "AUTH without TLS": on loopback, on purpose
            warnings.simplefilter("ignore")
            return self._smtp(login)

    def _smtp(self, login: bool) -> SMTP:
        return SMTP(
            _Handler(self),
            hostname="mail.test",
            auth_required=login,
            auth_require_tls=False,
            authenticator=self._authenticate if login else None,
            enable_SMTPUTF8=True,
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = data.login.decode() == self.username and data.password.decode() == self.password
        self.logins += ok
        # handled=False: aiosmtpd itself answers (235, or 535 for a refused login).
        return AuthResult(success=ok, handled=False)

    async def _keep(self, mail: ReceivedMail) -> None:
        assert self._arrived is not None
        async with self._arrived:
            self.received.append(mail)
            self._arrived.notify_all()

    def to(self, address: str) -> list[ReceivedMail]:
        return [mail for mail in self.received if address.casefold() in (r.casefold() for r in mail.recipients)]

    async def wait_for_mail(self, address: str, count: int = 1) -> list[ReceivedMail]:
        """Until `count` mails reached `address` (at most 5 s)."""
        assert self._arrived is not None
        async with asyncio.timeout(5), self._arrived:
            await self._arrived.wait_for(lambda: len(self.to(address)) >= count)
        return self.to(address)


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.server.refuse_recipients:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.server.refuse_messages:
            return "554 5.7.1 message refused"
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        await self.server._keep(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos), message, raw))
        return "250 OK: queued"
