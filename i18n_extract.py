"""A pybabel extractor for what discord.py shows in a member's command picker: command and group names and
descriptions, option names (the callbacks' parameters) and descriptions, and choice names.

They are plain strings in decorators, which `_` cannot wrap (discord.py translates them itself, through
`i18n.CommandTranslator`), so `babel.cfg` runs `extract` over the cogs: Babel's own Python extractor for the
sentences, then these (Babel gives each file to one extractor only). Each string
is extracted under the gettext context of its place ("command name", "option description", ...), the contexts the
translator looks them up under.
"""

from __future__ import annotations

import ast
import io
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import extract_python

Extracted = tuple[int, str, tuple[str, str], list[str]]

_COMMAND_CALLS = {"command", "Group"}


def extract(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str], options: Mapping[str, Any]
) -> Iterator[Any]:
    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)  # type: ignore[arg-type]
    yield from extract_commands(source)


def extract_commands(source: bytes) -> Iterator[Extracted]:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):  # a GroupCog's group_name and group_description
            for keyword in node.keywords:
                if keyword.arg in ("group_name", "group_description") and isinstance(keyword.value, ast.Constant):
                    context = "command name" if keyword.arg == "group_name" else "command description"
                    yield (keyword.value.lineno, "pgettext", (context, str(keyword.value.value)), [])
        elif isinstance(node, ast.Call):
            yield from _from_call(node)
        elif isinstance(node, ast.AsyncFunctionDef) and _is_command(node):
            for argument in node.args.args[2:]:  # after self and the interaction
                yield (argument.lineno, "pgettext", ("option name", argument.arg), [])


def _from_call(call: ast.Call) -> Iterator[Extracted]:
    name = _called(call)
    if name in _COMMAND_CALLS:
        place = "command"
        for keyword in call.keywords:
            if keyword.arg in ("name", "description") and isinstance(keyword.value, ast.Constant):
                context = f"{place} {keyword.arg}"
                yield (keyword.value.lineno, "pgettext", (context, str(keyword.value.value)), [])
    elif name == "describe":
        for keyword in call.keywords:
            if isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                yield (keyword.value.lineno, "pgettext", ("option description", keyword.value.value), [])
    elif name == "Choice":
        for keyword in call.keywords:
            if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                yield (keyword.value.lineno, "pgettext", ("choice name", str(keyword.value.value)), [])


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _is_command(function: ast.AsyncFunctionDef) -> bool:
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and _called(decorator) == "command":
            return True
    return False
