"""Time from Discord dispatching an interaction to the bot's first response (its defer or reply).

The real bot (`bot.create_bot`) runs against the Discord stand-in and the Pterodactyl simulator on loopback, set
up as in the end-to-end tests. Discord drops an interaction that is not answered within 3 seconds, so what matters
is that the first response comes quickly whatever the panel does: each command defers before it calls the panel.
Runs: `/user info` on a fast panel one at a time and ten at a time, and on a panel taking `--slow` seconds per
request; `/user list` (a page of 10 with Previous/Next) 50 at a time; then the bot's memory after `--mixed`
interactions of every kind (info, lists, page turns, autocomplete), measured on the real entry point
(`python bot.py`) in its own process, so that the stand-in's and the simulator's records do not count.

    .venv/bin/python -m bench.interaction_latency [--count 500] [--slow 1.0] [--mixed 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from simulators.discord import DiscordStandIn
from simulators.pterodactyl import PterodactylSimulator
from tests.e2e.harness import GENERAL, GUILD, STAFF, Desk, desk_settings, open_standin, start_desk

PANEL_USERS = 200


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@asynccontextmanager
async def running_desk(panel_latency: float = 0.0) -> AsyncIterator[Desk]:
    async with PterodactylSimulator(rate_limit=1_000_000) as panel:
        panel.seed_users(PANEL_USERS - 1)
        panel.record_requests = False
        panel.faults.latency = panel_latency
        with tempfile.TemporaryDirectory() as folder:
            running = start_desk(Path(folder), panel, panel_rate_limit=1_000_000)
            desk = await anext(running)
            try:
                await asyncio.wait_for(desk.bot.wait_until_ready(), 10)
                yield desk
            finally:
                await running.aclose()


async def measure(
    count: int, panel_latency: float, concurrency: int, command: str = "user info"
) -> tuple[list[float], list[float]]:
    """(first-response, full-answer) latencies in milliseconds for `count` runs of `command`."""
    first: list[float] = []
    done: list[float] = []
    async with running_desk(panel_latency) as desk:
        gate = asyncio.Semaphore(concurrency)

        async def one(number: int) -> None:
            options = {"user": str(number % PANEL_USERS + 1)} if command == "user info" else {}
            async with gate:
                record = await desk.run(command, by=STAFF, **options)
                await record.wait_for(2, timeout=60)  # the defer, then the answer
                assert record.first_response_at is not None
                first.append((record.first_response_at - record.dispatched_at) * 1000)
                done.append((record.responses[1].at - record.dispatched_at) * 1000)

        await asyncio.gather(*(one(n) for n in range(count)))
    return first, done


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@asynccontextmanager
async def bot_process(
    standin: DiscordStandIn, panel: PterodactylSimulator, folder: Path, entry: Path
) -> AsyncIterator[int]:
    """`python bot.py`, the real entry point, pointed at `standin` and `panel`: its memory is the bot's alone."""
    values = desk_settings(standin, panel, folder / "desk.sqlite3")
    env = {key.upper(): json.dumps(value) if isinstance(value, list) else str(value) for key, value in values.items()}
    env |= {"PATH": os.environ.get("PATH", ""), "PANEL_RATE_LIMIT": "1000000", "LOG_LEVEL": "ERROR"}
    bot = await asyncio.create_subprocess_exec(sys.executable, str(entry), cwd=folder, env=env)
    try:
        await standin.wait_until_identified(timeout=30)
        async with asyncio.timeout(30):
            while True:  # the guild is cached a moment after READY
                record = await standin.run_command("panel status", user=STAFF, guild=GUILD, channel=GENERAL)
                with contextlib.suppress(TimeoutError):
                    await record.wait_for(1, timeout=1)
                    break
        yield bot.pid
    finally:
        bot.send_signal(signal.SIGINT)
        await asyncio.wait_for(bot.wait(), 15)


