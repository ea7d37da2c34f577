"""Discord's error responses, shaped as Discord shapes them.

Handlers raise :class:`DiscordAPIError`; the server turns it into the JSON body discord.py parses into
``HTTPException.code`` / ``.text``. ``Invalid Form Body`` (50035) nests its reasons under the path of the
offending field, with list indices as string keys: ``{"embeds": {"0": {"title": {"_errors": [...]}}}}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class DiscordAPIError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def unauthorized() -> DiscordAPIError:
    return DiscordAPIError(401, 0, "401: Unauthorized")


def unknown_channel() -> DiscordAPIError:
    return DiscordAPIError(404, 10003, "Unknown Channel")


def unknown_guild() -> DiscordAPIError:
    return DiscordAPIError(404, 10004, "Unknown Guild")


def unknown_member() -> DiscordAPIError:
    return DiscordAPIError(404, 10007, "Unknown Member")


def unknown_message() -> DiscordAPIError:
    return DiscordAPIError(404, 10008, "Unknown Message")


def unknown_role() -> DiscordAPIError:
    return DiscordAPIError(404, 10011, "Unknown Role")


def unknown_user() -> DiscordAPIError:
    return DiscordAPIError(404, 10013, "Unknown User")


def unknown_webhook() -> DiscordAPIError:
    return DiscordAPIError(404, 10015, "Unknown Webhook")


def unknown_interaction() -> DiscordAPIError:
    return DiscordAPIError(404, 10062, "Unknown interaction")


def unknown_command() -> DiscordAPIError:
    return DiscordAPIError(404, 10063, "Unknown application command")


def already_acknowledged() -> DiscordAPIError:
    return DiscordAPIError(400, 40060, "Interaction has already been acknowledged.")


def missing_access() -> DiscordAPIError:
    return DiscordAPIError(403, 50001, "Missing Access")


def cannot_edit_others_message() -> DiscordAPIError:
    return DiscordAPIError(403, 50005, "Cannot edit a message authored by another user")


def empty_message() -> DiscordAPIError:
    return DiscordAPIError(400, 50006, "Cannot send an empty message")


def cannot_message_user() -> DiscordAPIError:
    return DiscordAPIError(403, 50007, "Cannot send messages to this user")


def missing_permissions() -> DiscordAPIError:
    return DiscordAPIError(403, 50013, "Missing Permissions")


def entity_too_large() -> DiscordAPIError:
    return DiscordAPIError(413, 40005, "Request entity too large")


Path = Sequence[str | int]


class FormErrors:
    """Collects every invalid field of one request, then fails with one 50035 as Discord does."""

    def __init__(self) -> None:
        self._tree: dict[str, Any] = {}

    def __bool__(self) -> bool:
        return bool(self._tree)

    @property
    def tree(self) -> dict[str, Any]:
        """The ``errors`` object of the eventual 50035 response."""
        return self._tree

    def add(self, path: Path, code: str, message: str) -> None:
        node = self._tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: Path, limit: int) -> None:
        self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def bad_length(self, path: Path, low: int, high: int) -> None:
        self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def required(self, path: Path) -> None:
        self.add(path, "BASE_TYPE_REQUIRED", "This field is required")

    def check_length(self, path: Path, value: Any, low: int, high: int, *, required: bool = True) -> None:
        """Discord's string rule: absent may be fine, present must fit ``low..high`` characters."""
        if value is None:
            if required:
                self.required(path)
            return
        if not isinstance(value, str):
            self.add(path, "BASE_TYPE_STRING", "Must be a string.")
        elif low == 0 and len(value) > high:
            self.max_length(path, high)
        elif not low <= len(value) <= high:
            self.bad_length(path, low, high)

    def raise_if_any(self) -> None:
        if self._tree:
            raise DiscordAPIError(400, 50035, "Invalid Form Body", self._tree)
