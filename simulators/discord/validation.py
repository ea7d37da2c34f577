"""Discord's documented limits, checked the way Discord checks them: every violation of one request is
collected under the path of the offending field and reported in one 50035 ``Invalid Form Body``.

Error codes and messages copy the ones Discord returns for the common cases (``BASE_TYPE_MAX_LENGTH``,
``APPLICATION_COMMAND_INVALID_NAME``, ``COMPONENT_CUSTOM_ID_DUPLICATED``, ``MAX_EMBED_SIZE_EXCEEDED``, …).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from simulators.discord.errors import FormErrors, Path
from simulators.discord.records import FLAG_IS_COMPONENTS_V2

# https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-naming
# (\w already covers \p{L}, \p{N} and '_'; Devanagari and Thai combining marks are added explicitly.)
COMMAND_NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")

CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND = 1, 2, 3
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = range(3, 12)
MAX_COMMANDS_PER_SCOPE = 100
MAX_COMMAND_SIZE = 4000

ACTION_ROW, BUTTON, STRING_SELECT, TEXT_INPUT = 1, 2, 3, 4
USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT = 5, 6, 7, 8
SELECTS = {STRING_SELECT, USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT}
SECTION, TEXT_DISPLAY, THUMBNAIL, MEDIA_GALLERY, FILE, SEPARATOR, CONTAINER, LABEL = 9, 10, 11, 12, 13, 14, 17, 18
FILE_UPLOAD, RADIO_GROUP, CHECKBOX_GROUP, CHECKBOX = 19, 21, 22, 23
MODAL_ONLY_INPUTS = {FILE_UPLOAD, RADIO_GROUP, CHECKBOX_GROUP, CHECKBOX}
LINK_STYLE, PREMIUM_STYLE = 5, 6
MAX_V2_COMPONENTS = 40


def has_message_body(data: dict[str, Any], attachments: int) -> bool:
    return bool(data.get("content") or data.get("embeds") or data.get("components") or data.get("sticker_ids")) or bool(
        data.get("poll") or attachments
    )


def validate_message(data: dict[str, Any], errors: FormErrors, path: Path = ()) -> None:
    """A message body: channel messages, interaction replies/updates, follow-ups and edits."""
    path = tuple(path)
    flags = data.get("flags") or 0
    content = data.get("content")
    if content is not None:
        errors.check_length((*path, "content"), content, 0, 2000)
    embeds = data.get("embeds") or []
    if len(embeds) > 10:
        errors.max_length((*path, "embeds"), 10)
    total = 0
    for index, embed in enumerate(embeds):
        total += _validate_embed(embed, errors, (*path, "embeds", index))
    if total > 6000:
        errors.add((*path, "embeds"), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    if flags & FLAG_IS_COMPONENTS_V2:
        for legacy in ("content", "embeds"):
            if data.get(legacy):
                errors.add(
                    (*path, legacy),
                    "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                    f"The '{legacy}' field cannot be used when using MessageFlags.IS_COMPONENTS_V2",
                )
    components = data.get("components")
    if components:
        validate_components(components, errors, (*path, "components"), v2=bool(flags & FLAG_IS_COMPONENTS_V2))


def _validate_embed(embed: dict[str, Any], errors: FormErrors, path: Path) -> int:
    """Checks one embed and returns the characters it counts towards the 6000 shared by a message."""
    path = tuple(path)
    counted = 0
    for key, limit in (("title", 256), ("description", 4096)):
        if embed.get(key) is not None:
            errors.check_length((*path, key), embed[key], 0, limit)
            counted += len(embed[key])
    fields = embed.get("fields") or []
    if len(fields) > 25:
        errors.max_length((*path, "fields"), 25)
    for index, item in enumerate(fields):
        errors.check_length((*path, "fields", index, "name"), item.get("name"), 1, 256)
        errors.check_length((*path, "fields", index, "value"), item.get("value"), 1, 1024)
        counted += len(item.get("name") or "") + len(item.get("value") or "")
    for key, inner, limit in (("footer", "text", 2048), ("author", "name", 256)):
        if embed.get(key) is not None:
            errors.check_length((*path, key, inner), embed[key].get(inner), 1, limit)
            counted += len(embed[key].get(inner) or "")
    return counted


def validate_components(components: list[dict[str, Any]], errors: FormErrors, path: Path, *, v2: bool) -> None:
    path = tuple(path)
    seen: set[str] = set()
    if not v2:
        if len(components) > 5:
            errors.max_length(path, 5)
        for index, row in enumerate(components):
            row_path = (*path, index)
            if row.get("type") != ACTION_ROW:
                errors.add((*row_path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1}.")
                continue
            _validate_row(row, errors, row_path, seen)
        return
    if sum(1 for _ in _walk(components)) > MAX_V2_COMPONENTS:
        errors.max_length(path, MAX_V2_COMPONENTS)
    for index, component in enumerate(components):
        _validate_v2(component, errors, (*path, index), seen)


def _validate_row(row: dict[str, Any], errors: FormErrors, path: Path, seen: set[str]) -> None:
    items = row.get("components") or []
    if not items:
        errors.bad_length((*path, "components"), 1, 5)
    elif len(items) > 5:
        errors.max_length((*path, "components"), 5)
    elif len(items) > 1 and any(item.get("type") in SELECTS for item in items):
        errors.add(
            (*path, "components"),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
            "The specified component exceeds the maximum width",
        )
    for index, item in enumerate(items):
        _validate_interactive(item, errors, (*path, "components", index), seen)


def _validate_v2(component: dict[str, Any], errors: FormErrors, path: Path, seen: set[str]) -> None:
    kind = component.get("type")
    if kind == ACTION_ROW:
        _validate_row(component, errors, path, seen)
    elif kind in (CONTAINER, SECTION):
        for index, child in enumerate(component.get("components") or []):
            _validate_v2(child, errors, (*path, "components", index), seen)
        if "accessory" in component:
            _validate_v2(component["accessory"], errors, (*path, "accessory"), seen)
    elif kind == TEXT_DISPLAY:
        errors.check_length((*path, "content"), component.get("content"), 1, 4000)
    elif kind == BUTTON or kind in SELECTS:
        _validate_interactive(component, errors, path, seen)


def _validate_interactive(item: dict[str, Any], errors: FormErrors, path: Path, seen: set[str]) -> None:
    path = tuple(path)
    kind = item.get("type")
    if kind == BUTTON:
        style = item.get("style")
        if style not in range(1, 7):
            errors.add((*path, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
        if style == LINK_STYLE:
            if not item.get("url"):
                errors.add((*path, "url"), "BUTTON_COMPONENT_URL_REQUIRED", "A url is required")
            if "custom_id" in item:
                errors.add((*path, "custom_id"), "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED", "A custom id is not allowed")
        elif style != PREMIUM_STYLE:
            _check_custom_id(item, errors, path, seen)
        if item.get("label") is not None:
            errors.check_length((*path, "label"), item["label"], 0, 80)
    elif kind in SELECTS:
        _check_custom_id(item, errors, path, seen)
        if item.get("placeholder") is not None:
            errors.check_length((*path, "placeholder"), item["placeholder"], 0, 150)
        _check_range(item, "min_values", 0, 25, errors, path)
        _check_range(item, "max_values", 1, 25, errors, path)
        if kind == STRING_SELECT:
            options = item.get("options") or []
            if not 1 <= len(options) <= 25:
                errors.bad_length((*path, "options"), 1, 25)
            for index, option in enumerate(options):
                option_path = (*path, "options", index)
                errors.check_length((*option_path, "label"), option.get("label"), 1, 100)
                errors.check_length((*option_path, "value"), option.get("value"), 1, 100)
                if option.get("description") is not None:
                    errors.check_length((*option_path, "description"), option["description"], 0, 100)
    else:
        errors.add((*path, "type"), "UNION_TYPE_CHOICES", f'Value of field "type" must be one of ({BUTTON}, 3..8).')


def _check_custom_id(item: dict[str, Any], errors: FormErrors, path: Path, seen: set[str]) -> None:
    custom_id = item.get("custom_id")
    errors.check_length((*path, "custom_id"), custom_id, 1, 100)
    if isinstance(custom_id, str):
        if custom_id in seen:
            errors.add(
                (*path, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
            )
        seen.add(custom_id)


def _check_range(item: dict[str, Any], key: str, low: int, high: int, errors: FormErrors, path: Path) -> None:
    value = item.get(key)
    if value is None:
        return
    if value < low:
        errors.add((*path, key), "NUMBER_TYPE_MIN", f"Int value should be greater than or equal to {low}.")
    elif value > high:
        errors.add((*path, key), "NUMBER_TYPE_MAX", f"Int value should be less than or equal to {high}.")


def _walk(components: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for component in components:
        yield component
        yield from _walk(component.get("components") or [])
        for key in ("accessory", "component"):
            if key in component:
                yield from _walk([component[key]])


def validate_modal(data: dict[str, Any], errors: FormErrors, path: Path = ("data",)) -> None:
    path = tuple(path)
    errors.check_length((*path, "custom_id"), data.get("custom_id"), 1, 100)
    errors.check_length((*path, "title"), data.get("title"), 1, 45)
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        errors.bad_length((*path, "components"), 1, 5)
    seen: set[str] = set()
    for index, component in enumerate(components):
        item_path = (*path, "components", index)
        kind = component.get("type")
        if kind == ACTION_ROW:
            inputs = component.get("components") or []
            if len(inputs) != 1:
                errors.bad_length((*item_path, "components"), 1, 1)
            for position, text_input in enumerate(inputs):
                _validate_text_input(text_input, errors, (*item_path, "components", position), seen, labelled=False)
        elif kind == LABEL:
            errors.check_length((*item_path, "label"), component.get("label"), 1, 45)
            if component.get("description") is not None:
                errors.check_length((*item_path, "description"), component["description"], 0, 100)
            inner: dict[str, Any] = component.get("component") or {}
            if inner.get("type") == TEXT_INPUT:
                _validate_text_input(inner, errors, (*item_path, "component"), seen, labelled=True)
            elif inner.get("type") in MODAL_ONLY_INPUTS:
                _check_custom_id(inner, errors, (*item_path, "component"), seen)
            else:
                _validate_interactive(inner, errors, (*item_path, "component"), seen)
        elif kind == TEXT_DISPLAY:
            errors.check_length((*item_path, "content"), component.get("content"), 1, 4000)
        else:
            errors.add((*item_path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 10, 18}.")


def _validate_text_input(
    item: dict[str, Any], errors: FormErrors, path: Path, seen: set[str], *, labelled: bool
) -> None:
    path = tuple(path)
    if item.get("type") != TEXT_INPUT:
        errors.add((*path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {4}.")
        return
    _check_custom_id(item, errors, path, seen)
    if item.get("style") not in (1, 2):
        errors.add((*path, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2}.")
    if not labelled:
        errors.check_length((*path, "label"), item.get("label"), 1, 45)
    _check_range(item, "min_length", 0, 4000, errors, path)
    _check_range(item, "max_length", 1, 4000, errors, path)
    for key, limit in (("value", 4000), ("placeholder", 100)):
        if item.get(key) is not None:
            errors.check_length((*path, key), item[key], 0, limit)


def validate_autocomplete(data: dict[str, Any], errors: FormErrors, path: Path = ("data",)) -> None:
    path = tuple(path)
    choices = data.get("choices")
    if choices is None:
        errors.required((*path, "choices"))
        return
    if len(choices) > 25:
        errors.max_length((*path, "choices"), 25)
    for index, choice in enumerate(choices):
        errors.check_length((*path, "choices", index, "name"), choice.get("name"), 1, 100)
        if isinstance(choice.get("value"), str):
            errors.check_length((*path, "choices", index, "value"), choice["value"], 0, 100)


def validate_commands(commands: Any, errors: FormErrors) -> None:
    """A bulk overwrite body: the whole set of one scope's commands."""
    if not isinstance(commands, list):
        errors.add((), "BASE_TYPE_ARRAY", "Must be an array.")
        return
    if sum(1 for c in commands if c.get("type", CHAT_INPUT) == CHAT_INPUT) > MAX_COMMANDS_PER_SCOPE:
        errors.max_length((), MAX_COMMANDS_PER_SCOPE)
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        validate_command(command, errors, (index,))
        key = (command.get("type", CHAT_INPUT), command.get("name"))
        if key in seen:
            errors.add((index,), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
        seen.add(key)


def validate_command(command: dict[str, Any], errors: FormErrors, path: Path = ()) -> None:
    path = tuple(path)
    kind = command.get("type", CHAT_INPUT)
    if kind not in (CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND):
        errors.add((*path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3}.")
        return
    if kind == CHAT_INPUT:
        _check_name(command.get("name"), errors, (*path, "name"))
        errors.check_length((*path, "description"), command.get("description"), 1, 100)
        _check_localizations(command, errors, path)
        _validate_options(command.get("options") or [], errors, (*path, "options"), depth=0)
        if _command_size(command) > MAX_COMMAND_SIZE:
            errors.add(path, "APPLICATION_COMMAND_TOO_LARGE", f"Command exceeds maximum size ({MAX_COMMAND_SIZE})")
    else:
        # USER and MESSAGE commands may be mixed case and contain spaces, and take no options.
        errors.check_length((*path, "name"), command.get("name"), 1, 32)
        if command.get("options"):
            errors.add((*path, "options"), "APPLICATION_COMMAND_OPTIONS_INVALID", "Options are not allowed")
    # A permission bit set, as a string or (what discord.py sends) an integer.
    permissions = command.get("default_member_permissions")
    if permissions is not None and not str(permissions).isdigit():
        errors.add((*path, "default_member_permissions"), "NUMBER_TYPE_COERCE", f'Value "{permissions}" is not int.')


def _check_name(name: Any, errors: FormErrors, path: Path) -> None:
    if not isinstance(name, str) or not COMMAND_NAME.match(name) or name != name.lower():
        errors.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


# The locales Discord's clients have (docs, Reference > Locales); a localization under any other key is refused.
LOCALES = frozenset(
    [
        "id",
        "da",
        "de",
        "en-GB",
        "en-US",
        "es-ES",
        "es-419",
        "fr",
        "hr",
        "it",
        "lt",
        "hu",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "ro",
        "fi",
        "sv-SE",
        "vi",
        "tr",
        "cs",
        "el",
        "bg",
        "ru",
        "uk",
        "hi",
        "th",
        "zh-CN",
        "ja",
        "zh-TW",
        "ko",
    ]
)


def _check_locales(item: dict[str, Any], errors: FormErrors, path: Path) -> None:
    for field in ("name_localizations", "description_localizations"):
        for locale in item.get(field) or {}:
            if locale not in LOCALES:
                errors.add((*path, field, locale), "LOCALE_INVALID", f"Invalid locale: {locale}")


def _check_localizations(item: dict[str, Any], errors: FormErrors, path: Path) -> None:
    _check_locales(item, errors, path)
    for locale, name in (item.get("name_localizations") or {}).items():
        _check_name(name, errors, (*path, "name_localizations", locale))
    for locale, text in (item.get("description_localizations") or {}).items():
        errors.check_length((*path, "description_localizations", locale), text, 1, 100)


def _validate_options(options: list[dict[str, Any]], errors: FormErrors, path: Path, *, depth: int) -> None:
    """``depth`` 0 is a command's own options, 1 a group's subcommands, 2 a subcommand's options."""
    path = tuple(path)
    if len(options) > 25:
        errors.max_length(path, 25)
    nesting = [o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in options]
    if any(nesting) and not all(nesting):
        errors.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive to all other types",
        )
    seen_optional = False
    names: set[Any] = set()
    for index, option in enumerate(options):
        option_path = (*path, index)
        kind = option.get("type")
        name = option.get("name")
        _check_name(name, errors, (*option_path, "name"))
        errors.check_length((*option_path, "description"), option.get("description"), 1, 100)
        _check_localizations(option, errors, option_path)
        if name in names:
            errors.add(
                (*option_path, "name"),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                f"Option name {name} is already used in these options",
            )
        names.add(name)
        allowed = {SUB_COMMAND_GROUP, SUB_COMMAND} if depth == 0 else {SUB_COMMAND} if depth == 1 else set()
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            if kind not in allowed:
                errors.add(
                    (*option_path, "type"),
                    "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                    "Sub-commands can only be nested one group deep",
                )
                continue
            _validate_options(
                option.get("options") or [],
                errors,
                (*option_path, "options"),
                depth=1 if kind == SUB_COMMAND_GROUP else 2,
            )
            continue
        if kind not in range(STRING, ATTACHMENT + 1):
            errors.add((*option_path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, ..., 11}.")
        if depth == 1:
            errors.add(
                (*option_path, "type"),
                "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                "A sub-command group may only contain sub-commands",
            )
        if option.get("required"):
            if seen_optional:
                errors.add(
                    path,
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
        _validate_choices(option, errors, option_path)
        if option.get("min_length") is not None:
            _check_range(option, "min_length", 0, 6000, errors, option_path)
        if option.get("max_length") is not None:
            _check_range(option, "max_length", 1, 6000, errors, option_path)


def _validate_choices(option: dict[str, Any], errors: FormErrors, path: Path) -> None:
    choices = option.get("choices")
    if not choices:
        return
    if option.get("type") not in (STRING, INTEGER, NUMBER):
        errors.add((*path, "choices"), "APPLICATION_COMMAND_OPTION_CHOICES_INVALID", "Choices are not allowed")
    if option.get("autocomplete"):
        errors.add(
            (*path, "autocomplete"),
            "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_WITH_CHOICES",
            "Autocomplete cannot be enabled on options that have choices",
        )
    if len(choices) > 25:
        errors.max_length((*path, "choices"), 25)
    for index, choice in enumerate(choices):
        errors.check_length((*path, "choices", index, "name"), choice.get("name"), 1, 100)
        _check_locales(choice, errors, (*path, "choices", index))
        for locale, name in (choice.get("name_localizations") or {}).items():
            errors.check_length((*path, "choices", index, "name_localizations", locale), name, 1, 100)
        if isinstance(choice.get("value"), str):
            errors.check_length((*path, "choices", index, "value"), choice["value"], 1, 100)


def _command_size(item: dict[str, Any]) -> int:
    """Discord's combined size: names, descriptions and choice names/values of the whole command; for a
    localised field only its longest variant counts."""

    def longest(key: str) -> int:
        variants = [str(item.get(key) or ""), *(item.get(f"{key}_localizations") or {}).values()]
        return max(len(v) for v in variants)

    size = longest("name") + longest("description")
    for choice in item.get("choices") or []:
        size += max([len(choice.get("name", ""))] + [len(v) for v in (choice.get("name_localizations") or {}).values()])
        size += len(str(choice.get("value", "")))
    return size + sum(_command_size(option) for option in item.get("options") or [])
