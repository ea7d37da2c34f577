"""Registered application commands, and interaction ``data`` built as Discord's client would build it:
for slash commands and autocomplete from the registered schema, for modal submits from the modal shown.

A test names a command path ("user info") and passes plain Python values; the registered schema decides
each option's type, the subcommand nesting and what goes into ``resolved``. Values Discord's client would
never send (a missing required option, a value outside ``choices`` or ``min_value``..``max_value``) are
refused with ``ValueError`` unless the caller opts out, because the bot can never receive them.
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Callable
from typing import Any

from simulators.discord.errors import unknown_command
from simulators.discord.models import FakeChannel, FakeGuild, FakeMember, FakeRole, FakeUser
from simulators.discord.validation import (
    ATTACHMENT,
    BOOLEAN,
    CHANNEL,
    CHANNEL_SELECT,
    CHAT_INPUT,
    CHECKBOX,
    FILE_UPLOAD,
    INTEGER,
    LABEL,
    MENTIONABLE,
    NUMBER,
    RADIO_GROUP,
    ROLE,
    ROLE_SELECT,
    SELECTS,
    STRING,
    STRING_SELECT,
    SUB_COMMAND,
    SUB_COMMAND_GROUP,
    TEXT_DISPLAY,
    TEXT_INPUT,
    USER,
    USER_SELECT,
)

Scope = int | None  # a guild id, or None for global commands


class CommandStore:
    """Each scope's commands as Discord stores and returns them (ids kept across overwrites by name)."""

    def __init__(self, application_id: int, new_id: Callable[[], int]) -> None:
        self._application_id = application_id
        self._new_id = new_id
        self._scopes: dict[Scope, list[dict[str, Any]]] = {}

    def list(self, scope: Scope) -> builtins.list[dict[str, Any]]:
        return copy.deepcopy(self._scopes.get(scope, []))

    def overwrite(self, scope: Scope, commands: builtins.list[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
        existing = {(c["type"], c["name"]): c for c in self._scopes.get(scope, [])}
        stored = [self._store(command, existing.get(_key(command)), scope) for command in commands]
        self._scopes[scope] = stored
        return copy.deepcopy(stored)

    def upsert(self, scope: Scope, command: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        commands = self._scopes.setdefault(scope, [])
        for index, current in enumerate(commands):
            if (current["type"], current["name"]) == _key(command):
                commands[index] = self._store(command, current, scope)
                return copy.deepcopy(commands[index]), False
        commands.append(self._store(command, None, scope))
        return copy.deepcopy(commands[-1]), True

    def get(self, scope: Scope, command_id: int) -> dict[str, Any]:
        for command in self._scopes.get(scope, []):
            if int(command["id"]) == command_id:
                return copy.deepcopy(command)
        raise unknown_command()

    def delete(self, scope: Scope, command_id: int) -> None:
        commands = self._scopes.get(scope, [])
        remaining = [c for c in commands if int(c["id"]) != command_id]
        if len(remaining) == len(commands):
            raise unknown_command()
        self._scopes[scope] = remaining

    def find(self, name: str, *, guild_id: int | None) -> dict[str, Any]:
        """What Discord's client offers for ``/name`` here: the guild's command first, then the global one."""
        scopes: list[Scope] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for command in self._scopes.get(scope, []):
                if command["type"] == CHAT_INPUT and command["name"] == name:
                    return command
        available = sorted({c["name"] for s in scopes for c in self._scopes.get(s, []) if c["type"] == CHAT_INPUT})
        raise ValueError(f"no slash command /{name} is registered here; registered: {available}")

    def _store(self, command: dict[str, Any], existing: dict[str, Any] | None, scope: Scope) -> dict[str, Any]:
        stored: dict[str, Any] = {
            "id": existing["id"] if existing else str(self._new_id()),
            "application_id": str(self._application_id),
            "version": "",
            "type": command.get("type", CHAT_INPUT),
            "name": command["name"],
            "name_localizations": command.get("name_localizations"),
            "description": command.get("description", ""),
            "description_localizations": command.get("description_localizations"),
            "default_member_permissions": _permissions(command.get("default_member_permissions")),
            "contexts": command.get("contexts"),
            "integration_types": command.get("integration_types") or [0],
            "nsfw": command.get("nsfw", False),
        }
        if scope is None:
            stored["dm_permission"] = command.get("dm_permission", True)
        else:
            stored["guild_id"] = str(scope)
        if command.get("options"):
            stored["options"] = copy.deepcopy(command["options"])
        unchanged = existing is not None and {k: v for k, v in existing.items() if k != "version"} == {
            k: v for k, v in stored.items() if k != "version"
        }
        stored["version"] = existing["version"] if unchanged and existing else str(self._new_id())
        return stored


def _permissions(value: str | int | None) -> str | None:
    """Discord stores and returns the permission bit set as a string, whichever way it was sent."""
    return None if value is None else str(value)


def _key(command: dict[str, Any]) -> tuple[int, str]:
    return command.get("type", CHAT_INPUT), command["name"]


class Resolver:
    """Looks up the users, members, roles and channels an option may name, and renders ``resolved``."""

    def __init__(
        self,
        guild: FakeGuild | None,
        users: dict[int, FakeUser],
        channel: Callable[[int], FakeChannel],
        invoker_id: int,
    ) -> None:
        self.guild = guild
        self.users = users
        self.channel = channel
        self.invoker_id = invoker_id
        self.resolved: dict[str, dict[str, Any]] = {}

    def user(self, user_id: int) -> None:
        if user_id not in self.users:
            raise ValueError(f"user {user_id} is unknown to the stand-in; add_member it to a guild first")
        self.resolved.setdefault("users", {})[str(user_id)] = self.users[user_id].payload()
        member = self.guild.members.get(user_id) if self.guild else None
        if member is not None:
            entry = member.payload(with_user=False) | {"permissions": str(member.permissions)}
            self.resolved.setdefault("members", {})[str(user_id)] = entry

    def role(self, role_id: int) -> None:
        if self.guild is None or role_id not in self.guild.roles:
            raise ValueError(f"role {role_id} is not in this guild")
        self.resolved.setdefault("roles", {})[str(role_id)] = self.guild.roles[role_id].payload()

    def channel_option(self, channel_id: int, allowed_types: list[int] | None) -> None:
        channel = self.channel(channel_id)
        if allowed_types and channel.type not in allowed_types:
            raise ValueError(f"channel {channel_id} has type {channel.type}; the option accepts {allowed_types}")
        # A resolved channel is partial: id, name, type, and the invoking user's permissions in it.
        entry: dict[str, Any] = {"id": str(channel.id), "name": channel.name, "type": channel.type}
        invoker = self.guild.members.get(self.invoker_id) if self.guild is not None else None
        entry["permissions"] = str(invoker.permissions if invoker is not None else 0)
        self.resolved.setdefault("channels", {})[str(channel_id)] = entry


def command_data(
    command: dict[str, Any],
    path: list[str],
    values: dict[str, Any],
    resolver: Resolver,
    *,
    focused: str | None = None,
    client_checks: bool = True,
) -> dict[str, Any]:
    """The ``data`` of an APPLICATION_COMMAND (or, with ``focused``, AUTOCOMPLETE) interaction."""
    data: dict[str, Any] = {"id": command["id"], "name": command["name"], "type": CHAT_INPUT}
    if "guild_id" in command:
        data["guild_id"] = command["guild_id"]

    schema = command.get("options") or []
    container = data
    walked = [command["name"]]
    for name in path[1:]:
        sub = next((o for o in schema if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) and o["name"] == name), None)
        if sub is None:
            choices = [o["name"] for o in schema if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)]
            raise ValueError(f"/{' '.join(walked)} has no subcommand {name!r}; it has {choices}")
        node: dict[str, Any] = {"type": sub["type"], "name": name}
        container["options"] = [node]
        container = node
        walked.append(name)
        schema = sub.get("options") or []
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in schema):
        choices = [o["name"] for o in schema]
        raise ValueError(f"/{' '.join(walked)} needs a subcommand; it has {choices}")

    by_name = {o["name"]: o for o in schema}
    unknown = set(values) - set(by_name)
    if unknown:
        raise ValueError(f"/{' '.join(walked)} has no option(s) {sorted(unknown)}; it has {sorted(by_name)}")
    if focused is not None and focused not in by_name:
        raise ValueError(f"/{' '.join(walked)} has no option {focused!r} to focus")
    if client_checks and focused is None:
        missing = [o["name"] for o in schema if o.get("required") and o["name"] not in values]
        if missing:
            raise ValueError(f"Discord's client would not send /{' '.join(walked)} without {missing}")

    rendered = []
    for option in schema:  # Discord sends options in the command's order
        name = option["name"]
        if name == focused:
            # While typing, the focused option's value is the raw text, whatever the option's type.
            rendered.append({"type": option["type"], "name": name, "value": str(values.get(name, "")), "focused": True})
        elif name in values:
            value = _option_value(option, values[name], resolver, client_checks=client_checks)
            rendered.append({"type": option["type"], "name": name, "value": value})
    if rendered:
        container["options"] = rendered
    if resolver.resolved:
        data["resolved"] = resolver.resolved
    return data


