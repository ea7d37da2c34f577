"""Settings: what an operator sees when something is missing, wrong or misspelt, and what a correct .env produces."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from panel_api import CLIENTS, PanelKind
from settings import HINTS, KEY_HELP, Settings, SettingsProblem, load_settings, number_limits, settings_warnings

ROOT = Path(__file__).parent.parent
VARIABLES = ("DISCORD_TOKEN", "PANEL_KIND", "PANEL_URL", "PANEL_API_KEY")
# The first words of our settings' names: a variable starting with one of them is looked at as a possible typo.
OURS = tuple(sorted({name.split("_")[0].upper() + "_" for name in Settings.model_fields}))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No settings, nor anything that looks like one, in the environment, and no .env in the working directory."""
    for name in list(os.environ):
        if name.upper().startswith(OURS) or name.lower() in Settings.model_fields:
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


def problem_lines(monkeypatch: pytest.MonkeyPatch, **extra: str) -> list[str]:
    """The lines naming bad settings, as printed, from a base environment with `extra` on top."""
    base_env(monkeypatch, **extra)
    with pytest.raises(SettingsProblem) as problem:
        load_settings()
    lines = str(problem.value).splitlines()
    assert lines[0] == "Panel Desk cannot start: its settings need attention."
    assert ".env.example" in lines[-1]
    return [line.strip() for line in lines[1:-1]]


def test_missing_settings_are_all_named(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsProblem) as problem:
        load_settings()
    text = str(problem.value)
    for name in VARIABLES:
        assert f"{name} is not set" in text
    assert ".env.example" in text


def test_a_missing_key_says_how_to_make_one_for_the_panel_kind(clean_env: pytest.MonkeyPatch) -> None:
    base_env(clean_env, PANEL_KIND="calagopus")
    clean_env.delenv("PANEL_API_KEY")
    with pytest.raises(SettingsProblem) as problem:
        load_settings()
    assert str(problem.value).splitlines()[1] == (
        "  PANEL_API_KEY is not set — create an API key (c7sp_…, 48 characters) as an admin on the account page "
        "under API Keys, with the admin permissions users.read, users.create, users.update and users.delete, and "
        "set it to that key"
    )


def test_invalid_values_are_explained_without_echoing_secrets(clean_env: pytest.MonkeyPatch) -> None:
    lines = problem_lines(clean_env, PANEL_KIND="ptero", PANEL_URL="panel.example.com/api", ADMIN_ROLE_IDS="[12, oops]")
    text = "\n".join(lines)
    assert (
        "PANEL_KIND is 'ptero': it is not a kind of panel Panel Desk knows — set it to one of: pterodactyl, "
        "pelican, ctrlpanel, convoy, calagopus, pterodactyl-legacy"
    ) in lines
    assert "PANEL_URL is 'panel.example.com/api': it must start with http:// or https://" in text
    assert "ADMIN_ROLE_IDS is '[12, oops]': it is not a valid JSON list" in text
    assert "secretsecret" not in text and "token-value" not in text


# --- each error names the variable, its value, what is wrong and what to set -----------------------------------

