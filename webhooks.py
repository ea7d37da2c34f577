"""`POST /webhooks/<panel name>`: a panel or billing system says "look at this account now".

The body only names the account; the bot never takes facts from it. It reads the account from the panel's API and
runs the path a sweep would (notices, roles), so a forged body could at most make the bot look sooner. Requests are
signed with the panel's `webhook_secret` (PANELS options): header `X-Panel-Desk-Timestamp` (Unix seconds, at most
five minutes from now) and `X-Panel-Desk-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`; a
signature seen before is refused. Each refusal is a 4xx with a JSON reason and one log line.

Pelican's own webhooks (Admin > Webhooks, type Regular) cannot sign: they POST the event as JSON with the headers
the admin typed into the webhook's form. So on a Pelican panel the bot also takes a delivery carrying
`X-Panel-Desk-Secret: <webhook_secret>` (compared in constant time). Its body is Pelican's: since 2025-11
`{"event": "updated: User", "data": {…the model…}, "timestamp": …}`, before that the model's attributes with
`"event"` beside them (app/Jobs/ProcessWebhook.php, app/Listeners/DispatchWebhooks.php). A User event names the
account to look at by `id`, a Server event by `owner_id` (so a role for having servers follows at once); other
events are answered 202 and ignored, since Pelican does not retry and a refusal would only fill its log. A static
secret cannot refuse a replay, and need not: a replayed event can only make the bot read an account sooner.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web

from panel_api import PanelKind

if TYPE_CHECKING:
    from bot import PanelDesk
    from cogs.notifications import Notifications

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-Panel-Desk-Timestamp"
SIGNATURE_HEADER = "X-Panel-Desk-Signature"
PELICAN_SECRET_HEADER = "X-Panel-Desk-Secret"
# Pelican's event names as sent ("created: User"), and the model attribute naming the account each is about.
PELICAN_ACCOUNT_FIELD = {"User": "id", "Server": "owner_id"}
MAX_AGE_SECONDS = 300
MAX_BODY_BYTES = 16_384
MAX_PELICAN_BYTES = 262_144  # a model's attributes, a server's with its egg's startup line


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The header value a sender computes: what a billing hook or cron must send."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class Webhooks:
    def __init__(self, bot: PanelDesk) -> None:
        self.bot = bot
        # Signatures accepted in the last MAX_AGE_SECONDS, with when: a replay inside the window is refused, and
        # one outside it is stale anyway. Kept in memory: a restart forgets them, so a capture replayed right after
        # a restart is looked at once more (it can only make the bot read an account sooner).
        self._seen: dict[str, float] = {}

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/webhooks/{panel}", self.receive)]

    async def receive(self, request: web.Request) -> web.Response:
        name = request.match_info["panel"]
        panel = self.bot.settings.all_panels().get(name)
        secret = panel.options.get("webhook_secret") if panel is not None else None
        if panel is None or not secret:
            return _refuse(404, name, "no such panel takes webhooks (set webhook_secret in its options)")
        if panel.kind is PanelKind.PELICAN and SIGNATURE_HEADER not in request.headers:
            return await self.receive_pelican(request, name, str(secret))
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _refuse(413, name, "the body is larger than 16 KiB")
        body = await request.content.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            return _refuse(413, name, "the body is larger than 16 KiB")
        stamp = request.headers.get(TIMESTAMP_HEADER, "")
        if not stamp.isdigit():
            return _refuse(401, name, f"{TIMESTAMP_HEADER} is missing or not Unix seconds")
        now = time.time()
        if abs(now - int(stamp)) > MAX_AGE_SECONDS:
            return _refuse(401, name, f"{TIMESTAMP_HEADER} is more than 5 minutes from now")
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(given.encode(), signature(str(secret), stamp, body).encode()):
            return _refuse(401, name, f"{SIGNATURE_HEADER} does not match the body")
        self._seen = {seen: at for seen, at in self._seen.items() if at > now - MAX_AGE_SECONDS}
        if given in self._seen:
            return _refuse(409, name, "this signature was used before (a replay)")
        account = _account(body)
        if account is None:
            return _refuse(400, name, 'the body must be a JSON object with "user_id" or "email", not both')
        self._seen[given] = now
        watcher = cast("Notifications | None", self.bot.get_cog("Notifications"))
        if watcher is None:
            return _refuse(503, name, "the bot is starting or stopping")
        watcher.look_soon(name, **account)
        return web.json_response({"status": "accepted"}, status=202)

    async def receive_pelican(self, request: web.Request, name: str, secret: str) -> web.Response:
        """A delivery of Pelican's own webhooks (module docstring)."""
        given = request.headers.get(PELICAN_SECRET_HEADER, "")
        if not given:
            return _refuse(401, name, f"neither {SIGNATURE_HEADER} nor {PELICAN_SECRET_HEADER} is set")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return _refuse(401, name, f"{PELICAN_SECRET_HEADER} is not the panel's webhook_secret")
        if request.content_length is not None and request.content_length > MAX_PELICAN_BYTES:
            return _refuse(413, name, "the body is larger than 256 KiB")
        body = await request.content.read(MAX_PELICAN_BYTES + 1)
        if len(body) > MAX_PELICAN_BYTES:
            return _refuse(413, name, "the body is larger than 256 KiB")
        event = _pelican_event(body)
        if event is None:
            return _refuse(400, name, 'the body is not a Pelican webhook (a JSON object with "event")')
        model, attributes = event
        field = PELICAN_ACCOUNT_FIELD.get(model)
        if field is None:
            log.debug("webhook for panel %r: Pelican event about %r, not an account; ignored", name[:40], model[:40])
            return web.json_response({"status": "ignored"}, status=202)
        user_id = attributes.get(field)
        if isinstance(user_id, bool) or not isinstance(user_id, int | str) or not str(user_id).strip():
            return _refuse(400, name, f'the {model} event has no "{field}"')
        watcher = cast("Notifications | None", self.bot.get_cog("Notifications"))
        if watcher is None:
            return _refuse(503, name, "the bot is starting or stopping")
        watcher.look_soon(name, user_id=str(user_id).strip())
        return web.json_response({"status": "accepted"}, status=202)


def _pelican_event(body: bytes) -> tuple[str, dict[str, Any]] | None:
    """(model, its attributes) of a Pelican delivery: "updated: User" → "User"; None when it is not one."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        return None
    event: str = data["event"]
    model = event.rpartition(": ")[2].rpartition("\\")[2].strip()  # "created: User"; older: "…: App\\Models\\User"
    attributes = data["data"] if isinstance(data.get("data"), dict) else data
    return model, attributes


def _account(body: bytes) -> dict[str, str] | None:
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    user_id, email = data.get("user_id"), data.get("email")
    if (user_id is None) == (email is None):
        return None
    if user_id is not None:
        if isinstance(user_id, bool) or not isinstance(user_id, str | int) or not str(user_id).strip():
            return None
        return {"user_id": str(user_id).strip()}
    if not isinstance(email, str) or "@" not in email or len(email) > 320:
        return None
    return {"email": email.strip()}


def _refuse(status: int, panel: str, reason: str) -> web.Response:
    log.warning("webhook for panel %r refused (%d): %s", panel[:40], status, reason)
    return web.json_response({"error": reason}, status=status)
