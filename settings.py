"""Settings from the environment and `.env`; every name here is documented in `.env.example`.

One panel is configured by the flat `PANEL_*` variables hosting staff know from other bots. More named panels can
be added as JSON in `PANELS` (for example CtrlPanel for billing in front of Pterodactyl); `DEFAULT_PANEL` picks
which one commands use when none is named.

A bad setting stops the bot with one line per setting: its name, the value it had (never a secret's), what is
wrong in plain words and what to set instead. A variable that looks like a setting but is none (`ADMIN_ROLE_ID`
for `ADMIN_ROLE_IDS`) would be ignored without a word, so `settings_warnings` names it and the setting meant.
"""

from __future__ import annotations

import difflib
import json
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types
import yarl
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    NoDecode,
    SettingsConfigDict,
    SettingsError,
)

from panel_api import CLIENTS, Capability, PanelKind, client_option_names
from panel_api.pterodactyl_legacy import split_key

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")

# How to make the key the bot needs on each panel kind, said when a key is refused or missing; .env.example
# quotes each one.
KEY_HELP: dict[PanelKind, str] = {
    PanelKind.PTERODACTYL: (
        "create an application API key (ptla_…) as a root admin under Admin → Application API, with Users set to "
        "Read & Write"
    ),
    PanelKind.PELICAN: (
        "create an application API key (papp_…) as a root admin under Admin → Advanced → API Keys, with Read & "
        "Write on users"
    ),
    PanelKind.CTRLPANEL: "create an application API token as an admin under Admin → Application API",
    PanelKind.CONVOY: "create an API key as a root admin under Admin → API Keys (it reads <id>|<40 characters>)",
    PanelKind.CALAGOPUS: (
        "create an API key (c7sp_…, 48 characters) as an admin on the account page under API Keys, with the admin "
        "permissions users.read, users.create, users.update and users.delete"
    ),
    PanelKind.PTERODACTYL_LEGACY: (
        "create an API key as a root admin on the panel's API page, with the user permissions, and give it as "
        "<public key>:<secret key>"
    ),
}

_RATE_LIMIT_DEFAULTS = ", ".join(f"{client.display_name} {client.default_rate_limit}" for client in CLIENTS.values())

# How to fix each setting, shown after its error as "set it to …".
HINTS: dict[str, str] = {
    "discord_token": "the bot token from the Discord developer portal (Bot > Reset Token)",
    "discord_api_base": (
        "a proxy's Discord API address with the version, e.g. https://discord-proxy.internal/api/v10, "
        "or leave it empty to talk to Discord itself"
    ),
    "discord_gateway_url": (
        "a proxy's gateway address, e.g. wss://discord-proxy.internal/gateway, or leave it empty to use Discord's"
    ),
    "guild_ids": (
        "a JSON list of Discord server ids (Developer Mode on, right-click the server > Copy Server ID), "
        "e.g. [123456789012345678], or [] for global commands"
    ),
    "admin_role_ids": (
        "a JSON list of Discord role ids (Developer Mode on, right-click the role > Copy Role ID), "
        "e.g. [123456789012345678]"
    ),
    "staff_role_ids": (
        "a JSON list of Discord role ids (Developer Mode on, right-click the role > Copy Role ID), "
        "e.g. [123456789012345678]"
    ),
    "audit_channel_id": "the id of a text channel the bot can post in, or leave it empty",
    "audit_channel_shows_emails": "true or false (false: audit posts name accounts by username and id only)",
    "database_path": "a file path for the SQLite database, e.g. data/panel-desk.sqlite3",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "log_format": "text or json",
    "http_host": (
        "the address the health and metrics server listens on, e.g. 127.0.0.1 (the default, this machine only) or "
        "0.0.0.0 (every interface, e.g. inside a container)"
    ),
    "http_port": "a free TCP port such as 8080 for /healthz, /readyz and /metrics, or leave it empty for none",
    "link_requests_channel_id": "the id of a staff-only text channel, or leave it empty",
    "link_cooldown_hours": "the hours between an unlink and the next link, e.g. 24 (the default), or 0 for none",
    "min_account_age_days": "the youngest Discord account age allowed to link, in days, e.g. 7, or 0 for any",
    "link_attempts": "how many failed proofs a member may make within the window, e.g. 5 (the default)",
    "link_attempt_window_minutes": "the minutes over which failed proofs are counted, e.g. 10 (the default)",
    "linked_role_id": "the id of a role below the bot's own highest role, or leave it empty",
    "role_rules": (
        'a JSON list of rules such as [{"role_id": 123456789012345678, "when": "has_servers"}], or leave it empty'
    ),
    "link_writes_external_id": "true or false",
    "on_member_leave": "keep or unlink",
    "suspension_notice_reason": "true or false",
    "credit_watch_interval_seconds": "the seconds between two sweeps of the credit watcher, e.g. 300 (the default)",
    "credit_notice_names_staff": "true or false",
    "notice_fallback_channel_id": "the id of a text channel members can read, or leave it empty",
    "topup_announce_channel_id": "the id of a staff text channel, or leave it empty",
    "low_credit_threshold": "a number of credits such as 10, or leave it empty for no low-credit warnings",
    "credit_warning_days": (
        "a number of days such as 3 (the default), or leave it empty for no warnings before credits run out"
    ),
    "max_credit_change": "the most credits one command may add or remove, e.g. 100000 (the default)",
    "bot_language": "one of en, de, pt-BR, es, fr, pl, ru, or leave it empty for the server's preferred locale",
    "smtp_host": "the mail server's host name, e.g. smtp.example.com, or leave it empty for no codes by email",
    "smtp_port": "the mail server's port, e.g. 587, or leave it empty for the usual one of SMTP_SECURITY",
    "smtp_username": "the mail server login's user name, or leave it and SMTP_PASSWORD empty for no login",
    "smtp_password": "the mail server login's password, or leave it and SMTP_USERNAME empty for no login",
    "smtp_from": 'the sender of the codes, e.g. "Example Hosting <noreply@example.com>"',
    "smtp_security": "starttls (port 587), tls (port 465) or none",
    "password_reset_without_email": "true or false (false: a password change needs a code sent to the account's email)",
    "registration": "off, open or roles",
    "registration_role_ids": (
        "a JSON list of Discord role ids that may use /register with REGISTRATION=roles, e.g. [123456789012345678]"
    ),
    "registrations_per_day": "the most accounts /register creates a day, e.g. 20 (the default)",
    "max_server_limit_change": "the most server slots one command may add or remove, e.g. 100 (the default)",
    "panel_name": "a short lowercase name such as main (letters, digits, - and _)",
    "panel_kind": "one of: " + ", ".join(k.value for k in PanelKind),
    "panel_url": "the panel's base address, e.g. https://panel.example.com (no /api at the end)",
    "panel_api_key": (
        "an application API key created by a root admin on the panel (pterodactyl-legacy: <public key>:<secret key>)"
    ),
    "panel_rate_limit": (
        "the requests a minute the bot may make, or leave it empty for the panel kind's default "
        f"({_RATE_LIMIT_DEFAULTS})"
    ),
    "panel_timeout": "the seconds to wait for one answer of the panel, e.g. 15 (the default)",
    "panel_options": 'a JSON object such as {"version": "1.1"} (CtrlPanel), or {}',
    "panels": 'a JSON object of extra panels, e.g. {"billing": {"kind": "ctrlpanel", "url": "...", "api_key": "..."}}',
    "default_panel": "the name of a configured panel (PANEL_NAME or a key of PANELS)",
}

