"""`python bot.py --check` against a simulator: what an operator reads before the first start."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from simulators.pterodactyl import PterodactylSimulator
from tests.e2e.harness import GUILD, LINKED_ROLE, TOKEN, open_standin

ROOT = Path(__file__).parent.parent


async def run_check(tmp_path: Path, **env: str) -> tuple[int, str]:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DISCORD_TOKEN": "never-used-by-check",
        "PANEL_KIND": "pterodactyl",
        "DATABASE_PATH": str(tmp_path / "db" / "desk.sqlite3"),
        "ADMIN_ROLE_IDS": "[42]",
        "PANEL_TIMEOUT": "2",
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bot.py"),
        "--check",
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, output.decode()


async def test_check_reports_a_healthy_setup(tmp_path: Path, pterodactyl: PterodactylSimulator) -> None:
    code, output = await run_check(tmp_path, PANEL_URL=pterodactyl.url, PANEL_API_KEY=pterodactyl.admin_key)
    assert code == 0, output
    assert "schema version" in output and (tmp_path / "db" / "desk.sqlite3").exists()
    assert "reachable, key accepted, 1 users" in output
    assert "capabilities: account_for_key, external_id" in output
    assert "/panel status" in output and "/panel sync" in output
    assert "All good." in output
    assert pterodactyl.admin_key not in output and "Traceback" not in output


async def test_check_fails_on_a_refused_key(tmp_path: Path, pterodactyl: PterodactylSimulator) -> None:
    code, output = await run_check(tmp_path, PANEL_URL=pterodactyl.url, PANEL_API_KEY="ptla_" + "z" * 43)
    assert code == 1
    assert "API key was refused (401)" in output and "Some checks failed" in output


async def test_check_fails_on_an_unreachable_panel(tmp_path: Path, unused_tcp_port: int) -> None:
    code, output = await run_check(tmp_path, PANEL_URL=f"http://127.0.0.1:{unused_tcp_port}", PANEL_API_KEY="ptla_x")
    assert code == 1
    assert "Could not connect to the Pterodactyl panel" in output and "Traceback" not in output


async def test_check_prints_what_looks_like_a_misspelt_setting(
    tmp_path: Path, pterodactyl: PterodactylSimulator
) -> None:
    code, output = await run_check(
        tmp_path, PANEL_URL=pterodactyl.url, PANEL_API_KEY=pterodactyl.admin_key, STAFF_ROLE_ID="43"
    )
    assert code == 0, output
    assert (
        "Warning: STAFF_ROLE_ID (in the environment) is not a Panel Desk setting, so it is ignored; did you mean "
        "STAFF_ROLE_IDS?"
    ) in output
    assert "All good." in output


async def test_check_names_each_managed_role_the_bot_cannot_give(
    tmp_path: Path, pterodactyl: PterodactylSimulator
) -> None:
    standin, guild = await open_standin()
    high = 7_100_000_000_000_000_099
    guild.add_role(high, "High", position=150)  # above the bot's own role
    panel = {"PANEL_URL": pterodactyl.url, "PANEL_API_KEY": pterodactyl.admin_key}
    discord = {"DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE": standin.api_base, "GUILD_IDS": f"[{GUILD}]"}
    try:
        code, healthy = await run_check(tmp_path, **panel, **discord, LINKED_ROLE_ID=str(LINKED_ROLE))
        assert code == 0, healthy
        assert "Roles: the bot can give and take each of the 1 managed role(s)." in healthy
        rules = json.dumps([{"role_id": high, "when": "linked"}, {"role_id": 12345, "when": "linked"}])
        code, output = await run_check(tmp_path, **panel, **discord, ROLE_RULES=rules)
    finally:
        await standin.close()
    assert code == 1, output
    assert (
        f"Roles: Role {high}: Role 'High' ({high}) is not below the bot's highest role 'Panel Desk' — in Server "
        "Settings > Roles, drag the bot's role above it."
    ) in output
    assert "Roles: Role 12345 in ROLE_RULES is in none of the bot's servers (deleted?)" in output
    assert "Some checks failed" in output and TOKEN not in output and "Traceback" not in output
    assert [method for method, _ in standin.requests if method != "GET"] == []  # it only looked


async def test_check_says_whether_the_mail_server_takes_the_login(
    tmp_path: Path, pterodactyl: PterodactylSimulator
) -> None:
    from simulators.mail import MailServer

    async with MailServer(username="desk", password="right-password") as mail:
        base = {
            "PANEL_URL": pterodactyl.url,
            "PANEL_API_KEY": pterodactyl.admin_key,
            "SMTP_HOST": mail.host,
            "SMTP_PORT": str(mail.port),
            "SMTP_SECURITY": "none",
            "SMTP_FROM": "noreply@example.com",
            "SMTP_USERNAME": "desk",
        }
        code, output = await run_check(tmp_path, **base, SMTP_PASSWORD="right-password")
        assert code == 0 and "connected, the login is accepted." in output, output
        code, output = await run_check(tmp_path, **base, SMTP_PASSWORD="wrong-password")
        assert code == 1 and "refused the login (SMTP_USERNAME, SMTP_PASSWORD)" in output, output
        assert "wrong-password" not in output
    code, output = await run_check(tmp_path, **base, SMTP_PASSWORD="right-password")
    assert code == 1 and "cannot be reached" in output
