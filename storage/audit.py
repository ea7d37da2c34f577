"""The audit log: who did what to which account through the bot, including what was refused or failed."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from storage.database import Database, from_timestamp, to_timestamp

# A details key is dropped when one of its words is one of these ("api_key", "apiKey", "client_secret")…
_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "passphrase", "key", "keys", "apikey", "token", "secret", "authorization", "cookie"}
)
# …or when its letters contain one of these anywhere ("newpassword", "accesstokens").
_SECRET_FRAGMENTS = ("password", "passwd", "secret", "token", "apikey")
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


class AuditOutcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # a check or a rule said no before anything changed
    FAILED = "failed"  # it was attempted and went wrong (the panel erred, the network failed)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None  # None: the bot acted on its own
    action: str  # "user.create", "link.create", "credits.add", …
    panel: str | None
    target_user_id: str | None
    target_label: str | None
    target_discord_id: int | None
    outcome: AuditOutcome
    details: dict[str, Any]
    target_email: str | None = None


def is_secret_key(key: str) -> bool:
    """Whether a details key looks like it holds a secret; false positives only cost a little detail."""
    words = {word.lower() for word in _WORD.findall(key)}
    letters = re.sub(r"[^a-z0-9]", "", key.lower())
    return not words.isdisjoint(_SECRET_WORDS) or any(fragment in letters for fragment in _SECRET_FRAGMENTS)


def scrub_secrets(value: Any) -> Any:
    """A copy of `value` without any mapping key that `is_secret_key`, at any depth.

    The audit log outlives every other record and is read by staff, so it is the last place a password given to
    `/user create` or a panel's API key may end up; callers are expected not to pass them, and this makes sure.
    """
    if isinstance(value, Mapping):
        return {str(key): scrub_secrets(item) for key, item in value.items() if not is_secret_key(str(key))}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_secrets(item) for item in value]
    return value


class AuditLog:
    """Named queries on `audit_log`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        action: str,
        *,
        actor_id: int | None,
        outcome: AuditOutcome | str,
        panel: str | None = None,
        target_user_id: str | None = None,
        target_label: str | None = None,
        target_discord_id: int | None = None,
        details: Mapping[str, Any] | None = None,
        target_email: str | None = None,
    ) -> AuditEntry:
        """Write one entry; `details` is stored as JSON after `scrub_secrets`.

        Values JSON cannot represent (datetimes, Decimals, UUIDs) are stored as their text.
        """
        encoded = json.dumps(scrub_secrets(details or {}), ensure_ascii=False, default=str)
        at = self._db.now()
        outcome = AuditOutcome(outcome)
        changes = await self._db.execute(
            "INSERT INTO audit_log "
            "(at, actor_id, action, panel, target_user_id, target_label, target_discord_id, outcome, details, "
            "target_email) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                to_timestamp(at),
                actor_id,
                action,
                panel,
                target_user_id,
                target_label,
                target_discord_id,
                outcome.value,
                encoded,
                target_email,
            ),
        )
        return AuditEntry(
            id=changes.lastrowid,
            at=at,
            actor_id=actor_id,
            action=action,
            panel=panel,
            target_user_id=target_user_id,
            target_label=target_label,
            target_discord_id=target_discord_id,
            outcome=outcome,
            details=json.loads(encoded),
            target_email=target_email,
        )

    async def recent(
        self,
        *,
        limit: int = 20,
        actor_id: int | None = None,
        target_user_id: str | None = None,
        target_discord_id: int | None = None,
        panel: str | None = None,
        target_id_or_label: str | None = None,
        action: str | None = None,
    ) -> list[AuditEntry]:
        """The latest entries matching every filter given, newest first.

        Newest means last written (highest id), not latest `at`: a clock that steps back must not reorder the log.
        `target_id_or_label` finds an account that no longer exists on the panel by the id or name it was logged
        under.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        filters = {
            "actor_id": actor_id,
            "target_user_id": target_user_id,
            "target_discord_id": target_discord_id,
            "panel": panel,
            "action": action,
        }
        given = {column: value for column, value in filters.items() if value is not None}
        clauses = [f"{column} = ?" for column in given]
        params: list[object] = list(given.values())
        if target_id_or_label is not None:
            # Match the id, the username, the email, or either half of a label written before emails had a column
            # of their own ("username <email>").
            like = target_id_or_label.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(
                "(target_user_id = ? OR target_label = ? OR target_email = ? COLLATE NOCASE "
                "OR target_label LIKE ? ESCAPE '\\' OR target_label LIKE ? ESCAPE '\\')"
            )
            params += [target_id_or_label, target_id_or_label, target_id_or_label, f"{like} <%", f"%<{like}>"]
        where = " AND ".join(clauses) or "1"
        sql = f"SELECT * FROM audit_log WHERE {where} ORDER BY id DESC LIMIT ?"
        rows = await self._db.fetch_all(sql, (*params, limit))
        return [_entry(row) for row in rows]


def _entry(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=from_timestamp(row["at"]),
        actor_id=row["actor_id"],
        action=row["action"],
        panel=row["panel"],
        target_user_id=row["target_user_id"],
        target_label=row["target_label"],
        target_discord_id=row["target_discord_id"],
        outcome=AuditOutcome(row["outcome"]),
        details=json.loads(row["details"]),
        target_email=row["target_email"],
    )
