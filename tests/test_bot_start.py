"""`python bot.py` failing at start-up: one line saying what to fix and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def start_bot(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": "token-value-not-to-be-printed",
        "PANEL_KIND": "pterodactyl",
        # Never contacted: the bot only talks to the panel once a command or the watcher needs it.
        "PANEL_URL": "http://127.0.0.1:9",
        "PANEL_API_KEY": "ptla_x",
        "DATABASE_PATH": str(tmp_path / "desk.sqlite3"),
        **env,
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py")],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_malformed_discord_api_base_is_a_settings_problem(tmp_path: Path) -> None:
    result = start_bot(tmp_path, DISCORD_API_BASE="notaurl")
    assert result.returncode == 2
    assert "DISCORD_API_BASE is 'notaurl': it must start with http:// or https://" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_an_unreachable_discord_ends_in_one_line(tmp_path: Path, unused_tcp_port: int) -> None:
    base = f"http://127.0.0.1:{unused_tcp_port}/api/v10"
    result = start_bot(tmp_path, DISCORD_API_BASE=base, LOG_LEVEL="ERROR")
    assert result.returncode == 1
    assert f"Could not reach Discord's API at {base} (DISCORD_API_BASE)" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "token-value" not in result.stderr + result.stdout


def test_a_misspelt_setting_is_logged_as_a_warning_at_start_up(tmp_path: Path, unused_tcp_port: int) -> None:
    (tmp_path / ".env").write_text("ADMIN_ROLE_ID=42\n")
    result = start_bot(tmp_path, DISCORD_API_BASE=f"http://127.0.0.1:{unused_tcp_port}/api/v10")
    warnings = [line for line in result.stderr.splitlines() if "ADMIN_ROLE_ID " in line]
    assert len(warnings) == 1 and "WARNING" in warnings[0] and "panel_desk" in warnings[0]
    assert warnings[0].endswith(
        "ADMIN_ROLE_ID (in .env) is not a Panel Desk setting, so it is ignored; did you mean ADMIN_ROLE_IDS?"
    )
    assert result.returncode == 1  # it starts all the same, and only then finds Discord unreachable


def test_a_client_key_is_refused_before_anything_starts(tmp_path: Path) -> None:
    result = start_bot(tmp_path, PANEL_API_KEY="ptlc_" + "k" * 43)
    assert result.returncode == 2
    assert "PANEL_API_KEY is a client API key (it starts with ptlc_), but the bot needs an application API key" in (
        result.stderr
    )
    assert "Admin → Application API" in result.stderr and "k" * 43 not in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
