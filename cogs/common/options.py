"""Checking a command's options against what the bot registered, before discord.py or a cog reads them.

Discord's app only sends values of the declared type and within the declared bounds, and discord.py trusts that:
a string option that arrives as a number reaches the cog as an int, a `Range` is not enforced at all, and a
malformed option list fails inside discord.py with no answer to the member. A proxy, a self-bot or a future
Discord change can send exactly that, so every interaction is held to the registered schema here, and what does not
fit gets one clear sentence.
"""

from __future__ import annotations

import math
from typing import Any

import discord
from discord import AppCommandOptionType, app_commands

# Discord ids are 64-bit, and none issued yet (nor before 2084) reaches 2**63; SQLite's integers end there too.
MAX_SNOWFLAKE = 2**63 - 1
# Discord's integer options are limited to what JavaScript's numbers hold exactly.
MAX_INTEGER = 2**53

_SNOWFLAKE_TYPES = {
    AppCommandOptionType.user,
    AppCommandOptionType.channel,
    AppCommandOptionType.role,
    AppCommandOptionType.mentionable,
    AppCommandOptionType.attachment,
}
_TYPE_WORDS = {
    AppCommandOptionType.string: "text",
    AppCommandOptionType.integer: "a whole number",
    AppCommandOptionType.number: "a number",
    AppCommandOptionType.boolean: "true or false",
    AppCommandOptionType.user: "a member",
    AppCommandOptionType.channel: "a channel",
    AppCommandOptionType.role: "a role",
    AppCommandOptionType.mentionable: "a member or role",
    AppCommandOptionType.attachment: "a file",
}
RETRY = "Run the command again from Discord's command list."

AnyCommand = app_commands.Command[Any, ..., Any] | app_commands.Group


class OptionProblem(Exception):
    """What is wrong with an interaction's options; `str()` is the sentence the member reads."""


def check_command_data(
    tree: app_commands.CommandTree[Any], data: object, *, guild_id: int | None, autocomplete: bool
) -> None:
    """Raise OptionProblem unless `data` (an interaction's `data`) fits a command the bot registered.

    For autocomplete (the member is still typing), required options may be missing and bounds are not checked
    yet: Discord's app checks those when the command is sent.
    """
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise OptionProblem(f"That command arrived in a form Discord never sends. {RETRY}")
    command = _top_level(tree, data["name"], guild_id)
    path = [data["name"]]
    options = data.get("options", [])
    while isinstance(command, app_commands.Group):
        if not isinstance(options, list) or len(options) != 1 or not isinstance(options[0], dict):
            raise OptionProblem(f"/{' '.join(path)} arrived without a subcommand. {RETRY}")
        name = options[0].get("name")
        child = command.get_command(name) if isinstance(name, str) else None
        kind = AppCommandOptionType.subcommand_group if isinstance(child, app_commands.Group) else None
        expected = (kind or AppCommandOptionType.subcommand).value
        if child is None or options[0].get("type") != expected:
            raise OptionProblem(f"/{' '.join(path)} has no subcommand {name!r}. {RETRY}")
        command, path, options = child, [*path, name], options[0].get("options", [])
    _check_options(command, "/" + " ".join(path), options, autocomplete=autocomplete)
    resolved = data.get("resolved", {})
    if not isinstance(resolved, dict) or not all(
        isinstance(entries, dict) and all(isinstance(entry, dict) for entry in entries.values())
        for entries in resolved.values()
    ):
        raise OptionProblem(f"That command arrived with members or channels in a form Discord never sends. {RETRY}")


def _top_level(tree: app_commands.CommandTree[Any], name: str, guild_id: int | None) -> AnyCommand:
    command = None
    if guild_id is not None:
        command = tree.get_command(name, guild=discord.Object(guild_id))
    command = command or tree.get_command(name)
    if not isinstance(command, app_commands.Command | app_commands.Group):
        raise OptionProblem(
            f"/{name} is not one of this bot's commands any more. Wait a minute for Discord to update the command "
            "list, or ask an admin to run `/panel sync`."
        )
    return command


