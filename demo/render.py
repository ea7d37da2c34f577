"""What the bot sent, as text a person can read in a terminal: where it went and who sees it, the content, each
embed (title, description, fields, footer), the buttons that can be pressed and the menus that can be used."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from simulators.discord import RecordedMessage
from simulators.discord.validation import (
    CHANNEL_SELECT,
    LABEL,
    MENTIONABLE_SELECT,
    ROLE_SELECT,
    SELECTS,
    STRING_SELECT,
    TEXT_DISPLAY,
    TEXT_INPUT,
    USER_SELECT,
)

_PICKS = {USER_SELECT: "a member", ROLE_SELECT: "a role", MENTIONABLE_SELECT: "a member or role"}
_PICKS[CHANNEL_SELECT] = "a channel"


_MARKUP = re.compile(r"<(@!?|@&|#)(\d+)>|<t:(-?\d+)(?::([tTdDfFR]))?>")


def readable(text: str, names: Callable[[str, int], str]) -> str:
    """Mentions as `@bob`, `@Linked`, `#audit` (Discord's client shows names, not ids) and timestamps as dates;
    `names(kind, id)` names a member ("@"), role ("@&") or channel ("#")."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            kind = "@" if match.group(1).startswith("@!") else match.group(1)
            return names(kind, int(match.group(2)))
        moment = datetime.fromtimestamp(int(match.group(3)), UTC)
        if match.group(4) == "R":
            seconds = int((moment - datetime.now(UTC)).total_seconds())
            return "just now" if abs(seconds) < 60 else moment.strftime("%Y-%m-%d %H:%M UTC")
        return moment.strftime("%Y-%m-%d %H:%M UTC")

    return _MARKUP.sub(replace, text)


def message_lines(message: RecordedMessage, where: str, names: Callable[[str, int], str]) -> list[str]:
    """`message` as lines, headed by `where` it was posted (`#general`, `DM to bob`)."""
    lines = _message_lines(message, where)
    return [readable(line, names) for line in lines]


def _message_lines(message: RecordedMessage, where: str) -> list[str]:
    seen = "only you can see this" if message.ephemeral else "everyone in the channel sees this"
    if where.startswith("DM"):
        seen = "a direct message"
    lines = [f"── {where} ({seen})" + (", edited" if message.edited_at else "")]
    if message.content:
        lines += _indent(message.content)
    for embed in message.embeds:
        lines += list(_embed_lines(embed))
    for component in message.walk_components():
        if component.get("type") == TEXT_DISPLAY:
            lines += _indent(component.get("content", ""))
    buttons = [b for b in message.buttons() if b.get("label")]
    if buttons:
        shown = [f"[{b['label']}]" + (" (disabled)" if b.get("disabled") else "") for b in buttons]
        lines.append("  Buttons: " + "  ".join(shown) + "   → press <label>")
    for menu in (c for c in message.walk_components() if c.get("type") in SELECTS):
        lines += _menu_lines(menu)
    for attachment in message.attachments:
        lines.append(f"  Attached: {attachment.filename} ({len(attachment.content)} bytes)")
    return lines


def _embed_lines(embed: dict[str, Any]) -> Iterator[str]:
    if author := embed.get("author", {}).get("name"):
        yield f"  │ {author}"
    if title := embed.get("title"):
        yield f"  │ ■ {title}"
    if description := embed.get("description"):
        yield from _indent(description, "  │ ")
    for item in embed.get("fields", ()):
        value = str(item.get("value", ""))
        if "\n" not in value and len(value) + len(item.get("name", "")) < 90:
            yield f"  │ {item.get('name', '')}: {value}"
        else:
            yield f"  │ {item.get('name', '')}:"
            yield from _indent(value, "  │     ")
    if footer := embed.get("footer", {}).get("text"):
        yield f"  │ — {footer}"


def _menu_lines(menu: dict[str, Any]) -> list[str]:
    state = " (disabled)" if menu.get("disabled") else ""
    placeholder = menu.get("placeholder") or "Choose"
    if menu.get("type") == STRING_SELECT:
        lines = [f"  Menu {placeholder!r}{state}:   → select <option>"]
        for option in menu.get("options", ()):
            about = f" — {option['description']}" if option.get("description") else ""
            lines.append(f"    • {option.get('label', option.get('value'))}{about}")
        return lines
    return [f"  Menu {placeholder!r}{state}: pick {_PICKS.get(menu['type'], 'something')}   → select <name>"]


def modal_fields(modal: dict[str, Any]) -> list[dict[str, Any]]:
    """A form's text inputs in order, each with its `label`, whether it was in a Label or an action row."""
    fields: list[dict[str, Any]] = []
    for component in modal.get("components", ()):
        if component.get("type") == LABEL:
            inner = component.get("component", {})
            fields.append(inner | {"label": component.get("label", inner.get("custom_id", ""))})
        else:
            fields += [c for c in component.get("components", ()) if c.get("type") == TEXT_INPUT]
    return fields


def modal_lines(modal: dict[str, Any]) -> list[str]:
    lines = [f"── A form opened: {modal.get('title', '')}"]
    for item in modal_fields(modal):
        need = "required" if item.get("required", True) else "optional"
        hint = f", e.g. {item['placeholder']}" if item.get("placeholder") else ""
        lines.append(f"  {item['label']} ({need}{hint})")
    names = " ".join(f"{field_word(item)}=…" for item in modal_fields(modal))
    lines.append(f"  → fill {names}")
    return lines


def field_word(item: dict[str, Any]) -> str:
    """What to type for a field in `fill`: its id when the bot gave it a readable one (`email`), else its label;
    discord.py makes up 32 hex digits for an input without an id."""
    custom_id = str(item.get("custom_id", ""))
    if re.fullmatch(r"[a-z][a-z0-9_]{0,30}", custom_id) and not re.fullmatch(r"[0-9a-f]{32}", custom_id):
        return custom_id
    label = str(item["label"])
    return f'"{label}"' if " " in label or "'" in label else label


def _indent(text: str, prefix: str = "  ") -> list[str]:
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        lines += textwrap.wrap(line, 110, initial_indent=prefix, subsequent_indent=prefix) or [prefix.rstrip()]
    return lines
