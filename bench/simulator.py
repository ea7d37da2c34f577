"""The Pterodactyl simulator in a child process, and the requests it served, read from its access log.

Benchmarks run the panel in another process so that the memory they measure is the client's alone. Requests are
counted on the server side, from aiohttp's access log, because that counts every client the same way (retries made
deep inside urllib3 included) without wrapping or patching the client under test.

`python -m simulators pterodactyl` cannot change the panel's rate limit, so a simulator with another limit is
started by this module's own entry point: `python -m bench.simulator --users N --rate-limit R`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent

_URL_LINE = re.compile(r"simulator on (http://127\.0\.0\.1:\d+) ")
_KEY_LINE = re.compile(r"^API key .*: (\S+)$")
_READY_LINE = "Press Ctrl-C to stop."
# aiohttp's default access log format: %a %t "%r" %s %b "%{Referer}i" "%{User-Agent}i"
_ACCESS_LINE = re.compile(
    r'^\S+ \[[^\]]+\] "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[\d.]+" (?P<status>\d{3}) (?P<bytes>\d+|-) '
    r'"[^"]*" "[^"]*"$'
)


@dataclass(frozen=True)
class ServedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    body_bytes: int


@dataclass
class AccessLog:
    """What the simulator logged: one entry per request it answered, and any other stderr line (tracebacks)."""

    requests: list[ServedRequest] = field(default_factory=list)
    other_lines: list[str] = field(default_factory=list)


class SimulatorProcess:
    """A simulator holding `users` ordinary users (plus its admin) on a free loopback port, for one `with` block.

    `rate_limit=None` runs `python -m simulators pterodactyl` as it is (the panel's default, 240 requests a minute
    on the application API); a number runs this module's entry point with that limit instead. The access log is
    complete only after the block ends, since the child writes a request's line after sending its answer.
    """

    def __init__(self, users: int, *, rate_limit: int | None = None, startup_timeout: float = 60.0) -> None:
        self.users = users
        self.rate_limit = rate_limit
        self.startup_timeout = startup_timeout
        self.url = ""
        self.admin_key = ""
        self.log = AccessLog()
        self._process: subprocess.Popen[str] | None = None
        self._threads: list[threading.Thread] = []
        self._stdout_lines: queue.Queue[str | None] = queue.Queue()

    def _command(self) -> list[str]:
        if self.rate_limit is None:
            return [sys.executable, "-m", "simulators", "pterodactyl", "--port", "0", "--users", str(self.users)]
        return [
            sys.executable,
            "-m",
            "bench.simulator",
            "--users",
            str(self.users),
            "--rate-limit",
            str(self.rate_limit),
        ]

    def __enter__(self) -> SimulatorProcess:
        self._process = subprocess.Popen(
            self._command(),
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            self._start_readers()
            self._wait_until_ready()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()

    def _start_readers(self) -> None:
        assert self._process is not None and self._process.stdout and self._process.stderr
        stdout, stderr = self._process.stdout, self._process.stderr

        def read_stdout() -> None:
            for line in stdout:
                self._stdout_lines.put(line.rstrip("\n"))
            self._stdout_lines.put(None)

        def read_stderr() -> None:
            for line in stderr:
                self._record(line.rstrip("\n"))

        self._threads = [
            threading.Thread(target=read_stdout, name="simulator-stdout", daemon=True),
            threading.Thread(target=read_stderr, name="simulator-stderr", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _record(self, line: str) -> None:
        match = _ACCESS_LINE.match(line)
        if match is None:
            if line.strip():
                self.log.other_lines.append(line)
            return
        target = urlsplit(match["target"])
        self.log.requests.append(
            ServedRequest(
                method=match["method"],
                path=target.path,
                query=parse_qs(target.query),
                status=int(match["status"]),
                body_bytes=0 if match["bytes"] == "-" else int(match["bytes"]),
            )
        )

    def _wait_until_ready(self) -> None:
        seen: list[str] = []
        while True:
            try:
                line = self._stdout_lines.get(timeout=self.startup_timeout)
            except queue.Empty:
                raise RuntimeError(f"the simulator said nothing for {self.startup_timeout:.0f} s") from None
            if line is None:
                raise RuntimeError(self._startup_failure(seen))
            seen.append(line)
            if url := _URL_LINE.search(line):
                self.url = url[1]
            elif key := _KEY_LINE.match(line):
                self.admin_key = key[1]
            elif line == _READY_LINE:
                if not self.url or not self.admin_key:
                    raise RuntimeError(self._startup_failure(seen))
                return

    def _startup_failure(self, stdout: list[str]) -> str:
        output = "\n".join([*stdout, *self.log.other_lines[-20:]])
        return f"the simulator did not start as expected; it printed:\n{output}"

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            # SIGTERM, not Ctrl-C's SIGINT, which a child inherits as ignored when the benchmark runs in the background.
            # The simulator keeps nothing but memory, and its clients are done, so their log lines are already written.
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for thread in self._threads:
            thread.join(timeout=5)


# --- Child entry point: a simulator with another rate limit -----------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.simulator",
        description="Serve the Pterodactyl simulator on a free loopback port with a chosen application rate limit.",
    )
    parser.add_argument("--users", type=int, default=50, help="ordinary users to seed besides the admin")
    parser.add_argument("--rate-limit", type=int, required=True, help="application API requests allowed a minute")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.users, args.rate_limit))


async def _serve(users: int, rate_limit: int) -> None:
    # Imported here, not at the top: benchmark workers import this module for its log types, and the simulator (with
    # aiohttp's server) should not sit in the interpreter whose memory they measure.
    from simulators.pterodactyl import PterodactylSimulator

    # The same lines as `python -m simulators pterodactyl` prints, so SimulatorProcess reads both alike.
    simulator = PterodactylSimulator(rate_limit=rate_limit)
    simulator.access_log = True
    simulator.record_requests = False
    simulator.seed_users(users)
    url = await simulator.start("127.0.0.1", 0)
    try:
        print(f"Pterodactyl simulator on {url} with {len(simulator.users)} users (rate limit {rate_limit}/min)")
        print(f"API key (user {simulator.admin.username}, root admin): {simulator.admin_key}")
        print(_READY_LINE, flush=True)
        await asyncio.Event().wait()
    finally:
        await simulator.close()


if __name__ == "__main__":
    main()
