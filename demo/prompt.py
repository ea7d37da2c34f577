"""The interactive demo: a prompt (prompt_toolkit) that reads lines as `demo.line` does and completes them.

Command and option names complete from the commands the bot registered; an option the bot autocompletes is
completed by sending the bot a real autocomplete interaction, so the suggestions are the bot's own.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import AsyncGenerator, Iterable
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.patch_stdout import patch_stdout

from demo.line import ROLE_WORDS, WORDS, LineError, convert
from demo.render import field_word
from demo.session import DemoSession
from demo.world import demo_world
from simulators.discord.validation import BOOLEAN, STRING, SUB_COMMAND, SUB_COMMAND_GROUP, USER

INTRO = """\
Panel Desk demo: the real bot, six in-memory panels (main, eu, billing, convoy, calagopus, legacy; billing is
the CtrlPanel with credits and the default) and a local Discord stand-in. Nothing leaves this machine.
You are alice (admin); `as staff` is sam, `as member` is bob. Tab completes; `help` lists the commands."""


class DemoCompleter(Completer):
    def __init__(self, session: DemoSession) -> None:
        self.session = session

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        return []  # only the asynchronous path is used: completing may ask the bot

    async def get_completions_async(
        self, document: Document, complete_event: CompleteEvent
    ) -> AsyncGenerator[Completion, None]:
        text = document.text_before_cursor
        try:
            found = await self._completions(text)
        except (LineError, ValueError, TimeoutError):
            found = []  # a half-typed line is often not valid yet; offer nothing rather than fail
        for completion in found:
            yield completion

    async def _completions(self, text: str) -> list[Completion]:
        words = text.split(" ")
        current = words[-1]
        if not text.startswith("/"):
            return self._word_completions(words)
        commands = self.session.commands
        if len(words) == 1:
            return _matching([f"/{c['name']}" for c in commands], current)
        path, schema = _walk(words[:-1], commands)
        subcommands = [o["name"] for o in schema if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)]
        if subcommands:
            return _matching(subcommands, current)
        by_name = {o["name"]: o for o in schema}
        if ":" not in current:
            given = {w.partition(":")[0] for w in words[:-1] if ":" in w}
            return _matching([f"{n}:" for n in by_name if n not in given], current)
        name, _, partial = current.partition(":")
        option = by_name.get(name)
        if option is None:
            return []
        partial = partial.lstrip('"')
        if option.get("autocomplete"):
            typed = self._typed_options(words[:-1], by_name)
            choices = await self.session.choices(" ".join(path), name, typed | {name: partial})
            return [
                Completion(_quoted(str(c["value"])), -len(current.partition(":")[2]), display=str(c["name"]))
                for c in choices
            ]
        if option.get("choices"):
            values = [str(c["value"]) for c in option["choices"]]
        elif option["type"] == USER:
            values = [m.user.name for m in self.session.world.guild.members.values() if not m.user.bot]
        elif option["type"] == BOOLEAN:
            values = ["true", "false"]
        else:
            return []
        return [Completion(v, -len(partial)) for v in values if v.lower().startswith(partial.lower())]

    def _typed_options(self, words: list[str], by_name: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Options already typed, as the client sends them beside the focused one; unfinished ones left out."""
        typed: dict[str, Any] = {}
        try:
            pairs = [w.partition(":") for w in shlex.split(" ".join(words)) if ":" in w]
        except ValueError:
            return typed
        for name, _, value in pairs:
            if name in by_name and by_name[name]["type"] != SUB_COMMAND:
                try:
                    typed[name] = convert(by_name[name], value, self.session.world.guild)
                except LineError:
                    continue
        return {k: v for k, v in typed.items() if by_name[k]["type"] != STRING or v}

    def _word_completions(self, words: list[str]) -> list[Completion]:
        first, current = words[0].lower(), words[-1]
        if len(words) == 1:
            return _matching(["as ", "press ", "select ", "fill ", *WORDS], current)
        rest = " ".join(words[1:])
        if first == "as":
            return _matching(list(ROLE_WORDS), current)
        if first == "press":
            return [Completion(label, -len(rest)) for label in self.session.last_buttons() if label.startswith(rest)]
        if first == "select":
            options = self.session.last_menu_options()
            return [Completion(o, -len(rest)) for o in options if o.lower().startswith(rest.lower())]
        if first == "fill":
            labels = [field_word(f) + "=" for f in self.session.form_fields()]
            return _matching(labels, current)
        return []


def _walk(words: list[str], commands: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """The command path typed so far and what comes next in it (its subcommands, or its options)."""
    top = next((c for c in commands if c["name"] == words[0].lstrip("/")), None)
    if top is None:
        return [], []
    path, schema = [top["name"]], top.get("options") or []
    for word in words[1:]:
        sub = next((o for o in schema if o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) and o["name"] == word), None)
        if sub is None:
            break
        path.append(word)
        schema = sub.get("options") or []
    return path, schema


def _matching(options: list[str], typed: str) -> list[Completion]:
    return [Completion(option, -len(typed)) for option in options if option.startswith(typed)]


def _quoted(value: str) -> str:
    return f'"{value}"' if " " in value else value


async def run_prompt() -> int:
    started = time.perf_counter()
    async with demo_world() as world:
        await world.start_bot()
        session = DemoSession(world, print)
        prompt: PromptSession[str] = PromptSession(completer=DemoCompleter(session), complete_while_typing=True)
        print(INTRO)
        print(f"Ready in {time.perf_counter() - started:.1f} s. Try: /user list search:ali", flush=True)
        with patch_stdout():
            while True:
                try:
                    line = await prompt.prompt_async(f"{session.who.name}> ")
                except KeyboardInterrupt:
                    continue  # as in a shell: Ctrl-C drops the line, Ctrl-D (or quit) ends
                except EOFError:
                    break
                outcome = await session.run(line)
                if outcome.quit:
                    break
                if session.form_fields() and not line.strip().lower().startswith("fill"):
                    await _fill_by_hand(session, prompt)
    return 0


async def _fill_by_hand(session: DemoSession, prompt: PromptSession[str]) -> None:
    """Ask for each field of the form that opened, as Discord's form would; Ctrl-C closes it unsent."""
    print("Fill in the form (Enter leaves an optional field empty; Ctrl-C closes the form):")
    values: dict[str, str] = {}
    try:
        for item in session.form_fields():
            label = str(item["label"])
            secret = any(word in label.lower() for word in ("key", "password", "token"))
            values[label] = await prompt.prompt_async(f"  {label}: ", is_password=secret, completer=None)
    except (KeyboardInterrupt, EOFError):
        session.open_form = None
        print("The form was closed without sending it.")
        return
    await session.fill({k: v for k, v in values.items() if v})