def _check_options(
    command: app_commands.Command[Any, ..., Any], where: str, options: object, *, autocomplete: bool
) -> None:
    if not isinstance(options, list):
        raise OptionProblem(f"{where} arrived with its options in a form Discord never sends. {RETRY}")
    parameters = {parameter.display_name: parameter for parameter in command.parameters}
    seen: set[str] = set()
    focused = 0
    for option in options:
        if not isinstance(option, dict) or not isinstance(option.get("name"), str):
            raise OptionProblem(f"{where} arrived with an option in a form Discord never sends. {RETRY}")
        name = option["name"]
        parameter = parameters.get(name)
        if parameter is None:
            raise OptionProblem(f"`{_shown(name)}` is not an option of {where}. {RETRY}")
        if name in seen:
            raise OptionProblem(f"`{name}` was given twice. {RETRY}")
        seen.add(name)
        if option.get("type") != parameter.type.value:
            raise OptionProblem(f"`{name}` should be {_TYPE_WORDS.get(parameter.type, 'something else')}. {RETRY}")
        if option.get("focused"):
            focused += 1
            if not autocomplete or not parameter.autocomplete:
                raise OptionProblem(f"`{name}` has no suggestions to offer. {RETRY}")
            if not isinstance(option.get("value"), str | int | float) or isinstance(option.get("value"), bool):
                raise OptionProblem(f"`{name}` arrived as something that cannot be typed. {RETRY}")
            continue
        _check_value(parameter, option.get("value"), autocomplete=autocomplete)
    if autocomplete:
        if focused != 1:
            raise OptionProblem(f"Suggestions need exactly one option being typed. {RETRY}")
        return
    missing = [name for name, parameter in parameters.items() if parameter.required and name not in seen]
    if missing:
        raise OptionProblem(f"{where} needs {', '.join(f'`{name}`' for name in missing)}. {RETRY}")


def _check_value(parameter: app_commands.Parameter, value: object, *, autocomplete: bool) -> None:
    name, kind = parameter.display_name, parameter.type
    wrong = OptionProblem(f"`{name}` should be {_TYPE_WORDS.get(kind, 'something else')}. {RETRY}")
    if kind is AppCommandOptionType.string:
        if not isinstance(value, str):
            raise wrong
        if not autocomplete:
            _check_bounds(name, len(value), parameter, unit=" characters long")
    elif kind is AppCommandOptionType.integer:
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_INTEGER:
            raise wrong
        if not autocomplete:
            _check_bounds(name, value, parameter)
    elif kind is AppCommandOptionType.number:
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            raise wrong
        if not autocomplete:
            _check_bounds(name, value, parameter)
    elif kind is AppCommandOptionType.boolean:
        if not isinstance(value, bool):
            raise wrong
    elif kind in _SNOWFLAKE_TYPES:
        text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
        if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_SNOWFLAKE:
            raise wrong
    choices = [choice.value for choice in parameter.choices]
    if choices and value not in choices and not autocomplete:
        raise OptionProblem(f"`{name}` must be one of: {', '.join(str(c) for c in choices)}. {RETRY}")


def _check_bounds(name: str, measured: float, parameter: app_commands.Parameter, *, unit: str = "") -> None:
    low, high = parameter.min_value, parameter.max_value
    if (low is None or measured >= low) and (high is None or measured <= high):
        return
    if low is not None and high is not None:
        span = f"between {low:g} and {high:g}"
    else:
        span = f"at least {low:g}" if low is not None else f"at most {high:g}"
    raise OptionProblem(f"`{name}` must be {span}{unit}.")


def _shown(name: str) -> str:
    """An option name someone else made up, safe inside backticks and short."""
    return name.replace("`", "'")[:32]