# What the number settings count, so that an error can say "a number of seconds" rather than "a number".
UNITS: dict[str, str] = {
    "link_cooldown_hours": "hours",
    "min_account_age_days": "days",
    "link_attempts": "failed proofs",
    "link_attempt_window_minutes": "minutes",
    "credit_watch_interval_seconds": "seconds",
    "low_credit_threshold": "credits",
    "credit_warning_days": "days",
    "registrations_per_day": "accounts",
    "max_credit_change": "credits",
    "max_server_limit_change": "server slots",
    "panel_rate_limit": "requests a minute",
    "panel_timeout": "seconds",
}

# Never shown in a message, whatever is wrong with them.
_SECRETS = frozenset({"discord_token", "panel_api_key", "api_key", "smtp_password"})
_MAIL_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")

# A panel of PANELS takes the fields of the flat PANEL_* settings; their hints and units are shared.
_PANEL_FIELD_SETTINGS = {
    "kind": "panel_kind",
    "url": "panel_url",
    "api_key": "panel_api_key",
    "rate_limit": "panel_rate_limit",
    "timeout": "panel_timeout",
    "options": "panel_options",
}


# --- API keys ------------------------------------------------------------------------------------------------

# The prefixes panels put on the keys they make: which panel kind makes it, and whether it is an application key.
_KEY_PREFIXES: dict[str, tuple[PanelKind, bool]] = {
    "ptla_": (PanelKind.PTERODACTYL, True),
    "ptlc_": (PanelKind.PTERODACTYL, False),
    "papp_": (PanelKind.PELICAN, True),
    "pacc_": (PanelKind.PELICAN, False),
    "c7sp_": (PanelKind.CALAGOPUS, True),
}
# A panel upgraded from Pterodactyl to Pelican keeps the keys made before, and they still work there.
_KEYS_ALSO_MADE_BY = {PanelKind.PELICAN: PanelKind.PTERODACTYL}
_CONVOY_TOKEN = re.compile(r"\d+\|")  # a Sanctum token: <token id>|<40 characters>
_LEGACY_PAIR = re.compile(r"[A-Za-z0-9]+:")  # <public key>:<secret key>
_CALAGOPUS_KEY = re.compile(r"c7sp_[A-Za-z0-9]{43}")

_REFUSED = "refused"  # the type of errors whose context says how to fix them


def _refusal(problem: str, fix: str) -> PydanticCustomError:
    return PydanticCustomError(_REFUSED, "{problem}", {"problem": problem, "fix": fix})


def _key_maker(key: str) -> tuple[PanelKind, bool, str] | None:
    """Which panel kind made `key`, whether it is an application key, and what shows it; None when the key does
    not tell (CtrlPanel's keys, Pterodactyl's from before 1.0)."""
    prefix = key[:5]
    if prefix in _KEY_PREFIXES:
        kind, application = _KEY_PREFIXES[prefix]
        return kind, application, f"it starts with {prefix}"
    if _CONVOY_TOKEN.match(key):
        return PanelKind.CONVOY, True, "it reads <id>|<secret>"
    if _LEGACY_PAIR.match(key):
        return PanelKind.PTERODACTYL_LEGACY, True, "it reads <public key>:<secret key>"
    return None


