"""List every user of a simulated Pterodactyl panel with our client and with py-dactyl, and print what each cost.

Run from the repo root:

    .venv/bin/pip install -r bench/requirements.txt && .venv/bin/python -m bench.list_users

Every measured listing gets its own simulator (a child process, so its bucket of 240 requests a minute starts
empty for each client) and its own worker process (so that a client's memory is measured from a clean interpreter,
unaffected by whichever client ran before). Each client is listed `--repeat` times for time and RSS, then once more
under tracemalloc, which slows Python down and so is kept out of the timed passes. Requests are counted from the
simulator's access log, the same way for every client; ours is also counted client-side (`transport.requests_sent`).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import importlib.metadata
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.simulator import REPO_ROOT, ServedRequest, SimulatorProcess
from panel_api import create_client

try:
    import pydactyl
except ModuleNotFoundError:  # a benchmark-only dependency: main() says how to install it
    pydactyl = None

USERS_PATH = "/api/application/users"
KEY_VARIABLE = "BENCH_PANEL_KEY"  # the admin key reaches workers through the environment, not their command line
GENEROUS_RATE_LIMIT = 1_000_000
PANEL_DEFAULT_PER_PAGE = 50  # what the panel serves when `per_page` is absent


# --- Worker side: one listing, measured ----------------------------------------------------------------------------


@dataclass
class Tally:
    users_seen: int = 0
    ids: set[int] = field(default_factory=set)
    client_requests: int | None = None

    def add(self, user_id: int) -> None:
        self.users_seen += 1
        self.ids.add(user_id)


async def _list_with_panel_api(url: str, key: str, tally: Tally) -> None:
    client = create_client("pterodactyl", url, key)
    try:
        async with client:
            async for user in client.iter_users():
                tally.add(int(user.id))
    finally:
        tally.client_requests = client.transport.requests_sent


def _list_with_pydactyl_sync(url: str, key: str, tally: Tally, params: dict[str, Any] | None = None) -> None:
    # The documented way to read every page: the first page's PaginatedResponse, then collect().
    api = pydactyl.PterodactylClient(url, key)
    for item in api.user.list_users(params=params).collect():
        tally.add(item["attributes"]["id"])


async def _list_with_pydactyl_async(url: str, key: str, tally: Tally) -> None:
    async with pydactyl.AsyncPterodactylClient(url, key) as api:
        first_page = await api.user.list_users()
        for item in await first_page.collect_async():
            tally.add(item["attributes"]["id"])


@dataclass(frozen=True)
class Scenario:
    label: str
    call: str  # the code being measured, as a reader would write it
    run: Callable[[str, str, Tally], Coroutine[Any, Any, None] | None]


SCENARIOS: dict[str, Scenario] = {
    "panel_api": Scenario(
        "panel_api",
        'async for user in create_client("pterodactyl", url, key).iter_users()',
        _list_with_panel_api,
    ),
    "pydactyl_sync": Scenario(
        "py-dactyl sync",
        "PterodactylClient(url, key).user.list_users().collect()",
        _list_with_pydactyl_sync,
    ),
    "pydactyl_async": Scenario(
        "py-dactyl async",
        "await (await AsyncPterodactylClient(url, key).user.list_users()).collect_async()",
        _list_with_pydactyl_async,
    ),
    # py-dactyl's docstring suggests `params={'per_page': 300}`, but its PaginatedResponse asks for pages 2+ with
    # `page` alone, so they come back at the panel's default size and overlap page 1: this column shows what that costs.
    "pydactyl_sync_200": Scenario(
        "py-dactyl sync pp=200",
        "PterodactylClient(url, key).user.list_users(params={'per_page': 200}).collect()",
        functools.partial(_list_with_pydactyl_sync, params={"per_page": 200}),
    ),
}


def _proc_status_kib(field_name: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(f"{field_name}:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Linux resets VmHWM to the current RSS when 5 is written to clear_refs, so the peak covers the listing only."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def measure(scenario: Scenario, url: str, key: str, *, trace_memory: bool) -> dict[str, Any]:
    tally = Tally()
    error = None
    gc.collect()
    rss_tracked = False
    if trace_memory:
        tracemalloc.start()
    else:
        rss_tracked = _reset_peak_rss()
    rss_before = _proc_status_kib("VmRSS")
    cpu_started, started = time.process_time(), time.perf_counter()
    try:
        pending = scenario.run(url, key, tally)
        if pending is not None:
            asyncio.run(pending)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:400]
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    result: dict[str, Any] = {
        "users_seen": tally.users_seen,
        "unique_users": len(tally.ids),
        "client_requests": tally.client_requests,
        "wall_s": wall,
        "cpu_s": cpu,
        "error": error,
    }
    if trace_memory:
        result["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    elif rss_tracked and rss_before is not None:
        peak = _proc_status_kib("VmHWM")
        result["rss_growth"] = None if peak is None else (peak - rss_before) * 1024
    return result


def worker(name: str, url: str, trace_memory: bool) -> None:
    result = measure(SCENARIOS[name], url, os.environ[KEY_VARIABLE], trace_memory=trace_memory)
    print(json.dumps(result), flush=True)


# --- Orchestrator side ---------------------------------------------------------------------------------------------


@dataclass
class Pass:
    worker: dict[str, Any]
    served: list[ServedRequest]
    simulator_noise: list[str]  # stderr lines that were not access-log entries


@dataclass
class Row:
    """One client under one rate limit: several timed passes (time and RSS) and one tracemalloc pass."""

    scenario: Scenario
    rate_limit: int | None
    timed: list[Pass]
    traced: Pass

    @property
    def title(self) -> str:
        return self.scenario.label if self.rate_limit is None else f"{self.scenario.label} [{self.rate_limit:,}/min]"

    @property
    def passes(self) -> list[Pass]:
        return [*self.timed, self.traced]

    def median(self, key: str) -> float | None:
        values = [one.worker[key] for one in self.timed if one.worker.get(key) is not None]
        return statistics.median(values) if values else None

    def spread(self, key: str) -> tuple[float, float] | None:
        values = [one.worker[key] for one in self.timed if one.worker.get(key) is not None]
        return (min(values), max(values)) if values else None

    def rate_limited(self) -> bool:
        return any(request.status == 429 for one in self.passes for request in one.served)

    def failed(self) -> bool:
        return any(one.worker.get("error") for one in self.passes)


def run_pass(name: str, users: int, rate_limit: int | None, *, trace_memory: bool, timeout: float) -> Pass:
    with SimulatorProcess(users, rate_limit=rate_limit) as simulator:
        command = [sys.executable, "-m", "bench.list_users", "--worker", name, "--url", simulator.url]
        if trace_memory:
            command.append("--trace-memory")
        try:
            completed = subprocess.run(
                command,
                cwd=REPO_ROOT,
                env={**os.environ, KEY_VARIABLE: simulator.admin_key},
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            outcome = _worker_outcome(completed)
        except subprocess.TimeoutExpired:
            outcome = {"error": f"worker stopped after the {timeout:.0f} s timeout"}
    served = [request for request in simulator.log.requests if request.path == USERS_PATH]
    return Pass(outcome, served, simulator.log.other_lines)


def _worker_outcome(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = completed.stdout.strip().splitlines()
    if completed.returncode == 0 and lines:
        try:
            return dict(json.loads(lines[-1]))
        except ValueError:
            pass
    tail = " | ".join(completed.stderr.strip().splitlines()[-3:])
    return {"error": f"worker exited {completed.returncode}: {tail}"[:400]}


def measure_row(name: str, users: int, rate_limit: int | None, *, repeat: int, timeout: float) -> Row:
    label = SCENARIOS[name].label if rate_limit is None else f"{SCENARIOS[name].label}, rate limit {rate_limit}/min"
    print(f"  {label}: {repeat} timed pass(es), then a tracemalloc pass", file=sys.stderr, flush=True)
    timed = [run_pass(name, users, rate_limit, trace_memory=False, timeout=timeout) for _ in range(repeat)]
    traced = run_pass(name, users, rate_limit, trace_memory=True, timeout=timeout)
    return Row(SCENARIOS[name], rate_limit, timed, traced)


# --- Printing ------------------------------------------------------------------------------------------------------


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 2**20:.1f} MiB"


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def _seconds_range(spread: tuple[float, float] | None) -> str:
    return "n/a" if spread is None else f"{spread[0]:.2f}–{spread[1]:.2f} s"


def _per_page(served: list[ServedRequest]) -> str:
    counts = Counter(request.query.get("per_page", ["none"])[0] for request in served)
    return " + ".join(f"{size}×{count}" for size, count in counts.items()) or "-"


def _ratio(ours: float | None, theirs: float | None) -> str:
    if not ours or theirs is None:
        return "n/a"
    return f"{theirs / ours:.2f}×"


def _row_figures(row: Row, expected_users: int) -> dict[str, str]:
    first = row.timed[0]
    seen, unique = first.worker.get("users_seen"), first.worker.get("unique_users")
    statuses = Counter(request.status for request in first.served)
    other = ", ".join(f"{status}×{count}" for status, count in sorted(statuses.items()) if status != 200)
    client_requests = first.worker.get("client_requests")
    return {
        "users seen (unique)": f"{seen} ({unique})" + ("" if seen == unique == expected_users else " ≠ expected"),
        "requests (simulator log)": str(len(first.served)),
        "requests (client side)": "-" if client_requests is None else str(client_requests),
        "non-200 answers": other or "none",
        "per_page sent × requests": _per_page(first.served),
        "response bodies": _mib(sum(request.body_bytes for request in first.served)),
        "wall time (median)": _seconds(row.median("wall_s")),
        "wall time (min–max)": _seconds_range(row.spread("wall_s")),
        "client CPU time (median)": _seconds(row.median("cpu_s")),
        "RSS growth (peak, median)": _mib(row.median("rss_growth")),
        "tracemalloc peak": _mib(row.traced.worker.get("tracemalloc_peak")),
        "wall time under tracemalloc": _seconds(row.traced.worker.get("wall_s")),
    }


def _print_table(header: list[str], rows: list[tuple[str, list[str]]]) -> None:
    first = max(len(label) for label, _ in rows) + 2
    widths = [max(len(header[i]), *(len(values[i]) for _, values in rows)) + 2 for i in range(len(header))]
    print(" " * first + "".join(title.rjust(width) for title, width in zip(header, widths, strict=True)))
    for label, values in rows:
        print(label.ljust(first) + "".join(value.rjust(width) for value, width in zip(values, widths, strict=True)))


def _print_ratios(ours: Row, others: list[Row]) -> None:
    def traced_peak(row: Row) -> float | None:
        return row.traced.worker.get("tracemalloc_peak")

    measures: list[tuple[str, Callable[[Row], float | None]]] = [
        ("requests", lambda row: len(row.timed[0].served)),
        ("wall time", lambda row: row.median("wall_s")),
        ("client CPU time", lambda row: row.median("cpu_s")),
        ("RSS growth (peak)", lambda row: row.median("rss_growth")),
        ("tracemalloc peak", traced_peak),
    ]
    print()
    print("Ratios, other ÷ panel_api (above 1 means the other costs more):")
    _print_table(
        [row.title for row in others],
        [
            (label, ["failed" if row.failed() else _ratio(figure(ours), figure(row)) for row in others])
            for label, figure in measures
        ],
    )


def _notes(rows: list[Row]) -> list[str]:
    notes = []
    for row in rows:
        for number, one in enumerate(row.passes, start=1):
            name = "tracemalloc pass" if one is row.traced else f"timed pass {number}"
            if one.worker.get("error"):
                notes.append(f"{row.title} ({name}) failed: {one.worker['error']}")
            noise = [line for line in one.simulator_noise if "Traceback" in line or "Error" in line]
            if noise:
                notes.append(f"{row.title} ({name}): the simulator logged {len(noise)} error line(s): {noise[0]}")
        if len({(one.worker.get("users_seen"), len(one.served)) for one in row.passes}) > 1:
            notes.append(f"{row.title}: its passes differ in users seen or requests made")
    return notes


def print_report(rows: list[Row], users: int, repeat: int) -> None:
    print()
    print("What each column runs:")
    for row in rows:
        print(f"  {row.title}: {row.scenario.call}")
    print(f"  (per_page 'none': the client sent none and the panel served its default, {PANEL_DEFAULT_PER_PAGE})")
    passes = f"{repeat} pass" if repeat == 1 else f"{repeat} passes"
    print(f"  (times and RSS: median of {passes}; tracemalloc: one separate pass, slower by its nature)")
    print()
    figures = [_row_figures(row, users + 1) for row in rows]  # the simulator's admin is a user too
    _print_table([row.title for row in rows], [(label, [f[label] for f in figures]) for label in figures[0]])
    ours = next((row for row in rows if row.scenario is SCENARIOS["panel_api"] and row.rate_limit is None), None)
    others = [row for row in rows if row is not ours]
    if ours is not None and others:
        _print_ratios(ours, others)
    notes = _notes(rows)
    if notes:
        print()
        print("Notes:")
        for note in notes:
            print(f"  - {note}")


def _versions() -> str:
    found = []
    for name in ("aiohttp", "py-dactyl", "requests"):
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return ", ".join(found)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.list_users", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000, help="ordinary users on the simulated panel")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per client (the median is printed)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one listing may take before it is cut")
    parser.add_argument("--worker", choices=sorted(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--trace-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if pydactyl is None:
        print("py-dactyl is missing: .venv/bin/pip install -r bench/requirements.txt", file=sys.stderr)
        return 2
    if args.worker:
        worker(args.worker, args.url, args.trace_memory)
        return 0

    # A plain `kill` should still stop the simulators through their `with` blocks, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    repeat = max(1, args.repeat)
    print(
        f"Listing {args.users:,} users + the admin on the Pterodactyl simulator (default rate limit: 240/min); "
        f"Python {sys.version.split()[0]}, {_versions()}"
    )
    print("Measuring; each pass starts its own simulator and worker process:", file=sys.stderr, flush=True)
    rows = [measure_row(name, args.users, None, repeat=repeat, timeout=args.timeout) for name in SCENARIOS]
    # A client the panel's limit stopped is measured again with the limit out of the way, and shown beside its failure.
    retried = [
        measure_row(name, args.users, GENEROUS_RATE_LIMIT, repeat=repeat, timeout=args.timeout)
        for name, row in zip(SCENARIOS, rows, strict=True)
        if row.failed() and row.rate_limited()
    ]
    print_report(rows + retried, args.users, repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
