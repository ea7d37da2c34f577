"""One demo session: who is typing, what has been shown, and how a typed line becomes an interaction with the
real bot and an answer printed back. The prompt and the script runner both drive this, so they behave alike."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from demo.line import (
    Action,
    Fill,
    LineError,
    Press,
    Select,
    SlashCommand,
    SwitchLanguage,
    SwitchMember,
    Word,
    convert,
    parse_line,
)
from demo.render import message_lines, modal_fields, modal_lines
from demo.world import DemoWorld
from simulators.discord import InteractionRecord, RecordedMessage
from simulators.discord.validation import SELECTS, STRING_SELECT, SUB_COMMAND, SUB_COMMAND_GROUP, USER
from simulators.discord.world import GENERAL, GUILD, DemoMember

# Discord shows "The application did not respond" after 3 s; a deferred answer may take up to 15 minutes, but a
# demo panel on loopback answers in milliseconds, so 10 s of "thinking" means something is wrong.
ANSWER_WINDOW = 3.0
THINKING_LIMIT = 10.0
QUIET = 0.15  # an answer is complete once nothing changed for this long (follow-ups, DMs, audit posts)


@dataclass(frozen=True)
class Outcome:
    """How a line went: `problem` is the sentence saying why it got no proper answer."""

    problem: str | None = None
    quit: bool = False


class DemoSession:
    def __init__(self, world: DemoWorld, out: Callable[[str], None]) -> None:
        self.world = world
        self.discord = world.discord
        self.out = out
        self.who: DemoMember = world.member("admin")
        self.open_form: InteractionRecord | None = None
        self._shown: list[int] = []  # message ids printed, oldest first: what `press` and `select` look through
        self._errors = self._error_count()

    # --- what the bot registered -------------------------------------------------------------------------------

    @property
    def commands(self) -> list[dict[str, Any]]:
        return self.discord.registered_commands(GUILD)

    def command_lines(self) -> list[str]:
        """`help`: every command the bot registered, with its options (* required) and description."""
        lines = ["Commands the bot registered (* marks a required option):"]
        for top in sorted(self.commands, key=lambda c: c["name"]):
            for path, schema, description in _leaves([top["name"]], top.get("options") or [], top["description"]):
                options = " ".join(o["name"] + ("*" if o.get("required") else "") for o in schema)
                lines.append(f"  /{' '.join(path)} {options}".rstrip() + f"  — {description}")
        lines += [
            "And the demo's own words:",
            f"  as admin|staff|member   type as another member (now: {self.who.name}, {self.who.role})",
            "  language <locale>       the Discord language of whoever is typing (de, pt-BR, es-ES, fr, pl, ru, en-US)",
            "  press <label>           press a button of the last message that has it",
            "  select <option>         choose in the last menu shown",
            '  fill Field=value …      fill in and send the open form (quote spaces: Email="a b")',
            "  dms                     the direct messages the bot sent you",
            "  help, quit",
        ]
        return lines

    # --- one line ----------------------------------------------------------------------------------------------

    async def run(self, text: str) -> Outcome:
        try:
            action = parse_line(text, self.commands, self.world.guild)
            if action is None:
                return Outcome()
            return await self._act(action)
        except LineError as exc:
            self.out(f"!! {exc}")
            return Outcome(str(exc))

    async def fill(self, values: dict[str, str]) -> Outcome:
        """Send the open form with `values` (by label), as the prompt does after asking field by field."""
        try:
            return await self._act(Fill(values))
        except LineError as exc:
            self.out(f"!! {exc}")
            return Outcome(str(exc))

    def form_fields(self) -> list[dict[str, Any]]:
        """The fields of the form open for the person typing, or none."""
        form = self.open_form
        if form is None or not form.modal_open or form.user_id != self.who.id:
            return []
        return modal_fields(next(r.modal for r in reversed(form.responses) if r.kind == "modal"))

    def last_buttons(self) -> list[str]:
        """Labels of the buttons that can be pressed, newest message first, for completion."""
        labels: list[str] = []
        for message in self._visible():
            labels += [str(b["label"]) for b in message.buttons() if b.get("label") and not b.get("disabled")]
        return list(dict.fromkeys(labels))

    def last_menu_options(self) -> list[str]:
        for message in self._visible():
            for menu in message.walk_components():
                if menu.get("type") == STRING_SELECT:
                    return [str(o.get("label", o["value"])) for o in menu.get("options", ())]
                if menu.get("type") in SELECTS:
                    return [m.user.name for m in self.world.guild.members.values() if not m.user.bot]
        return []

    async def _act(self, action: Action) -> Outcome:
        if isinstance(action, Word):
            if action.word == "quit":
                return Outcome(quit=True)
            if action.word == "help":
                self._print(self.command_lines())
            else:
                self._show_dms()
            return Outcome()
        if isinstance(action, SwitchMember):
            self.who = self.world.member(action.role)
            self.out(f"Now typing as {self.who.name} ({self.who.role}).")
            return Outcome()
        if isinstance(action, SwitchLanguage):
            self.world.guild.members[self.who.id].user.locale = action.locale
            self.out(f"{self.who.name}'s Discord app now speaks {action.locale}: replies and DMs follow.")
            return Outcome()
        before = self._state()
        try:
            record = await self._dispatch(action)
        except ValueError as exc:  # what the stand-in refuses as Discord's client would: a hidden command, …
            raise LineError(str(exc)) from None
        return await self._answer(record, before)

    async def _dispatch(self, action: Action) -> InteractionRecord:
        user = self.who.id
        if isinstance(action, SlashCommand):
            return await self.discord.run_command(
                action.path, user=user, guild=GUILD, channel=GENERAL, options=action.options
            )
        if isinstance(action, Press):
            message, label = self._find_button(action.label)
            return await self.discord.click(message, label, user=user)
        if isinstance(action, Select):
            message, custom_id, value = self._find_choice(action.choice)
            return await self.discord.select(message, custom_id, [value], user=user)
        assert isinstance(action, Fill)
        return await self.submit_form(action.values)

    async def submit_form(self, typed: dict[str, str]) -> InteractionRecord:
        form = self.open_form
        if form is None or not form.modal_open or form.user_id != self.who.id:
            raise LineError(f"No form is open for {self.who.name}; a command or button opens one.")
        modal = next(r.modal for r in reversed(form.responses) if r.kind == "modal")
        ids = {}
        for item in modal_fields(modal):
            ids[str(item["label"]).casefold()] = item["custom_id"]
            ids[str(item["custom_id"]).casefold()] = item["custom_id"]
        values: dict[str, str | list[str]] = {}
        for name, value in typed.items():
            if name.casefold() not in ids:
                fields = ", ".join(str(item["label"]) for item in modal_fields(modal))
                raise LineError(f"The form has no field {name!r}; it has {fields}.")
            values[ids[name.casefold()]] = value
        self.open_form = None
        return await self.discord.submit_modal(form, values, user=self.who.id)

    # --- waiting for and printing the answer -------------------------------------------------------------------

    async def _answer(self, record: InteractionRecord, before: dict[int, int]) -> Outcome:
        try:
            await record.wait_for(1, ANSWER_WINDOW)
        except TimeoutError:
            self._print_changes(before)
            self._new_errors()
            return self._problem(f"The bot did not answer within {ANSWER_WINDOW:g} s.")
        started = time.perf_counter()
        last, quiet_since = self._signature(), time.perf_counter()
        while True:
            await asyncio.sleep(0.02)
            now = time.perf_counter()
            current = self._signature()
            if current != last:
                last, quiet_since = current, now
            thinking = any(m.loading for m in self._messages_of(record))
            if now - quiet_since >= QUIET and not thinking:
                break
            if now - started > THINKING_LIMIT:
                self._print_changes(before)
                return self._problem(f"The bot was still thinking after {THINKING_LIMIT:g} s.")
        if record.modal_open and any(r.kind == "modal" for r in record.responses):
            self.open_form = record
            self._print(modal_lines(next(r.modal for r in reversed(record.responses) if r.kind == "modal")))
        self._print_changes(before)
        errors = self._new_errors()
        if errors:  # every refusal, this interaction's own included, is in the stand-in's `errors_returned`
            return self._problem("Discord (the stand-in) refused what the bot sent: " + "; ".join(errors))
        return Outcome()

    def _problem(self, sentence: str) -> Outcome:
        self.out(f"!! {sentence}")
        return Outcome(sentence)

    def _messages_of(self, record: InteractionRecord) -> list[RecordedMessage]:
        ids = {r.message.id for r in record.responses if r.message is not None}
        return [self.discord.messages[i] for i in ids if i in self.discord.messages]

    def _state(self) -> dict[int, int]:
        """Each message's number of versions, to tell afterwards which are new or were edited."""
        return {m.id: len(m.history) + m.deleted for m in self.discord.messages.values()}

    def _signature(self) -> tuple[int, ...]:
        interactions = sum(len(r.responses) for r in self.discord.interactions.values())
        return (len(self.discord.messages), sum(self._state().values()), interactions)

    def _print_changes(self, before: dict[int, int]) -> None:
        for message in sorted(self.discord.messages.values(), key=lambda m: m.id):
            if message.deleted or message.loading or before.get(message.id) == len(message.history):
                continue
            self._print(message_lines(message, self._where(message), self._name))
            if message.id in self._shown:
                self._shown.remove(message.id)
            self._shown.append(message.id)

    def _show_dms(self) -> None:
        dms = self.discord.dms(self.who.id)
        if not dms:
            self.out(f"The bot sent {self.who.name} no direct message yet.")
        for message in dms:
            self._print(message_lines(message, self._where(message), self._name))

    def _where(self, message: RecordedMessage) -> str:
        for recipient, channel in self.discord.dm_channels.items():
            if channel.id == message.channel_id:
                name = self.discord.users[recipient].name
                return f"DM to {name}"
        posted_in = self.world.guild.channels.get(message.channel_id)
        return f"#{posted_in.name}" if posted_in else f"channel {message.channel_id}"

    def _name(self, kind: str, item_id: int) -> str:
        guild = self.world.guild
        if kind == "@&":
            return f"@{guild.roles[item_id].name}" if item_id in guild.roles else f"@role {item_id}"
        if kind == "#":
            return f"#{guild.channels[item_id].name}" if item_id in guild.channels else f"#channel {item_id}"
        user = self.discord.users.get(item_id)
        return f"@{user.name}" if user else f"@user {item_id}"

    def _print(self, lines: list[str]) -> None:
        for line in lines:
            self.out(line)

    def _error_count(self) -> tuple[int, int, int]:
        d = self.discord
        return (len(d.errors_returned), len(d.internal_errors), len(d.unhandled_requests))

    def _new_errors(self) -> list[str]:
        d, (errors, internal, unhandled) = self.discord, self._errors
        found = [f"{e.status} {e.body} to {e.method} {e.path}" for e in d.errors_returned[errors:]]
        found += [text.strip().splitlines()[-1] for text in d.internal_errors[internal:]]
        found += [f"unhandled {method} {path}" for method, path in d.unhandled_requests[unhandled:]]
        self._errors = self._error_count()
        return found

    # --- what `press` and `select` act on --------------------------------------------------------------------

    def _visible(self) -> list[RecordedMessage]:
        """Messages shown so far that the person typing can see, newest first."""
        found = []
        for message_id in reversed(self._shown):
            message = self.discord.messages[message_id]
            if message.deleted:
                continue
            if message.ephemeral and message.interaction_id is not None:
                owner = self.discord.interactions.get(message.interaction_id)
                if owner is not None and owner.user_id != self.who.id:
                    continue
            found.append(message)
        return found

    def _find_button(self, label: str) -> tuple[RecordedMessage, str]:
        for message in self._visible():
            for button in message.buttons():
                if str(button.get("label", "")).casefold() == label.casefold() and "custom_id" in button:
                    return message, str(button["label"])
        shown = next((m.button_labels() for m in self._visible() if m.buttons()), [])
        hint = f"; the last buttons shown are {', '.join(shown)}" if shown else ""
        raise LineError(f"No message above has a button {label!r}{hint}.")

    def _find_choice(self, choice: str) -> tuple[RecordedMessage, str, str]:
        for message in self._visible():
            menus = [c for c in message.walk_components() if c.get("type") in SELECTS and "custom_id" in c]
            for menu in menus:
                if menu["type"] != STRING_SELECT:
                    option = {"type": USER, "name": "choice"}
                    return message, menu["custom_id"], str(convert(option, choice, self.world.guild))
                for option in menu.get("options", ()):
                    if choice.casefold() in (str(option.get("label", "")).casefold(), str(option["value"]).casefold()):
                        return message, menu["custom_id"], str(option["value"])
                offered = ", ".join(str(o.get("label", o["value"])) for o in menu.get("options", ()))
                raise LineError(f"The last menu offers {offered}, not {choice!r}.")
        raise LineError("No message above has a menu to select in.")

    # --- autocomplete at the prompt ------------------------------------------------------------------------

    async def choices(self, path: str, focused: str, typed: dict[str, str]) -> list[dict[str, Any]]:
        """What the bot suggests while `focused` is being typed: a real autocomplete interaction, as Discord's
        client sends on every keystroke. Options typed so far go with it, as they would."""
        return await self.discord.autocomplete(
            path, user=self.who.id, guild=GUILD, focused=focused, options=typed, channel=GENERAL, timeout=ANSWER_WINDOW
        )


def _leaves(
    path: list[str], schema: list[dict[str, Any]], description: str
) -> list[tuple[list[str], list[dict[str, Any]], str]]:
    subs = [o for o in schema if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)]
    if not subs:
        return [(path, schema, description)]
    found = []
    for sub in subs:
        found += _leaves([*path, sub["name"]], sub.get("options") or [], sub.get("description", ""))
    return found