class MixedLoad:
    """Interactions of every kind, chosen at random, and the first-response times of each kind."""

    def __init__(self, standin: DiscordStandIn, seed: int = 7) -> None:
        self.standin = standin
        self.rng = random.Random(seed)
        self.lists: list[int] = []
        self.first: dict[str, list[float]] = {}

    async def one(self, number: int) -> None:
        roll, started = self.rng.random(), time.perf_counter()
        if roll < 0.1:
            options = {"user": f"user{number % 50}"}
            await self.standin.autocomplete("user info", user=STAFF, guild=GUILD, focused="user", options=options)
            self.first.setdefault("autocomplete", []).append((time.perf_counter() - started) * 1000)
            return
        if roll < 0.3 and self.lists:
            kind, record = "page turn", await self.standin.click(self.rng.choice(self.lists), "Next", user=STAFF)
        elif roll < 0.6:
            kind, record = "/user list", await self.standin.run_command("user list", user=STAFF, guild=GUILD)
            self.lists.append((await record.wait_for_message(timeout=60)).id)
        else:
            options = {"user": str(number % PANEL_USERS + 1)}
            kind = "/user info"
            record = await self.standin.run_command("user info", user=STAFF, guild=GUILD, options=options)
        await record.wait_for(2, timeout=60)
        assert record.first_response_at is not None
        self.first.setdefault(kind, []).append((record.first_response_at - record.dispatched_at) * 1000)

    async def run(self, count: int, concurrency: int) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def gated(number: int) -> None:
            async with gate:
                await self.one(number)

        await asyncio.gather(*(gated(n) for n in range(count)))


async def memory_after_mixed(count: int, entry: Path, concurrency: int = 50) -> None:
    """The bot's RSS before and after `count` mixed interactions, and the first-response p99 of each kind."""
    async with PterodactylSimulator(rate_limit=1_000_000) as panel:
        panel.seed_users(PANEL_USERS - 1)
        panel.record_requests = False
        standin, _ = await open_standin()
        try:
            with tempfile.TemporaryDirectory() as folder:
                async with bot_process(standin, panel, Path(folder), entry) as pid:
                    load = MixedLoad(standin)
                    await load.run(200, concurrency)  # warm up: imports, caches, first allocations
                    before = rss_mib(pid)
                    load.first.clear()
                    await load.run(count, concurrency)
                    after = rss_mib(pid)
        finally:
            await standin.close()
    print(
        f"{count} mixed interactions, {concurrency} at a time, the bot in its own process: RSS {before:.1f} → "
        f"{after:.1f} MiB (+{after - before:.1f})"
    )
    for kind, values in sorted(load.first.items()):
        print(
            f"  {kind:<14} ×{len(values):>5}: first response median {statistics.median(values):6.1f} ms, "
            f"p99 {percentile(values, 0.99):6.1f} ms"
        )


def report(label: str, first: list[float], done: list[float]) -> None:
    print(
        f"{label:<42} first response: median {statistics.median(first):6.1f} ms, p99 {percentile(first, 0.99):6.1f} ms,"
        f" max {max(first):6.1f} ms | full answer: median {statistics.median(done):7.1f} ms,"
        f" p99 {percentile(done, 0.99):7.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="interactions per run (default 500)")
    parser.add_argument("--slow", type=float, default=1.0, help="seconds per request of the slow panel (default 1)")
    parser.add_argument("--mixed", type=int, default=5000, help="mixed interactions for the memory run (5000)")
    parser.add_argument(
        "--bot", type=Path, default=Path(__file__).parent.parent / "bot.py", help="the bot.py whose memory to measure"
    )
    parser.add_argument("--memory-only", action="store_true", help="only the memory run")
    args = parser.parse_args()
    started = time.perf_counter()
    if not args.memory_only:
        print(f"{args.count} × each command through the Discord stand-in; Discord's limit for the first response: 3 s")
        report("/user info, fast panel, one at a time", *await measure(args.count, 0.0, 1))
        report("/user info, fast panel, 10 at a time", *await measure(args.count, 0.0, 10))
        report(f"/user info, panel {args.slow:g} s/request, 50 at a time", *await measure(args.count, args.slow, 50))
        report("/user list, fast panel, 50 at a time", *await measure(args.count, 0.0, 50, "user list"))
    await memory_after_mixed(args.mixed, args.bot)
    print(f"(whole run {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    asyncio.run(main())
