"""One place that turns every error a command can meet into the ephemeral reply a member sees."""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from i18n import N_, _
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

from .options import OptionProblem, check_command_data
from .text import NO_MENTIONS, safe

if TYPE_CHECKING:
    from bot import PanelDesk

log = logging.getLogger(__name__)


# What a value that did not convert is called in the sentence saying so, by the option type discord.py names.
_KINDS = {
    discord.AppCommandOptionType.string: N_("text"),
    discord.AppCommandOptionType.integer: N_("integer"),
    discord.AppCommandOptionType.number: N_("number"),
    discord.AppCommandOptionType.boolean: N_("boolean"),
    discord.AppCommandOptionType.user: N_("user"),
    discord.AppCommandOptionType.channel: N_("channel"),
    discord.AppCommandOptionType.role: N_("role"),
    discord.AppCommandOptionType.mentionable: N_("mentionable"),
    discord.AppCommandOptionType.attachment: N_("attachment"),
}


_ANY_KIND = N_("value")


class UserFacingError(app_commands.AppCommandError):
    """Raised by cogs to stop a command with a message for the member (bad input, nothing to do)."""


def refuse_invalid(problems: dict[str, list[str]]) -> None:
    """Stop a command with the problems a panel client's check found, before anything is sent to the panel: it
    reads as the panel's own refusal would, under a lead that says nothing was sent."""
    if problems:
        raise ValidationFailed(problems, _("That input would be refused by the panel:"))


def in_words(error: PanelError) -> str:
    """The panel client's own sentence about `error`, in the reader's language (English when not in a catalog)."""
    return _(error.template, **error.values)


def describe_panel_error(error: PanelError) -> str:
    """The sentence a member reads for a panel error: what happened and what to do next."""
    if isinstance(error, ValidationFailed):
        return _with_fields(in_words(error), error)
    if isinstance(error, RateLimited):
        return _(
            "The panel is busy right now (rate limited). Try again in about {seconds} s.",
            seconds=max(1, round(error.retry_after)),
        )
    if isinstance(error, Unauthorized | Forbidden):
        return _(
            "The panel refused the bot's request: {message} Ask an admin to check the bot's API key.",
            message=safe(in_words(error)),
        )
    if isinstance(error, PanelUnavailable | NotFound | UserHasServers | NotSupported):
        return safe(in_words(error))
    return _("The panel answered with an error: {message}", message=safe(in_words(error)))


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
        return _(
            "{value} is not a valid {kind} here.",
            value=safe(original.value),
            kind=_(_KINDS.get(original.type, _ANY_KIND)),
        ), None
    reference = secrets.token_hex(4)
    return _(
        "Something went wrong on our side. Reference: `{reference}` (give it to the bot's admins).", reference=reference
    ), reference


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


async def report_error(interaction: discord.Interaction, error: BaseException, where: str) -> None:
    """Tell the member privately what went wrong; log unexpected errors under the reference they are given.

    The tree's handler only sees commands: buttons, dynamic items and modals call this themselves.
    """
    message, reference = reply_for(error)
    if reference is not None:
        log_unexpected(reference, where, interaction, error)
    await send_ephemeral(interaction, message)


class PanelDeskTree(app_commands.CommandTree["PanelDesk"]):
    async def interaction_check(self, interaction: discord.Interaction[PanelDesk], /) -> bool:
        """Hold every command and autocomplete to the registered options before discord.py parses them."""
        autocomplete = interaction.type is discord.InteractionType.autocomplete
        try:
            check_command_data(self, interaction.data, guild_id=interaction.guild_id, autocomplete=autocomplete)
        except OptionProblem as problem:
            log.info("refused an interaction of %s: %s", interaction.user.id, problem)
            if autocomplete:
                await offer_nothing(interaction)
            else:
                await send_ephemeral(interaction, str(problem))
            return False
        return True

    async def _call(self, interaction: discord.Interaction[PanelDesk]) -> None:
        # discord.py hands only AppCommandErrors to `on_error`; anything else raised while it parses an interaction
        # would end in the event loop's handler, and the member would wait for an answer that never comes.
        try:
            await super()._call(interaction)
        except app_commands.AppCommandError:
            raise
        except Exception as error:
            if interaction.type is discord.InteractionType.autocomplete:
                log.exception("autocomplete failed for %s", interaction.user.id)
                await offer_nothing(interaction)
            else:
                await report_error(interaction, error, "a command")

    async def on_error(self, interaction: discord.Interaction[PanelDesk], error: app_commands.AppCommandError) -> None:
        command = interaction.command.qualified_name if interaction.command else "?"
        await report_error(interaction, error, f"/{command}")


# Every handler of ours answers a button or a form at once (a defer at least); one that has no answer after this
# long has no handler, and Discord gives up at 3 s.
FORGOTTEN_AFTER = 2.5


async def answer_if_forgotten(interaction: discord.Interaction) -> None:
    await asyncio.sleep(FORGOTTEN_AFTER)
    if interaction.response.is_done():
        return
    form = interaction.type is discord.InteractionType.modal_submit
    log.info("nothing answered a %s of %s; telling them it expired", "form" if form else "button", interaction.user.id)
    if form:
        text = _("This form has expired (or the bot restarted since). Run the command again.")
    else:
        text = _("This button has expired (or the bot restarted since). Run the command again.")
    await send_ephemeral(interaction, text)


async def offer_nothing(interaction: discord.Interaction) -> None:
    """Answer an autocomplete with no suggestions, so Discord's app shows none instead of an error."""
    if interaction.response.is_done():
        return
    try:
        await interaction.response.autocomplete([])
    except discord.HTTPException:
        log.info("could not answer an autocomplete of %s in time", interaction.user.id)
