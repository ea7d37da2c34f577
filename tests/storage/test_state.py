from __future__ import annotations

from pathlib import Path

import pytest

from storage import BotState, Database, StorageError


async def test_values_are_kept_overwritten_and_survive_a_restart(db_path: Path) -> None:
    async with Database.connect(db_path) as db:
        state = BotState(db)
        assert await state.get("commands_hash") is None

        await state.set("commands_hash", "first")
        await state.set("commands_hash", "second")
        await state.set("other", "unrelated")
        assert await state.get("commands_hash") == "second"

    async with Database.connect(db_path) as db:
        state = BotState(db)
        assert (await state.get("commands_hash"), await state.get("other")) == ("second", "unrelated")


async def test_proving_the_database_writable_commits_a_row_and_fails_once_it_cannot(db_path: Path) -> None:
    db = await Database.open(db_path)
    state = BotState(db)
    await state.prove_writable()
    assert await state.get("health_checked_at") is not None
    await db.close()
    with pytest.raises(StorageError, match="closed"):
        await state.prove_writable()
