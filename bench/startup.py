"""Start-up, idle memory and stop of the real bot: `python bot.py` against the stand-in and a Pterodactyl simulator.

Prints, over `--runs` runs: seconds from spawning the process to its "Ready:" log line, the idle bot's RSS 5 s
after ready, the size and scrape time of `/metrics`, and seconds from SIGTERM to exit (and its status).

    .venv/bin/python -m bench.startup [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from simulators.pterodactyl import PterodactylSimulator
from tests.e2e.bot_process import ROOT, BotProcess, environment
from tests.e2e.harness import desk_settings, open_standin


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one_run(folder: Path) -> dict[str, float]:
    standin, _guild = await open_standin()
    panel = PterodactylSimulator()
    panel.seed_users(50)
    await panel.start()
    try:
        env = environment(desk_settings(standin, panel, folder / "desk.sqlite3"), HTTP_PORT="0", LOG_LEVEL="INFO")
        spawned = time.monotonic()
        bot = await BotProcess(env, folder).start()
        await bot.wait_for_line(r"Ready: ", timeout=30)
        ready = time.monotonic() - spawned
        port_line = await bot.wait_for_line(r"http://127\.0\.0\.1:\d+", timeout=5)
        url = "http://" + port_line.split("http://", 1)[1].split()[0].rstrip(".,;/)")
        await asyncio.sleep(5)
        assert bot._process is not None
        rss = rss_mib(bot._process.pid)
        async with aiohttp.ClientSession() as http:
            started = time.perf_counter()
            async with http.get(f"{url}/metrics") as answer:
                body = await answer.read()
            scrape = time.perf_counter() - started
        signalled = bot.send()
        code = await bot.wait()
        stopped = time.monotonic() - signalled
        return {
            "ready": ready,
            "rss": rss,
            "metrics_kib": len(body) / 1024,
            "scrape_ms": scrape * 1000,
            "stop": stopped,
            "code": code,
        }
    finally:
        await panel.close()
        await standin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            results.append(await one_run(Path(folder)))
    print(f"bot.py at {ROOT}, {args.runs} runs (median, min–max):")
    for key, label, unit in (
        ("ready", "spawn to 'Ready:' line", "s"),
        ("rss", "idle RSS 5 s after ready", "MiB"),
        ("metrics_kib", "/metrics size", "KiB"),
        ("scrape_ms", "/metrics scrape", "ms"),
        ("stop", "SIGTERM to exit", "s"),
    ):
        values = [r[key] for r in results]
        print(f"  {label:28} {statistics.median(values):7.2f} {unit}  ({min(values):.2f}–{max(values):.2f})")
    print(f"  exit statuses: {sorted({int(r['code']) for r in results})}")


if __name__ == "__main__":
    asyncio.run(main())
