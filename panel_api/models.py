"""Panel-neutral models: the one shape of a user that every cog sees, whatever panel sits behind it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class PanelKind(StrEnum):
    PTERODACTYL = "pterodactyl"
    PELICAN = "pelican"
    CTRLPANEL = "ctrlpanel"
    CONVOY = "convoy"
    CALAGOPUS = "calagopus"
    PTERODACTYL_LEGACY = "pterodactyl-legacy"


class Capability(StrEnum):
    """What a panel can do beyond the user operations every panel has (list, get, create, update, delete)."""

    CREDITS = "credits"
    SERVER_LIMIT = "server_limit"
    SUSPENSION = "suspension"
    EXTERNAL_ID = "external_id"
    ROLES = "roles"
    ACCOUNT_FOR_KEY = "account_for_key"
    NAMES = "names"  # first and last name (Pelican dropped them)
    LANGUAGE = "language"
    PASSWORD = "password"
    DISCORD_ACCOUNT = "discord_account"  # the panel itself records a user's Discord id (CtrlPanel)
    SERVERS_COUNT = "servers_count"


class PanelUser(BaseModel):
    """A panel account as the bot shows it.

    `id` is a string because Calagopus uses UUIDs; numeric ids are kept as their decimal text. Fields a panel
    does not have are None, and `raw` keeps the panel's own attributes for anything this model does not name.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    uuid: str | None = None
    username: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    admin: bool = False
    language: str | None = None
    two_factor: bool | None = None
    external_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    credits: float | None = None
    server_limit: int | None = None
    role: str | None = None
    suspended: bool | None = None
    servers_count: int | None = None
    discord_id: int | None = None
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @field_validator("id", "external_id", mode="before")
    @classmethod
    def _text_id(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def full_name(self) -> str | None:
        names = [n for n in (self.first_name, self.last_name) if n]
        return " ".join(names) or None


class UserPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: list[PanelUser]
    page: int
    per_page: int
    total: int
    total_pages: int

    @property
    def has_next(self) -> bool:
        return self.page < self.total_pages


class NewUser(BaseModel):
    """What staff give to create an account. A panel that lacks a field (Pelican's names) ignores it."""

    email: str
    username: str
    first_name: str | None = None
    last_name: str | None = None
    password: str | None = Field(default=None, repr=False)
    admin: bool = False
    language: str | None = None
    external_id: str | None = None


class UserChanges(BaseModel):
    """A partial edit: only the fields explicitly set are changed (`model_fields_set`), so `None` can mean "clear".

    `external_id=None` given explicitly clears the external id; leaving it out leaves it alone.
    """

    email: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    password: str | None = Field(default=None, repr=False)
    admin: bool | None = None
    language: str | None = None
    external_id: str | None = None

    def changed(self) -> dict[str, Any]:
        """The fields the caller set, password included (callers that log or audit must drop it)."""
        return {name: getattr(self, name) for name in self.model_fields_set}

    def is_empty(self) -> bool:
        return not self.model_fields_set
