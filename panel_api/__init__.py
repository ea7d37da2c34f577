"""Typed async clients for game-panel user APIs, one per panel kind, behind one interface."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import aiohttp
from pydantic import SecretStr

from .base import HealthReport, PanelClient
from .calagopus import CalagopusClient
from .convoy import ConvoyClient
from .ctrlpanel import CtrlPanelClient
from .errors import (
    Conflict,
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
from .models import Capability, NewUser, PanelKind, PanelUser, UserChanges, UserPage
from .pterodactyl import PelicanClient, PterodactylClient
from .pterodactyl_legacy import LegacyPterodactylClient
from .registry import PanelRegistry
from .transport import RetryReason, TransportObserver, TransportOptions

CLIENTS: dict[PanelKind, type[PanelClient]] = {
    PanelKind.PTERODACTYL: PterodactylClient,
    PanelKind.PELICAN: PelicanClient,
    PanelKind.CTRLPANEL: CtrlPanelClient,
    PanelKind.CONVOY: ConvoyClient,
    PanelKind.CALAGOPUS: CalagopusClient,
    PanelKind.PTERODACTYL_LEGACY: LegacyPterodactylClient,
}


def create_client(
    kind: PanelKind | str,
    base_url: str,
    api_key: str | SecretStr,
    *,
    session: aiohttp.ClientSession | None = None,
    name: str | None = None,
    **options: Any,
) -> PanelClient:
    """Build the client for `kind`.

    Keyword options named like TransportOptions fields (timeout, rate_limit, max_retries, …) tune the transport;
    any other option goes to the panel's client (e.g. a panel version where a client needs one).
    """
    panel_kind = PanelKind(kind)
    try:
        cls = CLIENTS[panel_kind]
    except KeyError:
        raise NotSupported(f"Panel kind {panel_kind.value!r} is not supported yet.") from None
    transport_names = {f.name for f in dataclasses.fields(TransportOptions)}
    transport = {"rate_limit": cls.default_rate_limit, **{k: v for k, v in options.items() if k in transport_names}}
    extra = {k: v for k, v in options.items() if k not in transport_names}
    return cls(base_url, api_key, session=session, options=TransportOptions(**transport), name=name, **extra)


def client_option_names(kind: PanelKind | str) -> set[str]:
    """The panel-specific keyword options `create_client` accepts for `kind` (e.g. CtrlPanel's `version`)."""
    cls = CLIENTS.get(PanelKind(kind))
    if cls is None:
        return set()
    parameters = inspect.signature(cls.__init__).parameters.values()
    shared = {"self", "base_url", "api_key", "session", "options", "name"}
    return {p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.name not in shared}


__all__ = [
    "CLIENTS",
    "CalagopusClient",
    "Capability",
    "Conflict",
    "ConvoyClient",
    "CtrlPanelClient",
    "Forbidden",
    "HealthReport",
    "LegacyPterodactylClient",
    "NewUser",
    "NotFound",
    "NotSupported",
    "PanelClient",
    "PanelError",
    "PanelKind",
    "PanelRegistry",
    "PanelUnavailable",
    "PanelUser",
    "PelicanClient",
    "PterodactylClient",
    "RateLimited",
    "RetryReason",
    "TransportObserver",
    "TransportOptions",
    "Unauthorized",
    "UserChanges",
    "UserHasServers",
    "UserPage",
    "ValidationFailed",
    "client_option_names",
    "create_client",
]
