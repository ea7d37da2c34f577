"""The bot's SQLite storage: open a `Database`, then use the store of the table family you need.

Nothing outside this package writes SQL; each store returns frozen dataclasses, never rows.
"""

from __future__ import annotations

from storage.account_states import AccountStates, StaffSuspension, StateReading
from storage.audit import AuditEntry, AuditLog, AuditOutcome
from storage.credits import CreditLedger, Reading, StaffChange
from storage.database import BackupReport, Database, backup_database
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
    "AuditEntry",
    "AuditLog",
    "AuditOutcome",
    "BackupReport",
    "BotState",
    "CreditBalance",
    "CreditLedger",
    "CreditNoticeChoices",
    "Database",
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
    "Reading",
    "RequestStatus",
    "StaffChange",
    "StaffSuspension",
    "StateReading",
    "StorageError",
    "backup_database",
]
