"""What the stand-in records of the bot's behaviour, in the shapes tests assert on."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")

FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_IS_COMPONENTS_V2 = 1 << 15

COMPONENT_BUTTON = 2


class RoleChange(NamedTuple):
    guild_id: int
    user_id: int
    role_id: int
    added: bool
    reason: str | None = None


class ErrorResponse(NamedTuple):
    """A 4xx the stand-in answered the bot with."""

    method: str
    path: str
    status: int
    body: dict[str, Any]


@dataclass
class RecordedAttachment:
    id: int
    filename: str
    content: bytes
    content_type: str | None = None
    description: str | None = None


@dataclass
class RecordedMessage:
    """One message's current state. The stand-in keeps one live object per id; edits replace its fields
    and push the previous state onto ``history``. Responses hold snapshots taken when they happened."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    flags: int
    allowed_mentions: dict[str, Any] | None
    nonce: str | int | None
    created_at: datetime
    attachments: list[RecordedAttachment] = field(default_factory=list)
    tts: bool = False
    interaction_id: int | None = None
    message_type: int = 0
    edited_at: datetime | None = None
    deleted: bool = False
    history: list[RecordedMessage] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """A deferred response's "Bot is thinking…" placeholder, not yet resolved."""
        return bool(self.flags & FLAG_LOADING)

    def walk_components(self) -> Iterator[dict[str, Any]]:
        """Every component, however deep (action rows, and components v2 containers and sections)."""
        stack = list(reversed(self.components))
        while stack:
            component = stack.pop()
            yield component
            nested = list(component.get("components", ()))
            for key in ("component", "accessory"):
                if key in component:
                    nested.append(component[key])
            stack.extend(reversed(nested))

    def buttons(self) -> list[dict[str, Any]]:
        return [c for c in self.walk_components() if c.get("type") == COMPONENT_BUTTON]

    def button_labels(self) -> list[str]:
        return [button.get("label", "") for button in self.buttons()]

    def button(self, label: str) -> dict[str, Any]:
        for candidate in self.buttons():
            if candidate.get("label") == label:
                return candidate
        raise KeyError(f"message {self.id} has no button {label!r}; it has {self.button_labels()}")

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in self.walk_components() if "custom_id" in c]

    def component(self, custom_id: str) -> dict[str, Any]:
        for candidate in self.walk_components():
            if candidate.get("custom_id") == custom_id:
                return candidate
        raise KeyError(f"message {self.id} has no component {custom_id!r}; it has {self.custom_ids()}")

    def text(self) -> str:
        """Content plus every embed's visible text, for assertions that do not care where words sit."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            parts += [f"{f.get('name', '')}\n{f.get('value', '')}" for f in embed.get("fields", ())]
            parts += [embed.get("author", {}).get("name", ""), embed.get("footer", {}).get("text", "")]
        return "\n".join(part for part in parts if part)

    def snapshot(self) -> RecordedMessage:
        return replace(self, embeds=copy.deepcopy(self.embeds), components=copy.deepcopy(self.components), history=[])


@dataclass
class RecordedResponse:
    """One thing the bot did to answer an interaction.

    ``kind`` is one of 'reply', 'defer', 'update', 'deferred_update', 'autocomplete', 'modal' (callbacks),
    'followup', 'edit_original', 'delete_original', 'edit_followup', 'delete_followup' (webhook calls).
    ``payload`` is the JSON body the bot sent; ``message`` the message as it stood right after this step.
    """

    kind: str
    payload: dict[str, Any]
    at: float
    message: RecordedMessage | None = None

    @property
    def choices(self) -> list[dict[str, Any]]:
        return self.payload.get("data", {}).get("choices", [])

    @property
    def modal(self) -> dict[str, Any]:
        return self.payload.get("data", {})


class Changes:
    """Lets tests wait for the stand-in's state to satisfy a condition, without polling or sleeping."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, check: Callable[[], T | None], within: float, describe: Callable[[], str]) -> T:
        """``check()`` after every change until it returns something; ``describe()`` explains a timeout."""
        try:
            async with asyncio.timeout(within):
                while True:
                    event = self._event
                    result = check()
                    if result is not None:
                        return result
                    await event.wait()
        except TimeoutError:
            raise TimeoutError(f"timed out after {within}s: {describe()}") from None


class InteractionRecord:
    """One interaction the stand-in dispatched and everything the bot answered to it, in order."""

    def __init__(
        self,
        *,
        interaction_id: int,
        token: str,
        type: int,
        payload: dict[str, Any],
        user_id: int,
        changes: Changes,
        live_message: Callable[[int], RecordedMessage | None],
        source_message_id: int | None = None,
    ) -> None:
        self.id = interaction_id
        self.token = token
        self.type = type
        self.payload = payload
        self.user_id = user_id
        self.responses: list[RecordedResponse] = []
        self.rejected: list[ErrorResponse] = []
        self.dispatched_at = time.perf_counter()
        self.first_response_at: float | None = None
        self._changes = changes
        self._live_message = live_message
        # Server-side state of the interaction, as Discord tracks it.
        self.source_message_id = source_message_id
        self.callback_type: int | None = None
        self.original_message_id: int | None = None
        self.loading_unresolved = False
        self.modal_open = False

    def __repr__(self) -> str:
        kinds = [r.kind for r in self.responses]
        return f"<InteractionRecord id={self.id} type={self.type} responses={kinds} rejected={len(self.rejected)}>"

    @property
    def acknowledged(self) -> bool:
        return self.callback_type is not None

    def record(self, response: RecordedResponse) -> None:
        self.responses.append(response)
        if self.first_response_at is None:
            self.first_response_at = response.at
        self._changes.notify()

    def reject(self, error: ErrorResponse) -> None:
        self.rejected.append(error)
        self._changes.notify()

    # The waits take ``timeout`` like discord.py's own ``Client.wait_for`` (hence the ASYNC109 exemptions).
    async def wait_for(self, count: int = 1, timeout: float = 5) -> list[RecordedResponse]:  # noqa: ASYNC109
        """Wait until at least ``count`` responses arrived; returns all of them."""
        return await self._changes.wait_until(
            lambda: self.responses if len(self.responses) >= count else None,
            timeout,
            lambda: f"{self!r} wanted {count} response(s); rejected calls: {self.rejected}",
        )

    async def wait_for_message(
        self,
        predicate: Callable[[RecordedMessage], bool] | None = None,
        timeout: float = 5,  # noqa: ASYNC109
    ) -> RecordedMessage:
        """The newest message this interaction produced or touched, in its current (edited) state;
        deleted messages and unresolved "thinking…" placeholders are skipped."""

        def find() -> RecordedMessage | None:
            seen: set[int] = set()
            for response in reversed(self.responses):
                if response.message is None or response.message.id in seen:
                    continue
                seen.add(response.message.id)
                live = self._live_message(response.message.id)
                if live is None or live.deleted or live.loading:
                    continue
                if predicate is None or predicate(live):
                    return live
            return None

        return await self._changes.wait_until(find, timeout, lambda: f"{self!r} produced no matching message")
