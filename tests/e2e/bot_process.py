"""`python bot.py` as its own process, pointed at the stand-in and simulators running in the test: what a stop by
signal, the start-up lines and the gateway's outage lines can only be seen through."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent.parent.parent


def environment(values: Mapping[str, Any], **extra: str) -> dict[str, str]:
    """Settings as `desk_settings` gives them (keyword arguments of `load_settings`) turned into variables."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    for name, value in values.items():
        env[name.upper()] = json.dumps(value) if isinstance(value, list | dict) else str(value)
    return env | extra


class BotProcess:
    """One run of the bot; its stderr (the log) is read as it comes, so a test can wait for a line."""

    def __init__(self, env: Mapping[str, str], cwd: Path) -> None:
        self.env = dict(env)
        self.cwd = cwd
        self.lines: list[str] = []
        self.returncode: int | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    async def start(self) -> BotProcess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "bot.py"),
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        while line := await self._process.stdout.readline():
            async with self._changed:
                self.lines.append(line.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    async def wait_for_line(self, pattern: str, timeout: float = 15) -> str:  # noqa: ASYNC109
        """The first log line matching the regular expression `pattern`, waiting for it if need be."""
        wanted = re.compile(pattern)

        def found() -> str | None:
            return next((line for line in self.lines if wanted.search(line)), None)

        try:
            async with asyncio.timeout(timeout), self._changed:
                while (line := found()) is None:
                    if self._reader is not None and self._reader.done():
                        raise AssertionError(f"the bot ended without logging {pattern!r}:\n{self.text}")
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"no {pattern!r} in the log within {timeout} s:\n{self.text}") from None
        return line

    def send(self, signum: signal.Signals = signal.SIGTERM) -> float:
        assert self._process is not None
        self._process.send_signal(signum)
        return time.monotonic()

    async def wait(self, timeout: float = 15) -> int:  # noqa: ASYNC109
        assert self._process is not None and self._reader is not None
        try:
            self.returncode = await asyncio.wait_for(self._process.wait(), timeout)
        finally:
            if self._process.returncode is None:
                self._process.kill()
                await self._process.wait()
            await self._reader
        return self.returncode

    async def stop(self) -> int:
        """SIGTERM, then the exit status (kills it after 15 s, so a test never hangs on a stuck bot)."""
        if self._process is not None and self._process.returncode is None:
            self.send()
        return await self.wait()