def _option_value(option: dict[str, Any], value: Any, resolver: Resolver, *, client_checks: bool) -> Any:
    kind, name = option["type"], option["name"]
    if isinstance(value, FakeMember | FakeUser | FakeRole | FakeChannel):
        value = value.id
    if kind == STRING:
        _expect(name, value, str)
        if client_checks:
            _check_bounds(name, len(value), option.get("min_length"), option.get("max_length"), "length")
    elif kind in (INTEGER, NUMBER):
        _expect(name, value, int if kind == INTEGER else (int, float))
        if isinstance(value, bool):
            raise ValueError(f"option {name!r} takes a number, not {value!r}")
        if client_checks:
            _check_bounds(name, value, option.get("min_value"), option.get("max_value"), "value")
    elif kind == BOOLEAN:
        _expect(name, value, bool)
    elif kind == USER:
        resolver.user(int(value))
        return str(value)
    elif kind == ROLE:
        resolver.role(int(value))
        return str(value)
    elif kind == CHANNEL:
        resolver.channel_option(int(value), option.get("channel_types"))
        return str(value)
    elif kind == MENTIONABLE:
        if resolver.guild is not None and int(value) in resolver.guild.roles:
            resolver.role(int(value))
        else:
            resolver.user(int(value))
        return str(value)
    elif kind == ATTACHMENT:
        raise ValueError(f"option {name!r}: attachment options are not supported by the stand-in")
    choices = option.get("choices")
    if client_checks and choices and value not in [c["value"] for c in choices]:
        raise ValueError(f"option {name!r} only offers {[c['value'] for c in choices]}, not {value!r}")
    return value


