"""What a person types at the demo's prompt, read into one of a few actions.

A slash command is written as in Discord's client, `/credits add user:bob amount:50 reason:"a gift"`, and its
options are converted to the types the bot registered (the stand-in's command store is the schema), so that a
typo is refused here with the options the command has, as Discord's client would refuse it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import discord

from simulators.discord.models import FakeGuild
from simulators.discord.validation import (
    BOOLEAN,
    CHANNEL,
    INTEGER,
    MENTIONABLE,
    NUMBER,
    ROLE,
    STRING,
    SUB_COMMAND,
    SUB_COMMAND_GROUP,
    USER,
)

ROLE_WORDS = ("admin", "staff", "member")
_MENTION = re.compile(r"^<(@!?|@&|#)(\d+)>$")
_TYPE_NAMES = {
    STRING: "text",
    INTEGER: "a whole number",
    BOOLEAN: "true or false",
    USER: "a member",
    CHANNEL: "a channel",
    ROLE: "a role",
    MENTIONABLE: "a member or role",
    NUMBER: "a number",
}


class LineError(ValueError):
    """A line the demo cannot act on; `str()` is the sentence shown at the prompt."""


class _NotHere(ValueError):
    """A member, role or channel the demo server does not have; `str()` says which ones it has."""


@dataclass(frozen=True)
class SlashCommand:
    """`/path options…`, with the options already of the registered types (members as ids)."""

    path: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SwitchMember:
    role: str


@dataclass(frozen=True)
class SwitchLanguage:
    """`language de`: the Discord locale the member's app sends from now on."""

    locale: str


@dataclass(frozen=True)
class Press:
    label: str


@dataclass(frozen=True)
class Select:
    choice: str


@dataclass(frozen=True)
class Fill:
    """`fill Field=value …`: fields by their label or id, as shown when the form opened."""

    values: dict[str, str]


@dataclass(frozen=True)
class Word:
    """`help`, `quit` and the other words of the demo itself."""

    word: str


Action = SlashCommand | SwitchMember | SwitchLanguage | Press | Select | Fill | Word
WORDS = ("help", "quit", "exit", "dms")


def split(text: str) -> list[str]:
    """Shell-like words: `reason:"two words"` is one word, `reason:two words`."""
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise LineError(f"Could not read the line: {exc} (close the quotes).") from None


def parse_line(text: str, commands: list[dict[str, Any]], guild: FakeGuild) -> Action | None:
    """The action `text` asks for; None for a blank line or a `#` comment."""
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return None
    head, _, rest = stripped.partition(" ")
    rest = rest.strip()
    lowered = head.lower()
    if stripped.startswith("/"):
        return parse_command(stripped, commands, guild)
    if lowered == "as":
        role = rest.lower()
        if role not in ROLE_WORDS:
            raise LineError(f"Say who is typing: as {' | '.join(ROLE_WORDS)}.")
        return SwitchMember(role)
    if lowered in ("language", "lang"):
        locales = {str(locale).lower(): str(locale) for locale in discord.Locale}
        locales |= {"es": "es-ES", "pt": "pt-BR", "en": "en-US"}
        locale = locales.get(rest.lower())
        if locale is None:
            raise LineError("Say which Discord language: language de (or pt-BR, es-ES, fr, pl, ru, en-US, …).")
        return SwitchLanguage(locale)
    if lowered in ("press", "click"):
        if not rest:
            raise LineError("Say which button: press Confirm.")
        return Press(" ".join(split(rest)))
    if lowered == "select":
        if not rest:
            raise LineError("Say which option: select <option label or value>.")
        return Select(" ".join(split(rest)))
    if lowered == "fill":
        values: dict[str, str] = {}
        for word in split(rest):
            name, sep, value = word.partition("=")
            if not sep or not name:
                raise LineError(f'Write each field as Field=value (quote spaces: Email="a b"), not {word!r}.')
            values[name] = value
        return Fill(values)
    if lowered in WORDS and not rest:
        return Word("quit" if lowered == "exit" else lowered)
    raise LineError(
        f"{head!r} is not something the demo knows. Type a slash command (/user list), press <button>, "
        "select <option>, fill Field=value, as admin|staff|member, language <locale>, help or quit."
    )


