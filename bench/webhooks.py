"""Events pushed by the panel at size: 1,000 signed webhooks for 200 linked accounts in 10 seconds.

The real bot runs against the Discord stand-in and the CtrlPanel simulator on loopback, with its web server on and
a `webhook_secret` for the panel. 200 of the panel's 1,000 users are linked (straight into the database, each with
its starting balance, as a link made through /link would leave it), and the bot's own watcher is kept from
starting, so every notice here comes from a webhook. Before the burst each linked account is topped up on the
panel (as a payment would), so each owes its member exactly one DM. Then 1,000 signed webhooks (5 per account, in
random order, evenly spread over `--seconds`) are POSTed to `/webhooks/main`, each with its own timestamp and
signature, from 1,000 tasks on one aiohttp session.

Per round: the HTTP answers by status, the webhook's own answer time (p50/p95/max), the requests the bot made to the
panel during the round against the webhooks sent (what coalescing saves: one read per account at a time, one more
if events arrived meanwhile), the DMs the members got (exactly one each is right: duplicates and missing ones are
counted), and from each account's first webhook to its DM arriving at the stand-in (p50/p95/max). A second round
sends the same 1,000 webhooks again with nothing changed on the panel: reads, and no DM. A third tops each account up
again and sends its 5 webhooks at the same instant (what a sender retrying or a panel firing several events at once
does), the accounts spread over the time: there the coalescing shows.

    .venv/bin/python -m bench.webhooks [--accounts 200] [--webhooks 1000] [--seconds 10] [--users 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, cast

import aiohttp

from settings import load_settings
from simulators.ctrlpanel import CtrlPanelSimulator
from simulators.discord import DiscordStandIn
from storage import Database, LinkMethod, LinkStore, NotificationStore
from tests.e2e.harness import GUILD, TOKEN, Desk, desk_settings
from webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

if TYPE_CHECKING:
    from cogs.notifications import Notifications

FIRST_MEMBER = 8_100_000_000_000_000_000
SECRET = "bench-webhook-secret-0123456789abcdef"


def percentiles(values: list[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"


async def link_members(database: Path, sim: CtrlPanelSimulator, member_of: dict[int, int]) -> None:
    async with Database.connect(database) as db:
        links, notices = LinkStore(db), NotificationStore(db)
        for user_id, member in member_of.items():
            await links.link("main", member, str(user_id), method=LinkMethod.STAFF)
            await notices.set_balance("main", str(user_id), sim.users[user_id].credits)


async def burst(
    url: str, order: list[int], seconds: float, together: int = 1
) -> tuple[Counter[int], list[float], dict[int, float]]:
    """POST one signed webhook per entry of `order` (a panel user id), evenly over `seconds`."""
    statuses: Counter[int] = Counter()
    answer_times: list[float] = []
    first_sent: dict[int, float] = {}
    gap = seconds / max(1, len(order)) * together
    began = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session:

        async def one(number: int, user_id: int) -> None:
            await asyncio.sleep(max(0.0, began + (number // together) * gap - time.perf_counter()))
            body = json.dumps({"user_id": str(user_id), "n": number}).encode()
            stamp = str(int(time.time()))
            headers = {
                TIMESTAMP_HEADER: stamp,
                SIGNATURE_HEADER: signature(SECRET, stamp, body),
                "Content-Type": "application/json",
            }
            first_sent.setdefault(user_id, time.time())
            sent = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] += 1
            answer_times.append(time.perf_counter() - sent)

        await asyncio.gather(*(one(number, user_id) for number, user_id in enumerate(order)))
    return statuses, answer_times, first_sent


async def round_of(
    desk: Desk,
    sim: CtrlPanelSimulator,
    member_of: dict[int, int],
    order: list[int],
    seconds: float,
    label: str,
    together: int = 1,
) -> None:
    cog = cast("Notifications", desk.bot.get_cog("Notifications"))
    assert desk.bot.web is not None
    dms_before = {member: len(desk.discord.dms(member)) for member in member_of.values()}
    requests_before = len(sim.requests)
    started = time.perf_counter()
    statuses, answer_times, first_sent = await burst(f"{desk.bot.web.url}/webhooks/main", order, seconds, together)
    sent_for = time.perf_counter() - started
    await cog.wait_for_looks()
    expected = 0 if label == "nothing changed" else len(member_of)
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        got = sum(len(desk.discord.dms(m)) - dms_before[m] for m in member_of.values())
        if got >= expected and not await desk.bot.notifications.pending():
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # anything doubled would arrive by now
    panel_requests = len(sim.requests) - requests_before
    latencies, counts = [], Counter[int]()
    for user_id, member in member_of.items():
        new = desk.discord.dms(member)[dms_before[member] :]
        counts[len(new)] += 1
        if new and user_id in first_sent:
            latencies.append(new[0].created_at.timestamp() - first_sent[user_id])
    print(
        f"{label}: {len(order):,} webhooks for {len(member_of)} accounts in {sent_for:.1f} s | answers "
        f"{dict(sorted(statuses.items()))}, {percentiles(answer_times)} | panel requests {panel_requests:,} "
        f"({panel_requests / len(order):.2f} per webhook, {panel_requests / len(member_of):.2f} per account) | "
        f"DMs per account {dict(sorted(counts.items()))} | webhook → DM {percentiles(latencies)}"
    )


async def run(accounts: int, webhooks: int, seconds: float, users: int) -> None:
    async with CtrlPanelSimulator(rate_limit=100_000) as sim, DiscordStandIn(token=TOKEN) as standin:
        seeded = sim.seed_users(users)
        for user in seeded:
            sim.set_credits(user.id, random.randint(0, 500))
        linked = [user.id for user in random.sample(seeded, accounts)]
        member_of = {user_id: FIRST_MEMBER + number for number, user_id in enumerate(linked)}
        guild = standin.add_guild(GUILD, "Hosting Co")
        for member in member_of.values():
            guild.add_member(member, f"m{member}")
        with tempfile.TemporaryDirectory() as folder:
            database = Path(folder) / "bench.sqlite3"
            await link_members(database, sim, member_of)
            values = desk_settings(standin, sim, database, panel_kind="ctrlpanel")
            settings = load_settings(
                **{
                    **values,
                    "panel_rate_limit": 100_000,
                    "linked_role_id": None,
                    "http_port": 0,
                    "panel_options": {"webhook_secret": SECRET},
                }
            )
            desk = Desk(standin, guild, sim, settings)
            await desk.start_bot(credit_watcher=False)
            try:
                print(
                    f"{len(sim.users):,} panel users, {accounts} linked; {webhooks:,} webhooks over {seconds:g} s "
                    f"({webhooks / accounts:g} per account); the watcher is off"
                )
                order = [linked[n % accounts] for n in range(webhooks)]
                random.shuffle(order)
                for user_id in linked:  # a payment on the panel for each: one DM owed per member
                    sim.set_credits(user_id, sim.users[user_id].credits + 100)
                await round_of(desk, sim, member_of, order, seconds, "top-ups")
                random.shuffle(order)
                await round_of(desk, sim, member_of, order, seconds, "nothing changed")
                # A sender's bursts: each account's webhooks at the same instant, the accounts spread over the time.
                per_account = max(1, webhooks // accounts)
                grouped = [user_id for user_id in random.sample(linked, accounts) for _ in range(per_account)]
                for user_id in linked:
                    sim.set_credits(user_id, sim.users[user_id].credits + 50)
                await round_of(desk, sim, member_of, grouped, seconds, "top-ups, in bursts", together=per_account)
            finally:
                await desk.stop_bot()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200, help="linked accounts the webhooks name")
    parser.add_argument("--webhooks", type=int, default=1_000, help="webhooks per round")
    parser.add_argument("--seconds", type=float, default=10.0, help="the time each round's webhooks are spread over")
    parser.add_argument("--users", type=int, default=1_000, help="CtrlPanel users in all (besides its admin)")
    args = parser.parse_args()
    random.seed(11)
    asyncio.run(run(args.accounts, args.webhooks, args.seconds, args.users))


if __name__ == "__main__":
    main()