def _expect(name: str, value: Any, kind: type | tuple[type, ...]) -> None:
    if not isinstance(value, kind):
        raise ValueError(f"option {name!r} takes {kind}, not {value!r}")


def _check_bounds(name: str, measured: float, low: float | None, high: float | None, what: str) -> None:
    if (low is not None and measured < low) or (high is not None and measured > high):
        raise ValueError(f"Discord's client would not send option {name!r} with {what} {measured} ({low}..{high})")


def modal_submission(modal: dict[str, Any], values: dict[str, Any], resolver: Resolver) -> list[dict[str, Any]]:
    """The ``components`` of a MODAL_SUBMIT: every input with what the user typed or picked. ``values`` maps
    custom ids to text (text inputs, radio groups), lists (selects, checkbox groups) or a bool (checkbox)."""

    def field_of(component: dict[str, Any], label: str | None) -> dict[str, Any]:
        kind, custom_id = component["type"], component["custom_id"]
        value = values.pop(custom_id, None)
        name = label or custom_id
        if kind == TEXT_INPUT:
            text = "" if value is None else str(value)
            low, high = component.get("min_length", 0), component.get("max_length", 4000)
            if component.get("required", True) and not text:
                raise ValueError(f"modal field {name!r} is required; Discord's client won't submit without it")
            if text and not low <= len(text) <= high:
                raise ValueError(f"modal field {name!r} takes {low}..{high} characters, not {len(text)}")
            return {"type": kind, "custom_id": custom_id, "value": text}
        if kind == CHECKBOX:
            return {"type": kind, "custom_id": custom_id, "value": bool(value)}
        if kind == RADIO_GROUP:
            return {"type": kind, "custom_id": custom_id, "value": value}
        if kind == FILE_UPLOAD:
            raise ValueError(f"modal field {name!r}: file uploads are not supported by the stand-in")
        picked = [] if value is None else [str(value)] if isinstance(value, str | int) else [str(v) for v in value]
        if kind in SELECTS - {STRING_SELECT}:
            for item in picked:
                resolve_select_value(resolver, kind, int(item))
        return {"type": kind, "custom_id": custom_id, "values": picked}

    submitted: list[dict[str, Any]] = []
    for index, component in enumerate(modal.get("components", [])):
        if component["type"] == LABEL:
            inner = field_of(component["component"], component.get("label"))
            submitted.append({"type": LABEL, "id": index + 1, "component": inner})
        elif component["type"] == TEXT_DISPLAY:
            submitted.append({"type": TEXT_DISPLAY, "id": index + 1})
        else:
            inner_rows = [field_of(c, c.get("label")) for c in component.get("components", [])]
            submitted.append({"type": component["type"], "id": index + 1, "components": inner_rows})
    if values:
        raise ValueError(f"the modal has no field(s) {sorted(values)}")
    return submitted


def resolve_select_value(resolver: Resolver, kind: int, value: int) -> None:
    """Selects of users, roles, channels or either ("mentionable") send ids plus their ``resolved`` objects."""
    if kind == USER_SELECT:
        resolver.user(value)
    elif kind == ROLE_SELECT:
        resolver.role(value)
    elif kind == CHANNEL_SELECT:
        resolver.channel_option(value, None)
    elif resolver.guild is not None and value in resolver.guild.roles:
        resolver.role(value)
    else:
        resolver.user(value)
