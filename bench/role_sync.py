"""Role sync at size: 5,000 linked members of 10,000 CtrlPanel users, their Discord roles following the panel.

The real bot runs against the Discord stand-in and the CtrlPanel simulator on loopback, with four role rules:
`linked` → Linked, `credits_at_least 100` → Paying (credits are drawn from 0–200, so about half qualify),
`not_suspended` → Active and `suspended` → Suspended (3 % of the panel's users are suspended). The members are
added to the stand-in's server before the bot starts, so they reach the bot's member cache by chunking (the bot asks
for the Server Members intent because rules are set); the benchmark waits until the cache holds them all. They are
linked straight into the database, and the bot's own watcher is kept from starting, so every sweep and pass here runs
alone and is timed alone. Each row is one sweep of the panel (`sweep_all(role_pass=False)`) followed by one role pass
(`bot.roles.run_pass()`):

- the first pass: nobody has a managed role yet, so every member gets theirs (about 12,500 changes);
- a pass with nothing to change: it must make no Discord requests at all;
- a pass after changes made on the panel itself: 100 active accounts suspended and 200 balances lowered below
  100 in the simulator's state (as the panel's admin area or billing would), so exactly those roles differ.

Per row: the sweep's reading mode, its panel requests and the floor (the whole user list in pages of
`client.iter_page_size`, or the linked accounts one by one, whichever is fewer), its wall time; the members the pass
checked, the changes it made per role (`bot.roles.summary`), the member-role requests (PUT/DELETE) and all Discord
requests the stand-in received during sweep and pass, the 429s it answered, the most member-role requests it had in
flight at once, the pass's wall time, and how many member-roles differed from what the rules say before the pass and
after it (worked out from the simulator's and the stand-in's own state, not the bot's). The pass changes one role at
a time, so at most one request is in flight; discord.py paces them on the stand-in's rate-limit headers.

Discord's rate limits. Discord documents no per-route figures (its docs say to read the `X-RateLimit-*` headers and
never hard-code limits); the one documented number is the global limit of 50 requests a second per bot. Observed
answers on `PUT /guilds/{guild}/members/{user}/roles/{role}` carry `X-RateLimit-Limit: 10` (discord-api-docs issue
#7680, 2025; third-party lists give 10 per 10 s for member edits), which would make a first pass of 12,500 changes
take about 3.5 hours. The default here, `--discord-rate-limit 50/1`, is the documented global ceiling applied to
each member-role route and guild (the stand-in keeps PUT and DELETE in separate buckets, as Discord does); `10/10`
is the observed figure, `none` no limit at all (the stand-in still sends headers). `--discord-latency` adds a
round trip to each member-role request (0 by default; Discord's is tens of milliseconds, and since the pass waits for
each change before the next, the round trip, not the limit, then sets its pace).

CtrlPanel allows 60 requests a minute and the client keeps under whatever limit it is given; as in
`bench.credit_watcher`, both are set to `--rate-limit` (600 by default) so that sweeps run back to back measure
the work, not the wait. One sweep of 10,001 users is 21 pages of 500.

    .venv/bin/python -m bench.role_sync [--members 5000] [--users 10000] [--rate-limit 600]
                                        [--discord-rate-limit 50/1 | 10/10 | none] [--discord-latency 0]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from settings import load_settings
from simulators.ctrlpanel import CtrlPanelSimulator
from simulators.discord import DiscordStandIn, FakeGuild
from storage import Database, LinkMethod, LinkStore
from tests.e2e.harness import GUILD, TOKEN, Desk, desk_settings

FIRST_MEMBER = 8_000_000_000_000_000_000
LINKED, PAYING, ACTIVE, SUSPENDED = (7_200_000_000_000_000_000 + n for n in range(1, 5))
ROLE_NAMES = {LINKED: "Linked", PAYING: "Paying", ACTIVE: "Active", SUSPENDED: "Suspended"}
RULES = [
    {"role_id": LINKED, "when": "linked"},
    {"role_id": PAYING, "when": "credits_at_least", "value": 100},
    {"role_id": ACTIVE, "when": "not_suspended"},
    {"role_id": SUSPENDED, "when": "suspended"},
]
if TYPE_CHECKING:
    from cogs.notifications import Notifications

MEMBER_ROLE_ROUTE = re.compile(r"^/api/v10/guilds/\d+/members/\d+/roles/\d+$")


@dataclass
class World:
    sim: CtrlPanelSimulator
    guild: FakeGuild
    member_of: dict[int, int]  # panel user id -> Discord member id

    def wanted(self, user_id: int) -> set[int]:
        """What the rules say the member linked to `user_id` should have, from the simulator's own state."""
        user = self.sim.users[user_id]
        roles = {LINKED, SUSPENDED if user.suspended else ACTIVE}
        if user.credits >= 100:
            roles.add(PAYING)
        return roles

    def differing(self) -> int:
        """Member-roles on the stand-in (Discord's side) that differ from what the rules say."""
        return sum(
            len(self.wanted(user_id) ^ (set(self.guild.member(member).roles) & ROLE_NAMES.keys()))
            for user_id, member in self.member_of.items()
        )


