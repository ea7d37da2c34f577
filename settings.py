"""Settings from the environment and `.env`; every name here is documented in `.env.example`.

One panel is configured by the flat `PANEL_*` variables hosting staff know from other bots. More named panels can
be added as JSON in `PANELS` (for example CtrlPanel for billing in front of Pterodactyl); `DEFAULT_PANEL` picks
which one commands use when none is named.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yarl
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from panel_api import PanelKind, client_option_names
from panel_api.pterodactyl_legacy import split_key

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")

# How to fix each setting, shown next to its error.
HINTS: dict[str, str] = {
    "discord_token": "the bot token from the Discord developer portal (Bot > Reset Token)",
    "panel_kind": "one of: " + ", ".join(k.value for k in PanelKind),
    "panel_url": "the panel's base address, e.g. https://panel.example.com (no /api at the end)",
    "panel_api_key": (
        "an application API key created by a root admin on the panel (pterodactyl-legacy: <public key>:<secret key>)"
    ),
    "admin_role_ids": "a JSON list of Discord role ids, e.g. [123456789012345678]",
    "staff_role_ids": "a JSON list of Discord role ids, e.g. [123456789012345678]",
    "guild_ids": "a JSON list of Discord server ids to register commands in, or [] for global commands",
    "database_path": "a file path for the SQLite database, e.g. data/panel-desk.sqlite3",
    "panels": 'a JSON object of extra panels, e.g. {"billing": {"kind": "ctrlpanel", "url": "...", "api_key": "..."}}',
    "default_panel": "the name of a configured panel (PANEL_NAME or a key of PANELS)",
    "panel_name": "a short lowercase name such as main (letters, digits, - and _)",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "panel_options": 'a JSON object such as {"version": "1.1"} (CtrlPanel), or {}',
    "audit_channel_id": "the id of a text channel the bot can post in, or leave it empty",
    "link_requests_channel_id": "the id of a staff-only text channel, or leave it empty",
    "linked_role_id": "the id of a role below the bot's own highest role, or leave it empty",
    "on_member_leave": "keep or unlink",
    "link_writes_external_id": "true or false",
    "discord_api_base": (
        "a proxy's Discord API address with the version, e.g. https://discord-proxy.internal/api/v10, "
        "or leave it empty to talk to Discord itself"
    ),
    "discord_gateway_url": (
        "a proxy's gateway address, e.g. wss://discord-proxy.internal/gateway, or leave it empty to use Discord's"
    ),
}


def _id_list(value: Any) -> Any:
    """Accept `[1, 2]` (JSON, the documented form) and also `1,2`, which people write by hand."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                raise ValueError("is not a valid JSON list") from None
        return [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


IdList = Annotated[list[int], NoDecode]


def _panel_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError("must start with http:// or https://")
    if value.endswith("/api") or "/api/" in value:
        raise ValueError("must be the panel's base address, without /api")
    return value


def _endpoint_url(value: str, schemes: tuple[str, ...]) -> str:
    """An absolute URL with one of `schemes`, or "" (Discord's own endpoint). discord.py would otherwise fail at
    the first request with an aiohttp traceback that names neither the setting nor the fix."""
    value = value.strip()
    if not value:
        return value
    expected = " or ".join(f"{scheme}://" for scheme in schemes)
    try:
        url = yarl.URL(value)
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    if url.scheme not in schemes or not url.host or any(c.isspace() for c in url.host):
        raise ValueError(f"must start with {expected} followed by a host name")
    return value


def _discord_api_base(value: str) -> str:
    return _endpoint_url(value, ("http", "https"))


def _discord_gateway_url(value: str) -> str:
    return _endpoint_url(value, ("ws", "wss"))


def check_key_shape(kind: PanelKind, key: SecretStr) -> None:
    """Kinds whose key has a structure say so at start-up rather than at the first request."""
    if kind is PanelKind.PTERODACTYL_LEGACY:
        split_key(key.get_secret_value())


def check_options(kind: PanelKind, options: dict[str, Any]) -> None:
    known = client_option_names(kind)
    unknown = sorted(set(options) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise ValueError(f"unknown option(s) {', '.join(unknown)} for a {kind.value} panel (it takes: {allowed})")


def _non_empty_secret(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().strip():
        raise ValueError("must not be empty")
    return SecretStr(value.get_secret_value().strip())


class PanelSettings(BaseModel):
    """One panel connection."""

    kind: PanelKind
    url: str
    api_key: SecretStr
    rate_limit: int | None = Field(default=None, ge=1, description="Requests per minute; the panel kind's default")
    timeout: float = Field(default=15.0, gt=0, le=120)
    options: dict[str, Any] = Field(
        default_factory=dict, description="Panel-specific options, e.g. CtrlPanel's version"
    )

    _url = field_validator("url")(_panel_url)
    _key = field_validator("api_key")(_non_empty_secret)

    @model_validator(mode="after")
    def _key_shape(self) -> PanelSettings:
        check_key_shape(self.kind, self.api_key)
        check_options(self.kind, self.options)
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    discord_token: SecretStr
    # Point discord.py at a proxy or stand-in instead of Discord itself; empty means Discord.
    discord_api_base: str = ""
    discord_gateway_url: str = ""
    guild_ids: IdList = []
    admin_role_ids: IdList = []
    staff_role_ids: IdList = []
    # A channel where every staff change (create, edit, delete, suspend…) is also posted; empty: database only.
    audit_channel_id: int | None = None
    # Posts there name accounts by username and id; true adds each account's email (keep the channel staff-only).
    audit_channel_shows_emails: bool = False
    database_path: Path = Path("data/panel-desk.sqlite3")
    log_level: str = "INFO"

    # --- self-service linking ---
    # Where "Ask staff" link requests are posted with Approve/Deny buttons; empty hides that option.
    link_requests_channel_id: int | None = None
    # Hours a member who unlinked waits before linking a different account, and an unlinked account waits before
    # another member may claim it (stops relink loops that re-earn rewards); 0 turns it off.
    link_cooldown_hours: float = Field(default=24.0, ge=0)
    # Discord accounts younger than this many days may not link (keeps fresh alts out); 0 turns it off.
    min_account_age_days: float = Field(default=0.0, ge=0)
    # Failed proofs (wrong keys, unknown emails) allowed per member within the window.
    link_attempts: int = Field(default=5, ge=1)
    link_attempt_window_minutes: float = Field(default=10.0, gt=0)
    # A role the bot gives linked members and takes back when they unlink; empty: no role.
    linked_role_id: int | None = None
    # Write the member's Discord id into the account's external id on link, when the panel has external ids and
    # the account has none yet (an id set by a billing system is never overwritten).
    link_writes_external_id: bool = False
    # What happens to a member's links when they leave the server: keep or unlink. "unlink" needs the Server
    # Members privileged intent enabled for the bot in the developer portal.
    on_member_leave: Literal["keep", "unlink"] = "keep"

    # --- credits and notices (panels with credits: CtrlPanel) ---
    # Seconds between two sweeps of the credit watcher, which notices top-ups made outside the bot.
    credit_watch_interval_seconds: float = Field(default=300.0, ge=10)
    # Name the staff member in a member's top-up notice (false: "staff added …" without a name).
    credit_notice_names_staff: bool = True
    # Where a notice goes, with a mention, when a member's DMs are closed; empty: it is dropped and audited.
    notice_fallback_channel_id: int | None = None
    # A staff channel where every top-up is also announced; empty: none.
    topup_announce_channel_id: int | None = None
    # Warn a linked member once when their balance falls below this; empty: no warnings.
    low_credit_threshold: float | None = Field(default=None, ge=0)
    # The most credits or server slots one command may add or remove, against typos such as an extra zero.
    max_credit_change: float = Field(default=100_000.0, gt=0)
    max_server_limit_change: int = Field(default=100, gt=0)

    panel_name: str = "main"
    panel_kind: PanelKind
    panel_url: str
    panel_api_key: SecretStr
    panel_rate_limit: int | None = Field(default=None, ge=1)
    panel_timeout: float = Field(default=15.0, gt=0, le=120)
    # Options of this panel kind, as JSON: CtrlPanel {"version": "1.1", "default_role_id": 4}; Calagopus
    # {"default_language": "en"}. Most panels need none.
    panel_options: dict[str, Any] = {}
    panels: dict[str, PanelSettings] = {}
    default_panel: str | None = None

    _split_ids = field_validator("guild_ids", "admin_role_ids", "staff_role_ids", mode="before")(_id_list)

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    _secrets = field_validator("discord_token", "panel_api_key")(_non_empty_secret)
    _url = field_validator("panel_url")(_panel_url)
    _api_base = field_validator("discord_api_base")(_discord_api_base)
    _gateway = field_validator("discord_gateway_url")(_discord_gateway_url)

    @model_validator(mode="after")
    def _panels_consistent(self) -> Settings:
        check_key_shape(self.panel_kind, self.panel_api_key)
        check_options(self.panel_kind, self.panel_options)
        for name in [self.panel_name, *self.panels]:
            if not _NAME.match(name):
                raise ValueError(f"panel name {name!r} must be lowercase letters, digits, - or _ (at most 32)")
        if self.panel_name in self.panels:
            raise ValueError(f"PANELS repeats the name of the default panel {self.panel_name!r}")
        if self.default_panel is not None and self.default_panel not in self.all_panels():
            raise ValueError(f"DEFAULT_PANEL {self.default_panel!r} is not a configured panel")
        return self

    def all_panels(self) -> dict[str, PanelSettings]:
        """Every configured panel by name, the `PANEL_*` one first."""
        main = PanelSettings(
            kind=self.panel_kind,
            url=self.panel_url,
            api_key=self.panel_api_key,
            rate_limit=self.panel_rate_limit,
            timeout=self.panel_timeout,
            options=self.panel_options,
        )
        return {self.panel_name: main, **self.panels}

    @property
    def default_panel_name(self) -> str:
        return self.default_panel or self.panel_name


class SettingsProblem(Exception):
    """Settings are missing or invalid; `str()` is the message printed to the operator, one line per setting."""


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning pydantic's report into one readable message naming each bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            variable = field.upper() or "settings"
            if error["type"] == "missing":
                problem = "is not set"
            elif error["type"] == "enum":
                problem = f"is {error['input']!r}, which is not a known value"
            else:
                problem = error["msg"].removeprefix("Value error, ")
                if len(error["loc"]) > 1:
                    problem = f"{'.'.join(str(p) for p in error['loc'][1:])}: {problem}"
            hint = HINTS.get(field)
            subject = f"{variable} " if field else ""  # a check across settings names its variables itself
            lines.append(f"  {subject}{problem}" + (f" — set it to {hint}" if hint else ""))
        raise SettingsProblem(_report(lines)) from None
    except SettingsError as exc:
        raise SettingsProblem(_report([f"  {_describe_settings_error(exc)}"])) from None


def _describe_settings_error(exc: SettingsError) -> str:
    match = re.search(r'field "(\w+)"', str(exc))
    field = match.group(1) if match else ""
    hint = HINTS.get(field, "valid JSON")
    return f"{field.upper() or 'A setting'} is not valid JSON — set it to {hint}"


def _report(lines: list[str]) -> str:
    return (
        "Panel Desk cannot start: its settings need attention.\n"
        + "\n".join(lines)
        + "\nSettings are read from the environment and from a .env file in the working directory;"
        " .env.example lists and explains every one."
    )
