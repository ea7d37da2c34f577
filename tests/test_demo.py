"""`python bot.py --demo --script FILE`, run as a newcomer runs it: the tour answers every command the bot
registers, and a line that gets no answer makes the run fail, naming the line."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from bot import command_names, create_bot
from demo.world import demo_world

ROOT = Path(__file__).parent.parent
TOUR = ROOT / "demo" / "tour.txt"


async def run_demo_script(script: Path, cwd: Path) -> tuple[int, str]:
    # A stray .env and settings in the environment, as on a machine where the bot was set up before: the demo
    # must build its own settings and never read them (they would point it at a real panel).
    (cwd / ".env").write_text("PANEL_KIND=nonsense\nPANEL_URL=https://panel.invalid\nDISCORD_TOKEN=real-one\n")
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "PANEL_KIND": "nonsense",
        "GUILD_IDS": "not a list",
        "DISCORD_API_BASE": "https://discord.invalid/api/v10",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bot.py"),
        "--demo",
        "--script",
        str(script),
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, output.decode()


def answers(output: str) -> dict[str, str]:
    """What was printed after each echoed line (`alice> /user list`), by the line."""
    blocks = re.split(r"^\w+> ", output, flags=re.MULTILINE)[1:]
    return {block.split("\n", 1)[0]: block.split("\n", 1)[1] for block in blocks}


async def registered_command_names() -> list[str]:
    async with demo_world() as world:
        bot = await create_bot(world.settings)
        try:
            return command_names(bot)
        finally:
            await bot.panels.close()
            await bot.db.close()


async def test_the_tour_answers_every_registered_command(tmp_path: Path) -> None:
    code, output = await run_demo_script(TOUR, tmp_path)
    assert code == 0, output
    assert "Every line got its answer." in output
    replies = answers(output)
    names = await registered_command_names()
    for name in names:
        typed = [line for line in replies if line == f"/{name}" or line.startswith(f"/{name} ")]
        assert typed, f"the tour never runs /{name}"
        for line in typed:
            assert "── #general" in replies[line] and "!!" not in replies[line], (line, replies[line])
    assert "── DM to sam" in output  # the approved link request was told by DM
    assert "real-one" not in output and "panel.invalid" not in output
    german, portuguese = output.split("language de", 1)[1].split("language pt-BR", 1)
    assert "bob's Discord app now speaks de" in german
    assert "/benachrichtigungen aus" in german and "messages when credits arrive" not in german  # said in German
    assert "messages when credits arrive" not in portuguese.split("language en-US")[0]


async def test_a_line_without_an_answer_fails_the_run(tmp_path: Path) -> None:
    script = tmp_path / "broken.txt"
    script.write_text("# a comment\n/user list search:ali\npress Confirm\n/nosuch\n/user list page:two\n")
    code, output = await run_demo_script(script, tmp_path)
    assert code == 1, output
    assert "3 line(s) got no answer:" in output
    assert f"{script}:3: press Confirm\n    No message above has a button 'Confirm'." in output
    assert f"{script}:4: /nosuch\n    The bot registered no command /nosuch. It has: /account," in output
    assert f"{script}:5: /user list page:two\n    Option 'page' takes a whole number, not 'two'." in output
    assert "Users matching “ali”" in output  # the lines before and between still ran