OPERATOR_MISTAKES = {
    "ADMIN_ROLE_IDS=Admins,Staff": (
        "ADMIN_ROLE_IDS is 'Admins,Staff': it must be a list of role ids, which are numbers, and 'Admins' and "
        "'Staff' are not — set it to a JSON list of Discord role ids (Developer Mode on, right-click the role > "
        "Copy Role ID), e.g. [123456789012345678]"
    ),
    "PANEL_TIMEOUT=15s": (
        "PANEL_TIMEOUT is '15s': it must be a number of seconds, more than 0 and at most 120 — set it to the "
        "seconds to wait for one answer of the panel, e.g. 15 (the default)"
    ),
    "PANEL_TIMEOUT=300": (
        "PANEL_TIMEOUT is '300': it must be a number of seconds, more than 0 and at most 120 — set it to the "
        "seconds to wait for one answer of the panel, e.g. 15 (the default)"
    ),
    "PANEL_RATE_LIMIT=0": (
        "PANEL_RATE_LIMIT is '0': it must be a whole number of requests a minute, at least 1 — set it to the "
        "requests a minute the bot may make, or leave it empty for the panel kind's default (Pterodactyl 240, "
        "Pelican 256, CtrlPanel 60, Convoy 240, Calagopus 300, Pterodactyl 0.5 60)"
    ),
    "CREDIT_WATCH_INTERVAL_SECONDS=5": (
        "CREDIT_WATCH_INTERVAL_SECONDS is '5': it must be a number of seconds, at least 10 — set it to the seconds "
        "between two sweeps of the credit watcher, e.g. 300 (the default)"
    ),
    "LINKED_ROLE_ID=Linked": (
        "LINKED_ROLE_ID is 'Linked': it must be a role id, which is a number — set it to the id of a role below "
        "the bot's own highest role, or leave it empty"
    ),
    "ON_MEMBER_LEAVE=kick": "ON_MEMBER_LEAVE is 'kick': it must be keep or unlink — set it to keep or unlink",
    "DEFAULT_PANEL=eu": (
        "DEFAULT_PANEL is 'eu': it is not a configured panel (configured: main) — set it to the name of a "
        "configured panel (PANEL_NAME or a key of PANELS)"
    ),
}


@pytest.mark.parametrize("assignment", OPERATOR_MISTAKES)
def test_a_bad_value_gets_one_line_with_the_value_the_problem_and_the_fix(
    clean_env: pytest.MonkeyPatch, assignment: str
) -> None:
    name, _, value = assignment.partition("=")
    assert problem_lines(clean_env, **{name: value}) == [OPERATOR_MISTAKES[assignment]]


def test_every_setting_has_a_hint() -> None:
    assert set(Settings.model_fields) <= set(HINTS)


def test_a_bad_url_in_panels_is_the_only_line(clean_env: pytest.MonkeyPatch) -> None:
    lines = problem_lines(
        clean_env, PANELS='{"billing": {"kind": "ctrlpanel", "url": "billing.example.com", "api_key": "cp-key"}}'
    )
    assert lines == [
        "PANELS, panel 'billing': url is 'billing.example.com': it must start with http:// or https:// — set its "
        "url to the panel's base address, e.g. https://panel.example.com (no /api at the end)"
    ]


def test_a_field_missing_from_a_panel_in_panels_is_not_panels_missing(clean_env: pytest.MonkeyPatch) -> None:
    # Before, any "missing" error read "PANELS is not set", whichever field of which panel was missing.
    lines = problem_lines(
        clean_env,
        PANELS='{"billing": {"kind": "ctrlpanel", "URL": "billing.example.com", "key": "cp-key-not-shown"}}',
    )
    assert lines == [
        "PANELS, panel 'billing': \"url\" is not set ('URL' and 'key' are not panel settings) — add \"url\": the "
        "panel's base address, e.g. https://panel.example.com (no /api at the end)",
        "PANELS, panel 'billing': \"api_key\" is not set ('URL' and 'key' are not panel settings) — create an "
        'application API token as an admin under Admin → Application API, and add it as "api_key"',
    ]


def test_values_inside_panels_are_named_by_panel_and_field(clean_env: pytest.MonkeyPatch) -> None:
    lines = problem_lines(
        clean_env,
        PANELS='{"eu": {"kind": "pelican", "url": "https://eu.example.com", "api_key": "papp_x", "timeout": 500}}',
    )
    assert lines == [
        "PANELS, panel 'eu': timeout is 500: it must be a number of seconds, more than 0 and at most 120 — set its "
        "timeout to the seconds to wait for one answer of the panel, e.g. 15 (the default)"
    ]


def test_secrets_are_never_shown(clean_env: pytest.MonkeyPatch) -> None:
    panels = '{"eu": {"kind": "pelican", "url": "eu.example.com", "api_key": "pacc_panels-secret"}}'
    lines = problem_lines(clean_env, PANEL_API_KEY="ptlc_flat-secret", PANELS=panels, PANEL_TIMEOUT="x")
    text = "\n".join(lines)
    assert "PANEL_API_KEY is a client API key" in text and "its api_key is a client API key" in text
    assert "flat-secret" not in text and "panels-secret" not in text and "token-value" not in text


