"""The prompt's completions: names from the commands the bot registered, values from the bot's autocomplete."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from demo.prompt import DemoCompleter
from demo.session import DemoSession
from demo.world import demo_world


@pytest.fixture
async def session() -> AsyncIterator[DemoSession]:
    async with demo_world() as world:
        await world.start_bot()
        yield DemoSession(world, lambda line: None)


async def complete(session: DemoSession, text: str) -> list[tuple[str, str]]:
    """(what Tab inserts, what the menu shows) for each suggestion at the end of `text`."""
    completer = DemoCompleter(session)
    found = completer.get_completions_async(Document(text), CompleteEvent(completion_requested=True))
    return [(c.text, c.display_text) async for c in found]


async def test_names_come_from_the_registered_commands(session: DemoSession) -> None:
    assert [text for text, _ in await complete(session, "/cre")] == ["/credits"]
    assert [text for text, _ in await complete(session, "/credits ")] == ["add", "remove", "show"]
    assert [text for text, _ in await complete(session, "/credits add user:bob ")] == ["amount:", "reason:", "panel:"]
    assert [text for text, _ in await complete(session, "as ")] == ["admin", "staff", "member"]


async def test_values_come_from_the_bots_autocomplete(session: DemoSession) -> None:
    users = await complete(session, "/credits show user:ali")
    assert users and all("alice" in shown for _, shown in users)
    panels = dict(await complete(session, "/user list panel:"))
    assert panels["billing"].startswith("billing") and "main" in panels
    autocomplete = 4  # APPLICATION_COMMAND_AUTOCOMPLETE: real interactions the bot answered
    assert any(record.type == autocomplete for record in session.world.discord.interactions.values())


async def test_buttons_of_the_last_message_complete_after_press(session: DemoSession) -> None:
    await session.run("/user delete user:dave")
    assert [text for text, _ in await complete(session, "press ")] == ["Delete", "Cancel"]
