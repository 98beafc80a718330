"""The transport under the client: reads that return everything arrived, and aiohttp's failures in httpx's
terms."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from unittest.mock import Mock

import aiohttp
import httpx
import pytest

from providers import NO_RETRY, ChatRequest, Endpoint, ProviderError, stream_chat
from providers.types import StreamEnd, TextDelta
from providers.wire import _ResponseBody

from .helpers import FAST, KEY, endpoint, user


@pytest.mark.asyncio
async def test_events_that_arrive_between_two_reads_come_in_one_piece(fp):
    """While the reader is busy (the relay pauses between frames), events pile up; the next read returns
    everything that arrived meanwhile in one delta."""
    request = ChatRequest("fake-model~tokens=40~interval=5", user("hi"))
    deltas: list[str] = []
    async with aclosing(stream_chat(endpoint(fp), KEY, request, timeouts=FAST)) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                deltas.append(event.text)
                if len(deltas) == 1:
                    await asyncio.sleep(0.1)  # about 20 tokens arrive meanwhile
            else:
                assert isinstance(event, StreamEnd)
    assert "".join(deltas) == "".join(f"tok{i} " for i in range(1, 41))
    assert deltas[1].count("tok") >= 10
    assert len(deltas) < 30


@pytest.mark.asyncio
async def test_text_buffered_when_the_connection_is_cut_is_handed_over():
    """aiohttp raises a cut before handing over what it already holds; the transport takes it first."""
    reader = aiohttp.StreamReader(Mock(_reading_paused=False), 2**16, loop=asyncio.get_running_loop())
    reader.feed_data(b"data: one\n\n")
    reader.feed_data(b"data: two\n\n")
    reader.set_exception(aiohttp.ClientPayloadError("cut"))
    body = _ResponseBody(Mock(content=reader), httpx.Request("POST", "https://provider.test/v1"))
    chunks: list[bytes] = []
    with pytest.raises(httpx.RemoteProtocolError):  # the cut, in httpx's terms, after the text
        async for chunk in body:
            chunks.append(chunk)
    assert chunks == [b"data: one\n\ndata: two\n\n"]


async def _one_answer_server(answer: bytes):
    async def handle(reader, writer):
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "answer, kind",
    [
        (b"this is not HTTP\r\n\r\n", "unavailable"),  # a malformed status line, before any text
        (b"", "unavailable"),  # closed without a word
        (  # a chunked body cut short after one event
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'3b\r\ndata: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n\r\n',
            "stream_cut",
        ),
    ],
    ids=["not-http", "silent-close", "cut-mid-body"],
)
async def test_a_broken_server_ends_in_a_sentence_not_an_aiohttp_error(fp, answer, kind):
    server = await _one_answer_server(answer)
    port = server.sockets[0].getsockname()[1]
    try:
        request = ChatRequest("m", user("hi"))
        seen: list = []
        url = f"http://127.0.0.1:{port}/v1"
        with pytest.raises(ProviderError) as raised:
            async with aclosing(
                stream_chat(Endpoint("openai", url), KEY, request, timeouts=FAST, retry=NO_RETRY)
            ) as events:
                async for event in events:
                    seen.append(event)
        assert raised.value.kind == kind
        assert "aiohttp" not in raised.value.message
        if kind == "stream_cut":  # what arrived before the cut was handed over first
            assert [event.text for event in seen] == ["Hel"]
    finally:
        server.close()
        await server.wait_closed()
