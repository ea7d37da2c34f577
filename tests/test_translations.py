"""The shipped catalogs: complete, faithful to the source's placeholders, and within Discord's rules for names.

A sentence missing from a catalog would fall back to English in the middle of a German reply; a placeholder
renamed or dropped would raise (or lose a figure) when the sentence is filled; a command name with a capital or a
space would make Discord refuse the whole command list. Each is a failure here, before it reaches a server.
"""

from __future__ import annotations

import ast
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import discord
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

import i18n

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "locales" / f"{i18n.DOMAIN}.pot"
# Discord's rule for command and option names (its docs give the regex): lowercase where a letter has a case.
NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")
BACKTICKS = re.compile(r"`[^`]+`")
# The README's extract command (section Languages), less its output.
EXTRACT = ["-q", "extract", "-F", "babel.cfg", "-k", "N_", "-k", "n_:1,2", "--no-location"]


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def messages(catalog: Catalog) -> dict[tuple[str | None, str], Message]:
    return {
        (message.context, message.id if isinstance(message.id, str) else message.id[0]): message
        for message in catalog
        if message.id
    }


def placeholders(text: str) -> set[str]:
    return {name for _text, name, _spec, _conversion in string.Formatter().parse(text) if name is not None}


@pytest.fixture(scope="module")
def source() -> dict[tuple[str | None, str], Message]:
    return messages(read(POT))


@pytest.fixture(scope="module", params=sorted(i18n.SHIPPED))
def shipped(request: pytest.FixtureRequest) -> tuple[str, dict[tuple[str | None, str], Message]]:
    language = request.param
    path = i18n.LOCALE_DIR / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    assert path.is_file(), f"{language} is shipped but has no catalog at {path}"
    return language, messages(read(path, language))


def test_the_template_is_what_the_code_says_now(tmp_path: Path) -> None:
    """A sentence added to the code but not extracted would never reach the translators."""
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *EXTRACT, "-o", str(fresh), "."],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    now, committed = set(messages(read(fresh))), set(messages(read(POT)))
    assert now - committed == set(), "extract again (README, Languages): these are new"
    assert committed - now == set(), "extract again (README, Languages): these are gone from the code"


def test_every_message_is_translated(source: dict, shipped: tuple[str, dict]) -> None:
    language, catalog = shipped
    missing = []
    for key, original in source.items():
        message = catalog.get(key)
        forms = [] if message is None else list(message.string) if message.pluralizable else [message.string]
        if (
            message is None
            or message.fuzzy
            or not forms
            or not all(forms)
            or original.pluralizable != message.pluralizable
        ):
            missing.append(key)
    assert missing == [], f"{language}: {len(missing)} untranslated, e.g. {missing[:5]}"


def test_placeholders_and_code_are_kept(source: dict, shipped: tuple[str, dict]) -> None:
    language, catalog = shipped
    wrong = []
    for key, original in source.items():
        message = catalog.get(key)
        if message is None:
            continue
        ids = list(original.id) if original.pluralizable else [original.id]
        expected = set().union(*(placeholders(text) for text in ids))
        forms = list(message.string) if message.pluralizable else [message.string]
        for form in filter(None, forms):  # an empty one is untranslated: the test above says so
            found = placeholders(form)
            # A plural form may leave the count out ("a day" for one), never anything else.
            if found - expected or (expected - found) - {"count"}:
                wrong.append((key, form))
            spans = set(BACKTICKS.findall(ids[0]))
            if not spans <= set(BACKTICKS.findall(form)):
                wrong.append((key, form))  # `/link`, `kind:…`: what members type must stay as typed
            form.format(**{name: "x" for name in found})  # braces that are not placeholders would raise
    assert wrong == [], f"{language}: {wrong[:5]}"


def test_command_names_and_descriptions_keep_discords_rules(source: dict, shipped: tuple[str, dict]) -> None:
    language, catalog = shipped
    wrong = []
    for (context, msgid), message in catalog.items():
        if (context, msgid) not in source or not isinstance(message.string, str):
            continue
        text = message.string
        if (context in ("command name", "option name") and (not NAME.match(text) or text != text.lower())) or (
            context in ("command description", "option description", "choice name") and not 1 <= len(text) <= 100
        ):
            wrong.append((context, msgid, text))
    assert wrong == [], f"{language}: {wrong}"


def test_the_translator_answers_each_discord_locale_of_a_shipped_language() -> None:
    assert i18n.language_of("de") == "de" and i18n.language_of("pt-BR") == "pt_BR"
    assert i18n.language_of("es-419") == i18n.language_of("es-ES") == "es"
    assert i18n.language_of("en-GB") == i18n.language_of("ja") == i18n.language_of(None) == "en"


def test_numbers_are_written_as_each_language_writes_them() -> None:
    written = {}
    for language in ("en", "de", "pt_BR", "fr", "ru"):
        with i18n.speaking(language):
            written[language] = i18n.number(1050), i18n.number("1234.5")
    assert written["en"] == ("1,050", "1,234.5")
    assert written["de"] == ("1.050", "1.234,5")
    assert written["pt_BR"] == ("1.050", "1.234,5")
    assert written["fr"][0].replace("\u202f", " ") == "1 050"
    assert written["ru"][1].replace("\xa0", " ") == "1 234,5"


