from __future__ import annotations

from pathlib import Path

from storage import BotState, Database


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
