"""The httpx side of the doorway: one client per event loop, timeouts, and the auth header.

An httpx.AsyncClient's connections belong to the loop that opened them, so the client is shared per event loop
(daphne runs one; tests run one per test), never across loops.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Generator
from dataclasses import dataclass

import httpx

from providers.egress import EgressPolicy
from providers.errors import ProviderError
from providers.presets import Preset
from providers.types import Endpoint
from providers.wire import AiohttpTransport

LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=40, keepalive_expiry=30.0)
USER_AGENT = "NovaWeb/0.1 (+httpx)"


@dataclass(frozen=True)
class Timeouts:
    """Seconds. `connect`: TCP+TLS. `first_token`: from sending the request to the first reply text
    (keep-alive comments do not count). `idle`: the longest silence between two network reads, pings included
    (httpx's read timeout). `total`: the whole call, retries included. Separate limits, because a slow
    reasoning model is legitimate while a silent connection is not."""

    connect: float = 10.0
    first_token: float = 120.0
    idle: float = 60.0
    total: float = 600.0

    def for_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.idle, write=self.idle, pool=self.connect)


DEFAULT_TIMEOUTS = Timeouts()

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def new_client(
    transport: httpx.AsyncBaseTransport | None = None, *, policy: EgressPolicy | None = None
) -> httpx.AsyncClient:
    """A client configured as the doorway requires.

    Redirects are never followed: httpx drops Authorization on a cross-origin redirect but would forward a
    custom X-API-Key header to whatever host a 3xx names, so a key only ever goes to the host it was saved
    for. The environment is not trusted either, so neither proxy variables nor ~/.netrc can reroute a
    request or add a second credential to it. Connections obey the egress `policy` (None: the configured
    one, see providers.egress); a test's own `transport` replaces all of that.
    """
    return httpx.AsyncClient(
        limits=LIMITS,
        timeout=DEFAULT_TIMEOUTS.for_httpx(),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
        transport=transport or AiohttpTransport(LIMITS, policy),
    )


def shared_client() -> httpx.AsyncClient:
    """The running loop's client, created on first use."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = new_client()
        _clients[loop] = client
    return client


async def aclose_shared_client() -> None:
    """Close the running loop's client (at shutdown, or at the end of a test)."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


class KeyAuth(httpx.Auth):
    """Sets exactly one auth header, in the endpoint's style, on each request.

    Holding the key inside an Auth object keeps it out of header dicts that might be logged or shown in a
    traceback's locals; its repr names the style only.
    """

    def __init__(self, endpoint: Endpoint, secret: str) -> None:
        self._style = endpoint.auth_style
        self._header = {"bearer": "Authorization", "x-api-key": "X-API-Key"}.get(
            endpoint.auth_style, endpoint.auth_header
        )
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        value = f"Bearer {self._secret}" if self._style == "bearer" else self._secret
        request.headers[self._header] = value
        yield request

    def __repr__(self) -> str:
        return f"KeyAuth(style={self._style!r}, header={self._header!r})"


def checked_key(preset: Preset, api_key: str) -> str:
    """The key, stripped, if it can be sent as a header value.

    Checked here because httpx/h11 would otherwise raise an "illegal header value" error whose text contains
    the key itself.
    """
    key = (api_key or "").strip()
    if not key:
        raise ProviderError("auth", f"{preset.name}: no key is set — add your key in settings.")
    if any(not (0x21 <= ord(ch) <= 0x7E) for ch in key) or len(key) > 4096:
        raise ProviderError(
            "auth", f"{preset.name}: the key contains characters that cannot be sent — re-enter the key."
        )
    return key