@pytest.fixture
def own_catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Catalogs of the test's own writing in place of the shipped ones."""
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n._loaded.cache_clear()
    yield tmp_path
    i18n._loaded.cache_clear()


def write_catalog(root: Path, language: str, entries: str) -> None:
    folder = root / language / "LC_MESSAGES"
    folder.mkdir(parents=True)
    header = (
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
    )
    (folder / f"{i18n.DOMAIN}.po").write_text(header + entries, encoding="utf-8")


def test_a_hand_edited_translation_with_a_wrong_placeholder_reads_as_english(own_catalogs: Path) -> None:
    write_catalog(
        own_catalogs,
        "de",
        'msgid "Unlink **{name}**?"\nmsgstr "**{nmae}** trennen?"\n\n'
        'msgid "Removed {amount} credits."\nmsgstr "{amount} Credits entfernt."\n',
    )
    with i18n.speaking("de"):
        assert i18n._("Unlink **{name}**?", name="max") == "Unlink **max**?"
        assert i18n._("Removed {amount} credits.", amount="5") == "5 Credits entfernt."
    assert i18n.load_catalogs()["de"] == 2 and i18n.load_catalogs()["fr"] == 0


def test_commands_in_sentences_are_named_as_the_members_app_lists_them() -> None:
    names = i18n.command_strings("de")
    notifications, off = names[("command name", "notifications")], names[("command name", "off")]
    with i18n.speaking("de"):
        footer = i18n._("Turn these warnings off with /notifications off warnings")
        quoted = i18n._("`/notifications off kind:…` or `on` changes them; leave out `panel` for every panel.")
        link = i18n._("Go to https://panel.example/account/api now")  # not a command: as it was
    assert f"/{notifications} {off} warnings" in footer and "/notifications" not in footer
    assert f"`/{notifications} {off} {names[('option name', 'kind')]}:…`" in quoted
    assert link == "Go to https://panel.example/account/api now"
    with i18n.speaking("en"):
        assert i18n._("Turn these warnings off with /notifications off warnings").endswith(
            "/notifications off warnings"
        )


# Discord's limits for what forms and buttons show: a modal's title and a field's label 45 characters, a
# placeholder 100 (the strictest of each, whether a button's label or a field's).
UI_LIMITS = {"title": 45, "label": 45, "placeholder": 100}


def ui_texts() -> dict[str, str]:
    """Each sentence the cogs give a form or a button as its title, label or placeholder: {msgid: keyword}."""
    found: dict[str, str] = {}
    for path in (ROOT / "cogs").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            keywords = node.keywords if isinstance(node, ast.Call | ast.ClassDef) else []
            for keyword in keywords:
                value = keyword.value
                marked = (
                    isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in ("_", "N_")
                )
                if keyword.arg in UI_LIMITS and marked and value.args and isinstance(value.args[0], ast.Constant):
                    found[str(value.args[0].value)] = keyword.arg
    return found


def test_form_and_button_texts_fit_discords_limits(shipped: tuple[str, dict]) -> None:
    language, catalog = shipped
    texts = ui_texts()
    assert len(texts) > 20  # the walk found the cogs' forms and buttons
    too_long = [
        (msgid, catalog[(None, msgid)].string)
        for msgid, keyword in texts.items()
        if (None, msgid) in catalog and len(catalog[(None, msgid)].string) > UI_LIMITS[keyword]
    ]
    assert too_long == [], f"{language}: {too_long}"


async def test_a_form_keeps_english_where_a_hand_edited_label_is_too_long_for_discord(own_catalogs: Path) -> None:
    write_catalog(
        own_catalogs,
        "de",
        'msgid "Your code"\nmsgstr "Dein Code aus der E-Mail, die wir dir gerade eben geschickt haben"\n\n'
        'msgid "Enter it"\nmsgstr "Eingeben"\n',
    )

    class Form(discord.ui.Modal, title="Enter it"):
        code: discord.ui.TextInput[Form] = discord.ui.TextInput(label="Your code")

    with i18n.speaking("de"):
        form = Form()
        i18n.localize(form)
    assert form.title == "Eingeben"  # fits: translated
    assert form.code.to_component_dict()["label"] == "Your code"  # 65 characters would make Discord refuse the form


def test_every_marked_sentence_reaches_the_template(source: dict) -> None:
    """pybabel reads only the outermost call: `_(WORDS.get(kind, N_("value")))` would mark "value" for nobody."""
    marked = set()
    for path in [
        *(ROOT / "cogs").rglob("*.py"),
        *(ROOT / "panel_api").glob("*.py"),
        ROOT / "bot.py",
        ROOT / "mailer.py",
    ]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            call = isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
            if call and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                marked.add(node.args[0].value)
    assert len(marked) > 300
    assert sorted(marked - {msgid for _context, msgid in source}) == []