def parse_limit(text: str) -> tuple[int, float] | None:
    if text.strip().lower() == "none":
        return None
    count, _, window = text.partition("/")
    return int(count), float(window or 1)


async def link_members(database: Path, member_of: dict[int, int]) -> None:
    async with Database.connect(database) as db:
        links = LinkStore(db)
        for user_id, member in member_of.items():
            await links.link("main", member, str(user_id), method=LinkMethod.STAFF)


async def wait_for_members(desk: Desk, expected: int, within: float = 120) -> None:
    """Until the bot's cache holds every member (discord.py chunks the server after GUILD_CREATE)."""
    started = time.perf_counter()
    guild = desk.bot.get_guild(GUILD)
    while guild is None or not guild.chunked or len(guild.members) < expected:
        if time.perf_counter() > started + within:
            break
        await asyncio.sleep(0.05)  # discord.py's "chunked" has no event to wait on here
        guild = desk.bot.get_guild(GUILD)
    cached = len(guild.members) if guild else 0
    chunked = guild.chunked if guild else False
    print(f"member cache: {cached:,} members (chunked {chunked}) {time.perf_counter() - started:.2f} s after ready")


def cache_agrees(desk: Desk, world: World) -> bool:
    guild = desk.bot.get_guild(GUILD)
    assert guild is not None
    for member_id in world.member_of.values():
        member = guild.get_member(member_id)
        if member is None or set(member._roles) != set(world.guild.member(member_id).roles):
            return False
    return True


async def settle(desk: Desk, world: World, within: float = 60) -> float:
    """Wait until the stand-in's GUILD_MEMBER_UPDATE events have reached the bot: every event written to the socket,
    then the bot's cache equal to the stand-in's roles (twice, half a second apart, so that no older event still on
    its way undoes a change the bot had already recorded locally)."""
    started = time.perf_counter()
    for session in desk.discord._sessions:
        await session.flushed()
    while time.perf_counter() < started + within:
        if cache_agrees(desk, world):
            agreed = time.perf_counter() - started
            await asyncio.sleep(0.5)
            if cache_agrees(desk, world):
                return agreed
        else:
            await asyncio.sleep(0.1)
    return math.inf


async def measured(desk: Desk, world: World, label: str) -> None:
    # Not isinstance: load_extension imports the cog's module afresh, so its class is not the one imported here.
    cog = cast("Notifications", desk.bot.get_cog("Notifications"))
    standin = desk.discord
    client = desk.bot.panels["main"]
    requests_before, limited_before = len(standin.requests), len(standin.rate_limited)
    standin.max_role_requests_in_flight = 0
    differing = world.differing()

    started = time.perf_counter()
    [sweep] = await cog.sweep_all(role_pass=False)
    sweep_seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = await desk.bot.roles.run_pass()
    pass_seconds = time.perf_counter() - started

    made = standin.requests[requests_before:]
    kinds = Counter(method for method, path in made if MEMBER_ROLE_ROUTE.match(path))
    pages = math.ceil(len(world.sim.users) / client.iter_page_size)
    floor = min(pages, sweep.linked)
    settled = await settle(desk, world)
    print(
        f"{label:<28} sweep {sweep.mode:<5} panel requests {sweep.requests:>3} (floor {floor}) "
        f"{sweep_seconds:5.2f} s | "
        f"pass {report.members:,} members: {desk.bot.roles.summary(report) or 'nothing changed'}"
        f"{f', {report.failed} failed' if report.failed else ''} | "
        f"Discord requests {len(made):,} (PUT {kinds['PUT']:,}, DELETE {kinds['DELETE']:,}), "
        f"429s {len(standin.rate_limited) - limited_before}, max in flight {standin.max_role_requests_in_flight} | "
        f"pass {pass_seconds:6.2f} s | differing {differing:,} → {world.differing():,} | "
        f"cache settled in {settled:.2f} s" + (f" | sweep error: {sweep.error}" if sweep.error else "")
    )


