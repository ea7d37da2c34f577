"""Reading what a member typed into a modal, from their own submission.

discord.py copies a submission's values onto the modal object before `on_submit`, and keeps open modals by custom id
alone. A modal whose id two members share is one object for both: after an await, its fields hold whichever member
submitted last. So every modal gets a custom id of its own (discord.py's random default, never a fixed one), and
what was typed is read from the submitting interaction's own data, before the first await.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import discord


def submitted_value(interaction: discord.Interaction, custom_id: str) -> str:
    """The text the member typed into the field `custom_id` of the modal they submitted ("" when absent)."""
    data: dict[str, Any] = dict(interaction.data or {})
    for component in _walk(data.get("components")):
        if component.get("custom_id") == custom_id:
            value = component.get("value")
            return value if isinstance(value, str) else ""
    return ""


def _walk(components: Any) -> Iterator[dict[str, Any]]:
    """Every component of a submission, inside action rows (type 1) or labels (type 18) alike."""
    if not isinstance(components, list):
        return
    for component in components:
        if not isinstance(component, dict):
            continue
        yield component
        yield from _walk(component.get("components"))
        if isinstance(component.get("component"), dict):
            yield from _walk([component["component"]])
