"""Small helpers shared by the provider tests: endpoints on the fake, fast limits, collecting a stream."""

from __future__ import annotations

import pickle
import socket
from contextlib import aclosing

from providers import (
    NO_RETRY,
    ChatRequest,
    Endpoint,
    ProviderError,
    RetryPolicy,
    StreamEnd,
    TextDelta,
    Timeouts,
    stream_chat,
)

# Key-shaped, so both the literal replacement and the pattern-based redaction are exercised.
KEY = "sk-CANARY-0123456789abcdefXYZ"
FAST = Timeouts(connect=2.0, first_token=3.0, idle=3.0, total=10.0)
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, deadline=5.0)

# preset -> the fake's dialect serving it
DIALECT = {"novisurf": "novisurf", "novakit": "novakit", "novita": "novita", "openai": "openai"}


def endpoint(
    fp,
    preset: str = "novisurf",
    *,
    dialect: str | None = None,
    auth_style: str = "bearer",
    auth_header: str = "",
) -> Endpoint:
    return Endpoint(preset, fp.base_url(dialect or DIALECT[preset]), auth_style, auth_header)


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


async def collect(events) -> list:
    async with aclosing(events) as stream:
        return [event async for event in stream]


async def collect_until_error(events) -> tuple[list, ProviderError]:
    """Events seen before the stream raised, and the ProviderError it raised (fails if none)."""
    seen: list = []
    try:
        async with aclosing(events) as stream:
            async for event in stream:
                seen.append(event)
    except ProviderError as err:
        assert_no_secret(err)
        return seen, err
    raise AssertionError(f"expected a ProviderError, got {seen!r}")


async def chat(
    fp,
    model: str,
    content: str = "hi",
    *,
    preset: str = "novisurf",
    key: str = KEY,
    params=None,
    timeouts: Timeouts = FAST,
    retry: RetryPolicy = NO_RETRY,
    **endpoint_kw,
) -> list:
    request = ChatRequest(model, user(content), params or {})
    return await collect(
        stream_chat(endpoint(fp, preset, **endpoint_kw), key, request, timeouts=timeouts, retry=retry)
    )


async def chat_error(
    fp,
    model: str,
    content: str = "hi",
    *,
    preset: str = "novisurf",
    key: str = KEY,
    timeouts: Timeouts = FAST,
    retry: RetryPolicy = NO_RETRY,
    **endpoint_kw,
) -> tuple[list, ProviderError]:
    request = ChatRequest(model, user(content), {})
    events = stream_chat(endpoint(fp, preset, **endpoint_kw), key, request, timeouts=timeouts, retry=retry)
    return await collect_until_error(events)


def text_of(events) -> str:
    return "".join(event.text for event in events if isinstance(event, TextDelta))


def end_of(events) -> StreamEnd:
    assert isinstance(events[-1], StreamEnd), events[-1]
    assert sum(isinstance(event, StreamEnd) for event in events) == 1
    return events[-1]


def assert_no_secret(err: ProviderError, key: str = KEY) -> None:
    for text in (
        str(err),
        repr(err),
        err.message,
        err.detail,
        repr(err.args),
        repr(pickle.loads(pickle.dumps(err))),
    ):
        assert key not in text
    assert err.__cause__ is None or key not in repr(err.__cause__)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
