"""The credit watcher at size: 10,000 CtrlPanel users, 5,000 linked, 100 top-ups between two sweeps.

The real bot runs against the Discord stand-in and the CtrlPanel simulator on loopback. It prints, per sweep, how
it read the panel, the requests it made, its wall time and peak memory (tracemalloc, which also counts the
simulator serving the pages in this process), and how many notices were queued and then delivered as DMs.

CtrlPanel allows 60 requests a minute and the client keeps under whatever limit it is given, so sweeps run back to
back here would mostly measure waiting for the limit. The run therefore sets both to `--rate-limit` (600 by
default); a real sweep runs every CREDIT_WATCH_INTERVAL_SECONDS (300 by default), far apart.

    .venv/bin/python -m bench.credit_watcher [--users 10000] [--linked 5000] [--topups 100] [--rate-limit 600]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

from settings import load_settings
from storage import Database, LinkMethod, LinkStore
from tests.e2e.harness import GUILD, TOKEN, Desk
from tests.fakes.ctrlpanel import CtrlPanelSimulator
from tests.fakes.discord import DiscordStandIn

FIRST_MEMBER = 8_000_000_000_000_000_000


async def link_members(database: Path, sim: CtrlPanelSimulator, linked: list[int]) -> None:
    async with Database.connect(database) as db:
        links = LinkStore(db)
        for number, user_id in enumerate(linked):
            await links.link("main", FIRST_MEMBER + number, str(user_id), method=LinkMethod.STAFF)


async def measured_sweep(desk: Desk, label: str) -> None:
    cog = desk.bot.get_cog("Notifications")
    tracemalloc.start()
    started = time.perf_counter()
    [report] = await cog.sweep_all()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        f"{label:<28} mode {report.mode:<5} requests {report.requests:>5}  wall {elapsed:6.2f} s  "
        f"peak {peak / 2**20:6.1f} MiB  notices queued {report.notices:>4}"
        + (f"  error: {report.error}" if report.error else "")
    )


async def delivered(desk: Desk, members: range, expected: int, within: float = 60) -> tuple[int, float]:
    started = time.perf_counter()
    deadline = started + within
    while True:
        count = sum(len(desk.discord.dms(member)) for member in members)
        if count >= expected or time.perf_counter() > deadline:
            await asyncio.sleep(0.5)  # and make sure nothing more arrives
            return sum(len(desk.discord.dms(member)) for member in members), time.perf_counter() - started
        await asyncio.sleep(0.05)


async def run(users: int, linked_count: int, topups: int, rate_limit: int) -> None:
    async with CtrlPanelSimulator(rate_limit=rate_limit) as sim, DiscordStandIn(token=TOKEN) as discord:
        sim.record_requests = False
        seeded = sim.seed_users(users)
        for user in seeded:
            sim.set_credits(user.id, 100)
        linked = [user.id for user in random.sample(seeded, linked_count)]
        guild = discord.add_guild(GUILD, "Hosting Co")
        members = range(FIRST_MEMBER, FIRST_MEMBER + linked_count)
        for member in members:
            guild.add_member(member, f"m{member}")
        with tempfile.TemporaryDirectory() as folder:
            database = Path(folder) / "bench.sqlite3"
            await link_members(database, sim, linked)
            settings = load_settings(
                discord_token=TOKEN,
                discord_api_base=discord.api_base,
                discord_gateway_url=discord.gateway_url,
                guild_ids=[GUILD],
                panel_kind="ctrlpanel",
                panel_url=sim.url,
                panel_api_key=sim.api_key,
                panel_rate_limit=rate_limit,
                database_path=database,
                credit_watch_interval_seconds=3600,  # sweeps here are driven by hand
            )
            desk = Desk(discord, guild, sim, settings)
            await desk.start_bot()
            try:
                print(f"{users:,} users, {linked_count:,} linked, panel and client limit {rate_limit} requests/minute")
                # The bot's own watcher sweeps once at start-up, maybe before or during this one (sweeps never
                # overlap): after this, the baseline balances are recorded whichever ran first.
                await measured_sweep(desk, "sweep (baseline)")
                await measured_sweep(desk, "sweep, nothing changed")
                for user_id in random.sample(linked, topups):
                    sim.set_credits(user_id, 100 + random.randint(1, 500))
                await measured_sweep(desk, f"sweep after {topups} top-ups")
                count, seconds = await delivered(desk, members, topups)
                print(f"DMs delivered: {count} (expected {topups}) in {seconds:.2f} s after the sweep")
                await measured_sweep(desk, "next sweep")
                count, _ = await delivered(desk, members, topups, within=1)
                print(f"DMs after one more sweep: {count} (no repeats)")
            finally:
                await desk.stop_bot()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--linked", type=int, default=5_000)
    parser.add_argument("--topups", type=int, default=100)
    parser.add_argument("--rate-limit", type=int, default=600)
    args = parser.parse_args()
    random.seed(7)
    asyncio.run(run(args.users, args.linked, args.topups, args.rate_limit))


if __name__ == "__main__":
    main()
