"""The README's panel × operation table, generated from what each client declares.

`python -m panel_api.capability_table` prints it; a test checks that the README carries exactly this text.
"""

from __future__ import annotations

from . import CLIENTS
from .models import Capability, PanelKind

ROWS: list[tuple[str, Capability | None]] = [
    ("list, search, show users", None),
    ("create, edit, delete users", None),
    ("first and last names", Capability.NAMES),
    ("language", Capability.LANGUAGE),
    ("set a password", Capability.PASSWORD),
    ("external id (lookup, link by it)", Capability.EXTERNAL_ID),
    ("who owns a client API key (link by key)", Capability.ACCOUNT_FOR_KEY),
    ("the panel records the member's Discord account", Capability.DISCORD_ACCOUNT),
    ("suspend / unsuspend users", Capability.SUSPENSION),
    ("credits (add, remove, top-up notices)", Capability.CREDITS),
    ("server limit", Capability.SERVER_LIMIT),
    ("servers owned", Capability.SERVERS_COUNT),
    ("roles", Capability.ROLES),
]


def capability_table() -> str:
    kinds = [kind for kind in PanelKind if kind in CLIENTS]
    header = "| | " + " | ".join(CLIENTS[kind].display_name for kind in kinds) + " |"
    lines = [header, "| --- |" + " --- |" * len(kinds)]
    for label, capability in ROWS:
        marks = ["✅" if capability is None or capability in CLIENTS[kind].capabilities else "—" for kind in kinds]
        lines.append(f"| {label} | " + " | ".join(marks) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(capability_table(), end="")
