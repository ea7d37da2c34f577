"""Time from Discord dispatching an interaction to the bot's first response (its defer or reply).

The real bot (`bot.create_bot`) runs against the Discord stand-in and the Pterodactyl simulator on loopback, set
up as in the end-to-end tests. Discord drops an interaction that is not answered within 3 seconds, so what matters
is that the first response comes quickly whatever the panel does: each command defers before it calls the panel.
Three runs show it: a fast panel one at a time and ten at a time, and a panel taking `--slow` seconds per request.

    .venv/bin/python -m bench.interaction_latency [--count 500] [--slow 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from tests.e2e.harness import STAFF, start_desk
from tests.fakes.pterodactyl import PterodactylSimulator

PANEL_USERS = 200


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(count: int, panel_latency: float, concurrency: int) -> tuple[list[float], list[float]]:
    """(first-response, full-answer) latencies in milliseconds for `count` `/user info` commands."""
    first: list[float] = []
    done: list[float] = []
    async with PterodactylSimulator(rate_limit=1_000_000) as panel:
        panel.seed_users(PANEL_USERS - 1)
        panel.record_requests = False
        panel.faults.latency = panel_latency
        with tempfile.TemporaryDirectory() as folder:
            running = start_desk(Path(folder), panel, panel_rate_limit=1_000_000)
            desk = await anext(running)
            try:
                await asyncio.wait_for(desk.bot.wait_until_ready(), 10)
                gate = asyncio.Semaphore(concurrency)

                async def one(number: int) -> None:
                    async with gate:
                        record = await desk.run("user info", by=STAFF, user=str(number % PANEL_USERS + 1))
                        await record.wait_for(2, timeout=60)  # the defer, then the answer
                        assert record.first_response_at is not None
                        first.append((record.first_response_at - record.dispatched_at) * 1000)
                        done.append((record.responses[1].at - record.dispatched_at) * 1000)

                await asyncio.gather(*(one(n) for n in range(count)))
            finally:
                await running.aclose()
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
