"""What the bot's logs may hold: no secrets, no interaction tokens, no SQL parameters, no customers' emails, and
nothing a member typed that could forge a log line.

Operators paste logs into support threads, so a log is treated as public. At LOG_LEVEL=DEBUG discord.py writes
every request URL (interaction callbacks and follow-ups carry the interaction's token, which lets its reader post as
the bot for 15 minutes) and every gateway event (modal submissions carry client API keys, `/user create` carries
passwords); aiosqlite writes every SQL statement with its parameters. Members' input reaches log lines inside
messages and errors, where a newline or an escape sequence would start a forged line or recolour a terminal.

The cleaning happens where records are made (a log record factory), so it holds for every logger and every
handler, pytest's included, and costs nothing for records below the configured level, which are never made.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Iterable
from typing import Any

# An interaction's token sits in the path of its callback and of its webhook (follow-ups, edits).
_TOKEN_IN_PATH = re.compile(r"(/(?:interactions|webhooks)/\d+/)[A-Za-z0-9_.\-]{20,}")
# ... and as a field of gateway payloads and of anything that prints one.
_TOKEN_FIELD = re.compile(r"""(["']token["']\s*:\s*["'])[^"']+""")
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# C0 and C1 controls but the tab: a newline would start a new, forged line; ESC would drive the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r"}

REDACTED = "<redacted>"


class DropGatewayPayloads(logging.Filter):
    """Keeps discord.py's DEBUG dump of every gateway event out of the logs.

    Those events include modal submissions, where members paste client API keys, and command options such as
    `/user create password:`: no cleaning could tell those apart from other text, so the whole dump goes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "WebSocket Event" not in str(record.msg)


class LogCleaner:
    """Rewrites each log record as it is made: its message becomes one clean line, its traceback loses secrets."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous
        self.secrets: set[str] = set()

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        try:
            message = self.one_line(self.redact(record.getMessage()))
            if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
                record.exc_text = self.redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        except Exception:  # a malformed call (logging reports it when formatting), or the interpreter shutting down
            return record
        record.msg, record.args = message, None
        return record

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _TOKEN_IN_PATH.sub(_keep_prefix, text)
        text = _TOKEN_FIELD.sub(_keep_prefix, text)
        return _EMAIL.sub("<email>", text)

    @staticmethod
    def one_line(text: str) -> str:
        return _CONTROL.sub(lambda match: _NAMED.get(match[0], f"\\x{ord(match[0]):02x}"), text)


def _keep_prefix(match: re.Match[str]) -> str:
    return match[1] + REDACTED


def protect_logs(secrets: Iterable[str] = ()) -> LogCleaner:
    """Install the cleaner (once per process) and register `secrets` (the bot token, the panels' keys) with it."""
    factory = logging.getLogRecordFactory()
    cleaner = factory if isinstance(factory, LogCleaner) else LogCleaner(factory)
    cleaner.secrets.update(secret for secret in secrets if len(secret) >= 8)
    logging.setLogRecordFactory(cleaner)
    # aiosqlite logs each statement with its parameters at DEBUG; nothing in them helps an operator.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    gateway = logging.getLogger("discord.gateway")
    if not any(isinstance(f, DropGatewayPayloads) for f in gateway.filters):
        gateway.addFilter(DropGatewayPayloads())
    return cleaner
