"""Stopping a stream closes the upstream connection promptly, as seen by the fake provider (CL-01)."""

from __future__ import annotations

import asyncio
import gc
import time
from contextlib import aclosing

import pytest

from providers import ChatRequest, TextDelta, stream_chat

from .helpers import FAST, KEY, endpoint, user


def disconnected(reqs) -> bool:
    return bool(reqs) and reqs[-1]["disconnected"]


def slow_stream(fp, model: str = "fake-model~tokens=500~interval=20"):
    return stream_chat(endpoint(fp), KEY, ChatRequest(model, user("hi")), timeouts=FAST)


@pytest.mark.asyncio
async def test_closing_the_iterator_closes_the_upstream(fp):
    async with aclosing(slow_stream(fp)) as events:
        seen = 0
        async for event in events:
            seen += isinstance(event, TextDelta)
            if seen == 3:
                break
    closed_at = time.monotonic()
    assert await fp.wait_for_async(disconnected, timeout=1.0)
    assert fp.requests[-1]["disconnected_at"] - closed_at < 1.0


@pytest.mark.asyncio
async def test_cancelling_the_consumer_task_closes_the_upstream(fp):
    first = asyncio.Event()

    async def consume():
        async with aclosing(slow_stream(fp)) as events:
            async for _ in events:
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await fp.wait_for_async(disconnected, timeout=1.0)


@pytest.mark.asyncio
async def test_cancelling_while_waiting_for_a_silent_upstream(fp):
    async def consume():
        async with aclosing(slow_stream(fp, "fake-model~silent=1")) as events:
            async for _ in events:
                pass

    task = asyncio.create_task(consume())
    assert await fp.wait_for_async(lambda reqs: bool(reqs), timeout=2)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await fp.wait_for_async(disconnected, timeout=1.0)


@pytest.mark.asyncio
async def test_breaking_out_without_aclose_still_closes_once_collected(fp):
    async for event in slow_stream(fp):
        if isinstance(event, TextDelta):
            break
    gc.collect()  # the abandoned generator is finalised by the loop's async-generator hook
    assert await fp.wait_for_async(disconnected, timeout=1.0)
