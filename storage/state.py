"""Small facts the bot keeps between runs, such as the hash of the slash commands last synced to Discord."""

from __future__ import annotations

from storage.database import Database


class BotState:
    """Named queries on `bot_state`, a text key/value table; callers own the meaning and format of each value."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        row = await self._db.fetch_one("SELECT value FROM bot_state WHERE key = ?", (key,))
        return row["value"] if row is not None else None

    async def set(self, key: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO bot_state (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (key, value, self._db.timestamp()),
        )

    async def prove_writable(self) -> None:
        """Write and commit one row, raising StorageError when the database cannot take writes.

        For `/readyz`: a read succeeds on a full disk, a read-only mount or a file another process holds locked, and
        each of those stops links and notices; only a committed write shows that they would be kept.
        """
        await self.set("health_checked_at", self._db.timestamp())
