from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest

from storage import BotState, Database, StorageError
from storage.database import BUSY_TIMEOUT_MS, load_migrations, split_statements, to_timestamp
from tests.storage.conftest import Clock

TABLES = {
    "schema_migrations",
    "links",
    "link_history",
    "audit_log",
    "credit_balances",
    "notification_prefs",
    "outbox",
    "bot_state",
}


def raw_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the file with the standard library, independently of the code under test."""
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute(sql).fetchall()


def raw_tables(path: Path) -> set[str]:
    return {name for (name,) in raw_rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def write_migrations(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir()
    for name, sql in files.items():
        (directory / name).write_text(sql, encoding="utf-8")
    return directory


async def test_opening_an_empty_path_creates_the_directory_and_applies_every_migration(
    db_path: Path, clock: Clock
) -> None:
    assert not db_path.parent.exists()
    shipped = load_migrations()

    async with Database.connect(db_path, now=clock) as db:
        assert db.schema_version == shipped[-1].version

    assert raw_tables(db_path) >= TABLES
    assert raw_rows(db_path, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version") == [
        (migration.version, migration.name, to_timestamp(clock.current)) for migration in shipped
    ]


async def test_reopening_applies_nothing_and_keeps_the_data(db_path: Path, clock: Clock) -> None:
    async with Database.connect(db_path, now=clock) as db:
        await BotState(db).set("commands_hash", "abc123")
        version = db.schema_version
    recorded = raw_rows(db_path, "SELECT * FROM schema_migrations ORDER BY version")

    clock.advance(days=3)
    async with Database.connect(db_path, now=clock) as db:
        assert db.schema_version == version
        assert await BotState(db).get("commands_hash") == "abc123"

    assert raw_rows(db_path, "SELECT * FROM schema_migrations ORDER BY version") == recorded


async def test_a_database_from_newer_code_is_refused(db_path: Path) -> None:
    async with Database.connect(db_path):
        pass
    with closing(sqlite3.connect(db_path)) as connection, connection:
        connection.execute("INSERT INTO schema_migrations VALUES (9999, 'from_the_future', '2030-01-01T00:00:00')")

    with pytest.raises(StorageError, match=r"\[9999\].*newer"):
        async with Database.connect(db_path):
            pass


async def test_the_file_is_in_wal_mode_with_a_busy_timeout_and_foreign_keys(db: Database, db_path: Path) -> None:
    journal_mode = await db.fetch_one("PRAGMA journal_mode")
    busy_timeout = await db.fetch_one("PRAGMA busy_timeout")
    foreign_keys = await db.fetch_one("PRAGMA foreign_keys")

    assert journal_mode is not None and journal_mode[0] == "wal"
    assert busy_timeout is not None and busy_timeout[0] == BUSY_TIMEOUT_MS == 5000
    assert foreign_keys is not None and foreign_keys[0] == 1
    # WAL is a property of the file, so a second process sees it too.
    assert raw_rows(db_path, "PRAGMA journal_mode") == [("wal",)]


async def test_two_connections_migrating_a_file_at_once_apply_each_migration_once(db_path: Path) -> None:
    # Hold the write lock from outside so that both connections find nothing applied and then queue for the lock
    # to apply the same migrations; the one that gets it second must notice they are done.
    db_path.parent.mkdir()
    with closing(sqlite3.connect(db_path, isolation_level=None)) as blocker:
        blocker.execute("PRAGMA journal_mode = WAL")
        blocker.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        blocker.execute("BEGIN IMMEDIATE")
        opening = asyncio.gather(Database.open(db_path), Database.open(db_path), return_exceptions=True)
        await asyncio.sleep(0.2)
        blocker.execute("COMMIT")
        opened = await opening
    for result in opened:
        if isinstance(result, Database):
            await result.close()

    assert [getattr(result, "schema_version", result) for result in opened] == [load_migrations()[-1].version] * 2

    versions = [version for (version,) in raw_rows(db_path, "SELECT version FROM schema_migrations")]
    assert sorted(versions) == [migration.version for migration in load_migrations()]


async def test_a_failing_migration_is_rolled_back_and_not_recorded(tmp_path: Path) -> None:
    directory = write_migrations(
        tmp_path / "migrations",
        {
            "0001_notes.sql": """
                -- A trigger body and a quoted string both hold semicolons; neither may cut a statement.
                CREATE TABLE notes (body TEXT);
                CREATE TABLE note_log (body TEXT);
                CREATE TRIGGER note_logged AFTER INSERT ON notes BEGIN
                    INSERT INTO note_log VALUES ('logged; ' || new.body);
                END;
                INSERT INTO notes VALUES ('semi;colon');
                -- a closing comment; with a semicolon
            """,
            "0002_broken.sql": """
                CREATE TABLE half_done (x INTEGER);
                INSERT INTO no_such_table VALUES (1);
            """,
        },
    )
    path = tmp_path / "test.sqlite3"

    with pytest.raises(StorageError, match="0002_broken"):
        async with Database.connect(path, migrations=load_migrations(directory)):
            pass

    assert raw_rows(path, "SELECT version, name FROM schema_migrations") == [(1, "notes")]
    assert "half_done" not in raw_tables(path)
    assert raw_rows(path, "SELECT body FROM note_log") == [("logged; semi;colon",)]


def test_statements_are_split_at_semicolons_that_end_them() -> None:
    statements = split_statements(
        "CREATE TABLE t (a TEXT DEFAULT ';');\n"
        "CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END;\n"
        "-- note; more\n"
        "SELECT 'x;y'"
    )

    assert statements == (
        "CREATE TABLE t (a TEXT DEFAULT ';');",
        "CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END;",
        "-- note; more\nSELECT 'x;y'",
    )


@pytest.mark.parametrize(
    ("files", "complaint"),
    [
        ({"0001_a.sql": "SELECT 1;", "0003_c.sql": "SELECT 1;"}, "without gaps"),
        ({"0001_a.sql": "SELECT 1;", "2_b.sql": "SELECT 1;"}, "NNNN_lowercase_name"),
    ],
)
def test_migration_files_must_be_well_named_and_numbered(tmp_path: Path, files: dict[str, str], complaint: str) -> None:
    with pytest.raises(StorageError, match=complaint):
        load_migrations(write_migrations(tmp_path / "migrations", files))


async def test_a_transaction_commits_at_the_end_of_its_block_and_rolls_back_on_error(db: Database) -> None:
    state = BotState(db)
    async with db.transaction() as transaction:
        await transaction.execute("INSERT INTO bot_state VALUES ('kept', '1', 'now')")
        await transaction.execute("INSERT INTO bot_state VALUES ('kept_too', '2', 'now')")

    with pytest.raises(RuntimeError):
        async with db.transaction() as transaction:
            await transaction.execute("INSERT INTO bot_state VALUES ('dropped', '3', 'now')")
            raise RuntimeError("the second half failed")

    assert (await state.get("kept"), await state.get("kept_too"), await state.get("dropped")) == ("1", "2", None)


async def test_the_database_refuses_a_statement_from_inside_its_own_transaction_instead_of_deadlocking(
    db: Database,
) -> None:
    async with db.transaction():
        with pytest.raises(StorageError, match="Transaction"):
            await db.fetch_one("SELECT 1")
        # Python 3.11's wait_for runs the call in a child task, which must be refused just the same.
        with pytest.raises(StorageError, match="Transaction"):
            await asyncio.wait_for(BotState(db).get("k"), timeout=1)


async def test_a_cancelled_transaction_is_rolled_back_and_frees_the_database(db: Database) -> None:
    inside = asyncio.Event()

    async def interrupted_write() -> None:
        async with db.transaction() as transaction:
            await transaction.execute("INSERT INTO bot_state VALUES ('k', 'half-written', 'now')")
            inside.set()
            await asyncio.Event().wait()

    writer = asyncio.create_task(interrupted_write())
    await inside.wait()
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer

    state = BotState(db)
    assert await asyncio.wait_for(state.get("k"), timeout=1) is None
    await state.set("k", "after")
    assert await state.get("k") == "after"


async def test_a_transaction_cannot_be_used_after_its_block(db: Database) -> None:
    async with db.transaction() as transaction:
        pass

    with pytest.raises(StorageError, match="ended"):
        await transaction.execute("INSERT INTO bot_state VALUES ('late', '1', 'now')")
    assert await BotState(db).get("late") is None


async def test_other_coroutines_wait_for_an_open_transaction_instead_of_joining_it(db: Database) -> None:
    inside, release = asyncio.Event(), asyncio.Event()

    async def write_in_two_steps() -> None:
        async with db.transaction() as transaction:
            await transaction.execute("INSERT INTO bot_state VALUES ('k', 'half-written', 'now')")
            inside.set()
            await release.wait()
            await transaction.execute("UPDATE bot_state SET value = 'complete' WHERE key = 'k'")

    writer = asyncio.create_task(write_in_two_steps())
    await inside.wait()
    reader = asyncio.create_task(BotState(db).get("k"))
    try:
        await asyncio.sleep(0.05)
        read_too_early = reader.done()
    finally:
        release.set()
        await writer

    assert await reader == "complete"
    assert not read_too_early


async def test_a_write_waits_for_another_connections_transaction(db_path: Path) -> None:
    async with Database.connect(db_path) as first, Database.connect(db_path) as second:
        inside, release = asyncio.Event(), asyncio.Event()

        async def hold_the_write_lock() -> None:
            async with first.transaction() as transaction:
                await transaction.execute("INSERT INTO bot_state VALUES ('first', '1', 'now')")
                inside.set()
                await release.wait()

        holder = asyncio.create_task(hold_the_write_lock())
        await inside.wait()
        waiting = asyncio.create_task(BotState(second).set("second", "2"))
        try:
            await asyncio.sleep(0.2)
            finished_too_early = waiting.done()
        finally:
            release.set()
            await holder

        await waiting
        assert not finished_too_early
        assert (await BotState(second).get("first"), await BotState(first).get("second")) == ("1", "2")


async def test_a_closed_database_refuses_queries(db_path: Path) -> None:
    db = await Database.open(db_path)
    await db.close()
    await db.close()

    with pytest.raises(StorageError, match="closed"):
        await db.fetch_one("SELECT 1")


async def test_a_clock_without_a_time_zone_is_refused(db_path: Path) -> None:
    with pytest.raises(StorageError, match="naive"):
        async with Database.connect(db_path, now=datetime.now):
            pass
