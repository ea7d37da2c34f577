"""The configured panels by name, with one default: what cogs ask for when a command names a panel or none."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .base import PanelClient
from .errors import N_, NotFound


class PanelRegistry(Mapping[str, PanelClient]):
    def __init__(self, clients: Mapping[str, PanelClient], default: str) -> None:
        if default not in clients:
            raise ValueError(f"default panel {default!r} is not among {sorted(clients)}")
        self._clients = dict(clients)
        self.default_name = default

    def __getitem__(self, name: str) -> PanelClient:
        return self._clients[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._clients)

    def __len__(self) -> int:
        return len(self._clients)

    @property
    def default(self) -> PanelClient:
        return self._clients[self.default_name]

    def get_panel(self, name: object) -> PanelClient:
        """The named panel, or the default one when `name` is empty; anything that is not a panel's name (a
        typo, or a value of the wrong type from a malformed request) is NotFound, naming the panels there are."""
        if name is None or name == "":
            return self.default
        client = self._clients.get(name) if isinstance(name, str) else None
        if client is None:
            known = ", ".join(self._clients)
            shown = repr(name)[:40] if isinstance(name, str) else "that"
            raise NotFound(
                N_("There is no panel called {name}; configured panels: {known}."),
                values={"name": shown, "known": known},
            )
        return client

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
