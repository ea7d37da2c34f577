"""Settings: what an operator sees when something is missing or wrong, and what a correct .env produces."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from panel_api import PanelKind
from settings import SettingsProblem, load_settings

ROOT = Path(__file__).parent.parent
VARIABLES = ("DISCORD_TOKEN", "PANEL_KIND", "PANEL_URL", "PANEL_API_KEY")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No settings in the environment and no .env in the working directory."""
    for name in list(os.environ):
        if name.startswith(("DISCORD_", "PANEL", "ADMIN_", "STAFF_", "GUILD_", "DATABASE_", "DEFAULT_PANEL", "LOG_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def base_env(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    values = {
        "DISCORD_TOKEN": "token-value-not-to-be-printed",
        "PANEL_KIND": "pterodactyl",
        "PANEL_URL": "https://panel.example.com/",
        "PANEL_API_KEY": "ptla_secretsecretsecret",
        **extra,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_missing_settings_are_all_named(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsProblem) as problem:
        load_settings()
    text = str(problem.value)
    for name in VARIABLES:
        assert f"{name} is not set" in text
    assert ".env.example" in text


def test_invalid_values_are_explained_without_echoing_secrets(clean_env: pytest.MonkeyPatch) -> None:
    base_env(clean_env, PANEL_KIND="ptero", PANEL_URL="panel.example.com/api", ADMIN_ROLE_IDS="[12, oops]")
    with pytest.raises(SettingsProblem) as problem:
        load_settings()
    text = str(problem.value)
    assert "PANEL_KIND is 'ptero', which is not a known value" in text
    assert "pterodactyl, pelican, ctrlpanel, convoy, calagopus, pterodactyl-legacy" in text
    assert "PANEL_URL must start with http:// or https://" in text
    assert "ADMIN_ROLE_IDS is not a valid JSON list" in text
    assert "secretsecret" not in text and "token-value" not in text


def test_a_good_environment_gives_typed_settings(clean_env: pytest.MonkeyPatch) -> None:
    base_env(
        clean_env,
        ADMIN_ROLE_IDS="[111, 222]",
        STAFF_ROLE_IDS="333,444",
        GUILD_IDS="[555]",
        PANELS='{"billing": {"kind": "ctrlpanel", "url": "https://billing.example.com", "api_key": "cp-key"}}',
        DEFAULT_PANEL="billing",
    )
    settings = load_settings()
    assert settings.admin_role_ids == [111, 222]
    assert settings.staff_role_ids == [333, 444]
    assert settings.guild_ids == [555]
    panels = settings.all_panels()
    assert list(panels) == ["main", "billing"]
    assert panels["main"].kind is PanelKind.PTERODACTYL
    assert panels["main"].url == "https://panel.example.com"
    assert panels["billing"].kind is PanelKind.CTRLPANEL
    assert settings.default_panel_name == "billing"
    assert "ptla_secret" not in repr(settings) and "cp-key" not in repr(settings)
    assert settings.database_path == Path("data/panel-desk.sqlite3")


def test_settings_come_from_dotenv(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "DISCORD_TOKEN=abc\nPANEL_KIND=pelican\nPANEL_URL=http://127.0.0.1:9\nPANEL_API_KEY=papp_x\n"
    )
    settings = load_settings()
    assert settings.panel_kind is PanelKind.PELICAN


def test_default_panel_must_exist(clean_env: pytest.MonkeyPatch) -> None:
    base_env(clean_env, DEFAULT_PANEL="nowhere")
    with pytest.raises(SettingsProblem, match="DEFAULT_PANEL 'nowhere' is not a configured panel"):
        load_settings()


def test_bad_panels_json_is_explained(clean_env: pytest.MonkeyPatch) -> None:
    base_env(clean_env, PANELS="{not json")
    with pytest.raises(SettingsProblem, match="PANELS is not valid JSON"):
        load_settings()


def test_running_the_bot_without_settings_prints_one_message_and_exits(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bot.py")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    for name in VARIABLES:
        assert name in result.stderr


def test_env_example_documents_every_setting_and_parses(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from settings import Settings

    example = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"\n{name.upper()}=" in example, f"{name.upper()} is not documented in .env.example"
    filled = example.replace("DISCORD_TOKEN=\n", "DISCORD_TOKEN=abc\n").replace("PANEL_API_KEY=\n", "PANEL_API_KEY=k\n")
    (tmp_path / ".env").write_text(filled)
    settings = load_settings()
    assert settings.panel_kind is PanelKind.PTERODACTYL and settings.audit_channel_id is None


def test_a_legacy_key_must_be_a_pair(clean_env: pytest.MonkeyPatch) -> None:
    base_env(clean_env, PANEL_KIND="pterodactyl-legacy", PANEL_API_KEY="ptla_secretsecretsecret")
    with pytest.raises(SettingsProblem) as problem:
        load_settings()
    assert "PANEL_API_KEY holds a key of Pterodactyl 1.x or Pelican" in str(problem.value)
    assert "secretsecret" not in str(problem.value)
    base_env(clean_env, PANEL_KIND="pterodactyl-legacy", PANEL_API_KEY="AbCdEfGh12345678:secret.part.two")
    assert load_settings().panel_kind is PanelKind.PTERODACTYL_LEGACY


def test_panel_options_are_checked_against_the_panel_kind(clean_env: pytest.MonkeyPatch) -> None:
    base_env(clean_env, PANEL_KIND="ctrlpanel", PANEL_OPTIONS='{"version": "1.1", "default_role_id": 4}')
    assert load_settings().all_panels()["main"].options == {"version": "1.1", "default_role_id": 4}
    base_env(clean_env, PANEL_KIND="pterodactyl", PANEL_OPTIONS='{"version": "1.1"}')
    with pytest.raises(SettingsProblem, match="unknown option"):
        load_settings()


def test_discord_endpoints_must_be_urls_of_the_right_kind(clean_env: pytest.MonkeyPatch) -> None:
    base_env(clean_env, DISCORD_API_BASE="notaurl", DISCORD_GATEWAY_URL="https://discord-proxy.internal/gateway")
    with pytest.raises(SettingsProblem) as problem:
        load_settings()
    text = str(problem.value)
    assert "DISCORD_API_BASE must start with http:// or https://" in text
    assert "DISCORD_GATEWAY_URL must start with ws:// or wss://" in text
    assert "or leave it empty" in text
    base_env(clean_env, DISCORD_API_BASE="http://127.0.0.1:99999/api/v10", DISCORD_GATEWAY_URL="")
    with pytest.raises(SettingsProblem, match="DISCORD_API_BASE is not a valid URL"):
        load_settings()
    base_env(clean_env, DISCORD_API_BASE=" http://127.0.0.1:8080/api/v10 ", DISCORD_GATEWAY_URL="wss://gw.internal/")
    settings = load_settings()
    assert settings.discord_api_base == "http://127.0.0.1:8080/api/v10"
    assert settings.discord_gateway_url == "wss://gw.internal/"


def test_discord_endpoints_default_to_discord_itself(clean_env: pytest.MonkeyPatch) -> None:
    base_env(clean_env)
    settings = load_settings()
    assert settings.discord_api_base == "" and settings.discord_gateway_url == ""
