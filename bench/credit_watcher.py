"""The credit watcher at size: 10,000 CtrlPanel users, 5,000 linked, sweeps after every kind of change.

The real bot runs against the Discord stand-in and the CtrlPanel simulator on loopback; its own watcher is kept
from starting, so each sweep here runs alone. It prints, per sweep, how it read the panel, the requests it made,
the database statements and transactions it needed (each statement one round trip to aiosqlite's thread), its wall
time and how many notices were queued, then how many of them arrived as DMs. The sweeps, in order:

- the first sweep after start with nothing recorded yet: members are linked straight into the database here, so
  this sweep records 5,000 starting points (a member linked through /link has theirs recorded at link time);
- a sweep where nothing changed: the floor, 21 pages of 500;
- a sweep after `--topups` top-ups (payments on the website), and the sweep after it, which must tell nothing again;
- a sweep after billing lowered every linked balance: 5,000 changes to record and nothing to tell;
- the first sweep after a restart (a new bot process on the same database), nothing changed meanwhile;
- a sweep after every linked balance rose: 5,000 notices, each delivered once.

`--memory` runs it all under tracemalloc and adds each sweep's peak (which also counts the simulator serving the
pages in this process); tracemalloc slows Python two to four times, so wall times are only comparable without it.

CtrlPanel allows 60 requests a minute and the client keeps under whatever limit it is given, so sweeps run back to
back here would mostly measure waiting for the limit. The run therefore sets both to `--rate-limit` (600 by
default); a real sweep runs every CREDIT_WATCH_INTERVAL_SECONDS (300 by default), far apart.

    .venv/bin/python -m bench.credit_watcher [--users 10000] [--linked 5000] [--topups 100] [--rate-limit 600]
                                             [--memory]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from settings import load_settings
from simulators.ctrlpanel import CtrlPanelSimulator
from simulators.discord import DiscordStandIn
from storage import Database, LinkMethod, LinkStore
from tests.e2e.harness import GUILD, TOKEN, Desk

FIRST_MEMBER = 8_000_000_000_000_000_000


async def link_members(database: Path, sim: CtrlPanelSimulator, linked: list[int]) -> None:
    async with Database.connect(database) as db:
        links = LinkStore(db)
        for number, user_id in enumerate(linked):
            await links.link("main", FIRST_MEMBER + number, str(user_id), method=LinkMethod.STAFF)


async def measured_sweep(desk: Desk, label: str, *, memory: bool) -> None:
    cog = desk.bot.get_cog("Notifications")
    tally = desk.bot.db.tally
    statements, transactions = tally.statements, tally.transactions
    if memory:
        tracemalloc.start()
    started = time.perf_counter()
    [report] = await cog.sweep_all()
    elapsed = time.perf_counter() - started
    peak = f"  peak {tracemalloc.get_traced_memory()[1] / 2**20:5.1f} MiB" if memory else ""
    tracemalloc.stop()
    print(
        f"{label:<36} mode {report.mode:<5} requests {report.requests:>3}  "
        f"statements {tally.statements - statements:>4}  transactions {tally.transactions - transactions:>3}  "
        f"wall {elapsed:5.2f} s{peak}  notices queued {report.notices:>4}"
        + (f"  error: {report.error}" if report.error else "")
    )


def dms_by_member(desk: Desk) -> Counter[int]:
    """DMs received per member, in one pass over the stand-in's messages (asking it member by member is quadratic,
    and would keep the event loop, and so the bot's sender, busy)."""
    members = {channel.id: member for member, channel in desk.discord.dm_channels.items()}
    return Counter(members[m.channel_id] for m in desk.discord.messages.values() if m.channel_id in members)


async def delivered(desk: Desk, owed: Counter[int], within: float = 60) -> None:
    """Wait until the DMs owed have arrived (or `within` seconds), then say whether each member got exactly theirs."""
    started = time.perf_counter()
    expected = owed.total()
    while sum(dms_by_member(desk).values()) < expected and time.perf_counter() < started + within:  # noqa: ASYNC110
        await asyncio.sleep(0.2)  # the stand-in has no event for "a DM arrived"
    seconds = time.perf_counter() - started
    await asyncio.sleep(0.5)  # and make sure nothing more arrives
    received = dms_by_member(desk)
    wrong = sum(1 for member in owed.keys() | received.keys() if received[member] != owed[member])
    print(
        f"DMs delivered: {received.total()} (expected {expected}) within {seconds:.2f} s of the sweep; "
        f"members with more or fewer than owed: {wrong}"
    )


async def run(users: int, linked_count: int, topups: int, rate_limit: int, memory: bool) -> None:
    async with CtrlPanelSimulator(rate_limit=rate_limit) as sim, DiscordStandIn(token=TOKEN) as discord:
        sim.record_requests = False
        seeded = sim.seed_users(users)
        for user in seeded:
            sim.set_credits(user.id, 100)
        linked = [user.id for user in random.sample(seeded, linked_count)]
        member_of = {user_id: FIRST_MEMBER + number for number, user_id in enumerate(linked)}
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
            )
            desk = Desk(discord, guild, sim, settings)
            await desk.start_bot(credit_watcher=False)
            try:
                print(f"{users:,} users, {linked_count:,} linked, panel and client limit {rate_limit} requests/minute")
                await measured_sweep(desk, "first after start, nothing recorded", memory=memory)
                await measured_sweep(desk, "nothing changed", memory=memory)
                topped_up = random.sample(linked, topups)
                for user_id in topped_up:
                    sim.set_credits(user_id, 100 + random.randint(1, 500))
                owed = Counter(member_of[user_id] for user_id in topped_up)
                await measured_sweep(desk, f"after {topups} top-ups", memory=memory)
                await delivered(desk, owed)
                await measured_sweep(desk, "next sweep (nothing to tell again)", memory=memory)
                await delivered(desk, owed, within=0)
                for user_id in linked:
                    sim.set_credits(user_id, sim.users[user_id].credits - random.randint(1, 50))
                await measured_sweep(desk, "every balance fell (billing)", memory=memory)
                await desk.restart_bot(credit_watcher=False)
                await measured_sweep(desk, "first after a restart", memory=memory)
                for user_id in linked:
                    sim.set_credits(user_id, sim.users[user_id].credits + random.randint(1, 500))
                await measured_sweep(desk, "every balance rose", memory=memory)
                owed.update(members)
                await delivered(desk, owed, within=300)
            finally:
                await desk.stop_bot()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--linked", type=int, default=5_000)
    parser.add_argument("--topups", type=int, default=100)
    parser.add_argument("--rate-limit", type=int, default=600)
    parser.add_argument("--memory", action="store_true", help="also print each sweep's tracemalloc peak (slower)")
    args = parser.parse_args()
    random.seed(7)
    asyncio.run(run(args.users, args.linked, args.topups, args.rate_limit, args.memory))


if __name__ == "__main__":
    main()