def command_path(words: list[str], commands: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """The command's path among `words` (`credits`, `add`) and the schema of the options it takes."""
    name = words[0].lstrip("/")
    top = next((c for c in commands if c["name"] == name), None)
    if top is None:
        known = ", ".join(f"/{c['name']}" for c in sorted(commands, key=lambda c: c["name"]))
        raise LineError(f"The bot registered no command /{name}. It has: {known}.")
    path, schema = [name], top.get("options") or []
    for word in words[1:]:
        subs = [o for o in schema if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)]
        if not subs or ":" in word:
            break
        sub = next((o for o in subs if o["name"] == word), None)
        if sub is None:
            offered = ", ".join(o["name"] for o in subs)
            raise LineError(f"/{' '.join(path)} has no subcommand {word!r}; it has {offered}.")
        path.append(word)
        schema = sub.get("options") or []
    subs = [o for o in schema if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)]
    if subs:
        raise LineError(f"/{' '.join(path)} needs a subcommand: {', '.join(o['name'] for o in subs)}.")
    return path, schema


def parse_command(text: str, commands: list[dict[str, Any]], guild: FakeGuild) -> SlashCommand:
    words = split(text)
    path, schema = command_path(words, commands)
    by_name = {o["name"]: o for o in schema}
    options: dict[str, Any] = {}
    for word in words[len(path) :]:
        name, sep, value = word.partition(":")
        if not sep:
            raise LineError(f'Write options as name:value (quote spaces: reason:"two words"), not {word!r}.')
        option = by_name.get(name)
        if option is None:
            takes = ", ".join(by_name) or "no options"
            raise LineError(f"/{' '.join(path)} has no option {name!r}; it takes {takes}.")
        options[name] = convert(option, value, guild)
    missing = [o["name"] for o in schema if o.get("required") and o["name"] not in options]
    if missing:
        raise LineError(f"/{' '.join(path)} needs {', '.join(f'{m}:…' for m in missing)}.")
    return SlashCommand(" ".join(path), options)


def convert(option: dict[str, Any], value: str, guild: FakeGuild) -> Any:
    """`value` as the registered option's type; a member may be named (`bob`), mentioned (`<@id>`) or given by id."""
    kind, name = option["type"], option["name"]
    try:
        if kind == INTEGER:
            return int(value)
        if kind == NUMBER:
            return float(value)
        if kind == BOOLEAN:
            if value.lower() not in ("true", "false", "yes", "no"):
                raise ValueError
            return value.lower() in ("true", "yes")
        if kind in (USER, MENTIONABLE):
            return _member_id(value, guild) if kind == USER else _member_or_role_id(value, guild)
        if kind == ROLE:
            return _named_id(value, {r.id: r.name for r in guild.roles.values()}, "role")
        if kind == CHANNEL:
            return _named_id(value.lstrip("#"), {c.id: c.name for c in guild.channels.values()}, "channel")
    except _NotHere as exc:
        raise LineError(f"Option {name!r} takes {_TYPE_NAMES.get(kind, 'a value')}, not {value!r} ({exc}).") from None
    except ValueError:
        raise LineError(f"Option {name!r} takes {_TYPE_NAMES.get(kind, 'a value')}, not {value!r}.") from None
    choices = option.get("choices")
    if choices:
        for choice in choices:
            if value in (str(choice["value"]), choice["name"]):
                return choice["value"]
        offered = ", ".join(str(c["value"]) for c in choices)
        raise LineError(f"Option {name!r} offers {offered}, not {value!r}.")
    return value


def _member_id(value: str, guild: FakeGuild) -> int:
    names = {m.id: m.user.name for m in guild.members.values()}
    names |= {m.id: m.nick for m in guild.members.values() if m.nick}
    return _named_id(value, names, "member")


def _member_or_role_id(value: str, guild: FakeGuild) -> int:
    try:
        return _member_id(value, guild)
    except _NotHere:
        return _named_id(value, {r.id: r.name for r in guild.roles.values()}, "member or role")


def _named_id(value: str, names: dict[int, str], what: str) -> int:
    mention = _MENTION.match(value)
    if mention:
        value = mention.group(2)
    if value.isdigit() and int(value) in names:
        return int(value)
    for item_id, item_name in names.items():
        if item_name.casefold() == value.casefold():
            return item_id
    raise _NotHere(f"this server has no {what} {value!r}; it has {', '.join(sorted(set(names.values())))}")
