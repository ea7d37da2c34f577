"""What every panel simulator shares as an HTTP server on loopback: its lifetime, its command line when run by hand,
and the raw answers tests read from it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, Self

import aiohttp
from aiohttp import web


class LoopbackServer:
    """Serves `self.app`, which each simulator builds in its constructor, from `start()` (or `async with`) on."""

    app: web.Application

    def __init__(self) -> None:
        self.access_log = False  # aiohttp's line per request: wanted by hand, noise in tests
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        options: dict[str, Any] = {} if self.access_log else {"access_log": None}
        runner = web.AppRunner(self.app, shutdown_timeout=0.25, **options)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = runner.addresses[0][1]
        shown_host = "127.0.0.1" if host in ("", "0.0.0.0") else f"[{host}]" if ":" in host else host
        self.url = f"http://{shown_host}:{bound_port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# --- By hand -------------------------------------------------------------------------------------------------------


def add_common_options(parser: argparse.ArgumentParser, *, port: int, servers: bool = True) -> None:
    """The options every simulator takes by hand (README, "Trying it without a real panel")."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback unless you mean it)")
    parser.add_argument("--port", type=int, default=port, help="port to listen on (0: any free port)")
    parser.add_argument("--users", type=int, default=50, help="ordinary users to seed besides the admin")
    if servers:
        parser.add_argument(
            "--servers",
            type=int,
            default=0,
            help="give the first N seeded users a server, so the panel refuses to delete them",
        )


def settings_line(kind: str, url: str, key: str) -> str:
    """The same line from every simulator: what to put in `.env` to point the bot at it."""
    return f"Settings: PANEL_KIND={kind} PANEL_URL={url} PANEL_API_KEY={key}"


async def serve_until_stopped(
    simulator: LoopbackServer, host: str, port: int, welcome: Callable[[str], Iterable[str]]
) -> None:
    """Serve with the access log on until cancelled, after printing `welcome(url)`: what to put in the settings."""
    simulator.access_log = True
    url = await simulator.start(host, port)
    try:
        for line in welcome(url):
            print(line)
        print("Press Ctrl-C to stop.", flush=True)
        await asyncio.Event().wait()
    finally:
        await simulator.close()


async def welcome_of(serve: Coroutine[Any, Any, None], read_stdout: Callable[[], str]) -> str:
    """What `serve` (run as by hand) prints before it waits for Ctrl-C; then it is stopped. `read_stdout` is
    pytest's `capsys.readouterr().out`, read as it grows."""
    task = asyncio.create_task(serve)
    output = ""
    try:
        async with asyncio.timeout(5):
            while "Ctrl-C" not in output:
                await asyncio.sleep(0.01)
                output += read_stdout()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return output


# --- Raw HTTP, for the simulators' own tests -----------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: Any
    text: str

    @classmethod
    async def read(cls, response: aiohttp.ClientResponse) -> Answer:
        return cls(response.status, response.headers, await response.text())

    def json(self) -> Any:
        return json.loads(self.text)


class KeyedServer(Protocol):
    url: str
    api_key: str


API_KEY = object()  # "use the simulator's ready-to-use key"


async def call(
    http: aiohttp.ClientSession,
    sim: KeyedServer,
    method: str,
    path: str,
    *,
    key: object = API_KEY,
    body: Any = None,
    data: bytes | None = None,
    accept_json: bool = True,
) -> Answer:
    """A request to a panel that takes a bearer key and JSON; `key=None` sends no Authorization header."""
    headers = {"Accept": "application/json"} if accept_json else {}
    if key is not None:
        headers["Authorization"] = f"Bearer {sim.api_key if key is API_KEY else key}"
    if data is not None:
        headers["Content-Type"] = "application/json"
    async with http.request(
        method, sim.url + path, headers=headers, json=body, data=data, allow_redirects=False
    ) as response:
        return await Answer.read(response)
