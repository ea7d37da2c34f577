"""How the bot's log lines look: plain text for people, or one JSON object a line (`LOG_FORMAT=json`) for Loki/ELK.

This replaces `discord.utils.setup_logging`, which colours its output whenever it guesses a colour terminal, and
guesses yes inside any Docker container (it looks for `/.dockerenv`): `docker logs` and every log shipper then
store escape codes. Here colour needs the stream itself to be a terminal.

Both formats read records after `log_hygiene.LogCleaner` rewrote them (secrets redacted, one line each); the JSON
one also cleans the `extra` fields it copies, which logging sets after the cleaner has run.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from log_hygiene import LogCleaner

LogFormat = Literal["text", "json"]

# discord.py's own layout, so lines read the same as before, minus the colour.
TEXT_FORMAT = "[{asctime}] [{levelname:<8}] {name}: {message}"
TEXT_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

# `extra` attributes a record may carry, copied into JSON lines so a log search can filter on them. Only ids and
# names: never a token, key or member's input.
CONTEXT_FIELDS = ("command", "panel", "user_id", "guild_id", "panel_user_id", "notice_id")

_LEVEL_COLOURS = {
    logging.DEBUG: "\x1b[40;1m",
    logging.INFO: "\x1b[34;1m",
    logging.WARNING: "\x1b[33;1m",
    logging.ERROR: "\x1b[31m",
    logging.CRITICAL: "\x1b[41m",
}
_RESET = "\x1b[0m"


class ColourFormatter(logging.Formatter):
    """The text layout with the level coloured: for a person watching a terminal, and nothing else."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT, TEXT_DATE_FORMAT, style="{")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        colour = _LEVEL_COLOURS.get(record.levelno)
        if colour is None:
            return line
        padded = f"{record.levelname:<8}"
        return line.replace(f"[{padded}]", f"[{colour}{padded}{_RESET}]", 1)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the context fields the record
    has, and a traceback as one string field, so a multi-line traceback stays one log entry."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value if isinstance(value, int | float | bool) else _clean(str(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = _clean_traceback(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = _clean_traceback(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class GatewayOutages(logging.Filter):
    """A lost Discord gateway as one WARNING when reconnecting first fails and one INFO when it is back.

    discord.py retries a lost gateway by itself, with backoff, which is right; but it logs each failed attempt as
    an ERROR with the whole traceback (`Client.connect`: "Attempting a reconnect in %.2fs"), some 45 lines per
    attempt for as long as the outage lasts. This filter sits on the `discord.client` logger and drops those
    records, saying the first one in its own words; the bot calls `disconnected` and `connected` from its gateway
    events. A reconnect that works at the first try (Discord asks for them routinely) logs nothing above DEBUG.
    """

    RECONNECT_MESSAGE = "Attempting a reconnect in "
    log = logging.getLogger("panel_desk.gateway")

    def __init__(self) -> None:
        super().__init__()
        self.lost_at: float | None = None
        self.warned = False
        self.attempts = 0

    @classmethod
    def install(cls) -> GatewayOutages:
        outages = cls()
        logging.getLogger("discord.client").addFilter(outages)
        return outages

    def uninstall(self) -> None:
        logging.getLogger("discord.client").removeFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.RECONNECT_MESSAGE):
            return True
        self.attempts += 1
        if not self.warned:
            self.warned = True
            if self.lost_at is None:
                self.lost_at = time.monotonic()
            error = record.exc_info[1] if record.exc_info else None
            reason = f"{type(error).__name__}: {error}" if error is not None else "the connection failed"
            self.log.warning(
                "Lost the connection to Discord (%s); reconnecting in the background. Commands go unanswered until"
                " it is back; only its return is logged.",
                reason,
            )
        return False

    def disconnected(self) -> None:
        if self.lost_at is None:
            self.lost_at = time.monotonic()

    def connected(self) -> None:
        if self.warned and self.lost_at is not None:
            self.log.info(
                "The connection to Discord is back after %.0f s (%d failed attempt(s))",
                time.monotonic() - self.lost_at,
                self.attempts,
            )
        self.lost_at, self.warned, self.attempts = None, False, 0


def formatter_for(log_format: LogFormat, stream: TextIO) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    if _is_terminal(stream):
        return ColourFormatter()
    return logging.Formatter(TEXT_FORMAT, TEXT_DATE_FORMAT, style="{")


def setup_logging(level: str, log_format: LogFormat = "text", stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records at `level` and above to `stream` (stderr), in `log_format`.

    Replaces any handler an earlier call installed, so calling it twice (tests, `--check` then a run) does not
    print each line twice.
    """
    stream = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_for(log_format, stream))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_panel_desk", False)]:
        root.removeHandler(old)
    handler._panel_desk = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stream-like object without a file behind it
        return False


def _cleaner() -> LogCleaner | None:
    factory = logging.getLogRecordFactory()
    return factory if isinstance(factory, LogCleaner) else None


def _clean(text: str) -> str:
    cleaner = _cleaner()
    return cleaner.one_line(cleaner.redact(text)) if cleaner else text


def _clean_traceback(text: str) -> str:
    cleaner = _cleaner()
    return cleaner.redact(text) if cleaner else text
