"""One-time codes sent by email, and the accounts /register made.

A code is six digits, valid `CODE_LIFETIME`, good for one use and `MAX_TRIES` guesses; only its scrypt hash is
kept, so a copy of the database does not hand out live codes. A member has at most one live code per panel and
purpose: asking again ends the one before. Checking a code is one transaction, so two submissions of the same code
(a double click, two devices) cannot both pass.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from storage.database import Database, from_timestamp, to_timestamp

CODE_LIFETIME = timedelta(minutes=10)
CODE_DIGITS = 6
MAX_TRIES = 5
# scrypt at 16 MiB and about 40 ms a hash: a stolen database costs hours of work per code, ten minutes is its life.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}


class Purpose(StrEnum):
    LINK = "link"
    PASSWORD = "password"
    REGISTER = "register"


class CodeVerdict(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # a live code, another one typed; tries are left
    SPENT = "spent"  # wrong, and that was its last try: it is ended
    NONE = "none"  # no live code: never asked, expired, already used, or replaced by a newer one


@dataclass(frozen=True, slots=True)
class CodeCheck:
    verdict: CodeVerdict
    subject: str | None = None  # with OK: what the code proves (an account id, or an email's hash)


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str  # to put in the mail, then forget
    expires_at: datetime


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def email_subject(email: str) -> str:
    """What a sign-up code proves: the email typed, as a hash (no email is stored here)."""
    return "email:" + hashlib.sha256(email.strip().casefold().encode()).hexdigest()


def _hash(code: str, salt: bytes) -> str:
    return hashlib.scrypt(code.encode(), salt=salt, **_SCRYPT).hex()


class EmailCodes:
    """Named queries on `email_codes` and `registrations`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def issue(self, discord_id: int, panel: str, purpose: Purpose, subject: str | None) -> IssuedCode:
        """A fresh code for `subject` (None: nothing will be sent, and no code will match), ending older ones."""
        code, salt = new_code(), secrets.token_bytes(16)
        hashed = await asyncio.to_thread(_hash, code, salt)
        now = self._db.now()
        expires_at = now + CODE_LIFETIME
        async with self._db.transaction() as transaction:
            await transaction.execute(
                "UPDATE email_codes SET ended_at = ? WHERE discord_id = ? AND panel = ? AND purpose = ? "
                "AND ended_at IS NULL",
                (to_timestamp(now), discord_id, panel, purpose.value),
            )
            await transaction.execute(
                "INSERT INTO email_codes (discord_id, panel, purpose, subject, code_hash, salt, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    discord_id,
                    panel,
                    purpose.value,
                    subject,
                    hashed,
                    salt.hex(),
                    to_timestamp(now),
                    to_timestamp(expires_at),
                ),
            )
        return IssuedCode(code, expires_at)

    async def withdraw(self, discord_id: int, panel: str, purpose: Purpose) -> None:
        """End the member's live code (its mail could not be sent)."""
        await self._db.execute(
            "UPDATE email_codes SET ended_at = ? WHERE discord_id = ? AND panel = ? AND purpose = ? "
            "AND ended_at IS NULL",
            (self._db.timestamp(), discord_id, panel, purpose.value),
        )

    async def check(self, discord_id: int, panel: str, purpose: Purpose, typed: str) -> CodeCheck:
        typed = "".join(typed.split())
        now = self._db.now()
        row = await self._db.fetch_one(
            "SELECT id, subject, code_hash, salt FROM email_codes WHERE discord_id = ? AND panel = ? AND purpose = ? "
            "AND ended_at IS NULL AND expires_at > ? ORDER BY id DESC LIMIT 1",
            (discord_id, panel, purpose.value, to_timestamp(now)),
        )
        if row is None:
            return CodeCheck(CodeVerdict.NONE)
        # Hashed outside the transaction (40 ms), compared inside it against the row as it is then.
        hashed = await asyncio.to_thread(_hash, typed, bytes.fromhex(row["salt"])) if typed.isdigit() else ""
        async with self._db.transaction() as transaction:
            live = await transaction.fetch_one("SELECT attempts, ended_at FROM email_codes WHERE id = ?", (row["id"],))
            if live is None or live["ended_at"] is not None:
                return CodeCheck(CodeVerdict.NONE)  # used or replaced meanwhile
            if row["subject"] is not None and hmac.compare_digest(hashed, row["code_hash"]):
                await transaction.execute(
                    "UPDATE email_codes SET ended_at = ? WHERE id = ?", (to_timestamp(now), row["id"])
                )
                return CodeCheck(CodeVerdict.OK, row["subject"])
            spent = live["attempts"] + 1 >= MAX_TRIES
            await transaction.execute(
                "UPDATE email_codes SET attempts = attempts + 1, ended_at = ? WHERE id = ?",
                (to_timestamp(now) if spent else None, row["id"]),
            )
        return CodeCheck(CodeVerdict.SPENT if spent else CodeVerdict.WRONG)

    async def sent_since(self, discord_id: int, since: timedelta) -> list[tuple[datetime, Purpose]]:
        """When the member asked for codes lately (any panel), and for what, oldest first: the mail rate limit."""
        rows = await self._db.fetch_all(
            "SELECT created_at, purpose FROM email_codes WHERE discord_id = ? AND created_at > ? ORDER BY created_at",
            (discord_id, to_timestamp(self._db.now() - since)),
        )
        return [(from_timestamp(row["created_at"]), Purpose(row["purpose"])) for row in rows]

    # --- sign-ups ---------------------------------------------------------------------------------------------

    async def reserve_registration(self, discord_id: int, panel: str, *, per_day: int) -> int | None:
        """A place in today's (UTC) sign-ups for this member on this panel: its id, or None when today's are all
        taken. Raises `AlreadyRegistered` when the member signed up on this panel before."""
        now = self._db.now()
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        async with self._db.transaction() as transaction:
            before = await transaction.fetch_one(
                "SELECT panel_user_id FROM registrations WHERE discord_id = ? AND panel = ?", (discord_id, panel)
            )
            if before is not None:
                raise AlreadyRegistered(before["panel_user_id"])
            row = await transaction.fetch_one(
                "SELECT COUNT(*) AS n FROM registrations WHERE created_at >= ?", (to_timestamp(day),)
            )
            if row is not None and row["n"] >= per_day:
                return None
            changes = await transaction.execute(
                "INSERT INTO registrations (discord_id, panel, created_at) VALUES (?, ?, ?)",
                (discord_id, panel, to_timestamp(now)),
            )
        return changes.lastrowid

    async def registered(self, discord_id: int, panel: str) -> str | None:
        """The account /register made (or is making) for this member on this panel: its id ('' while being made),
        or None when the member never signed up there."""
        row = await self._db.fetch_one(
            "SELECT panel_user_id FROM registrations WHERE discord_id = ? AND panel = ?", (discord_id, panel)
        )
        return None if row is None else row["panel_user_id"] or ""

    async def complete_registration(self, reservation: int, panel_user_id: str) -> None:
        await self._db.execute("UPDATE registrations SET panel_user_id = ? WHERE id = ?", (panel_user_id, reservation))

    async def release_registration(self, reservation: int) -> None:
        await self._db.execute("DELETE FROM registrations WHERE id = ? AND panel_user_id IS NULL", (reservation,))

    async def registrations_today(self) -> int:
        day = self._db.now().replace(hour=0, minute=0, second=0, microsecond=0)
        row = await self._db.fetch_one(
            "SELECT COUNT(*) AS n FROM registrations WHERE created_at >= ?", (to_timestamp(day),)
        )
        return int(row["n"]) if row is not None else 0


class AlreadyRegistered(Exception):
    def __init__(self, panel_user_id: str | None) -> None:
        super().__init__(panel_user_id)
        self.panel_user_id = panel_user_id
