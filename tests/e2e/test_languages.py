"""Members in their own language: the command list Discord shows them, the replies they get, the DMs they are sent.

Each member's Discord client sends its locale with every interaction (the stand-in's `FakeUser.locale`); the bot
answers in it, remembers it for DMs, and falls back to the server's preferred locale for a member it never heard
from.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import i18n
from simulators.ctrlpanel import CtrlPanelSimulator
from tests.e2e.harness import ADMIN, AUDIT_CHANNEL, MEMBER, OTHER_MEMBER, Desk, start_desk

# Each shipped language under every Discord locale it answers (Discord has two Spanish ones).
DISCORD_LOCALES = sorted(str(locale) for locales in i18n.SHIPPED.values() for locale in locales)
SUBCOMMANDS = (1, 2)  # option types: a subcommand, a group of them


def localized_names(command: dict[str, Any], locale: str) -> str:
    return (command.get("name_localizations") or {}).get(locale, command["name"])


def walk(command: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """The command and every subcommand, group and option in it, each with its path."""
    here = f"{path} {command['name']}".strip()
    found = [(here, command)]
    for option in command.get("options") or []:
        found += walk(option, here)
    return found


def size(command: dict[str, Any]) -> int:
    """Discord's count toward the 8,000 characters of one command: names, descriptions and choice names and
    values of it and all its options, each counted at its longest localization."""

    def longest(item: dict[str, Any], field: str) -> int:
        texts = [str(item.get(field) or ""), *(item.get(f"{field}_localizations") or {}).values()]
        return max(len(text) for text in texts)

    total = longest(command, "name") + longest(command, "description")
    for choice in command.get("choices") or []:
        total += longest(choice, "name") + len(str(choice["value"]))
    return total + sum(size(option) for option in command.get("options") or [])


async def test_registered_commands_carry_every_shipped_language_within_discords_rules(every_command: Desk) -> None:
    desk = every_command
    commands = desk.discord.registered_commands(desk.guild.id) + desk.discord.registered_commands()
    assert len(commands) > 10
    for top in commands:
        for path, item in walk(top):
            assert set(item.get("name_localizations") or {}) >= set(DISCORD_LOCALES), path
            assert set(item.get("description_localizations") or {}) >= set(DISCORD_LOCALES), path
            for choice in item.get("choices") or []:
                assert set(choice.get("name_localizations") or {}) >= set(DISCORD_LOCALES), (path, choice["name"])
            siblings = item.get("options") or []
            for locale in DISCORD_LOCALES:
                names = [localized_names(option, locale) for option in siblings]
                assert len(names) == len(set(names)), (path, locale, names)
        assert size(top) <= 8000, top["name"]
    for locale in DISCORD_LOCALES:
        names = [localized_names(top, locale) for top in commands]
        assert len(names) == len(set(names)), (locale, names)
    # Not an English name under a German flag: at least the descriptions read as the language.
    link = next(top for top in commands if top["name"] == "link")
    assert link["description_localizations"]["de"] != link["description"]
    assert link["description_localizations"]["pt-BR"] != link["description_localizations"]["es-ES"]


@pytest.fixture
async def ctrlpanel_desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Desk]:
    monkeypatch.chdir(tmp_path)
    async with CtrlPanelSimulator(rate_limit=100_000) as sim:

        def languages(guild: Any) -> None:
            guild.preferred_locale = "fr"  # the server's language: for members the bot never heard from
            guild.members[MEMBER].user.locale = "de"
            guild.members[OTHER_MEMBER].user.locale = "pt-BR"

        async for desk in start_desk(
            tmp_path,
            sim,
            panel_kind="ctrlpanel",
            panel_rate_limit=100_000,
            prepare=languages,
            bot_language="de",  # staff channels: German, whatever the server's or the staff member's language
            audit_channel_id=AUDIT_CHANNEL,
        ):
            yield desk


def said(language: str, message: str, **values: Any) -> str:
    with i18n.speaking(language):
        return i18n._(message, **values)


async def dm(desk: Desk, member: int, count: int = 1) -> Any:
    async with asyncio.timeout(5):
        while len(desk.discord.dms(member)) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    return desk.discord.dms(member)[count - 1]


async def test_the_same_commands_answer_each_member_in_their_language(ctrlpanel_desk: Desk) -> None:
    desk = ctrlpanel_desk
    replies = {}
    for member in (MEMBER, OTHER_MEMBER, ADMIN):
        replies[member] = (await desk.reply("notifications off", by=member)).content
    every = "messages from the bot (credits, warnings and your account)"
    sentence = "You will no longer get {what}. `/notifications on` turns them back on."
    assert replies[ADMIN] == "You will no longer get " + every + ". `/notifications on` turns them back on."
    assert replies[MEMBER] == said("de", sentence, what=said("de", every)) != replies[ADMIN]
    assert replies[OTHER_MEMBER] == said("pt_BR", sentence, what=said("pt_BR", every)) != replies[MEMBER]
    # The command to type, named as the member's Discord app lists it.
    names = i18n.command_strings("de")
    local = f"`/{names[('command name', 'notifications')]} {names[('command name', 'on')]}`"
    assert local in replies[MEMBER] and "`/notifications on`" not in replies[MEMBER]
    assert "`/notifications on`" in replies[ADMIN]

    # Buttons and errors too: the link offer's button, and a refusal.
    offer = await (await desk.run("link", by=MEMBER)).wait_for_message()
    assert offer.button_labels() == [said("de", "Ask staff")] != ["Ask staff"]
    refusal = "You need a staff or admin role to use this command ({roles})."
    roles = ", ".join(f"<@&{role}>" for role in desk.settings.staff_role_ids + desk.settings.admin_role_ids)
    portuguese = (await desk.reply("user list", by=OTHER_MEMBER)).content
    german = (await desk.reply("user list", by=MEMBER)).content
    assert portuguese == said("pt_BR", refusal, roles=roles) != said("de", refusal, roles=roles) == german


async def test_dms_are_in_the_members_language_with_its_numbers(ctrlpanel_desk: Desk) -> None:
    desk = ctrlpanel_desk
    german = desk.panel.add_user(name="kunde", email="kunde@example.com", credits=50, discord_id=MEMBER)
    brazilian = desk.panel.add_user(name="cliente", email="cliente@example.com", credits=50, discord_id=OTHER_MEMBER)
    english = desk.panel.add_user(name="admin2", email="a2@example.com", credits=50, discord_id=ADMIN)
    for member in (MEMBER, OTHER_MEMBER, ADMIN):
        await desk.reply("link", by=member)
    for user in (german, brazilian, english):
        await desk.reply("credits add", user=str(user.id), amount="1000")
    de, pt, en = (await dm(desk, MEMBER)), (await dm(desk, OTHER_MEMBER)), (await dm(desk, ADMIN))
    balance = {embed["fields"][-1]["value"] for embed in (de.embeds[0],)}
    assert balance == {"1.050"}
    assert de.embeds[0]["title"] == said("de", "+{amount} credits", amount="1.000") != "+1,000 credits"
    assert "Credits" in de.embeds[0]["title"]  # German capitalises the noun
    assert pt.embeds[0]["fields"][-1]["value"] == "1.050"
    assert pt.embeds[0]["title"] == said("pt_BR", "+{amount} credits", amount="1.000") != de.embeds[0]["title"]
    assert en.embeds[0]["title"] == "+1,000 credits" and en.embeds[0]["fields"][-1]["value"] == "1,050"


async def test_a_member_never_heard_from_gets_the_servers_language(ctrlpanel_desk: Desk) -> None:
    desk = ctrlpanel_desk
    quiet = 7_100_000_000_000_000_150
    desk.guild.add_member(quiet, "quiet")
    user = desk.panel.add_user(name="quiet", email="quiet@example.com", credits=5)
    await desk.reply("link-admin set", member=quiet, user=str(user.id))
    await desk.reply("credits add", user=str(user.id), amount="2500.5")
    notice = await dm(desk, quiet)
    assert notice.embeds[0]["title"] == said("fr", "+{amount} credits", amount=i18n_number("fr", "2500.5"))
    assert notice.embeds[0]["fields"][-1]["value"].replace("\u202f", " ") == "2 505,5"


def i18n_number(language: str, value: str) -> str:
    with i18n.speaking(language):
        return i18n.number(value)


async def test_staff_channels_speak_bot_language_while_the_member_gets_their_own(ctrlpanel_desk: Desk) -> None:
    desk = ctrlpanel_desk
    user = desk.panel.add_user(name="cliente", email="cliente@example.com", credits=50, discord_id=OTHER_MEMBER)
    await desk.reply("link", by=OTHER_MEMBER)
    reply = await desk.reply("credits add", user=str(user.id), amount="10")  # by an en-US admin: English reply
    assert reply.content.startswith("Added 10 credits")
    notice = await dm(desk, OTHER_MEMBER)
    assert notice.embeds[0]["title"] == said("pt_BR", "+{amount} credits", amount="10")
    async with asyncio.timeout(5):
        while not [m for m in desk.discord.channel_messages(AUDIT_CHANNEL) if "credits.add" in m.content]:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    [post] = [m for m in desk.discord.channel_messages(AUDIT_CHANNEL) if "credits.add" in m.content]
    assert said("de", "on {panel}", panel="main") in post.content and " on main" not in post.content
