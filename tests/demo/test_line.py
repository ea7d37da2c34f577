"""The demo's line parser against the schema the bot really registers (the stand-in's command store)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from demo.line import Fill, LineError, Press, Select, SlashCommand, SwitchLanguage, SwitchMember, Word, parse_line
from demo.world import DemoWorld, demo_world
from simulators.discord.world import GUILD, MEMBERS


@pytest.fixture
async def world() -> AsyncIterator[DemoWorld]:
    async with demo_world() as started:
        await started.start_bot()
        yield started


def parse(world: DemoWorld, text: str) -> Any:
    return parse_line(text, world.discord.registered_commands(GUILD), world.guild)


def member_id(name: str) -> int:
    return next(m.id for m in MEMBERS if m.name == name)


async def test_options_take_the_registered_types(world: DemoWorld) -> None:
    assert parse(world, '/credits add user:bob amount:50 reason:"a welcome gift"') == SlashCommand(
        "credits add", {"user": "bob", "amount": "50", "reason": "a welcome gift"}
    )
    assert parse(world, "/user list page:2") == SlashCommand("user list", {"page": 2})
    assert parse(world, "/user create email:a@b.c username:a admin:yes") == SlashCommand(
        "user create", {"email": "a@b.c", "username": "a", "admin": True}
    )


async def test_members_are_named_mentioned_or_given_by_id(world: DemoWorld) -> None:
    bob = member_id("bob")
    for written in ("bob", "BOB", f"<@{bob}>", f"<@!{bob}>", str(bob)):
        assert parse(world, f"/link-admin set member:{written} user:alice").options["member"] == bob


async def test_mistakes_are_refused_with_what_the_command_takes(world: DemoWorld) -> None:
    refusals = {
        "/user list page:two": "Option 'page' takes a whole number, not 'two'.",
        "/user list colour:red": "/user list has no option 'colour'; it takes search, page, panel.",
        "/credits add user:bob": "/credits add needs amount:….",
        "/credits": "/credits needs a subcommand: add, remove, show.",
        "/credits give": "/credits has no subcommand 'give'; it has add, remove, show.",
        "/user list ali": "Write options as name:value",
        "/link-admin remove member:zed": "this server has no member 'zed'; it has Panel Desk, alice, bob, sam",
        '/user list search:"ali': "Could not read the line: No closing quotation",
        "/nosuch": "The bot registered no command /nosuch. It has: /account, /audit,",
        "as boss": "Say who is typing: as admin | staff | member.",
        "dance": "'dance' is not something the demo knows.",
    }
    for line, sentence in refusals.items():
        with pytest.raises(LineError) as refused:
            parse(world, line)
        assert sentence in str(refused.value), line


async def test_the_demo_words(world: DemoWorld) -> None:
    assert parse(world, "  # a comment") is None
    assert parse(world, "") is None
    assert parse(world, "as Member") == SwitchMember("member")
    assert parse(world, "language pt-br") == parse(world, "lang pt") == SwitchLanguage("pt-BR")
    assert parse(world, "language de") == SwitchLanguage("de")
    with pytest.raises(LineError, match="language de"):
        parse(world, "language klingon")
    assert parse(world, 'press "Ask staff"') == Press("Ask staff")
    assert parse(world, "press Ask staff") == Press("Ask staff")
    assert parse(world, "select Next page") == Select("Next page")
    assert parse(world, 'fill email=a@b.c "Full name=Ann Lee"') == Fill({"email": "a@b.c", "Full name": "Ann Lee"})
    assert parse(world, "exit") == Word("quit")
    with pytest.raises(LineError, match="Field=value"):
        parse(world, "fill email")
