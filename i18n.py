"""The members' languages: every sentence the bot says goes through `_`, in the language of whoever reads it.

English is the source. The catalogs are gettext `.po` files under `locales/<language>/LC_MESSAGES/panel_desk.po`,
extracted with `pybabel extract` (see README, "Languages") and read at start with Babel: nothing to compile at
install. A sentence missing from a catalog falls back to English, so a half-done translation never breaks a reply.

Whose language is "current" is a context variable: set for each interaction from its `locale` before discord.py
starts the tasks that answer it (bot.py), for a DM from the member's language as last seen, and for staff channel
posts from BOT_LANGUAGE. Numbers in sentences go through `number`, which writes them as that language does
("1.050" in German).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import discord
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from discord import app_commands

log = logging.getLogger(__name__)

DOMAIN = "panel_desk"
LOCALE_DIR = Path(__file__).parent / "locales"
SOURCE = "en"
# The shipped catalogs, by the Discord locales each answers (Discord has two Spanish and two English locales).
SHIPPED: dict[str, tuple[discord.Locale, ...]] = {
    "de": (discord.Locale.german,),
    "pt_BR": (discord.Locale.brazil_portuguese,),
    "es": (discord.Locale.spain_spanish, discord.Locale.latin_american_spanish),
    "fr": (discord.Locale.french,),
    "pl": (discord.Locale.polish,),
    "ru": (discord.Locale.russian,),
}
_BY_DISCORD = {str(locale): language for language, locales in SHIPPED.items() for locale in locales}

_current: ContextVar[str] = ContextVar("panel_desk_language", default=SOURCE)


def N_(message: str) -> str:
    """Mark a sentence kept in a constant: extracted into the catalogs, translated by `_` where it is used."""
    return message


def language_of(locale: discord.Locale | str | None) -> str:
    """The catalog for a Discord locale ("pt-BR" → "pt_BR"); English for every locale without one."""
    if locale is None:
        return SOURCE
    text = str(locale)
    return _BY_DISCORD.get(text) or _BY_DISCORD.get(text.split("-")[0], SOURCE)


def current() -> str:
    return _current.get()


def set_language(language: str) -> None:
    """For the rest of this task (and the tasks it starts): an interaction's own language."""
    _current.set(language if language in SHIPPED else SOURCE)


@contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Say what follows in `language` (a DM to a member, a post in a staff channel), then go back."""
    token = _current.set(language if language in SHIPPED else SOURCE)
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str, /, **values: Any) -> str:
    """`message` in the current language, its `{placeholders}` filled from `values`."""
    translated = _commands_named(str(catalog(_current.get()).gettext(message)))
    return _filled(translated, message, values) if values else translated


def n_(singular: str, plural: str, count: int, /, **values: Any) -> str:
    """As `_`, choosing the plural form the language uses for `count` (which is also `{count}`)."""
    translated = _commands_named(str(catalog(_current.get()).ngettext(singular, plural, count)))
    source = singular if count == 1 else plural
    return _filled(translated, source, {"count": number(count), **values})


class Sentence:
    """A sentence kept to be said later (a mail server's refusal, why a role cannot be given): `str()` says it in
    whichever language is current then, `english` is what the logs and `--check` get."""

    __slots__ = ("template", "values")

    def __init__(self, template: str, /, **values: object) -> None:
        """`template`: marked with `N_`, its `{placeholders}` filled from `values`."""
        self.template = template
        self.values = values

    def __str__(self) -> str:
        return _(self.template, **self.values)

    def __repr__(self) -> str:
        return f"Sentence({self.english!r})"

    @property
    def english(self) -> str:
        return self.template.format(**self.values)


_COMMAND_SPAN = re.compile(r"`/([^`\n]+)`")
# A command named outside backticks (an embed's footer shows no Markdown): "/notifications off warnings".
_BARE_COMMAND = re.compile(r"(?<![\w/`])/([a-z][\w-]*(?: [a-z][\w-]*)*)")


def _commands_named(text: str) -> str:
    """A command a sentence tells the member to type (`/notifications on`, `/link-admin set member:…`) named as
    their Discord app lists it: the catalogs keep the English, and here each word becomes the command's (or the
    option's) localized name, the ones the command translator gives Discord."""
    language = _current.get()
    if language == SOURCE or "/" not in text:
        return text
    names = command_strings(language)

    def quoted(match: re.Match[str]) -> str:
        words = []
        for word in match.group(1).split(" "):
            option, colon, value = word.partition(":")
            if colon:
                words.append(names.get(("option name", option), option) + colon + value)
            else:
                words.append(names.get(("command name", word), word))
        return "`/" + " ".join(words) + "`"

    def bare(match: re.Match[str]) -> str:
        words = match.group(1).split(" ")
        if ("command name", words[0]) not in names:
            return match.group(0)
        local: list[str] = []
        for index, word in enumerate(words):  # the command's words, up to the first that is not one
            if ("command name", word) not in names:
                return "/" + " ".join(local + words[index:])
            local.append(names[("command name", word)])
        return "/" + " ".join(local)

    return _BARE_COMMAND.sub(bare, _COMMAND_SPAN.sub(quoted, text))


def _filled(translated: str, source: str, values: dict[str, Any]) -> str:
    """A translation edited by hand may name a placeholder the code does not give (CI refuses those, a local
    edit may not have been through CI): the member then reads the English rather than an error."""
    try:
        return translated.format(**values)
    except (KeyError, IndexError, ValueError):
        log.warning(
            "the %s translation of %r has placeholders the code does not fill; said in English", current(), source
        )
        return source.format(**values)


def localize(container: discord.ui.View | discord.ui.Modal) -> None:
    """Say a view's or a modal's own words (button labels, field labels and placeholders, a modal's title) in the
    current language. Those written in the class (marked with `N_`) exist before any interaction has a language,
    so each view or modal calls this from its `__init__`, in the language of the interaction it answers."""
    if isinstance(container, discord.ui.Modal):
        container.title = _fits(container.title, 45)
    for item in container.walk_children():
        if isinstance(item, discord.ui.Button) and item.label:
            item.label = _fits(item.label, 80)
        elif isinstance(item, discord.ui.TextInput):
            # Through the component itself: discord.py 2.6 deprecated TextInput.label (for ui.Label) but sends it.
            if item._underlying.label:
                item._underlying.label = _fits(item._underlying.label, 45)
            if item.placeholder:
                item.placeholder = _(item.placeholder)


def _fits(text: str, limit: int) -> str:
    """`text` translated, or as it was when the translation is longer than Discord takes there (it would refuse
    the whole form); CI checks the shipped catalogs, this keeps a hand-edited one from breaking a form."""
    translated = _(text)
    if len(translated) <= limit:
        return translated
    log.warning(
        "the %s translation of %r is longer than Discord's %d characters; said in English", current(), text, limit
    )
    return text


def number(value: int | float | Decimal | str, *, places: int = 2, fixed: bool = False) -> str:
    """A number written as the current language writes it: at most `places` decimals, none when whole (exactly
    `places` when `fixed`: "0.0 s")."""
    amount = Decimal(str(value))
    if fixed:
        pattern = "#,##0." + "0" * places
    else:
        pattern = "#,##0" if amount == amount.to_integral_value() else "#,##0." + "#" * places
    return format_decimal(amount, format=pattern, locale=_babel_locale(_current.get()))


def _babel_locale(language: str) -> str:
    return "en_US" if language == SOURCE else language


def _read(language: str) -> Catalog | None:
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    try:
        with path.open("rb") as po:
            return read_po(po, locale=language, domain=DOMAIN)
    except OSError:
        log.debug("no catalog for %s at %s: that language falls back to English", language, path)
        return None
    except Exception as exc:  # a catalog edited by hand may not parse: that language is English, the bot runs
        log.error(
            "the catalog for %s at %s cannot be read (%s): that language falls back to English", language, path, exc
        )
        return None


@dataclass(frozen=True, slots=True)
class _Loaded:
    translations: NullTranslations
    commands: dict[tuple[str | None, str], str]
    count: int  # translated messages


@cache
def _loaded(language: str) -> _Loaded:
    """A catalog read once and compiled; the parsed `.po` itself is let go (it would hold a few MB per language)."""
    messages = _read(language) if language in SHIPPED else None
    if messages is None:
        return _Loaded(NullTranslations(), {}, 0)
    compiled = io.BytesIO()
    write_mo(compiled, messages, use_fuzzy=False)
    compiled.seek(0)
    commands = {
        (message.context, message.id): message.string
        for message in messages
        if isinstance(message.id, str) and isinstance(message.string, str) and message.string and not message.fuzzy
    }
    count = sum(1 for message in messages if message.id and message.string)
    return _Loaded(Translations(compiled, domain=DOMAIN), commands, count)


def load_catalogs() -> dict[str, int]:
    """Read every shipped catalog now; the number of translated messages in each (0: missing, or unreadable)."""
    return {language: _loaded(language).count for language in SHIPPED}


def command_strings(language: str) -> dict[tuple[str | None, str], str]:
    """The catalog's translations by (context, msgid), for the command translator: a name translated as itself
    ("link" is "link" in German too) is still a localization Discord should get."""
    return _loaded(language).commands


def catalog(language: str) -> NullTranslations:
    """The catalog of `language` (English: none), read from its `.po` file once."""
    return _loaded(language).translations


class CommandTranslator(app_commands.Translator):
    """Command, option and choice names and descriptions, for each shipped language, from the same catalogs.

    A name is looked up under the gettext context "command name" (and so on for each place), since "show" as a
    command name must stay one lowercase word where "show" in a sentence need not.
    """

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        language = _BY_DISCORD.get(str(locale))
        if language is None:
            return None
        strings = command_strings(language)
        # A description kept in a constant (`describe(panel=PANEL_HELP)`) is marked with N_, without a context.
        place = PLACES[context.location]
        found = strings.get((place, string.message))
        return found or (strings.get((None, string.message)) if place.endswith("description") else None)


PLACES = {
    app_commands.TranslationContextLocation.command_name: "command name",
    app_commands.TranslationContextLocation.command_description: "command description",
    app_commands.TranslationContextLocation.group_name: "command name",
    app_commands.TranslationContextLocation.group_description: "command description",
    app_commands.TranslationContextLocation.parameter_name: "option name",
    app_commands.TranslationContextLocation.parameter_description: "option description",
    app_commands.TranslationContextLocation.choice_name: "choice name",
    app_commands.TranslationContextLocation.other: "other",
}