def test_a_panels_value_that_is_not_json_says_where_without_showing_it(clean_env: pytest.MonkeyPatch) -> None:
    lines = problem_lines(clean_env, PANELS='{"eu": {"api_key": "papp_secret", }')
    assert len(lines) == 1
    assert lines[0].startswith("PANELS is not valid JSON (") and "line 1 column" in lines[0]
    assert "papp_secret" not in lines[0]


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
    assert settings_warnings(settings) == []


def test_settings_come_from_dotenv(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "DISCORD_TOKEN=abc\nPANEL_KIND=pelican\nPANEL_URL=http://127.0.0.1:9\nPANEL_API_KEY=papp_x\n"
    )
    settings = load_settings()
    assert settings.panel_kind is PanelKind.PELICAN


def test_panel_names_are_checked(clean_env: pytest.MonkeyPatch) -> None:
    panel = '{"kind": "ctrlpanel", "url": "https://billing.example.com", "api_key": "cp-key"}'
    assert problem_lines(clean_env, PANELS=f'{{"main": {panel}}}') == [
        "PANELS has a panel called 'main', the name of the PANEL_* panel (PANEL_NAME) — rename that panel in "
        "PANELS, or change PANEL_NAME"
    ]
    assert problem_lines(clean_env, PANELS=f'{{"Billing": {panel}}}') == [
        "PANELS has a panel called 'Billing', and panel names are at most 32 lowercase letters, digits, - or _, "
        "starting with a letter or digit — rename that panel in PANELS"
    ]