async def run(
    users: int, member_count: int, rate_limit: int, discord_limit: tuple[int, float] | None, latency: float
) -> None:
    async with (
        CtrlPanelSimulator(rate_limit=rate_limit) as sim,
        DiscordStandIn(token=TOKEN, role_rate_limit=discord_limit, role_latency=latency) as standin,
    ):
        sim.record_requests = False
        seeded = sim.seed_users(users)
        for user in seeded:
            sim.set_credits(user.id, random.randint(0, 199))
            user.suspended = random.random() < 0.03
        linked = [user.id for user in random.sample(seeded, member_count)]
        member_of = {user_id: FIRST_MEMBER + number for number, user_id in enumerate(linked)}
        guild = standin.add_guild(GUILD, "Hosting Co")
        for role_id, name in ROLE_NAMES.items():
            guild.add_role(role_id, name)
        for member in member_of.values():
            guild.add_member(member, f"m{member}")
        world = World(sim, guild, member_of)
        with tempfile.TemporaryDirectory() as folder:
            database = Path(folder) / "bench.sqlite3"
            await link_members(database, member_of)
            values = desk_settings(standin, sim, database, panel_kind="ctrlpanel")
            # The rules' roles only: the harness's LINKED_ROLE_ID names a role this server does not have.
            settings = load_settings(
                **{**values, "panel_rate_limit": rate_limit, "role_rules": RULES, "linked_role_id": None}
            )
            desk = Desk(standin, guild, sim, settings)
            started = time.perf_counter()
            await desk.start_bot(credit_watcher=False)
            try:
                limit = "none" if discord_limit is None else f"{discord_limit[0]} per {discord_limit[1]:g} s"
                print(
                    f"{len(sim.users):,} panel users, {member_count:,} linked members; panel and client limit "
                    f"{rate_limit} requests/minute; Discord member-role limit {limit} per route, "
                    f"round trip {latency * 1000:g} ms"
                )
                await wait_for_members(desk, member_count)
                await measured(desk, world, "first pass")
                await measured(desk, world, "nothing to change")
                active = [user_id for user_id in linked if not sim.users[user_id].suspended]
                for user_id in random.sample(active, min(100, len(active))):
                    sim.users[user_id].suspended = True
                paying = [user_id for user_id in linked if sim.users[user_id].credits >= 100]
                for user_id in random.sample(paying, min(200, len(paying))):
                    sim.set_credits(user_id, random.randint(0, 99))
                await measured(desk, world, "after panel changes")
            finally:
                await desk.stop_bot()
            print(f"whole run {time.perf_counter() - started:.1f} s (bot start to stop)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5_000, help="linked members of the server")
    parser.add_argument("--users", type=int, default=10_000, help="CtrlPanel users in all (besides its admin)")
    parser.add_argument("--rate-limit", type=int, default=600, help="CtrlPanel's and the client's, per minute")
    parser.add_argument(
        "--discord-rate-limit",
        type=parse_limit,
        default=(50, 1.0),
        metavar="N/WINDOW",
        help="member-role requests per WINDOW seconds per route and server, or none (default 50/1)",
    )
    parser.add_argument("--discord-latency", type=float, default=0.0, help="seconds each member-role request takes")
    args = parser.parse_args()
    random.seed(7)
    asyncio.run(run(args.users, args.members, args.rate_limit, args.discord_rate_limit, args.discord_latency))


if __name__ == "__main__":
    main()
