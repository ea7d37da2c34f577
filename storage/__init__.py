"""The bot's SQLite storage: open a `Database`, then use the store of the table family you need.

Nothing outside this package writes SQL; each store returns frozen dataclasses, never rows.
"""

from __future__ import annotations

from storage.account_states import AccountStates, StaffSuspension, StateReading
from storage.audit import AuditEntry, AuditLog, AuditOutcome
from storage.credits import CreditLedger, Reading, StaffChange
from storage.database import BackupReport, Database, backup_database
from storage.email_codes import AlreadyRegistered, CodeCheck, CodeVerdict, EmailCodes, Purpose
from storage.errors import AccountAlreadyLinked, LinkConflict, MemberAlreadyLinked, StorageError
from storage.link_requests import LinkRequest, LinkRequests, ProofFailures, RequestStatus
from storage.links import Link, LinkMethod, LinkStore, PastLink
from storage.notifications import (
    NOTICE_KINDS,
    CreditBalance,
    CreditNoticeChoices,
    NotificationPrefs,
    NotificationStore,
    OutboxItem,
    OutboxSummary,
)
from storage.state import BotState

__all__ = [
    "NOTICE_KINDS",
    "AccountAlreadyLinked",
    "AccountStates",
    "AlreadyRegistered",
    "AuditEntry",
    "AuditLog",
    "AuditOutcome",
    "BackupReport",
    "BotState",
    "CodeCheck",
    "CodeVerdict",
    "CreditBalance",
    "CreditLedger",
    "CreditNoticeChoices",
    "Database",
    "EmailCodes",
    "Link",
    "LinkConflict",
    "LinkMethod",
    "LinkRequest",
    "LinkRequests",
    "LinkStore",
    "MemberAlreadyLinked",
    "NotificationPrefs",
    "NotificationStore",
    "OutboxItem",
    "OutboxSummary",
    "PastLink",
    "ProofFailures",
    "Purpose",
    "Reading",
    "RequestStatus",
    "StaffChange",
    "StaffSuspension",
    "StateReading",
    "StorageError",
    "backup_database",
]