def test_running_the_bot_without_settings_prints_one_message_and_exits(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bot.py")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    for name in VARIABLES:
        assert name in result.stderr


def test_panel_options_are_checked_against_the_panel_kind(clean_env: pytest.MonkeyPatch) -> None:
    options = '{"version": "1.1", "default_role_id": 4}'
    base_env(clean_env, PANEL_KIND="ctrlpanel", PANEL_API_KEY="cp-key", PANEL_OPTIONS=options)
    assert load_settings().all_panels()["main"].options == {"version": "1.1", "default_role_id": 4}
    assert problem_lines(clean_env, PANEL_KIND="pterodactyl", PANEL_OPTIONS='{"version": "1.1"}') == [
        'PANEL_OPTIONS is \'{"version": "1.1"}\': it has version, which a pterodactyl panel does not take (it '
        'takes: webhook_secret) — set it to a JSON object such as {"version": "1.1"} (CtrlPanel), or {}'
    ]


def test_discord_endpoints_must_be_urls_of_the_right_kind(clean_env: pytest.MonkeyPatch) -> None:
    lines = problem_lines(
        clean_env, DISCORD_API_BASE="notaurl", DISCORD_GATEWAY_URL="https://discord-proxy.internal/gateway"
    )
    text = "\n".join(lines)
    assert "DISCORD_API_BASE is 'notaurl': it must start with http:// or https://" in text
    assert "DISCORD_GATEWAY_URL is 'https://discord-proxy.internal/gateway': it must start with ws:// or wss://" in text
    assert "or leave it empty" in text
    lines = problem_lines(clean_env, DISCORD_API_BASE="http://127.0.0.1:99999/api/v10", DISCORD_GATEWAY_URL="")
    assert lines[0].startswith("DISCORD_API_BASE is 'http://127.0.0.1:99999/api/v10': it is not a valid URL")
    base_env(clean_env, DISCORD_API_BASE=" http://127.0.0.1:8080/api/v10 ", DISCORD_GATEWAY_URL="wss://gw.internal/")
    settings = load_settings()
    assert settings.discord_api_base == "http://127.0.0.1:8080/api/v10"
    assert settings.discord_gateway_url == "wss://gw.internal/"


def test_discord_endpoints_default_to_discord_itself(clean_env: pytest.MonkeyPatch) -> None:
    base_env(clean_env)
    settings = load_settings()
    assert settings.discord_api_base == "" and settings.discord_gateway_url == ""


# --- names that look like settings but are none ---------------------------------------------------------------


def test_misspelt_variables_are_warned_about_and_the_settings_still_load(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("ADMIN_ROLE_ID=111\nLINK_COOLDOWN=2\n")
    base_env(clean_env, DISCORD_BOT_TOKEN="not-shown", PANEL_VERIFY_SSL="false")
    settings = load_settings()
    assert settings.admin_role_ids == []
    assert settings_warnings(settings) == [
        "ADMIN_ROLE_ID (in .env) is not a Panel Desk setting, so it is ignored; did you mean ADMIN_ROLE_IDS?",
        "DISCORD_BOT_TOKEN (in the environment) is not a Panel Desk setting, so it is ignored; did you mean "
        "DISCORD_TOKEN?",
        "LINK_COOLDOWN (in .env) is not a Panel Desk setting, so it is ignored; did you mean LINK_COOLDOWN_HOURS?",
        "PANEL_VERIFY_SSL (in the environment) is not a Panel Desk setting, so it is ignored; the PANEL_ settings "
        "are PANEL_NAME, PANEL_KIND, PANEL_URL, PANEL_API_KEY, PANEL_RATE_LIMIT, PANEL_TIMEOUT and PANEL_OPTIONS",
    ]


def test_variables_of_other_software_are_left_alone(clean_env: pytest.MonkeyPatch) -> None:
    base_env(
        clean_env,
        HOME_DIRECTORY="/home/bot",  # no first word of ours
        MY_PANEL_TOKEN="x",  # ours only in the middle
        DATABASE_URL="postgres://db/app",  # a twelve-factor app's
        PANEL_SERVICE_HOST="10.0.0.7",  # Kubernetes, for a service called "panel"
        PANEL_PORT="tcp://10.0.0.7:80",
        PANEL_PORT_80_TCP_ADDR="10.0.0.7",
    )
    assert settings_warnings(load_settings()) == []


def test_a_misspelt_name_is_mentioned_when_the_settings_fail(clean_env: pytest.MonkeyPatch) -> None:
    base_env(clean_env, DISCORD_BOT_TOKEN="not-shown")
    clean_env.delenv("DISCORD_TOKEN")
    with pytest.raises(SettingsProblem) as problem:
        load_settings()
    lines = str(problem.value).splitlines()
    assert lines[1].startswith("  DISCORD_TOKEN is not set — set it to the bot token")
    assert lines[2] == (
        "  Note: DISCORD_BOT_TOKEN (in the environment) is not a Panel Desk setting, so it is ignored; did you mean "
        "DISCORD_TOKEN?"
    )
    assert "not-shown" not in str(problem.value)


def test_unknown_keys_of_a_panel_in_panels_are_warned_about(clean_env: pytest.MonkeyPatch) -> None:
    panel = '{"kind": "ctrlpanel", "url": "https://billing.example.com", "api_key": "cp-key", "rate_limt": 30}'
    base_env(clean_env, PANELS=f'{{"billing": {panel}}}')
    settings = load_settings()
    assert settings.panels["billing"].rate_limit is None
    assert settings_warnings(settings) == [
        "PANELS, panel 'billing': 'rate_limt' is not a panel setting, so it is ignored; did you mean 'rate_limit'?"
    ]


# --- API keys of the wrong kind ---------------------------------------------------------------------------------

ALNUM_43 = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg"
assert len(ALNUM_43) == 43

WRONG_KEYS = {
    ("pterodactyl", "ptlc_" + ALNUM_43): (
        "PANEL_API_KEY is a client API key (it starts with ptlc_), but the bot needs an application API key: a root "
        "admin's client key would work, yet it carries every right of that account, not just users — create an "
        "application API key (ptla_…) as a root admin under Admin → Application API, with Users set to Read & "
        "Write"
    ),
    ("pterodactyl", "papp_" + ALNUM_43): (
        "PANEL_API_KEY is a Pelican key (it starts with papp_), not a Pterodactyl one — if the panel is Pelican, set "
        "PANEL_KIND=pelican; otherwise create an application API key (ptla_…) as a root admin under Admin → "
        "Application API, with Users set to Read & Write"
    ),
    ("pelican", "pacc_" + ALNUM_43): (
        "PANEL_API_KEY is a client API key (it starts with pacc_), but the bot needs an application API key: a root "
        "admin's client key would work, yet it carries every right of that account, not just users — create an "
        "application API key (papp_…) as a root admin under Admin → Advanced → API Keys, with Read & Write on "
        "users"
    ),
    ("pelican", "ptlc_" + ALNUM_43): "PANEL_API_KEY is a client API key (it starts with ptlc_)",
    ("ctrlpanel", "ptla_" + ALNUM_43): (
        "PANEL_API_KEY is a Pterodactyl key (it starts with ptla_), not a CtrlPanel one — if the panel is "
        "Pterodactyl, set PANEL_KIND=pterodactyl; otherwise create an application API token as an admin under "
        "Admin → Application API"
    ),
    ("ctrlpanel", "12|" + ALNUM_43[:40]): "PANEL_API_KEY is a Convoy key (it reads <id>|<secret>), not a CtrlPanel one",
    ("convoy", "c7sp_" + ALNUM_43): "PANEL_API_KEY is a Calagopus key (it starts with c7sp_), not a Convoy one",
    ("pterodactyl", "PublicKey1234567:" + ALNUM_43): (
        "PANEL_API_KEY is a Pterodactyl 0.5 key (it reads <public key>:<secret key>), not a Pterodactyl one — if "
        "the panel is Pterodactyl 0.5, set PANEL_KIND=pterodactyl-legacy"
    ),
    ("calagopus", "n4n0-id_" + ALNUM_43[:40]): (
        "PANEL_API_KEY is not a whole Calagopus API key (c7sp_ and 43 letters or digits, 48 characters; this one "
        "has 48) — copy the key again as the panel showed it, or create an API key (c7sp_…, 48 characters) as an "
        "admin on the account page under API Keys, with the admin permissions users.read, users.create, "
        "users.update and users.delete"
    ),
    ("calagopus", "c7sp_" + ALNUM_43[:20]): "PANEL_API_KEY is not a whole Calagopus API key (c7sp_ and 43 letters",
    ("pterodactyl-legacy", "ptla_" + ALNUM_43): (
        "PANEL_API_KEY is a Pterodactyl key (it starts with ptla_), not a Pterodactyl 0.5 one — if the panel is "
        "Pterodactyl, set PANEL_KIND=pterodactyl"
    ),
    ("pterodactyl-legacy", "no-colon-here"): (
        "PANEL_API_KEY is not a Pterodactyl 0.5 key pair — A Pterodactyl 0.5 API key has two halves: set "
        "PANEL_API_KEY to <public key>:<secret key>"
    ),
}


@pytest.mark.parametrize(("kind", "key"), WRONG_KEYS)
def test_a_key_of_the_wrong_kind_is_refused_saying_which_key_to_make(
    clean_env: pytest.MonkeyPatch, kind: str, key: str
) -> None:
    lines = problem_lines(clean_env, PANEL_KIND=kind, PANEL_API_KEY=key)
    assert len(lines) == 1 and lines[0].startswith(WRONG_KEYS[kind, key])
    assert key not in lines[0] and key[5:] not in lines[0]


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("pterodactyl", "ptla_" + ALNUM_43),
        ("pterodactyl", "AbCdEfGh12345678" + ALNUM_43[:32]),  # made before Pterodactyl 1.0: no prefix
        ("pelican", "papp_" + ALNUM_43),
        ("pelican", "ptla_" + ALNUM_43),  # made while the panel was still Pterodactyl
        ("ctrlpanel", "x7-Kq_" + ALNUM_43[:42]),  # a nanoid, no prefix
        ("convoy", "12|" + ALNUM_43[:40]),
        ("convoy", ALNUM_43[:40]),  # Sanctum finds a token without its id too
        ("calagopus", "c7sp_" + ALNUM_43),
        ("pterodactyl-legacy", "PublicKey1234567:" + ALNUM_43),
    ],
)
def test_keys_of_the_right_kind_are_accepted(clean_env: pytest.MonkeyPatch, kind: str, key: str) -> None:
    base_env(clean_env, PANEL_KIND=kind, PANEL_API_KEY=key)
    assert load_settings().panel_api_key.get_secret_value() == key


