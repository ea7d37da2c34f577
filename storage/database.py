"""The bot's SQLite database: one aiosqlite connection, its pragmas, its numbered migrations, its transactions.

Everything that touches SQL goes through `Database`; the stores in this package (`LinkStore`, `AuditLog`, …) are
thin classes of named queries on top of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from storage.errors import StorageError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# How long a statement waits for another connection's write lock (a second bot process, a backup) before failing.
BUSY_TIMEOUT_MS = 5000

# The transaction the running code is inside of, if any; see `Database._inside_own_transaction`.
_ACTIVE_TRANSACTION: ContextVar[Transaction | None] = ContextVar("storage_active_transaction", default=None)

_MIGRATION_FILE = re.compile(r"(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql")

Clock = Callable[[], datetime]
Params = Sequence[Any]


def utc_now() -> datetime:
    """The default clock; stores take the time from `Database.now` so tests can move it."""
    return datetime.now(UTC)


def to_timestamp(moment: datetime) -> str:
    """Format a moment as stored: UTC with a fixed width, so text order in SQL is time order."""
    if moment.utcoffset() is None:
        raise ValueError(f"refusing a naive datetime {moment!r}: its time zone would be a guess")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_timestamp(text: str) -> datetime:
    """Read back a moment written by `to_timestamp`."""
    return datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema change, read from `migrations/NNNN_name.sql` and split into single statements."""

    version: int
    name: str
    statements: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Changes:
    """What a write did. `rowcount` tells an `ON CONFLICT DO NOTHING` insert that won from one that was skipped;
    `lastrowid` is only meaningful after an insert that added a row.
    """

    rowcount: int
    lastrowid: int


