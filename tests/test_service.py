"""What an operator runs around the bot: `--version`, `--backup`, the log formats, and a database that fails to open
leaving no thread behind."""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from log_format import ColourFormatter, JsonFormatter, formatter_for
from log_hygiene import REDACTED, protect_logs
from storage import Database, LinkMethod, LinkStore, StorageError
from version import __version__

ROOT = Path(__file__).parent.parent


def bot(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python bot.py ARGS` with nothing but `env` set: no DISCORD_TOKEN, no panel."""
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), *args], cwd=cwd, env=environment, capture_output=True, text=True
    )


def test_version_needs_no_settings(tmp_path: Path) -> None:
    result = bot("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Panel Desk {__version__}"


# --- backups ---------------------------------------------------------------------------------------------------


async def test_backup_copies_a_database_that_is_open(tmp_path: Path) -> None:
    live = tmp_path / "data" / "desk.sqlite3"
    target = tmp_path / "backups" / "desk-before-upgrade.sqlite3"
    async with Database.connect(live) as db:
        links = LinkStore(db)
        for n in range(20):
            await links.link("main", 1000 + n, str(n), method=LinkMethod.STAFF)
        # The bot keeps its connection open (and its WAL file unmerged) while the backup runs.
        result = bot("--backup", str(target), cwd=tmp_path, DATABASE_PATH=str(live))
        assert result.returncode == 0, result.stderr
        assert f"Backed up {live} (schema version {db.schema_version}) to {target}" in result.stdout
        wanted = [tuple(row) for row in await db.fetch_all("SELECT * FROM links ORDER BY discord_id")]
    with sqlite3.connect(target) as copy:
        assert [tuple(row) for row in copy.execute("SELECT * FROM links ORDER BY discord_id")] == wanted
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    assert not list(target.parent.glob(".*partial"))
    async with Database.connect(target) as restored:  # a backup is a database the bot opens as it is
        assert len(await LinkStore(restored).all_for_panel("main")) == 20


async def test_backup_refuses_the_live_database_and_says_what_is_missing(tmp_path: Path) -> None:
    live = tmp_path / "desk.sqlite3"
    async with Database.connect(live):
        pass
    before = live.read_bytes()
    over = bot("--backup", str(live), cwd=tmp_path, DATABASE_PATH=str(live))
    assert over.returncode == 1
    assert "refusing to write the backup over the live database" in over.stderr
    assert live.read_bytes() == before
    missing = bot("--backup", "copy.sqlite3", cwd=tmp_path, DATABASE_PATH=str(tmp_path / "nope.sqlite3"))
    assert missing.returncode == 1
    assert "there is no database at" in missing.stderr and "DATABASE_PATH" in missing.stderr
    assert "Traceback" not in over.stderr + missing.stderr


def test_backup_reads_database_path_from_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_PATH=elsewhere.sqlite3\n")
    result = bot("--backup", "copy.sqlite3", cwd=tmp_path)
    assert result.returncode == 1 and "elsewhere.sqlite3" in result.stderr


# --- a database that fails to open --------------------------------------------------------------------------------


def aiosqlite_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "_connection_worker_thread" in t.name and t.is_alive()]


async def test_a_failed_open_leaves_no_aiosqlite_thread(tmp_path: Path) -> None:
    a_folder = tmp_path / "is-a-folder.sqlite3"
    a_folder.mkdir()
    for _ in range(5):
        with pytest.raises(StorageError, match="cannot open the database"):
            await Database.open(a_folder)
        assert aiosqlite_threads() == []  # joined before the error reached us


def test_failed_opens_never_print_event_loop_is_closed(tmp_path: Path) -> None:
    """The race: `asyncio.run` closing its loop while aiosqlite's thread still has a result to hand it."""
    script = (
        "import asyncio, sys\n"
        "from storage import Database, StorageError\n"
        "async def once():\n"
        "    try:\n"
        "        await Database.open(sys.argv[1])\n"
        "    except StorageError:\n"
        "        pass\n"
        "for _ in range(60):\n"
        "    asyncio.run(once())\n"
    )
    (tmp_path / "folder").mkdir()
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "folder")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Event loop is closed" not in result.stderr and "Traceback" not in result.stderr, result.stderr


# --- log formats -------------------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def format_one(formatter: logging.Formatter, message: str, *args: object, **extra: object) -> str:
    logger = logging.getLogger("panel_desk.test_service")
    record = logger.makeRecord(logger.name, logging.WARNING, __file__, 1, message, args, None, extra=extra)
    return formatter.format(record)


def test_colour_only_on_a_terminal() -> None:
    assert isinstance(formatter_for("text", Terminal()), ColourFormatter)
    plain = format_one(formatter_for("text", io.StringIO()), "panel %r is failing", "main")
    coloured = format_one(formatter_for("text", Terminal()), "panel %r is failing", "main")
    assert "\x1b" not in plain and plain.endswith("[WARNING ] panel_desk.test_service: panel 'main' is failing")
    assert "\x1b[33;1m" in coloured


def test_json_lines_carry_level_logger_message_and_ids_and_no_secrets() -> None:
    secret = "json-secret-token-value-123"
    protect_logs([secret])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("panel_desk.json_test")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token %s leaked\ninto a second line", secret, extra={"panel": "main", "user_id": 42})
        try:
            raise RuntimeError(f"failed with {secret}")
        except RuntimeError:
            logger.exception("command failed", extra={"command": "user info"})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # a traceback stays inside its line
    first, second = map(json.loads, lines)
    assert first["level"] == "WARNING" and first["logger"] == "panel_desk.json_test"
    assert first["message"] == f"token {REDACTED} leaked\\ninto a second line"
    assert (first["panel"], first["user_id"]) == ("main", 42) and first["time"].endswith("+00:00")
    assert second["command"] == "user info" and "RuntimeError: failed with" in second["exception"]
    assert secret not in stream.getvalue()