def test_keys_of_panels_in_panels_are_checked_the_same_way(clean_env: pytest.MonkeyPatch) -> None:
    panels = (
        '{"eu": {"kind": "pterodactyl", "url": "https://eu.example.com", "api_key": "ptlc_' + ALNUM_43 + '"}, '
        '"billing": {"kind": "ctrlpanel", "url": "https://billing.example.com", "api_key": "papp_' + ALNUM_43 + '"}}'
    )
    assert problem_lines(clean_env, PANELS=panels) == [
        "PANELS, panel 'eu': its api_key is a client API key (it starts with ptlc_), but the bot needs an "
        "application API key: a root admin's client key would work, yet it carries every right of that account, "
        "not just users — create an application API key (ptla_…) as a root admin under Admin → Application API, "
        "with Users set to Read & Write",
        "PANELS, panel 'billing': its api_key is a Pelican key (it starts with papp_), not a CtrlPanel one — if "
        'the panel is Pelican, set its "kind" to "pelican"; otherwise create an application API token as an admin '
        "under Admin → Application API",
    ]


def test_a_legacy_pair_in_panels_names_its_api_key(clean_env: pytest.MonkeyPatch) -> None:
    panels = '{"old": {"kind": "pterodactyl-legacy", "url": "https://old.example.com", "api_key": "nocolon"}}'
    (line,) = problem_lines(clean_env, PANELS=panels)
    assert line.startswith("PANELS, panel 'old': its api_key is not a Pterodactyl 0.5 key pair — A Pterodactyl 0.5")
    assert 'set "api_key" to <public key>:<secret key>' in line and "PANEL_API_KEY" not in line


