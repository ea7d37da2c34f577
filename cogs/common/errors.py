"""One place that turns every error a command can meet into the ephemeral reply a member sees."""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from panel_api import (
    Forbidden,
    NotFound,
    NotSupported,
    PanelError,
    PanelUnavailable,
    RateLimited,
    Unauthorized,
    UserHasServers,
    ValidationFailed,
)

from .text import NO_MENTIONS, safe

if TYPE_CHECKING:
    from bot import PanelDesk

log = logging.getLogger(__name__)


class UserFacingError(app_commands.AppCommandError):
    """Raised by cogs to stop a command with a message for the member (bad input, nothing to do)."""


def refuse_invalid(problems: dict[str, list[str]]) -> None:
    """Stop a command with the problems a panel client's check found, before anything is sent to the panel: it
    reads as the panel's own refusal would, under a lead that says nothing was sent."""
    if problems:
        raise ValidationFailed(problems, "That input would be refused by the panel:")


def describe_panel_error(error: PanelError) -> str:
    """The sentence a member reads for a panel error: what happened and what to do next."""
    if isinstance(error, ValidationFailed):
        return _with_fields(error.message, error)
    if isinstance(error, RateLimited):
        return f"The panel is busy right now (rate limited). Try again in about {max(1, round(error.retry_after))} s."
    if isinstance(error, Unauthorized | Forbidden):
        return f"The panel refused the bot's request: {safe(error.message)} Ask an admin to check the bot's API key."
    if isinstance(error, PanelUnavailable):
        return f"{safe(error.message)}"
    if isinstance(error, NotFound | UserHasServers | NotSupported):
        return safe(error.message)
    return f"The panel answered with an error: {safe(error.message)}"


def _with_fields(lead: str, error: ValidationFailed) -> str:
    lines = [lead]
    for field, messages in error.fields.items():
        lines += [f"• **{safe(field)}**: {safe(message)}" for message in messages]
    return "\n".join(lines)


def reply_for(error: BaseException) -> tuple[str, str | None]:
    """(message, reference) for an error; a reference is set only for unexpected errors, which get logged."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, app_commands.TransformerError) and original.__cause__ is not None:
        original = original.__cause__
    if isinstance(original, PanelError):
        return describe_panel_error(original), None
    if isinstance(original, UserFacingError | app_commands.CheckFailure):
        return str(original), None
    if isinstance(original, app_commands.TransformerError):
        return f"{safe(original.value)} is not a valid {original.type.name.lower()} here.", None
    reference = secrets.token_hex(4)
    return f"Something went wrong on our side. Reference: `{reference}` (give it to the bot's admins).", reference


async def send_ephemeral(interaction: discord.Interaction, content: str) -> None:
    """Answer privately whether or not the interaction was already answered or deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(content, ephemeral=True, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException:
        log.warning("could not tell %s about an error (interaction expired?)", interaction.user.id)


def log_unexpected(reference: str, where: str, interaction: discord.Interaction, error: BaseException) -> None:
    """Log an unexpected error with its traceback under the reference the member was given."""
    original = getattr(error, "original", error)
    log.error(
        "unexpected error %s in %s for user %s",
        reference,
        where,
        interaction.user.id,
        exc_info=(type(original), original, original.__traceback__),
    )


class PanelDeskTree(app_commands.CommandTree["PanelDesk"]):
    async def on_error(self, interaction: discord.Interaction[PanelDesk], error: app_commands.AppCommandError) -> None:
        message, reference = reply_for(error)
        if reference is not None:
            command = interaction.command.qualified_name if interaction.command else "?"
            log_unexpected(reference, f"/{command}", interaction, error)
        await send_ephemeral(interaction, message)
