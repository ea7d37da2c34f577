"""Where `python bot.py --demo [--script FILE]` starts: the prompt, or the script runner."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import discord

from demo.prompt import run_prompt
from demo.script import run_script


class _NoVoiceNotice(logging.Filter):
    """discord.py warns at every start that voice needs PyNaCl; the bot has no voice, and a newcomer trying the
    demo would take the warning for a fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "voice will NOT be supported" not in record.getMessage()


def run_demo(script: str | None) -> int:
    # Warnings only: discord.py's INFO lines about connecting would bury the prompt.
    discord.utils.setup_logging(level=logging.WARNING, root=True)
    logging.getLogger("discord.client").addFilter(_NoVoiceNotice())
    if script is not None and not Path(script).is_file():
        print(f"There is no script file {script}.", file=sys.stderr)
        return 2
    try:
        if script is not None:
            return asyncio.run(run_script(Path(script)))
        return asyncio.run(run_prompt())
    except KeyboardInterrupt:
        return 0