# --- .env.example -----------------------------------------------------------------------------------------------


def example_comment(variable: str) -> str:
    """The comment above `variable` in .env.example (through the settings it shares it with), as one line."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{variable}="))
    while index > 0 and not lines[index - 1].startswith("#") and "=" in lines[index - 1]:
        index -= 1  # a setting documented together with the ones before it
    comment: list[str] = []
    while index > 0 and lines[index - 1].startswith("#"):
        index -= 1
        comment.insert(0, lines[index].lstrip("#").strip())
    return " ".join(comment)


def test_env_example_documents_every_setting_and_parses(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    example = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"\n{name.upper()}=" in example, f"{name.upper()} is not documented in .env.example"
        assert example_comment(name.upper()), f"{name.upper()} has no comment in .env.example"
    filled = example.replace("DISCORD_TOKEN=\n", "DISCORD_TOKEN=abc\n").replace("PANEL_API_KEY=\n", "PANEL_API_KEY=k\n")
    (tmp_path / ".env").write_text(filled)
    settings = load_settings()
    assert settings.panel_kind is PanelKind.PTERODACTYL and settings.audit_channel_id is None
    assert settings_warnings(settings) == []


def test_env_example_gives_the_limits_of_each_number_setting() -> None:
    for name, info in Settings.model_fields.items():
        if limits := number_limits(info):
            assert limits in example_comment(name.upper()).lower(), f"{name.upper()}: {limits} is not documented"


def test_env_example_gives_the_default_rate_limit_of_each_panel_kind() -> None:
    comment = example_comment("PANEL_RATE_LIMIT")
    for client in CLIENTS.values():
        assert f"{client.display_name} {client.default_rate_limit}" in comment


def test_env_example_says_where_the_key_of_each_panel_kind_is_made() -> None:
    comment = example_comment("PANEL_API_KEY")
    for kind, help_text in KEY_HELP.items():
        assert f"{kind.value}: {help_text}" in comment
    assert "give it as <public key>:<secret key>" in comment


CTRLPANEL_EXTRA = '{"shop": {"kind": "ctrlpanel", "url": "https://shop.example.com", "api_key": "secret-shop-key"}}'


def test_role_rules_parse_with_their_values_and_linked_role_id_is_one_more_rule(clean_env: pytest.MonkeyPatch) -> None:
    base_env(
        clean_env,
        PANELS=CTRLPANEL_EXTRA,
        LINKED_ROLE_ID="500",
        ROLE_RULES='[{"role_id": 501, "when": "has_servers"}, {"role_id": 502, "when": "has_servers", "value": 3},'
        ' {"role_id": 503, "when": "credits_at_least", "value": "12.5", "panel": "shop"},'
        ' {"role_id": 504, "when": "panel_role", "value": 7}, {"role_id": 505, "when": "suspended"}]',
    )
    rules = load_settings().managed_role_rules()
    assert [(rule.role_id, rule.when.value, rule.value, rule.panel) for rule in rules] == [
        (501, "has_servers", 1, None),
        (502, "has_servers", 3, None),
        (503, "credits_at_least", Decimal("12.5"), "shop"),
        (504, "panel_role", "7", None),
        (505, "suspended", None, None),
        (500, "linked", None, None),
    ]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            '[{"role_id": 1, "when": "linkd"}]',
            "ROLE_RULES, rule 1: when is 'linkd', not one of linked, has_servers, suspended, not_suspended,"
            " credits_at_least, panel_role — use one of those",
        ),
        (
            '[{"role_id": 1, "when": "linked"}, {"role_id": 2, "when": "suspended"}]',
            "ROLE_RULES, rule 2 (role 2): suspended needs a panel with suspension, and 'main' (Pterodactyl) has"
            " none — remove the rule",
        ),
        (
            '[{"role_id": 1, "when": "has_servers", "value": 0}]',
            "ROLE_RULES, rule 1 (role 1): has_servers counts servers, and 0 is not a whole number of at least 1 —"
            ' give "value" a whole number such as 1 (or leave it out for 1)',
        ),
        (
            '[{"role_id": 1, "when": "linked", "panel": "nope"}]',
            "ROLE_RULES, rule 1 (role 1): 'nope' is not a configured panel — set its \"panel\" to one of main, or"
            " leave it out for any panel",
        ),
        (
            '[{"role_id": 1, "when": "panel_role", "value": "VIP"}]',
            "ROLE_RULES, rule 1 (role 1): panel_role 'VIP' asks for a CtrlPanel role, and 'main' (Pterodactyl) has"
            ' no roles — use "admin" for the panel\'s admin flag, or remove the rule',
        ),
        (
            '[{"role_id": 1, "when": "linked", "colour": 3}]',
            'ROLE_RULES, rule 1: "colour" is not part of a rule — a rule has role_id, when, value and panel',
        ),
        (
            '[{"role_id": 1, "when": "linked", "value": 2}]',
            'ROLE_RULES, rule 1 (role 1): linked takes no value — leave "value" out of this rule',
        ),
        (
            '[{"role_id": 1',
            "ROLE_RULES is '[{\"role_id\": 1': it is not a valid JSON list — set it to a JSON list of rules such as"
            ' [{"role_id": 123456789012345678, "when": "has_servers"}], or leave it empty',
        ),
    ],
)
def test_a_bad_role_rule_is_named_by_its_place_with_the_fix(
    clean_env: pytest.MonkeyPatch, rules: str, expected: str
) -> None:
    assert problem_lines(clean_env, ROLE_RULES=rules) == [expected]


def test_a_rule_any_panel_can_serve_is_accepted_even_when_one_panel_cannot(clean_env: pytest.MonkeyPatch) -> None:
    base_env(clean_env, PANELS=CTRLPANEL_EXTRA, ROLE_RULES='[{"role_id": 9, "when": "not_suspended"}]')
    assert load_settings().role_rules[0].when.value == "not_suspended"
    assert problem_lines(
        clean_env, ROLE_RULES='[{"role_id": 9, "when": "credits_at_least", "value": 5, "panel": "main"}]'
    ) == [
        "ROLE_RULES, rule 1 (role 9): credits_at_least needs a panel with credits, and 'main' (Pterodactyl) has"
        " none — remove the rule, or scope it to a panel that has them"
    ]