def check_api_key(kind: PanelKind, key: str, *, in_panels: bool = False) -> None:
    """Refuse a key that cannot be the one `kind` needs, saying which key to make and where.

    Only what a key shows is judged (a panel's prefix, Convoy's `<id>|…`, the 0.5 pair), so keys that show nothing
    (CtrlPanel's, Pterodactyl's from before prefixes) pass. A root admin's client key (`ptlc_`, `pacc_`) is refused
    although the panel would take it: it carries every right of that account on both APIs, where an application key
    can be limited to users, which is all the bot needs and what the panels' documentation calls for.
    """
    name = CLIENTS[kind].display_name
    made = _key_maker(key)
    if made is not None:
        maker, application, sign = made
        if maker in (kind, _KEYS_ALSO_MADE_BY.get(kind)):
            if not application:
                raise _refusal(
                    f"is a client API key ({sign}), but the bot needs an application API key: a root admin's client "
                    "key would work, yet it carries every right of that account, not just users",
                    KEY_HELP[kind],
                )
        else:
            maker_name = CLIENTS[maker].display_name
            kind_setting = f'its "kind" to "{maker.value}"' if in_panels else f"PANEL_KIND={maker.value}"
            raise _refusal(
                f"is a {maker_name} key ({sign}), not a {name} one",
                f"if the panel is {maker_name}, set {kind_setting}; otherwise {KEY_HELP[kind]}",
            )
    if kind is PanelKind.CALAGOPUS and not _CALAGOPUS_KEY.fullmatch(key):
        raise _refusal(
            "is not a whole Calagopus API key (c7sp_ and 43 letters or digits, 48 characters; this one has "
            f"{len(key)})",
            f"copy the key again as the panel showed it, or {KEY_HELP[kind]}",
        )
    if kind is PanelKind.PTERODACTYL_LEGACY:
        try:
            split_key(key)
        except ValueError as exc:
            message = str(exc).replace("PANEL_API_KEY", '"api_key"') if in_panels else str(exc)
            raise _refusal("is not a Pterodactyl 0.5 key pair", message) from None


# Options of the bot's own about a panel, beside the client's: the secret that signs its webhooks (POST /webhooks/…).
BOT_PANEL_OPTIONS = frozenset({"webhook_secret"})


def client_options(options: dict[str, Any]) -> dict[str, Any]:
    """A panel's options without the bot's own: what its client is built with."""
    return {name: value for name, value in options.items() if name not in BOT_PANEL_OPTIONS}


