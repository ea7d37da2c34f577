"""Where `python bot.py --demo [--script FILE]` starts: the prompt, or the script runner."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from demo.prompt import run_prompt
from demo.script import run_script
from log_format import setup_logging


def run_demo(script: str | None) -> int:
    # Warnings only: discord.py's INFO lines about connecting would bury the prompt.
    setup_logging("WARNING")
    if script is not None and not Path(script).is_file():
        print(f"There is no script file {script}.", file=sys.stderr)
        return 2
    try:
        if script is not None:
            return asyncio.run(run_script(Path(script)))
        return asyncio.run(run_prompt())
    except KeyboardInterrupt:
        return 0