def load_migrations(directory: Path = MIGRATIONS_DIR) -> tuple[Migration, ...]:
    """Read the migration files in version order.

    A misnamed `.sql` file or a gap in the numbering is an error rather than something to skip: a migration that is
    silently left out would leave every later one running against the wrong schema.
    """
    migrations: list[Migration] = []
    for file in sorted(directory.glob("*.sql")):
        match = _MIGRATION_FILE.fullmatch(file.name)
        if match is None:
            raise StorageError(f"migration file {file.name!r} is not named NNNN_lowercase_name.sql")
        migrations.append(
            Migration(
                version=int(match["version"]),
                name=match["name"],
                statements=split_statements(file.read_text(encoding="utf-8")),
            )
        )
    versions = [migration.version for migration in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise StorageError(f"migrations in {directory} must be numbered 1, 2, 3… without gaps; found {versions}")
    return tuple(migrations)


def split_statements(script: str) -> tuple[str, ...]:
    """Cut a SQL script into single statements.

    `executescript` would be simpler, but it commits any open transaction before it starts, which would let a
    migration run outside the transaction that records it. `sqlite3.complete_statement` knows about quoted
    semicolons, comments and trigger bodies, so cutting at each `;` that completes a statement is exact.
    """
    statements: list[str] = []
    pending = ""
    *terminated, tail = script.split(";")
    for piece in terminated:
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    pending += tail
    if pending.strip():
        statements.append(pending.strip())
    return tuple(statements)


@dataclass(slots=True)
class Tally:
    """What the database was asked since it was opened, as the transport counts its requests: benchmarks print it.

    Each statement waits for aiosqlite's thread and back; an `execute_many` counts once, however many rows it carries.
    """

    statements: int = 0
    transactions: int = 0  # committed


class Transaction:
    """The statements of one `Database.transaction()` block; it stops working when the block ends."""

    def __init__(self, connection: aiosqlite.Connection, tally: Tally) -> None:
        self._connection = connection
        self._tally = tally
        self._open = True

    async def execute(self, sql: str, params: Params = ()) -> Changes:
        self._ensure_open()
        self._tally.statements += 1
        return await _execute(self._connection, sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        """One statement for many rows in a single round trip: what makes a batch of hundreds cost about one."""
        self._ensure_open()
        self._tally.statements += 1
        try:
            async with self._connection.executemany(sql, list(rows)):
                pass
        except sqlite3.Error as exc:
            raise StorageError(f"{type(exc).__name__}: {exc}") from exc

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        self._ensure_open()
        self._tally.statements += 1
        rows = await _fetch_all(self._connection, sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        self._ensure_open()
        self._tally.statements += 1
        return await _fetch_all(self._connection, sql, params)

    def _end(self) -> None:
        self._open = False

    def _ensure_open(self) -> None:
        if not self._open:
            raise StorageError("this transaction has already ended")


class Database:
    """The bot's one connection to its SQLite file.

    Use it as an async context manager, which opens, migrates and finally closes it::

        async with Database.connect("data/panel-desk.sqlite3") as db:
            links = LinkStore(db)

    or, when something else owns the lifetime, `db = await Database.open(path)` … `await db.close()`.

    Concurrency: the file is in WAL mode, so readers never block the writer, and every write transaction starts
    with BEGIN IMMEDIATE, so two connections on the same file (a second process, a test) queue for the write lock
    for up to `BUSY_TIMEOUT_MS` instead of failing half-way. Within this process, all coroutines share the one
    connection; a lock makes each statement or transaction run alone on it, because a statement issued by another
    coroutine while a transaction is open would silently become part of that transaction.
    """

    def __init__(self, connection: aiosqlite.Connection, path: Path, now: Clock) -> None:
        """Use `open` or `connect`: a bare instance has not been configured or migrated."""
        self._connection = connection
        self._path = path
        self._clock = now
        self._lock = asyncio.Lock()
        self._current: Transaction | None = None
        self._closed = False
        self._schema_version = 0
        self.tally = Tally()

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        now: Clock = utc_now,
        migrations: Sequence[Migration] | None = None,
    ) -> Database:
        """Open (creating it and its directory if needed) and migrate the database at `path`.

        `now` is the clock behind every stored timestamp. `migrations` replaces the shipped ones, for tests of the
        migration machinery itself.
        """
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the database directory {path.parent}: {exc}") from exc
        connection = aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            await connection
        except BaseException as exc:
            await _worker_finished(connection)
            if isinstance(exc, sqlite3.Error):
                raise StorageError(f"cannot open the database {path}: {exc}") from exc
            raise
        connection.row_factory = sqlite3.Row
        database = cls(connection, path, now)
        try:
            await database._configure()
            await database._migrate(load_migrations() if migrations is None else migrations)
        except BaseException:
            await database.close()
            raise
        return database

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        path: str | Path,
        *,
        now: Clock = utc_now,
        migrations: Sequence[Migration] | None = None,
    ) -> AsyncIterator[Database]:
        """`open` the database for the length of an `async with` block, closing it however the block ends.

        Closing matters beyond tidiness: aiosqlite runs the connection on a non-daemon thread, so a database left
        open keeps the process from exiting.
        """
        database = await cls.open(path, now=now, migrations=migrations)
        try:
            yield database
        finally:
            await database.close()

    @property
    def path(self) -> Path:
        return self._path

    @property
    def schema_version(self) -> int:
        """The highest migration applied to the file (0 before any)."""
        return self._schema_version

    def now(self) -> datetime:
        """The current time in UTC, from the clock given at open."""
        moment = self._clock()
        if moment.utcoffset() is None:
            raise StorageError(f"the clock returned a naive datetime {moment!r}")
        return moment.astimezone(UTC)

    def timestamp(self) -> str:
        """`now()` in stored form."""
        return to_timestamp(self.now())

    async def close(self) -> None:
        """Close the connection once any running transaction has finished; closing twice is harmless."""
        if self._inside_own_transaction():
            raise StorageError("cannot close the database from inside one of its transactions")
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            await self._connection.close()

    async def execute(self, sql: str, params: Params = ()) -> Changes:
        """Run one statement in its own (autocommit) transaction."""
        async with self._exclusive():
            self.tally.statements += 1
            return await _execute(self._connection, sql, params)

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        async with self._exclusive():
            self.tally.statements += 1
            rows = await _fetch_all(self._connection, sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._exclusive():
            self.tally.statements += 1
            return await _fetch_all(self._connection, sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Run several statements atomically: committed when the block ends, rolled back if it raises.

        It starts with BEGIN IMMEDIATE, taking the file's write lock up front: a deferred transaction that reads
        and then writes can fail with SQLITE_BUSY at the write, without waiting, when another connection wrote in
        between. Statements go through the yielded `Transaction`; calling the `Database` itself from inside the
        block, or from a task started in it, raises instead of deadlocking.
        """
        async with self._exclusive():
            await _execute(self._connection, "BEGIN IMMEDIATE")
            transaction = Transaction(self._connection, self.tally)
            self._current = transaction
            context_token = _ACTIVE_TRANSACTION.set(transaction)
            try:
                try:
                    yield transaction
                except BaseException:
                    await self._rollback()
                    raise
                try:
                    await _execute(self._connection, "COMMIT")
                except BaseException:
                    await self._rollback()
                    raise
                self.tally.statements += 2  # BEGIN and COMMIT
                self.tally.transactions += 1
            finally:
                transaction._end()
                self._current = None
                _ACTIVE_TRANSACTION.reset(context_token)

    async def _rollback(self) -> None:
        # Shielded so that a second cancellation cannot hand the lock to the next caller with this transaction
        # still open on the connection.
        if self._connection.in_transaction:
            await asyncio.shield(_execute(self._connection, "ROLLBACK"))

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        if self._inside_own_transaction():
            raise StorageError("called from inside an open transaction: run the statement through its Transaction")
        async with self._lock:
            if self._closed:
                raise StorageError(f"the database {self._path} is closed")
            yield

    def _inside_own_transaction(self) -> bool:
        # A context variable rather than the current task, because tasks started inside the block (gather,
        # wait_for) inherit it and would otherwise wait forever for the lock their parent holds.
        return self._current is not None and _ACTIVE_TRANSACTION.get() is self._current

    async def _configure(self) -> None:
        # The busy timeout is already set by `aiosqlite.connect(timeout=…)`, before this first statement.
        row = await self.fetch_one("PRAGMA journal_mode = WAL")
        mode = row[0] if row is not None else None
        if mode != "wal":
            raise StorageError(
                f"the database {self._path} stayed in journal mode {mode!r} instead of WAL; "
                "it must be on a local filesystem"
            )
        await self.execute("PRAGMA foreign_keys = ON")

    async def _migrate(self, migrations: Sequence[Migration]) -> None:
        await self.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        applied = await self._applied_versions()
        unknown = sorted(applied - {migration.version for migration in migrations})
        if unknown:
            raise StorageError(
                f"the database {self._path} has schema version(s) {unknown}, which this code does not know: "
                "it was last used by a newer Panel Desk. Run that version, or restore a backup taken before the upgrade"
            )
        for migration in migrations:
            if migration.version not in applied:
                await self._apply(migration)
        self._schema_version = max(await self._applied_versions(), default=0)

    async def _applied_versions(self) -> set[int]:
        return {row["version"] for row in await self.fetch_all("SELECT version FROM schema_migrations")}

    async def _apply(self, migration: Migration) -> None:
        try:
            async with self.transaction() as transaction:
                # Another process may have applied it while this one waited for the write lock.
                if await transaction.fetch_one(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
                ):
                    return
                for statement in migration.statements:
                    await transaction.execute(statement)
                await transaction.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, self.timestamp()),
                )
        except StorageError as exc:
            raise StorageError(f"migration {migration.version:04d}_{migration.name} failed: {exc}") from exc


async def _worker_finished(connection: aiosqlite.Connection) -> None:
    """Wait for the thread of a connection that failed to open to end.

    aiosqlite stops that thread without waiting for it (`Connection._connect` calls `stop()` and drops the future
    it returns). The thread then hands that future's result to the event loop; when the failed open ended the
    program first, `asyncio.run` has already closed the loop and the thread dies printing "RuntimeError: Event
    loop is closed". Joining it here, before the error reaches the caller, closes that window. `_thread` is
    private, hence the guard: a later aiosqlite that names it differently only brings the race back.
    """
    thread = getattr(connection, "_thread", None)
    if isinstance(thread, threading.Thread) and thread.is_alive():
        await asyncio.to_thread(thread.join, 5)


async def _execute(connection: aiosqlite.Connection, sql: str, params: Params = ()) -> Changes:
    try:
        async with connection.execute(sql, params) as cursor:
            return Changes(rowcount=cursor.rowcount, lastrowid=cursor.lastrowid or 0)
    except sqlite3.Error as exc:
        raise StorageError(f"{type(exc).__name__}: {exc}") from exc


async def _fetch_all(connection: aiosqlite.Connection, sql: str, params: Params) -> list[sqlite3.Row]:
    try:
        return list(await connection.execute_fetchall(sql, params))
    except sqlite3.Error as exc:
        raise StorageError(f"{type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class BackupReport:
    """What `backup_database` copied, for the line `--backup` prints."""

    source: Path
    target: Path
    schema_version: int
    size_bytes: int
    seconds: float


def backup_database(source: str | Path, target: str | Path) -> BackupReport:
    """Copy the database at `source` to `target` with SQLite's online backup API, consistent while the bot runs.

    A file copy (cp, rsync) of a WAL database that is being written can miss what sits in the `-wal` file or catch a
    page half-written; the backup API copies from one read transaction, so the copy is the database as it was at
    one moment. It is written beside `target` first and renamed into place, so a failed backup never leaves a
    half-written file under the name the operator restores from, and it is switched out of WAL so it is one
    self-contained file. Runs without the event loop: `--backup` is its own short process.
    """
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise StorageError(f"there is no database at {source}; check DATABASE_PATH")
    live = {source.resolve(), *(Path(f"{source.resolve()}{suffix}") for suffix in ("-wal", "-shm", "-journal"))}
    if target.resolve() in live or (target.exists() and target.is_dir()):
        what = "a folder" if target.is_dir() else "the live database"
        raise StorageError(f"refusing to write the backup over {what} ({target}); name a new file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the folder {target.parent}: {exc}") from exc
    partial = target.with_name(f".{target.name}.partial")
    began = time.monotonic()
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)) as live_db,
            contextlib.closing(sqlite3.connect(partial)) as copy,
        ):
            live_db.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")
            version_row = copy.execute("SELECT max(version) FROM schema_migrations").fetchone()
            checked = copy.execute("PRAGMA quick_check").fetchone()
        if checked is None or checked[0] != "ok":
            raise StorageError(f"the copy failed SQLite's quick_check: {checked[0] if checked else 'no answer'}")
        partial.replace(target)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(f"{type(exc).__name__}: {exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupReport(
        source=source,
        target=target,
        schema_version=int(version_row[0] or 0) if version_row else 0,
        size_bytes=target.stat().st_size,
        seconds=time.monotonic() - began,
    )