def check_options(kind: PanelKind, options: dict[str, Any]) -> None:
    secret = options.get("webhook_secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) < 16):
        raise ValueError("has a webhook_secret shorter than 16 characters; make a long random one")
    known = client_option_names(kind) | BOT_PANEL_OPTIONS
    unknown = sorted(set(options) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise ValueError(f"has {', '.join(unknown)}, which a {kind.value} panel does not take (it takes: {allowed})")


# --- values --------------------------------------------------------------------------------------------------


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


def _http_host(value: str) -> str:
    """A bare host name or IP address: "http://…" or "host:port" would only fail when the server binds, after the
    bot is already logged in, with an error that names neither the setting nor the fix."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if "/" in value or any(c.isspace() for c in value) or (value.count(":") == 1):
        raise ValueError("must be a bare host name or IP address, without http:// or a port (the port is HTTP_PORT)")
    return value


def _non_empty_secret(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().strip():
        raise ValueError("must not be empty")
    return SecretStr(value.get_secret_value().strip())


def _panel_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError("must be at most 32 lowercase letters, digits, - or _, starting with a letter or digit")
    return value


def _key_fits(kind_field: str, *, in_panels: bool) -> Callable[[SecretStr, ValidationInfo], SecretStr]:
    """A validator checking an API key against the panel kind in `kind_field` (when that one was valid)."""

    def validate(key: SecretStr, info: ValidationInfo) -> SecretStr:
        if kind_field in info.data:
            check_api_key(info.data[kind_field], key.get_secret_value(), in_panels=in_panels)
        return key

    return validate


def _options_fit(kind_field: str) -> Callable[[dict[str, Any], ValidationInfo], dict[str, Any]]:
    """A validator checking panel options against the panel kind in `kind_field` (when that one was valid)."""

    def validate(options: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if kind_field in info.data:
            check_options(info.data[kind_field], options)
        return options

    return validate


class RoleCondition(StrEnum):
    """What a role rule asks of a member's linked account (README, "Roles that follow the panel")."""

    LINKED = "linked"
    HAS_SERVERS = "has_servers"
    SUSPENDED = "suspended"
    NOT_SUSPENDED = "not_suspended"
    CREDITS_AT_LEAST = "credits_at_least"
    PANEL_ROLE = "panel_role"


# What each condition needs of a panel, and how its `value` reads.
RULE_NEEDS: dict[RoleCondition, Capability | None] = {
    RoleCondition.LINKED: None,
    RoleCondition.HAS_SERVERS: Capability.SERVERS_COUNT,
    RoleCondition.SUSPENDED: Capability.SUSPENSION,
    RoleCondition.NOT_SUSPENDED: Capability.SUSPENSION,
    RoleCondition.CREDITS_AT_LEAST: Capability.CREDITS,
    RoleCondition.PANEL_ROLE: None,  # "admin" is every panel's admin flag; other values need Capability.ROLES
}
ADMIN_FLAG = "admin"


_CONDITION_LACKS = {
    Capability.SERVERS_COUNT: "a panel that counts servers",
    Capability.SUSPENSION: "a panel with suspension",
    Capability.CREDITS: "a panel with credits",
}


class RoleRule(BaseModel):
    """One entry of ROLE_RULES: the member has `role_id` while `when` holds for a linked account (on `panel`, or
    on any panel when it is None). `value` is normalised by `when`: has_servers an int (default 1),
    credits_at_least a Decimal, panel_role a str; None for the others."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role_id: int = Field(gt=0)
    when: RoleCondition
    value: int | Decimal | str | None = None
    panel: str | None = None

    @model_validator(mode="after")
    def _normalise_value(self) -> RoleRule:
        value, when = self.value, self.when
        if when is RoleCondition.HAS_SERVERS:
            if value is None:
                return self._with_value(1)
            if isinstance(value, Decimal) and value == value.to_integral_value():
                value = int(value)
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if not isinstance(value, int) or value < 1:
                raise _refusal(
                    f"has_servers counts servers, and {value!r} is not a whole number of at least 1",
                    'give "value" a whole number such as 1 (or leave it out for 1)',
                )
            return self._with_value(value)
        if when is RoleCondition.CREDITS_AT_LEAST:
            try:
                amount = Decimal(str(value)) if value is not None and not isinstance(value, bool) else None
            except ArithmeticError:
                amount = None
            if amount is None or not amount.is_finite() or amount < 0:
                raise _refusal(
                    "credits_at_least needs the credits to hold, at least 0"
                    + ("" if value is None else f", and {value!r} is not that"),
                    'give "value" the credits, such as 100',
                )
            return self._with_value(amount)
        if when is RoleCondition.PANEL_ROLE:
            text = str(value).strip() if value is not None else ""
            if not text:
                raise _refusal(
                    "panel_role needs the panel role it asks for",
                    'give "value" a CtrlPanel role name or id, or "admin" for the panel\'s admin flag',
                )
            return self._with_value(text)
        if value is not None:
            raise _refusal(f"{when.value} takes no value", 'leave "value" out of this rule')
        return self

    def _with_value(self, value: int | Decimal | str) -> RoleRule:
        # In place: pydantic ignores another instance returned from an "after" validator when the model is built
        # directly (RoleRule(...)), and the rule is frozen to everything after validation.
        object.__setattr__(self, "value", value)
        return self

    def describe(self) -> str:
        """The rule in words, for /roles show and the logs: "has_servers 1 on main"."""
        words = self.when.value if self.value is None else f"{self.when.value} {self.value}"
        return f"{words} on {self.panel}" if self.panel else words


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
    # Keys of the JSON object that are none of the above (a typo such as "rate_limt"), for `settings_warnings`.
    _unknown_keys: list[str] = PrivateAttr(default_factory=list)

    _url = field_validator("url")(_panel_url)
    _key = field_validator("api_key")(_non_empty_secret)

    _key_fits_kind = field_validator("api_key")(_key_fits("kind", in_panels=True))
    _options_fit_kind = field_validator("options")(_options_fit("kind"))

    @model_validator(mode="wrap")
    @classmethod
    def _note_unknown_keys(cls, data: Any, handler: ModelWrapValidatorHandler[PanelSettings]) -> PanelSettings:
        panel = handler(data)
        if isinstance(data, dict):
            panel._unknown_keys = sorted(str(key) for key in set(data) - set(cls.model_fields))
        return panel

    @property
    def unknown_keys(self) -> list[str]:
        return list(self._unknown_keys)


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
    # text: one readable line a record (coloured only on a terminal); json: one JSON object a line, for Loki/ELK.
    log_format: Literal["text", "json"] = "text"
    # The bot's small web server (/healthz, /readyz, /metrics; later the panels' webhooks). Loopback by default:
    # /metrics names panels and counts, which are nobody's business outside the host. Empty port: no server; 0: a
    # free port the system picks, logged at start (what the tests use, so that parallel runs never collide).
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, ge=0, le=65535)

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
    # Roles the bot gives while a condition holds for a member's linked account, and takes back when it stops holding;
    # a JSON list of {"role_id": …, "when": …, "value": …, "panel": …} (README, "Roles that follow the panel").
    role_rules: Annotated[list[RoleRule], NoDecode] = []
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
    # Tell a member the reason staff gave when suspending their account through the bot; false: the reason stays
    # in the audit log and the staff channel.
    suspension_notice_reason: bool = False
    # Warn a linked member once when their balance falls below this; empty: no warnings.
    low_credit_threshold: float | None = Field(default=None, ge=0)
    # Warn a linked member once when their balance covers fewer than this many days at their steady rate of
    # spending (learned by the watcher from its readings); empty: no such warnings.
    credit_warning_days: float | None = Field(default=3.0, gt=0, le=365)
    # The most credits or server slots one command may add or remove, against typos such as an extra zero.
    max_credit_change: float = Field(default=100_000.0, gt=0)
    max_server_limit_change: int = Field(default=100, gt=0)

    # The language of posts in staff channels (audit, link requests, announcements): en, de, pt-BR, es, fr, pl or
    # ru; empty: the server's preferred locale (Server Settings > Community > Server Primary Language).
    bot_language: str | None = None

    # --- mail: a code by email proves an account's owner (linking, password changes, sign-up) ---
    # The mail server the bot sends codes through; empty: no codes by email (and no sign-up).
    smtp_host: str | None = None
    # Empty: 587 for starttls, 465 for tls, 25 for none.
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # The sender, e.g. "Example Hosting <noreply@example.com>".
    smtp_from: str | None = None
    # starttls: plain connection upgraded to TLS (port 587); tls: TLS from the start (465); none: no encryption
    # (only for a relay on the same machine or network).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    # Let a linked member change their panel password without a code sent to the account's email first. Off: a
    # stolen Discord account cannot take over the panel account.
    password_reset_without_email: bool = False
    # Sign-up from Discord (/register): off, open (every member), roles (members holding REGISTRATION_ROLE_IDS).
    registration: Literal["off", "open", "roles"] = "off"
    registration_role_ids: IdList = []
    # The most accounts /register creates in one day (UTC) for the whole server.
    registrations_per_day: int = Field(default=20, ge=1)

    # The fields below are checked in this order, each against those before it (the key against the kind,
    # DEFAULT_PANEL against the panels), so that every error names the one variable to change.
    panel_name: str = "main"
    panel_kind: PanelKind
    panel_url: str
    panel_api_key: SecretStr
    # Requests per minute; empty: the panel kind's default (each client's `default_rate_limit`).
    panel_rate_limit: int | None = Field(default=None, ge=1)
    panel_timeout: float = Field(default=15.0, gt=0, le=120)
    # Options of this panel kind, as JSON: CtrlPanel {"version": "1.1", "default_role_id": 4}; Calagopus
    # {"default_language": "en"}. Most panels need none.
    panel_options: dict[str, Any] = {}
    panels: dict[str, PanelSettings] = {}
    default_panel: str | None = None

    _split_ids = field_validator(
        "guild_ids", "admin_role_ids", "staff_role_ids", "registration_role_ids", mode="before"
    )(_id_list)

    @field_validator("bot_language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is None:
            return None
        known = {"en": "en", "de": "de", "pt-br": "pt-BR", "pt_br": "pt-BR", "es": "es-ES", "fr": "fr", "pl": "pl"}
        known["ru"] = "ru"
        found = known.get(value.strip().lower())
        if found is None:
            raise _refusal(
                "is not a language the bot speaks", "one of en, de, pt-BR, es, fr, pl, ru, or leave it empty"
            )
        return found

    @field_validator("smtp_from")
    @classmethod
    def _sender(cls, value: str | None) -> str | None:
        if value is not None and not _MAIL_ADDRESS.search(value):
            raise _refusal("is not a mail address", 'an address such as "Example Hosting <noreply@example.com>"')
        return value

    @model_validator(mode="after")
    def _mail_fits(self) -> Settings:
        """The mail settings that only work together, said at start rather than at the first code."""
        if self.smtp_host is not None and self.smtp_from is None:
            raise ValueError("SMTP_FROM: is missing — set the sender of the codes, e.g. noreply@example.com")
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("SMTP_USERNAME and SMTP_PASSWORD: give both (a login) or neither (no login)")
        if self.registration != "off" and self.smtp_host is None:
            raise ValueError("REGISTRATION: sign-up proves the email with a code — set SMTP_HOST, or REGISTRATION=off")
        if self.registration == "roles" and not self.registration_role_ids:
            raise ValueError(
                "REGISTRATION_ROLE_IDS: is empty while REGISTRATION=roles — give the roles that may sign up, or use "
                "REGISTRATION=open"
            )
        return self

    @property
    def mail_enabled(self) -> bool:
        return self.smtp_host is not None

    @property
    def smtp_port_or_default(self) -> int:
        return self.smtp_port or {"starttls": 587, "tls": 465, "none": 25}[self.smtp_security]

    @field_validator("role_rules", mode="before")
    @classmethod
    def _rules_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return []
            try:
                return json.loads(text)
            except ValueError:
                raise ValueError("is not a valid JSON list") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("log_format", mode="before")
    @classmethod
    def _format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    _secrets = field_validator("discord_token", "panel_api_key")(_non_empty_secret)
    _url = field_validator("panel_url")(_panel_url)
    _api_base = field_validator("discord_api_base")(_discord_api_base)
    _gateway = field_validator("discord_gateway_url")(_discord_gateway_url)
    _name = field_validator("panel_name")(_panel_name)
    _http_host = field_validator("http_host")(_http_host)

    _key_fits_kind = field_validator("panel_api_key")(_key_fits("panel_kind", in_panels=False))
    _options_fit_kind = field_validator("panel_options")(_options_fit("panel_kind"))

    @field_validator("panels")
    @classmethod
    def _panel_names(cls, panels: dict[str, PanelSettings], info: ValidationInfo) -> dict[str, PanelSettings]:
        for name in panels:
            if not _NAME.match(name):
                raise _refusal(
                    f"has a panel called {name!r}, and panel names are at most 32 lowercase letters, digits, - or _, "
                    "starting with a letter or digit",
                    "rename that panel in PANELS",
                )
        if info.data.get("panel_name") in panels:
            raise _refusal(
                f"has a panel called {info.data['panel_name']!r}, the name of the PANEL_* panel (PANEL_NAME)",
                "rename that panel in PANELS, or change PANEL_NAME",
            )
        return panels

    @field_validator("default_panel")
    @classmethod
    def _default_is_configured(cls, name: str | None, info: ValidationInfo) -> str | None:
        if name is not None and "panel_name" in info.data and "panels" in info.data:
            configured = [info.data["panel_name"], *info.data["panels"]]
            if name not in configured:
                raise ValueError(f"is not a configured panel (configured: {', '.join(configured)})")
        return name

    @model_validator(mode="after")
    def _rules_fit_panels(self) -> Settings:
        """Each rule asks what a configured panel can tell: a rule that could never hold is a typo, said at start."""
        kinds = {name: panel.kind for name, panel in self.all_panels().items()}
        for number, rule in enumerate(self.role_rules, start=1):
            where = f"ROLE_RULES, rule {number} (role {rule.role_id})"
            if rule.panel is not None and rule.panel not in kinds:
                raise ValueError(
                    f'{where}: {rule.panel!r} is not a configured panel — set its "panel" to one of '
                    f"{', '.join(kinds)}, or leave it out for any panel"
                )
            needed = RULE_NEEDS[rule.when]
            if rule.when is RoleCondition.PANEL_ROLE and str(rule.value).lower() != ADMIN_FLAG:
                needed = Capability.ROLES
            if needed is None:
                continue
            names = [rule.panel] if rule.panel is not None else list(kinds)
            capable = [name for name in names if needed in CLIENTS[kinds[name]].capabilities]
            if capable:
                continue
            have = _and([f"{name!r} ({CLIENTS[kinds[name]].display_name})" for name in names])
            if needed is Capability.ROLES:
                raise ValueError(
                    f"{where}: panel_role {rule.value!r} asks for a CtrlPanel role, and {have} has no roles — "
                    'use "admin" for the panel\'s admin flag, or remove the rule'
                )
            fix = "remove the rule, or scope it to a panel that has them" if rule.panel else "remove the rule"
            raise ValueError(
                f"{where}: {rule.when.value} needs {_CONDITION_LACKS[needed]}, and {have} has none — {fix}"
            )
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

    def managed_role_rules(self) -> list[RoleRule]:
        """ROLE_RULES, with LINKED_ROLE_ID as the rule it is: that role while the member has a link on any panel."""
        rules = list(self.role_rules)
        if self.linked_role_id is not None:
            linked = RoleRule(role_id=self.linked_role_id, when=RoleCondition.LINKED)
            if linked not in rules:
                rules.append(linked)
        return rules

    @property
    def default_panel_name(self) -> str:
        return self.default_panel or self.panel_name


# --- loading and reporting -----------------------------------------------------------------------------------


class SettingsProblem(Exception):
    """Settings are missing or invalid; `str()` is the message printed to the operator, one line per setting."""


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning pydantic's report into one readable message naming each bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = _error_lines(exc.errors(), _given_values(overrides))
    except SettingsError as exc:
        lines = [_describe_settings_error(exc, _given_values(overrides))]
    # A misspelt name is often why a setting is "not set": say so beside it.
    lines += [f"  Note: {warning}" for warning in _unknown_variable_warnings()]
    raise SettingsProblem(_report(lines))


class DatabaseLocation(BaseSettings):
    """Only DATABASE_PATH, read from the same places as `Settings`: `--backup` needs nothing else, so a backup
    works on a host whose other settings are unfinished or belong to a newer version."""

    model_config = Settings.model_config

    database_path: Path = Settings.model_fields["database_path"].default


def database_path_setting() -> Path:
    """DATABASE_PATH as `Settings` would read it; a value pydantic refuses is a `SettingsProblem` like any other."""
    try:
        return DatabaseLocation().database_path
    except ValidationError as exc:
        raise SettingsProblem(_report(_error_lines(exc.errors(), {}))) from None


def settings_warnings(settings: Settings) -> list[str]:
    """What is wrong with settings that loaded: names that look like settings but are none, so they are ignored.

    Start-up logs each as a warning and `--check` prints them; the bot runs either way.
    """
    warnings = _unknown_variable_warnings()
    for name, panel in settings.panels.items():
        for key in panel.unknown_keys:
            warnings.append(
                f"PANELS, panel {name!r}: {key!r} is not a panel setting, so it is ignored; " + _suggest_panel_key(key)
            )
    return warnings


def _report(lines: list[str]) -> str:
    return (
        "Panel Desk cannot start: its settings need attention.\n"
        + "\n".join(lines)
        + "\nSettings are read from the environment and from a .env file in the working directory;"
        " .env.example lists and explains every one."
    )


def _read_variables() -> dict[str, tuple[str | None, str]]:
    """Every variable pydantic-settings reads for us, by lowercase name, with where it was found; the environment
    wins over .env, as it does for the settings themselves. Empty values are left out, as the settings do."""
    found = {name: (value, ".env") for name, value in DotEnvSettingsSource(Settings).env_vars.items()}
    found |= {name: (value, "the environment") for name, value in EnvSettingsSource(Settings).env_vars.items()}
    return found


def _given_values(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The value each setting had, as written, to show beside its error."""
    values: dict[str, Any] = {name: value for name, (value, _) in _read_variables().items()}
    values |= {name.lower(): value for name, value in overrides.items()}
    return values


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > 80:
        text = text[:79] + "…"
    return repr(text) if isinstance(value, str) else text


def _error_lines(errors: Sequence[ErrorDetails], given: Mapping[str, Any]) -> list[str]:
    """One line per setting (per field of a panel in PANELS), however many errors pydantic gave for it."""
    groups: dict[tuple[str | int, ...], list[ErrorDetails]] = {}
    for error in errors:
        loc = error["loc"]
        depth = 3 if loc[:1] == ("panels",) else 2 if loc[:1] == ("role_rules",) else 1
        groups.setdefault(loc[:depth], []).append(error)
    return [_describe(loc, group, given) for loc, group in groups.items()]


def _describe(loc: tuple[str | int, ...], errors: list[ErrorDetails], given: Mapping[str, Any]) -> str:
    error = errors[0]
    if not loc:  # a model validator's check across settings, whose message names its variables itself
        return f"  {error['msg'].removeprefix('Value error, ')}"
    field = str(loc[0])
    if field == "panels" and len(loc) > 1:
        return _describe_panel_entry(loc, errors)
    if field == "role_rules" and len(loc) > 1:
        return _describe_rule_entry(loc, errors)
    variable = field.upper()
    if error["type"] == "missing":
        if field == "panel_api_key" and (help_text := _key_help(given.get("panel_kind"))):
            return f"  {variable} is not set — {help_text}, and set it to that key"
        return f"  {variable} is not set — set it to {HINTS[field]}"
    value = given.get(field, error["input"] if len(error["loc"]) == 1 else None)
    shown = field not in _SECRETS and field != "panels" and value is not None  # PANELS holds api keys
    subject = f"{variable} is {_shown(value)}: it" if shown else variable
    problem = _problem(field, Settings.model_fields[field], errors)
    return f"  {subject} {problem} — {_fix(error, f'set it to {HINTS[field]}')}"


def _describe_panel_entry(loc: tuple[str | int, ...], errors: list[ErrorDetails]) -> str:
    """An error inside PANELS, named by the panel and the field the operator has to change there."""
    error = errors[0]
    where = f"PANELS, panel {loc[1]!r}:"
    if len(loc) == 2:
        if error["type"] == _REFUSED or error["type"] == "value_error":
            return f"  {where} {error['msg'].removeprefix('Value error, ')} — {_fix(error, 'correct it')}"
        return (
            f"  {where} it must be a JSON object — set it to one with kind, url and api_key (and, if wanted, "
            "rate_limit, timeout and options)"
        )
    field = str(loc[2])
    hint = HINTS[_PANEL_FIELD_SETTINGS[field]].replace("leave it empty", "leave it out")
    if error["type"] == "missing":
        # Pydantic reports a missing field at the field's own location; the misspelt key that often explains it
        # is only in the panel's object, which a "missing" error carries as its input.
        present = error["input"] if isinstance(error["input"], dict) else {}
        unknown = [repr(key) for key in present if key not in PanelSettings.model_fields]
        verb = "is not a panel setting" if len(unknown) == 1 else "are not panel settings"
        note = f" ({_and(unknown)} {verb})" if unknown else ""
        if field == "api_key" and (help_text := _key_help(present.get("kind"))):
            return f'  {where} "{field}" is not set{note} — {help_text}, and add it as "{field}"'
        return f'  {where} "{field}" is not set{note} — add "{field}": {hint}'
    subject = f"its {field}" if field in _SECRETS else f"{field} is {_shown(error['input'])}: it"
    problem = _problem(_PANEL_FIELD_SETTINGS[field], PanelSettings.model_fields[field], errors)
    return f"  {where} {subject} {problem} — {_fix(error, f'set its {field} to {hint}')}"


def _describe_rule_entry(loc: tuple[str | int, ...], errors: list[ErrorDetails]) -> str:
    """An error inside ROLE_RULES, named by the rule's place in the list (and its role, when it has one)."""
    error = errors[0]
    entry = error["input"] if len(error["loc"]) == 2 else None
    number = int(loc[1]) + 1
    role = entry.get("role_id") if isinstance(entry, dict) else None
    where = f"ROLE_RULES, rule {number}" + (f" (role {role})" if role is not None else "")
    example = '{"role_id": 123456789012345678, "when": "linked"}'
    if error["type"] == _REFUSED:
        return f"  {where}: {error['msg']} — {_fix(error, 'correct it')}"
    if len(error["loc"]) == 2:
        return f"  {where}: it must be a JSON object such as {example} — correct it"
    key = str(error["loc"][2])
    if error["type"] == "missing":
        return f'  {where}: "{key}" is not set — add it, as in {example}'
    if error["type"] == "extra_forbidden":
        return f'  {where}: "{key}" is not part of a rule — a rule has role_id, when, value and panel'
    if key == "when":
        conditions = ", ".join(condition.value for condition in RoleCondition)
        return f"  {where}: when is {_shown(error['input'])}, not one of {conditions} — use one of those"
    if key == "role_id":
        return f"  {where}: role_id is {_shown(error['input'])}, not a role id — copy the role's id from Discord"
    return f"  {where}: {key} is {_shown(error['input'])}: {error['msg']} — correct it"


def _key_help(kind: Any) -> str | None:
    """How to make the key for the panel kind given, when it is one."""
    try:
        return KEY_HELP[PanelKind(kind)]
    except ValueError:
        return None


def _fix(error: ErrorDetails, default: str) -> str:
    if error["type"] == _REFUSED:
        return str(error.get("ctx", {})["fix"])
    return default


_NUMBER_ERRORS = frozenset(
    {
        "int_parsing",
        "int_type",
        "int_from_float",
        "float_parsing",
        "float_type",
        "finite_number",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
    }
)


def _problem(setting: str, info: FieldInfo, errors: list[ErrorDetails]) -> str:
    """What is wrong, in words, as a predicate of the setting ("must be …", "is …")."""
    error = errors[0]
    kind = error["type"]
    if kind in (_REFUSED, "value_error"):
        return error["msg"].removeprefix("Value error, ")
    if len(error["loc"]) == 2 and setting.endswith("_ids"):  # items of an id list
        bad = [repr(str(e["input"])) for e in errors]
        noun = _id_noun(setting)
        return f"must be a list of {noun}s, which are numbers, and {_and(bad)} {'is' if len(bad) == 1 else 'are'} not"
    if kind in _NUMBER_ERRORS:
        if setting.endswith("_id"):
            return f"must be {_id_noun(setting)}, which is a number"
        return f"must be {_number(info, UNITS.get(setting))}"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind == "literal_error":
        return f"must be {str(error.get('ctx', {}).get('expected', '')).replace(chr(39), '')}"
    if kind == "enum":
        return "is not a kind of panel Panel Desk knows"
    if kind in ("dict_type", "model_type"):
        return "must be a JSON object"
    if kind == "list_type":
        return "must be a list"
    if kind == "string_type":
        return "must be text, in double quotes"
    return f"is not accepted ({error['msg']})"


def _id_noun(setting: str) -> str:
    for word, noun in (("role", "role id"), ("channel", "channel id"), ("guild", "server id")):
        if word in setting:
            return f"a {noun}" if not setting.endswith("_ids") else noun
    return "an id" if not setting.endswith("_ids") else "id"


def _number(info: FieldInfo, unit: str | None) -> str:
    """E.g. "a number of seconds, more than 0 and at most 120", from the field's type and constraints."""
    whole = int in (info.annotation, *typing.get_args(info.annotation))
    text = ("a whole number" if whole else "a number") + (f" of {unit}" if unit else "")
    limits = number_limits(info)
    return f"{text}, {limits}" if limits else text


def number_limits(info: FieldInfo) -> str:
    """A number field's bounds in words ("at least 10", "more than 0 and at most 120"), or ""."""
    words = []
    for bound in info.metadata:
        if isinstance(bound, annotated_types.Ge):
            words.append(f"at least {bound.ge:g}")
        elif isinstance(bound, annotated_types.Gt):
            words.append(f"more than {bound.gt:g}")
        elif isinstance(bound, annotated_types.Le):
            words.append(f"at most {bound.le:g}")
        elif isinstance(bound, annotated_types.Lt):
            words.append(f"less than {bound.lt:g}")
    return " and ".join(words)


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _describe_settings_error(exc: SettingsError, given: Mapping[str, Any]) -> str:
    """pydantic-settings could not decode a JSON value: it stops there, naming the field in its message."""
    match = re.search(r'field "(\w+)"', str(exc))
    field = match.group(1) if match else ""
    # json's own message says where ("line 1 column 2 (char 1)") and never repeats the text, which may hold keys.
    detail = f" ({exc.__cause__})" if isinstance(exc.__cause__, ValueError) else ""
    if not field:
        return f"  A setting is not valid JSON{detail}"
    shown = field not in _SECRETS and field != "panels" and given.get(field) is not None
    subject = f"{field.upper()} is {_shown(given[field])}: it" if shown else field.upper()
    return f"  {subject} is not valid JSON{detail} — set it to {HINTS.get(field, 'valid JSON')}"


# --- names that look like settings but are none --------------------------------------------------------------

# Variables other software sets that merely share a first word with ours: a twelve-factor app's DATABASE_URL, and
# the <SERVICE>_SERVICE_HOST, <SERVICE>_PORT… variables Kubernetes and Docker links give a container for every
# service (a service called "panel" gives PANEL_PORT).
_OTHER_SOFTWARE = re.compile(
    r"database_url|\w+_(service_host|service_port(_\w+)?|port(_\d+_(tcp|udp|sctp)(_(proto|port|addr))?)?)"
)


def _unknown_variable_warnings() -> list[str]:
    """Variables in .env or the environment that start like a setting (ADMIN_, PANEL_, LINK_…) but are none."""
    known = list(Settings.model_fields)
    prefixes = tuple(sorted({name.split("_", 1)[0] + "_" for name in known}))
    warnings = []
    for name, (_, where) in sorted(_read_variables().items()):
        if name in known or not name.startswith(prefixes) or _OTHER_SOFTWARE.fullmatch(name):
            continue
        warnings.append(
            f"{name.upper()} (in {where}) is not a Panel Desk setting, so it is ignored; "
            + _suggest_setting(name, known)
        )
    return warnings


def _suggest_setting(name: str, known: list[str]) -> str:
    """ "did you mean X?" when one setting is clearly meant, else the settings that share the name's first word.

    Spelling alone is judged, so only a close match is named: PANEL_HOST is nearer to PANELS than to PANEL_URL.
    """
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
    first = name.split("_", 1)[0]
    alike = match or [setting for setting in known if setting.split("_", 1)[0] == first]
    if len(alike) == 1:
        return f"did you mean {alike[0].upper()}?"
    return f"the {first.upper()}_ settings are {_and([setting.upper() for setting in alike])}"


def _suggest_panel_key(key: str) -> str:
    fields = list(PanelSettings.model_fields)
    match = difflib.get_close_matches(key.lower(), fields, n=1, cutoff=0.6)
    if match:
        return f"did you mean {match[0]!r}?"
    return f"a panel takes {_and(fields)}"
