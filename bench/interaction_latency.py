"""Time from Discord dispatching an interaction to the bot's first response (its defer or reply).

The real bot (`bot.create_bot`) runs against the Discord stand-in and the Pterodactyl simulator on loopback.
Discord drops an interaction that is not answered within 3 seconds, so what matters is that the first response
comes quickly whatever the panel does: each command defers before it calls the panel. Two runs show it:
a fast panel, and a panel that takes `--slow` seconds per request.

    .venv/bin/python -m bench.interaction_latency [--count 500] [--slow 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bot import create_bot
from discord_endpoints import point_discord_at
from settings import load_settings
from tests.fakes.discord import DiscordStandIn
from tests.fakes.pterodactyl import PterodactylSimulator

TOKEN = "bench-token"
GUILD = 9_100_000_000_000_000_001
CHANNEL = 9_100_000_000_000_000_002
STAFF_ROLE = 9_100_000_000_000_000_003
STAFF = 9_100_000_000_000_000_004
MANAGE_GUILD = 1 << 5


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(count: int, panel_latency: float, concurrency: int) -> tuple[list[float], list[float]]:
    """(first-response latencies, full-answer latencies) in milliseconds for `count` `/user info` commands."""
    async with PterodactylSimulator(rate_limit=1_000_000) as panel, DiscordStandIn(token=TOKEN) as discord:
        panel.seed_users(200)
        panel.record_requests = False
        panel.faults.latency = panel_latency
        guild = discord.add_guild(GUILD)
        guild.add_role(STAFF_ROLE, "Staff", permissions=MANAGE_GUILD)
        guild.add_channel(CHANNEL, "staff")
        guild.add_member(STAFF, "sam", roles=[STAFF_ROLE])
        with tempfile.TemporaryDirectory() as folder:
            settings = load_settings(
                discord_token=TOKEN,
                discord_api_base=discord.api_base,
                discord_gateway_url=discord.gateway_url,
                guild_ids=[GUILD],
                staff_role_ids=[STAFF_ROLE],
                panel_kind="pterodactyl",
                panel_url=panel.url,
                panel_api_key=panel.admin_key,
                panel_rate_limit=1_000_000,
                database_path=Path(folder) / "bench.sqlite3",
            )
            bot = await create_bot(settings)
            task = asyncio.create_task(bot.start(TOKEN))
            try:
                await discord.wait_until_identified(bot_task=task)
                await asyncio.wait_for(bot.wait_until_ready(), 10)
                first: list[float] = []
                done: list[float] = []
                gate = asyncio.Semaphore(concurrency)

                async def one(number: int) -> None:
                    async with gate:
                        record = await discord.run_command(
                            "user info",
                            user=STAFF,
                            guild=GUILD,
                            channel=CHANNEL,
                            options={"user": str(number % 200 + 1)},
                        )
                        await record.wait_for(2, timeout=30)  # the defer, then the answer
                        assert record.first_response_at is not None
                        first.append((record.first_response_at - record.dispatched_at) * 1000)
                        done.append((record.responses[1].at - record.dispatched_at) * 1000)

                await asyncio.gather(*(one(n) for n in range(count)))
            finally:
                await bot.close()
                await task
                point_discord_at(None, None)
    return first, done


def report(label: str, first: list[float], done: list[float]) -> None:
    print(
        f"{label:<38} first response: median {statistics.median(first):6.1f} ms, p99 {percentile(first, 0.99):6.1f} ms,"
        f" max {max(first):6.1f} ms | full answer: median {statistics.median(done):7.1f} ms,"
        f" p99 {percentile(done, 0.99):7.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="interactions per run (default 500)")
    parser.add_argument("--slow", type=float, default=1.0, help="seconds per request of the slow panel (default 1)")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"{args.count} × /user info through the Discord stand-in; 3 s is Discord's limit for the first response")
    report("fast panel, one at a time", *await measure(args.count, 0.0, 1))
    report("fast panel, 10 at a time", *await measure(args.count, 0.0, 10))
    report(f"slow panel ({args.slow:g} s/request), 50 at a time", *await measure(args.count, args.slow, 50))
    print(f"(whole run {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    asyncio.run(main())
