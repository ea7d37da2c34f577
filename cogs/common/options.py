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

from i18n import N_, _, number

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
    AppCommandOptionType.string: N_("text"),
    AppCommandOptionType.integer: N_("a whole number"),
    AppCommandOptionType.number: N_("a number"),
    AppCommandOptionType.boolean: N_("true or false"),
    AppCommandOptionType.user: N_("a member"),
    AppCommandOptionType.channel: N_("a channel"),
    AppCommandOptionType.role: N_("a role"),
    AppCommandOptionType.mentionable: N_("a member or role"),
    AppCommandOptionType.attachment: N_("a file"),
}
_OTHER_KIND = N_("something else")
RETRY = N_("Run the command again from Discord's command list.")

AnyCommand = app_commands.Command[Any, ..., Any] | app_commands.Group


class OptionProblem(Exception):
    """What is wrong with an interaction's options; `str()` is the sentence the member reads."""


def _problem(sentence: str, **values: object) -> OptionProblem:
    """A problem the member can only fix by running the command again from the list."""
    return OptionProblem(f"{_(sentence, **values)} {_(RETRY)}")


def _type_words(kind: AppCommandOptionType) -> str:
    return _(_TYPE_WORDS.get(kind, _OTHER_KIND))


def check_command_data(
    tree: app_commands.CommandTree[Any], data: object, *, guild_id: int | None, autocomplete: bool
) -> None:
    """Raise OptionProblem unless `data` (an interaction's `data`) fits a command the bot registered.

    For autocomplete (the member is still typing), required options may be missing and bounds are not checked
    yet: Discord's app checks those when the command is sent.
    """
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise _problem(N_("That command arrived in a form Discord never sends."))
    command = _top_level(tree, data["name"], guild_id)
    path = [data["name"]]
    options = data.get("options", [])
    while isinstance(command, app_commands.Group):
        if not isinstance(options, list) or len(options) != 1 or not isinstance(options[0], dict):
            raise _problem(N_("{command} arrived without a subcommand."), command="/" + " ".join(path))
        name = options[0].get("name")
        child = command.get_command(name) if isinstance(name, str) else None
        kind = AppCommandOptionType.subcommand_group if isinstance(child, app_commands.Group) else None
        expected = (kind or AppCommandOptionType.subcommand).value
        if child is None or options[0].get("type") != expected:
            raise _problem(N_("{command} has no subcommand {name}."), command="/" + " ".join(path), name=repr(name))
        command, path, options = child, [*path, name], options[0].get("options", [])
    _check_options(command, "/" + " ".join(path), options, autocomplete=autocomplete)
    resolved = data.get("resolved", {})
    if not isinstance(resolved, dict) or not all(
        isinstance(entries, dict) and all(isinstance(entry, dict) for entry in entries.values())
        for entries in resolved.values()
    ):
        raise _problem(N_("That command arrived with members or channels in a form Discord never sends."))


def _top_level(tree: app_commands.CommandTree[Any], name: str, guild_id: int | None) -> AnyCommand:
    command = None
    if guild_id is not None:
        command = tree.get_command(name, guild=discord.Object(guild_id))
    command = command or tree.get_command(name)
    if not isinstance(command, app_commands.Command | app_commands.Group):
        raise OptionProblem(
            _(
                "{command} is not one of this bot's commands any more. Wait a minute for Discord to update the "
                "command list, or ask an admin to run `/panel sync`.",
                command=f"/{name}",
            )
        )
    return command


def _check_options(
    command: app_commands.Command[Any, ..., Any], where: str, options: object, *, autocomplete: bool
) -> None:
    if not isinstance(options, list):
        raise _problem(N_("{command} arrived with its options in a form Discord never sends."), command=where)
    parameters = {parameter.display_name: parameter for parameter in command.parameters}
    seen: set[str] = set()
    focused = 0
    for option in options:
        if not isinstance(option, dict) or not isinstance(option.get("name"), str):
            raise _problem(N_("{command} arrived with an option in a form Discord never sends."), command=where)
        name = option["name"]
        parameter = parameters.get(name)
        if parameter is None:
            raise _problem(N_("`{name}` is not an option of {command}."), name=_shown(name), command=where)
        if name in seen:
            raise _problem(N_("`{name}` was given twice."), name=name)
        seen.add(name)
        if option.get("type") != parameter.type.value:
            raise _problem(N_("`{name}` should be {kind}."), name=name, kind=_type_words(parameter.type))
        if option.get("focused"):
            focused += 1
            if not autocomplete or not parameter.autocomplete:
                raise _problem(N_("`{name}` has no suggestions to offer."), name=name)
            if not isinstance(option.get("value"), str | int | float) or isinstance(option.get("value"), bool):
                raise _problem(N_("`{name}` arrived as something that cannot be typed."), name=name)
            continue
        _check_value(parameter, option.get("value"), autocomplete=autocomplete)
    if autocomplete:
        if focused != 1:
            raise _problem(N_("Suggestions need exactly one option being typed."))
        return
    missing = [name for name, parameter in parameters.items() if parameter.required and name not in seen]
    if missing:
        raise _problem(
            N_("{command} needs {options}."), command=where, options=", ".join(f"`{name}`" for name in missing)
        )


def _check_value(parameter: app_commands.Parameter, value: object, *, autocomplete: bool) -> None:
    name, kind = parameter.display_name, parameter.type
    wrong = _problem(N_("`{name}` should be {kind}."), name=name, kind=_type_words(kind))
    if kind is AppCommandOptionType.string:
        if not isinstance(value, str):
            raise wrong
        if not autocomplete:
            _check_bounds(name, len(value), parameter, length=True)
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
        raise _problem(N_("`{name}` must be one of: {choices}."), name=name, choices=", ".join(str(c) for c in choices))


def _check_bounds(name: str, measured: float, parameter: app_commands.Parameter, *, length: bool = False) -> None:
    low, high = parameter.min_value, parameter.max_value
    if (low is None or measured >= low) and (high is None or measured <= high):
        return
    values = {"name": name, "low": number(low or 0), "high": number(high or 0)}
    if low is not None and high is not None:
        sentence = (
            N_("`{name}` must be between {low} and {high} characters long.")
            if length
            else N_("`{name}` must be between {low} and {high}.")
        )
    elif low is not None:
        sentence = (
            N_("`{name}` must be at least {low} characters long.") if length else N_("`{name}` must be at least {low}.")
        )
    else:
        sentence = (
            N_("`{name}` must be at most {high} characters long.") if length else N_("`{name}` must be at most {high}.")
        )
    raise OptionProblem(_(sentence, **values))


def _shown(name: str) -> str:
    """An option name someone else made up, safe inside backticks and short."""
    return name.replace("`", "'")[:32]
