"""`python bot.py --demo --script FILE`: the lines of FILE typed one after another, each echoed with its answer.

It exits 1 at the end when a line got no answer (the bot stayed silent, Discord refused what it sent, or the line
could not be acted on), after naming each such line, so that a script is a test of the whole bot.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from demo.session import DemoSession
from demo.world import demo_world


async def run_script(path: Path) -> int:
    lines = (await asyncio.to_thread(path.read_text, encoding="utf-8")).splitlines()
    started = time.perf_counter()
    failures: list[str] = []
    async with demo_world() as world:
        await world.start_bot()
        session = DemoSession(world, print)
        print(f"Demo ready in {time.perf_counter() - started:.1f} s; running {path}.", flush=True)
        for number, line in enumerate(lines, start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            print(f"\n{session.who.name}> {line.strip()}", flush=True)
            outcome = await session.run(line)
            if outcome.problem:
                failures.append(f"{path}:{number}: {line.strip()}\n    {outcome.problem}")
            if outcome.quit:
                break
    print(f"\nRan {path} in {time.perf_counter() - started:.1f} s.")
    if failures:
        print(f"{len(failures)} line(s) got no answer:")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print("Every line got its answer.")
    return 0
