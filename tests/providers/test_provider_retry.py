"""Retries: only before the first token, bounded, honouring Retry-After, announced by Retrying events (UP-13)."""

from __future__ import annotations

import time

import pytest

from providers import ChatRequest, Endpoint, Retrying, RetryPolicy, TextDelta, stream_chat

from .helpers import FAST_RETRY, KEY, chat, chat_error, closed_port, collect_until_error, text_of


def retrying(events) -> list[Retrying]:
    return [e for e in events if isinstance(e, Retrying)]


@pytest.mark.asyncio
async def test_429_with_retry_after_is_retried_after_the_floor(fp):
    started = time.monotonic()
    events = await chat(fp, "fake-model~fail_first=2~status=429~retry_after=0.2~tokens=2", retry=FAST_RETRY)
    elapsed = time.monotonic() - started
    assert text_of(events) == "tok1 tok2 "
    announced = retrying(events)
    assert [(r.attempt, r.max_attempts, r.reason) for r in announced] == [
        (2, 3, "rate-limited"),
        (3, 3, "rate-limited"),
    ]
    assert all(r.delay >= 0.2 for r in announced) and elapsed >= 0.4
    # Each Retrying comes before any text.
    assert events.index(announced[-1]) < next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert len(fp.requests) == 3


@pytest.mark.asyncio
@pytest.mark.parametrize(("preset", "status"), [("novakit", 500), ("novita", 503), ("novisurf", 502)])
async def test_5xx_is_retried_and_can_recover(fp, preset, status):
    events = await chat(
        fp, f"openai/gpt-4o-mini~fail_first=1~status={status}~tokens=1", preset=preset, retry=FAST_RETRY
    )
    assert text_of(events) == "tok1 " and [r.reason for r in retrying(events)] == ["provider unavailable"]


@pytest.mark.asyncio
async def test_attempts_are_bounded(fp):
    events, err = await chat_error(fp, "fake-model~fail_first=50~status=503", retry=FAST_RETRY)
    assert err.kind == "unavailable" and len(fp.requests) == 3 and len(retrying(events)) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [400, 401, 402, 403, 404])
async def test_client_errors_are_not_retried(fp, status):
    events, _ = await chat_error(fp, f"fake-model~status={status}", retry=FAST_RETRY)
    assert events == [] and len(fp.requests) == 1


@pytest.mark.asyncio
async def test_nothing_is_retried_after_the_first_token(fp):
    for model in ("fake-model~tokens=5~cut=2", "fake-model~tokens=5~error_after=1"):
        fp.reset()
        events, _ = await chat_error(fp, model, retry=FAST_RETRY)
        assert text_of(events) and not retrying(events) and len(fp.requests) == 1, model


@pytest.mark.asyncio
async def test_error_in_stream_before_the_first_token_is_retried(fp):
    events, err = await chat_error(fp, "fake-model~error_after=0", retry=FAST_RETRY)
    assert err.kind == "unavailable" and len(fp.requests) == 3 and len(retrying(events)) == 2


@pytest.mark.asyncio
async def test_retry_after_beyond_the_deadline_fails_at_once(fp):
    started = time.monotonic()
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, deadline=1.0)
    events, err = await chat_error(fp, "fake-model~status=429~retry_after=10", retry=policy)
    assert time.monotonic() - started < 1 and events == []
    assert err.kind == "rate_limited" and err.retry_after == 10 and len(fp.requests) == 1


@pytest.mark.asyncio
async def test_connect_errors_are_retried_then_reported(fp):
    endpoint = Endpoint("novisurf", f"http://127.0.0.1:{closed_port()}/v1")
    events, err = await collect_until_error(
        stream_chat(endpoint, KEY, ChatRequest("m", []), retry=FAST_RETRY)
    )
    assert err.kind == "unreachable" and [r.reason for r in retrying(events)] == ["cannot connect"] * 2
