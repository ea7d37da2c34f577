"""`python -m simulators <kind> --port N`: serve one in-memory panel (or the Discord stand-in) on loopback by hand.

Every kind takes the same options and prints the same lines: where it listens, the API key, and the `.env` line
that points the bot at it. State lives in memory and is gone when it stops (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from simulators import calagopus, convoy, ctrlpanel, pterodactyl, pterodactyl_legacy
from simulators.discord import world as discord_world
from simulators.loopback import add_common_options

Serve = Callable[[argparse.Namespace], Coroutine[Any, Any, None]]

# kind -> (what it is, its default port, whether it has servers, what serves it)
KINDS: dict[str, tuple[str, int, bool, Serve]] = {
    "pterodactyl": ("Pterodactyl 1.x (application API)", 8080, True, pterodactyl._serve),
    "pelican": ("Pelican (application API)", 8080, True, pterodactyl._serve),
    "ctrlpanel": ("CtrlPanel 0.9 to 1.2, with credits", 8081, False, ctrlpanel._serve),
    "convoy": ("Convoy", 8080, True, convoy._serve),
    "calagopus": ("Calagopus", 8080, True, calagopus._serve),
    "pterodactyl-legacy": ("Pterodactyl 0.5 (HMAC-signed /api/users)", 8080, True, pterodactyl_legacy.serve),
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m simulators",
        description="Serve an in-memory panel or the Discord stand-in on loopback, to try the bot without them.",
    )
    kinds = top.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, (about, port, servers, _serve) in KINDS.items():
        sub = kinds.add_parser(
            kind, help=about, description=f"Serve an in-memory panel: {about}.", formatter_class=_Defaults
        )
        add_common_options(sub, port=port, servers=servers)
        if kind == "ctrlpanel":
            sub.add_argument("--version", default="1.2", help="0.9, 1.0, 1.1 or 1.2 (a patch may follow, e.g. 1.0.2)")
        if kind in ("pterodactyl", "pelican"):
            sub.set_defaults(flavor=kind)
    discord = kinds.add_parser(
        "discord",
        help="Discord stand-in (REST and gateway) with the demo server",
        description="Serve the Discord stand-in with the demo server (roles, channels, three members).",
        formatter_class=_Defaults,
    )
    discord.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback unless you mean it)")
    discord.add_argument("--port", type=int, default=8090, help="port to listen on (0: any free port)")
    return top


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """`--help` shows each option's default."""


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.kind == "discord":
        run(discord_world.serve(args.host, args.port))
        return 0
    serve = KINDS[args.kind][3]
    run(serve(args))
    return 0


def run(serve: Coroutine[Any, Any, None]) -> None:
    """Run until Ctrl-C or SIGTERM (what `docker stop` and systemd send), then close the server and exit 0."""

    async def until_stopped() -> None:
        task = asyncio.ensure_future(serve)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    asyncio.run(until_stopped())


if __name__ == "__main__":
    sys.exit(main())
