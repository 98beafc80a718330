"""Opening a request and turning transport trouble (connect, status, timeouts) into ProviderErrors.

httpx exceptions are never chained onto a ProviderError (`from None`): they hold the request, headers included,
and their text can quote header values.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from providers.bodies import encode_body
from providers.egress import EgressRefused
from providers.errors import ERROR_BODY_LIMIT, ProviderError, error_from_response, redact, simple_error
from providers.http import KeyAuth, Timeouts, checked_key
from providers.presets import PRESETS, Preset
from providers.retry import RetryPolicy, parse_retry_after
from providers.types import Endpoint


@dataclass(frozen=True)
class Call:
    """Everything one call needs. The key and the auth object are left out of the repr, so a Call can show
    up in a log or a traceback without leaking the key."""

    endpoint: Endpoint
    preset: Preset
    path: str
    mode: str  # "chat" (delta.content), "text" (choice.text) or "models"
    content: bytes = field(repr=False)  # the encoded JSON body; b"" for a GET
    timeouts: Timeouts
    retry: RetryPolicy
    client: httpx.AsyncClient | None
    auth: KeyAuth = field(repr=False)
    secret: str = field(repr=False)


def make_call(endpoint, api_key, path, mode, body, timeouts, retry, client) -> Call:
    """Check the key (ProviderError "auth" when it cannot be sent), encode `body` (a dict, or None for a
    GET) and bundle the call."""
    preset = PRESETS[endpoint.preset]
    key = checked_key(preset, api_key)
    content = b"" if body is None else encode_body(preset, body)
    return Call(endpoint, preset, path, mode, content, timeouts, retry, client, KeyAuth(endpoint, key), key)


async def open_response(
    call: Call, client: httpx.AsyncClient, request: httpx.Request, deadline: float, total_deadline: float
) -> httpx.Response:
    """Send `request` and return the open (streaming) 2xx response; any other outcome raises ProviderError.

    The caller must close the returned response.
    """
    try:
        async with asyncio.timeout_at(deadline):
            response = await client.send(request, stream=True, auth=call.auth)
    except TimeoutError:
        raise deadline_error(call, total=deadline >= total_deadline) from None
    except httpx.HTTPError as exc:
        raise transport_error(call, exc, shown=False) from None
    try:
        await _raise_for_status(call, response, total_deadline)
    except BaseException:
        await response.aclose()
        raise
    return response


async def _raise_for_status(call: Call, response: httpx.Response, total_deadline: float) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        target = urlsplit(response.headers.get("location", "")).hostname or "an unnamed address"
        raise ProviderError(
            "redirect",
            f"{call.preset.name}: the address redirects elsewhere (HTTP {status}), and redirects are not "
            "followed — check the base URL.",
            status=status,
            detail=redact(f"redirect to {target}", call.secret),
            detail_from="connection",
        )
    loop = asyncio.get_running_loop()
    deadline = min(total_deadline, loop.time() + call.timeouts.idle)
    body = await read_bounded(call, response, ERROR_BODY_LIMIT, deadline, tolerant=True)
    raise error_from_response(
        call.preset,
        status,
        body,
        response.headers.get("content-type", ""),
        secret=call.secret,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


async def read_bounded(
    call: Call, response: httpx.Response, limit: int, deadline: float, *, tolerant: bool = False
) -> bytes:
    """Up to `limit` bytes of the body (the rest is never read). With `tolerant`, a transport failure or
    the deadline just ends the read (used for error bodies, where what we have is enough)."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout_at(deadline):
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= limit:
                    break
    except TimeoutError:
        if not tolerant:
            raise deadline_error(call, total=True) from None
    except httpx.HTTPError as exc:
        if not tolerant:
            raise transport_error(call, exc, shown=False) from None
    return b"".join(chunks)[:limit]


def transport_error(call: Call, exc: httpx.HTTPError, *, shown: bool) -> ProviderError:
    """The ProviderError for an httpx failure; `shown` tells whether reply text was already produced."""
    preset, host = call.preset, call.endpoint.host
    if isinstance(exc, EgressRefused):  # nothing was sent; the sentence says what to change
        return simple_error(preset, "blocked", str(exc))
    detail = f"{type(exc).__name__}: {redact(str(exc), call.secret)}"
    if isinstance(exc, httpx.ConnectTimeout):
        what = f"cannot reach {host} (the connection timed out) — check the base URL and try again."
        return simple_error(preset, "unreachable", what, detail=detail)
    if isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol):
        return simple_error(
            preset, "unreachable", f"cannot reach {host} — check the base URL and try again.", detail=detail
        )
    if isinstance(exc, httpx.ReadTimeout):
        what = (
            "the provider stopped responding — try again."
            if shown
            else "the provider did not answer in time — try again."
        )
        return simple_error(preset, "timeout", what, detail=detail)
    if isinstance(exc, httpx.TimeoutException):
        return simple_error(preset, "timeout", "the request timed out — try again.", detail=detail)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError) and not shown:
        # Often a pooled keep-alive connection the server had already closed: worth another attempt.
        return simple_error(
            preset, "unavailable", "the connection dropped before a reply — try again.", detail=detail
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return simple_error(
            preset, "stream_cut", "the reply was cut off — retry, or continue from here.", detail=detail
        )
    return simple_error(
        preset, "unreachable", f"cannot reach {host} — check the base URL and try again.", detail=detail
    )


def deadline_error(call: Call, *, total: bool) -> ProviderError:
    timeouts = call.timeouts
    if total:
        what = f"the reply took longer than the {timeouts.total:g} s limit — try again."
    else:
        what = f"no reply within {timeouts.first_token:g} s — try again, or pick a faster model."
    return simple_error(call.preset, "timeout", what)
