"""Input Discord's own app would never send, and odd input it would: every interaction gets a clear answer.

Most cases go through `send_raw`, which dispatches interaction data exactly as written, as a proxy, a modified
client or a future Discord change might; the bot must answer each with a sentence, never a traceback or silence.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest

from simulators.discord import InteractionRecord
from tests.e2e.harness import ADMIN, GENERAL, GUILD, MEMBER, STAFF, Desk

APPLICATION_COMMAND, AUTOCOMPLETE = 2, 4
STRING, INTEGER, BOOLEAN, USER = 3, 4, 5, 6
RETRY = "Run the command again from Discord's command list."


def command(desk: Desk, name: str, options: Any = None, **extra: Any) -> dict[str, Any]:
    registered = next(c for c in desk.discord.registered_commands(GUILD) if c["name"] == name)
    data: dict[str, Any] = {"id": registered["id"], "name": name, "type": 1, "guild_id": str(GUILD), **extra}
    if options is not None:
        data["options"] = options
    return data


def sub(name: str, *options: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "type": 1, "options": list(options)}


def leaf(desk: Desk, path: str, *options: tuple[str, int, Any]) -> dict[str, Any]:
    """`/top subcommand` with options given as (name, type, value), exactly as written."""
    top, name = path.split()
    return command(desk, top, [sub(name, *({"name": n, "type": t, "value": v} for n, t, v in options))])


async def answer_to(desk: Desk, data: Any, *, by: int = ADMIN, kind: int = APPLICATION_COMMAND) -> str:
    record = await desk.discord.send_raw(kind, data, user=by, guild=GUILD, channel=GENERAL)
    message = await record.wait_for_message()
    assert message.ephemeral
    return message.content


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


# --- ids beyond what Discord or a panel can hold --------------------------------------------------------------


@pytest.mark.parametrize("typed", ["99999999999999999999", "<@99999999999999999999>", "18446744073709551616"])
async def test_ids_too_large_for_anything_are_no_such_user(desk: Desk, errors: pytest.LogCaptureFixture, typed: str):
    message = await desk.reply("user info", by=STAFF, user=typed)
    assert message.ephemeral and "No user on the main panel has the id" in message.content
    assert "Something went wrong" not in message.content and not tracebacks(errors)


# --- values of the wrong type or out of bounds ----------------------------------------------------------------


async def test_options_of_the_wrong_type_are_refused_with_a_sentence(
    desk: Desk, errors: pytest.LogCaptureFixture
) -> None:
    cases = [
        (leaf(desk, "user info", ("user", STRING, 5)), "`user` should be text."),
        (leaf(desk, "user list", ("page", INTEGER, "two")), "`page` should be a whole number."),
        (leaf(desk, "user list", ("page", INTEGER, True)), "`page` should be a whole number."),
        (leaf(desk, "user info", ("user", STRING, "x"), ("panel", STRING, ["main"])), "`panel` should be text."),
        (
            leaf(
                desk, "user create", ("email", STRING, "a@b.co"), ("username", STRING, "abc"), ("admin", BOOLEAN, "yes")
            ),
            "`admin` should be true or false.",
        ),
        (
            leaf(desk, "link-admin set", ("member", USER, "99999999999999999999"), ("user", STRING, "x")),
            "`member` should be a member.",
        ),
        (leaf(desk, "link-admin set", ("member", USER, "abc"), ("user", STRING, "x")), "`member` should be a member."),
    ]
    for data, expected in cases:
        assert await answer_to(desk, data) == f"{expected} {RETRY}"
    assert not tracebacks(errors)
    assert all(r.method == "GET" for r in desk.panel.requests)  # nothing was changed on the panel


async def test_bounds_discord_would_enforce_are_enforced_by_the_bot(desk: Desk) -> None:
    page_zero = leaf(desk, "user list", ("page", INTEGER, 0))
    assert await answer_to(desk, page_zero, by=STAFF) == "`page` must be between 1 and 100,000."
    long_search = leaf(desk, "user list", ("search", STRING, "x" * 101))
    assert await answer_to(desk, long_search, by=STAFF) == "`search` must be between 1 and 100 characters long."
    huge = leaf(desk, "user list", ("page", INTEGER, 2**70))
    assert await answer_to(desk, huge, by=STAFF) == f"`page` should be a whole number. {RETRY}"
    assert desk.panel.requests == []


async def test_malformed_structures_are_answered(desk: Desk, errors: pytest.LogCaptureFixture) -> None:
    cases = [
        (command(desk, "user", "info"), "/user arrived without a subcommand."),
        (command(desk, "user", []), "/user arrived without a subcommand."),
        (command(desk, "user", [sub("nope")]), "/user has no subcommand 'nope'."),
        (command(desk, "user", [sub("info")]), "/user info needs `user`."),
        (
            command(desk, "user", [{"name": "info", "type": 1, "options": {"user": "x"}}]),
            "/user info arrived with its options in a form Discord never sends.",
        ),
        (
            command(desk, "user", [sub("info", {"name": "nope", "type": STRING, "value": "x"})]),
            "`nope` is not an option of /user info.",
        ),
        (
            command(
                desk,
                "user",
                [
                    sub(
                        "info",
                        {"name": "user", "type": STRING, "value": "a"},
                        {"name": "user", "type": STRING, "value": "b"},
                    )
                ],
            ),
            "`user` was given twice.",
        ),
        (
            command(desk, "user", [sub("info", {"name": "user", "type": STRING, "value": "x"})], resolved={"users": 1}),
            "That command arrived with members or channels in a form Discord never sends.",
        ),
        ({"id": "1", "name": "nope", "type": 1}, "/nope is not one of this bot's commands any more."),
    ]
    for data, expected in cases:
        content = await answer_to(desk, data)
        assert content.startswith(expected), (data, content)
    assert not tracebacks(errors)


# --- autocomplete never fails -----------------------------------------------------------------------------------


async def suggestions(desk: Desk, data: Any) -> list[dict[str, Any]]:
    record: InteractionRecord = await desk.discord.send_raw(AUTOCOMPLETE, data, user=ADMIN, guild=GUILD)
    [response] = await record.wait_for(1)
    assert response.kind == "autocomplete"
    return response.choices


async def test_autocomplete_answers_whatever_arrives(desk: Desk, errors: pytest.LogCaptureFixture) -> None:
    desk.panel.add_user(username="user5", email="five@example.com")
    focused_number = command(desk, "user", [sub("info", {"name": "user", "type": STRING, "value": 5, "focused": True})])
    assert [c["name"] for c in await suggestions(desk, focused_number)] == ["user5 · five@example.com (#2)"]
    panel_list = command(
        desk,
        "user",
        [
            sub(
                "info",
                {"name": "user", "type": STRING, "value": "u", "focused": True},
                {"name": "panel", "type": STRING, "value": ["main"]},
            )
        ],
    )
    assert await suggestions(desk, panel_list) == []
    nothing_focused = command(desk, "user", [sub("info", {"name": "user", "type": STRING, "value": "u"})])
    assert await suggestions(desk, nothing_focused) == []
    panel_number = command(desk, "user", [sub("info", {"name": "panel", "type": STRING, "value": 7, "focused": True})])
    assert await suggestions(desk, panel_number) == []
    assert not tracebacks(errors)


# --- a small fuzz over every registered command ---------------------------------------------------------------


def mutations(rng: random.Random) -> list[Any]:
    return [
        None,
        0,
        -1,
        2**64,
        1.5,
        float("inf"),
        True,
        "",
        " ",
        "x" * 300,
        "\n\x1b[31m",
        [],
        {},
        ["a"],
        {"a": 1},
        "99999999999999999999",
        "<@1>",
        "🙂",
    ]


async def test_fuzzed_options_of_every_command_are_always_answered(
    desk: Desk, errors: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(11)
    records: list[InteractionRecord] = []
    for _ in range(240):
        top = rng.choice(desk.discord.registered_commands(GUILD))
        leaf, path = top, []
        while leaf.get("options") and leaf["options"][0]["type"] in (1, 2):
            leaf = rng.choice(leaf["options"])
            path.append(leaf)
        options = []
        for option in leaf.get("options", []):
            if rng.random() < 0.3:
                continue
            value = rng.choice(mutations(rng)) if rng.random() < 0.6 else "x"
            kind = option["type"] if rng.random() < 0.8 else rng.choice([3, 4, 5, 6, 10, 99])
            options.append({"name": option["name"], "type": kind, "value": value})
        for level in reversed(path):
            options = [{"name": level["name"], "type": level["type"], "options": options}]
        kind = AUTOCOMPLETE if rng.random() < 0.2 else APPLICATION_COMMAND
        if kind == AUTOCOMPLETE and options:
            target = options
            while target and "options" in target[0]:
                target = target[0]["options"]
            if target:
                target[0]["focused"] = True
        data = {"id": top["id"], "name": top["name"], "type": 1, "guild_id": str(GUILD), "options": options}
        by = rng.choice([ADMIN, STAFF, MEMBER])
        records.append(await desk.discord.send_raw(kind, data, user=by, guild=GUILD, channel=GENERAL))
    for record in records:
        responses = await record.wait_for(1)
        if responses[0].kind == "defer":
            await record.wait_for_message()
    assert not tracebacks(errors), tracebacks(errors)[:3]
