from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from storage import AuditEntry, AuditLog, AuditOutcome, Database
from storage.audit import is_secret_key, scrub_secrets
from tests.storage.conftest import Clock

SECRET = "hunter2-Zq8v-must-never-be-stored"


@pytest.fixture
def audit(db: Database) -> AuditLog:
    return AuditLog(db)


def database_bytes(path: Path) -> bytes:
    """The database file and its WAL and shared-memory companions, as bytes on disk."""
    return b"".join(file.read_bytes() for file in sorted(path.parent.iterdir()) if file.name.startswith(path.name))


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password",
        "newPassword",
        "PASSWORD_CONFIRMATION",
        "api_key",
        "apiKey",
        "APIKey",
        "key",
        "client_key",
        "token",
        "access_token",
        "X-Auth-Token",
        "secret",
        "client_secret",
        "Authorization",
    ],
)
def test_keys_named_like_secrets_are_secret(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key", ["email", "username", "external_id", "root_admin", "fields", "monkey", "keyboard_layout", "before"]
)
def test_ordinary_keys_are_not_secret(key: str) -> None:
    assert not is_secret_key(key)


def test_secrets_are_dropped_at_any_depth_and_values_are_left_alone() -> None:
    details = {
        "fields": ["password", "email"],
        "password": SECRET,
        "changes": {"email": {"before": "a@example.com", "after": "b@example.com"}, "apiKey": SECRET},
        "attempts": [{"token": SECRET, "status": 403}, ({"client_secret": SECRET},)],
    }

    assert scrub_secrets(details) == {
        "fields": ["password", "email"],
        "changes": {"email": {"before": "a@example.com", "after": "b@example.com"}},
        "attempts": [{"status": 403}, [{}]],
    }


async def test_a_secret_in_details_never_reaches_the_file(db_path: Path, clock: Clock) -> None:
    async with Database.connect(db_path, now=clock) as db:
        await AuditLog(db).record(
            "user.create",
            actor_id=999,
            outcome="ok",
            panel="main",
            target_user_id="7",
            target_label="steve",
            details={
                "password": SECRET,
                "changes": {"email": {"before": None, "after": "visible-marker@example.com"}},
                "request": [{"headers": {"Authorization": f"Bearer {SECRET}"}, "api_key": SECRET}],
            },
        )
        while_open = database_bytes(db_path)
    after_close = database_bytes(db_path)

    for on_disk in (while_open, after_close):
        # The marker proves the entry itself is readable in these bytes; the secret beside it must not be.
        assert b"visible-marker@example.com" in on_disk
        assert SECRET.encode() not in on_disk


async def test_an_entry_reads_back_as_recorded(audit: AuditLog, clock: Clock) -> None:
    entry = await audit.record(
        "credits.add",
        actor_id=999,
        outcome=AuditOutcome.FAILED,
        panel="main",
        target_user_id="7",
        target_label="steve",
        target_discord_id=111,
        details={"amount": Decimal("12.50"), "error": "ref-4f2a"},
    )

    assert entry == AuditEntry(
        id=entry.id,
        at=clock.current,
        actor_id=999,
        action="credits.add",
        panel="main",
        target_user_id="7",
        target_label="steve",
        target_discord_id=111,
        outcome=AuditOutcome.FAILED,
        details={"amount": "12.50", "error": "ref-4f2a"},
    )
    assert await audit.recent() == [entry]


async def test_an_unknown_outcome_is_refused(audit: AuditLog) -> None:
    with pytest.raises(ValueError, match="maybe"):
        await audit.record("user.edit", actor_id=999, outcome="maybe")
    assert await audit.recent() == []


async def test_recent_entries_come_newest_first_and_can_be_filtered(audit: AuditLog, clock: Clock) -> None:
    async def record(action: str, actor_id: int | None, panel: str, user_id: str, member: int | None) -> int:
        clock.advance(minutes=1)
        entry = await audit.record(
            action,
            actor_id=actor_id,
            outcome="ok",
            panel=panel,
            target_user_id=user_id,
            target_discord_id=member,
        )
        return entry.id

    create = await record("user.create", 999, "main", "7", 111)
    link = await record("link.create", 111, "main", "7", 111)
    edit_other = await record("user.edit", 999, "eu", "7", None)
    suspend = await record("user.suspend", 998, "main", "8", 222)
    watcher = await record("credits.add", None, "main", "8", 222)

    def ids(entries: list[AuditEntry]) -> list[int]:
        return [entry.id for entry in entries]

    assert ids(await audit.recent()) == [watcher, suspend, edit_other, link, create]
    assert ids(await audit.recent(limit=2)) == [watcher, suspend]
    assert ids(await audit.recent(actor_id=999)) == [edit_other, create]
    assert ids(await audit.recent(target_user_id="7")) == [edit_other, link, create]
    assert ids(await audit.recent(target_user_id="7", panel="main")) == [link, create]
    assert ids(await audit.recent(target_discord_id=222)) == [watcher, suspend]
    assert ids(await audit.recent(panel="eu")) == [edit_other]
    assert ids(await audit.recent(actor_id=999, panel="nowhere")) == []


async def test_order_follows_writing_even_when_the_clock_steps_back(audit: AuditLog, clock: Clock) -> None:
    first = await audit.record("user.edit", actor_id=1, outcome="ok")
    clock.advance(hours=-1)
    second = await audit.record("user.edit", actor_id=1, outcome="ok")

    assert [entry.id for entry in await audit.recent()] == [second.id, first.id]


async def test_a_limit_below_one_is_refused(audit: AuditLog) -> None:
    with pytest.raises(ValueError, match="limit"):
        await audit.recent(limit=0)
