"""One exception hierarchy for every panel, each error carrying a sentence fit to show a staff member.

Cogs map these classes to replies; they never look at HTTP statuses or panel error bodies themselves.
"""

from __future__ import annotations

from collections.abc import Mapping


def N_(message: str) -> str:
    """Mark a sentence for the bot's catalogs (`pybabel extract` finds it by this name). The clients speak English
    in logs; the bot translates a known sentence when it shows the error to a member (cogs/common/errors.py)."""
    return message


# Every client's answer to an id that cannot be one of its users' (not a number).
NO_SUCH_ID = N_("There is no {kind} user with id {id} (ids are numbers).")


class PanelError(Exception):
    """Base of every error a panel client raises. `str(error)` is safe to show in Discord: no URL, no key."""

    def __init__(self, message: str, *, status: int | None = None, values: Mapping[str, object] | None = None) -> None:
        # A sentence that names values (an id, a panel) is given as a template and its values: `message` is the
        # English the logs get, `template` what the bot translates before filling in the same values.
        self.template = message
        self.values: dict[str, object] = dict(values or {})
        self.message = message.format(**self.values) if values else message
        super().__init__(self.message)
        self.status = status


class NotFound(PanelError):
    def __init__(
        self,
        message: str = N_("No such user on the panel."),
        *,
        status: int | None = 404,
        values: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message, status=status, values=values)


class ValidationFailed(PanelError):
    """The panel refused the input; `fields` maps each field to the panel's own messages about it."""

    def __init__(
        self,
        fields: Mapping[str, list[str]],
        message: str = N_("The panel did not accept that:"),
        *,
        status: int | None = 422,
        values: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message, status=status, values=values)
        self.fields: dict[str, list[str]] = {name: list(msgs) for name, msgs in fields.items()}

    def __str__(self) -> str:
        lines = [self.message]
        lines += [f"{name}: {msg}" for name, msgs in self.fields.items() for msg in msgs]
        return "\n".join(lines)


class Conflict(ValidationFailed):
    """Something is already taken (an email, a username, an external id) or the account is in the wrong state.

    A subclass of ValidationFailed because Laravel panels report "already taken" as a 422 field error: callers
    that show field messages show these too, callers that care about conflicts can catch them alone.
    """

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, list[str]] | None = None,
        status: int | None = 409,
        values: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(fields or {}, message, status=status, values=values)


class UserHasServers(PanelError):
    def __init__(
        self,
        message: str = N_("This user still owns servers; delete or transfer them on the panel first."),
        *,
        status: int | None = 400,
    ) -> None:
        super().__init__(message, status=status)


class Unauthorized(PanelError):
    """The panel did not accept the API key (401): wrong, revoked or expired."""

    def __init__(
        self,
        message: str = N_("The panel did not accept the API key."),
        *,
        status: int | None = 401,
        values: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message, status=status, values=values)


class Forbidden(PanelError):
    """The key is valid but may not do this (403): missing permission, IP allow-list, wrong kind of key."""

    def __init__(self, message: str = N_("The API key may not do this."), *, status: int | None = 403) -> None:
        super().__init__(message, status=status)


class RateLimited(PanelError):
    def __init__(self, retry_after: float, message: str | None = None, *, status: int | None = 429) -> None:
        super().__init__(message or f"The panel is rate limiting us; try again in {retry_after:.0f} s.", status=status)
        self.retry_after = retry_after


class PanelUnavailable(PanelError):
    """The panel could not be reached or answered with something that is not its documented API (5xx, HTML, timeout)."""

    def __init__(
        self,
        message: str = N_("The panel is not reachable right now."),
        *,
        status: int | None = None,
        values: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message, status=status, values=values)


class NotSupported(PanelError):
    """The configured panel has no such operation; the message names the panel and what it lacks."""

    def __init__(self, message: str, *, status: int | None = None, values: Mapping[str, object] | None = None) -> None:
        super().__init__(message, status=status, values=values)
