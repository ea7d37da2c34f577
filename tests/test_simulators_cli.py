"""`python -m simulators KIND`: each kind starts by hand, says the same things, takes its key, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from simulators.__main__ import KINDS

REPO_ROOT = Path(__file__).resolve().parent.parent
SETTINGS_LINE = re.compile(
    r"^Settings: PANEL_KIND=(\S+) PANEL_URL=(http://127\.0\.0\.1:\d+) PANEL_API_KEY=(\S+)$", re.M
)

# One authenticated read each panel answers, to show the printed key is the one it takes.
USERS_PATH = {
    "pterodactyl": "/api/application/users",
    "pelican": "/api/application/users",
    "ctrlpanel": "/api/users",
    "convoy": "/api/application/users",
    "calagopus": "/api/admin/users",
}


async def start(kind: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulators",
        kind,
        "--port",
        "0",
        "--users",
        "3",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    output = ""
    async with asyncio.timeout(20):
        while "Press Ctrl-C to stop." not in output:
            line = await process.stdout.readline()
            assert line, f"{kind} exited early: {output}"
            output += line.decode()
    return process, output


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_each_kind_prints_the_settings_that_reach_it_and_stops_on_sigterm(kind: str) -> None:
    process, output = await start(kind)
    try:
        shown = SETTINGS_LINE.search(output)
        assert shown is not None, output
        assert shown.group(1) == kind
        url, key = shown.group(2), shown.group(3)
        assert "API key (" in output and f"): {key}" in output
        assert "with 4 users" in output
        if kind in USERS_PATH:
            headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
            async with aiohttp.ClientSession() as http, http.get(url + USERS_PATH[kind], headers=headers) as answer:
                assert answer.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            code = await process.wait()
    assert code == 0


async def test_help_lists_every_kind_and_shows_defaults() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulators", "ctrlpanel", "--help", cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    text = " ".join(out.decode().split())
    assert "(default: 8081)" in text and "(default: 50)" in text and "(default: 1.2)" in text
