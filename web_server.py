"""The bot's one small web server: health and metrics now, the panels' webhooks later.

Routes are added before it starts (aiohttp freezes an application's router once it runs), so each feature brings
its routes and `PanelDesk.setup_hook` starts the server once, after every feature had its say.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiohttp import web

log = logging.getLogger(__name__)


class WebServerError(Exception):
    """The server could not start; `str()` is the line for the operator, naming the setting to change."""


class WebServer:
    """An aiohttp application on `host`:`port` (0: a free port, read back from `port` once started)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.app = web.Application()
        self._runner: web.AppRunner | None = None

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        if self._runner is not None:
            raise RuntimeError("routes must be added before the web server starts")
        self.app.add_routes(list(routes))

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        # No access log: probes every few seconds would drown the bot's own lines.
        runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise WebServerError(
                f"The health and metrics server cannot listen on {self.host} port {self.port}: "
                f"{exc.strerror or exc}. Set HTTP_PORT to a free port (or leave it empty), or HTTP_HOST to an "
                "address of this machine."
            ) from None
        self._runner = runner
        self.port = runner.addresses[0][1]
        log.info("web server listening at %s", self.url)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
