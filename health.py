"""`/healthz`, `/readyz` and `/metrics`: what the people who run the bot (and their orchestrator) ask it.

Liveness and readiness differ on purpose. `/healthz` only shows that the process and its event loop answer, so a
restart is due when it stops; an outage elsewhere (Discord, a panel) is no reason to restart the bot. `/readyz`
says whether the bot can do its work right now, naming each failing part, so that an operator sees why at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from metrics import gateway_open
from panel_api import HealthReport, PanelClient
from storage import StorageError

if TYPE_CHECKING:
    from bot import PanelDesk

log = logging.getLogger(__name__)

# Probes time out after a few seconds: each check answers well within that, or says why not.
DATABASE_WAIT = 3.0
FIRST_CONTACT_WAIT = 3.0


class Health:
    """The health and metrics routes of one bot."""

    def __init__(self, bot: PanelDesk) -> None:
        self.bot = bot
        self._first_contacts: dict[str, asyncio.Task[HealthReport]] = {}

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/healthz", self.healthz), web.get("/readyz", self.readyz), web.get("/metrics", self.metrics)]

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(self, request: web.Request) -> web.Response:
        failing = await self.failing()
        if failing:
            return web.json_response({"status": "not ready", "failing": failing}, status=503)
        return web.json_response({"status": "ready"})

    async def metrics(self, request: web.Request) -> web.Response:
        body = await self.bot.metrics.render(self.bot)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def failing(self) -> dict[str, str]:
        """Each part that keeps the bot from working now, with a sentence saying why; empty when ready."""
        failing: dict[str, str] = {}
        if not gateway_open(self.bot):
            failing["discord"] = (
                "The bot is not connected to Discord's gateway; it reconnects by itself, and the log says why it "
                "cannot."
            )
        database = self.bot.settings.database_path
        try:
            async with asyncio.timeout(DATABASE_WAIT):
                await self.bot.state.prove_writable()
        except StorageError as exc:
            failing["database"] = f"The database {database} cannot be written: {exc}."
        except TimeoutError:
            failing["database"] = (
                f"The database {database} did not take a write within {DATABASE_WAIT:g} s: another process may "
                "hold it locked."
            )
        for name, client in self.bot.panels.items():
            if problem := await self._panel_problem(name, client):
                failing[f"panel {name}"] = problem
        return failing

    async def _panel_problem(self, name: str, client: PanelClient) -> str | None:
        """What failed the last time the bot asked the panel, or None when that succeeded.

        A panel nobody has used since the start is asked once now (one request), so that a bot which has not yet
        had a command is not held unready, nor called ready without a word from the panel.
        """
        contact = client.transport.contact
        if contact.ok is None:
            probe = self._first_contacts.get(name)
            if probe is None:
                probe = self._first_contacts[name] = asyncio.create_task(client.check(), name=f"first-contact-{name}")
                probe.add_done_callback(lambda done: self._forget_probe(name, done))
            await asyncio.wait([probe], timeout=FIRST_CONTACT_WAIT)
        if contact.ok is None:
            return f"Panel {name!r} has not answered the bot yet."
        if not contact.ok:
            return f"Panel {name!r} failed the last time the bot asked: {contact.problem}"
        return None

    def _forget_probe(self, name: str, probe: asyncio.Task[HealthReport]) -> None:
        """Let the next /readyz ask again if this one left the panel's state unknown; `check` reports failures in
        its result, so an exception here is a bug, and is logged rather than left unretrieved."""
        self._first_contacts.pop(name, None)
        if not probe.cancelled() and (error := probe.exception()) is not None:
            log.error("first contact with panel %r failed unexpectedly", name, exc_info=error)

    async def close(self) -> None:
        probes = list(self._first_contacts.values())
        for probe in probes:
            probe.cancel()
        await asyncio.gather(*probes, return_exceptions=True)
