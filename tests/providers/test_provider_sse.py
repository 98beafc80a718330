"""SSE parsing (providers/sse.py) on arbitrary chunkings (UP-01..UP-06, UP-12, UP-15, UP-17).

Driven through `stream_chat` with an httpx MockTransport, so the real decoding path is what is tested.
"""

from __future__ import annotations

import asyncio
import itertools
import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers import ChatRequest, Endpoint, ProviderError, StreamEnd, TextDelta, stream_chat
from providers.http import new_client
from providers.sse import MAX_EVENT_BYTES, EventSplitter, EventTooLarge

from .helpers import FAST, KEY, collect, end_of, text_of, user

ENDPOINT = Endpoint("openai", "http://mock.invalid/v1")


def sse_event(payload, newline: str = "\n") -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}{newline}{newline}".encode()


def delta(text: str) -> dict:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


FINISH = {
    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 2},
}


def cut(data: bytes, points: list[int]) -> list[bytes]:
    offsets = sorted({p % (len(data) + 1) for p in points} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(offsets) if b > a]


async def run(pieces: list[bytes], content_type: str = "text/event-stream", status: int = 200) -> list:
    async def body():
        for piece in pieces:
            yield piece

    transport = httpx.MockTransport(
        lambda request: httpx.Response(status, headers={"content-type": content_type}, content=body())
    )
    async with new_client(transport) as client:
        return await collect(
            stream_chat(ENDPOINT, KEY, ChatRequest("m", user("x")), timeouts=FAST, client=client)
        )


def run_sync(pieces: list[bytes], **kw) -> list:
    return asyncio.run(run(pieces, **kw))


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(max_size=120),
    text_cuts=st.lists(st.integers(0, 200), max_size=12),
    byte_cuts=st.lists(st.integers(0, 5000), max_size=40),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    pings=st.booleans(),
)
def test_any_text_in_any_chunking_round_trips(text, text_cuts, byte_cuts, newline, pings):
    bounds = sorted({c % (len(text) + 1) for c in text_cuts} | {0, len(text)})
    parts = [text[a:b] for a, b in itertools.pairwise(bounds)]
    stream = b""
    for part in parts:
        if pings:
            stream += f": ping{newline}{newline}data: {newline}{newline}".encode()
        stream += sse_event(delta(part), newline)
    stream += sse_event(FINISH, newline) + sse_event("[DONE]", newline)
    events = run_sync(cut(stream, byte_cuts))
    assert text_of(events) == text
    assert end_of(events).finish_reason == "stop"


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=400), byte_cuts=st.lists(st.integers(0, 500), max_size=10))
def test_garbage_only_ever_ends_or_raises_provider_error(raw, byte_cuts):
    try:
        events = run_sync(cut(raw, byte_cuts))
    except ProviderError as err:
        assert err.kind in ("stream_cut", "protocol", "unavailable", "upstream", "auth", "credits", "forbidden",
                            "model_not_found", "rate_limited", "bad_request")  # fmt: skip
    else:
        assert isinstance(events[-1], StreamEnd)


def test_framing_variants_from_the_catalogue():
    stream = (
        b"data:" + json.dumps(delta("a")).encode() + b"\n\n"  # no space after the colon
        b": OPENROUTER PROCESSING\n\n:\n\n"  # comments, including a bare colon
        b"event: ping\ndata: {}\n\n"  # a named ping event
        b"data: : keepalive\n\n"  # a keep-alive that is not JSON
        b"id: 7\nretry: 100\nfoo: bar\n" + sse_event(delta("b")) +  # other fields
        b'{"choices": [{"index": 0, "delta": {"content": "RAW"}}]}\n\n'  # a raw JSON line is no SSE field
        + sse_event(delta("c")) + sse_event(FINISH) + sse_event("[DONE]")
    )  # fmt: skip
    assert text_of(run_sync([stream])) == "abc"
    # Several events in one network read, and one event over three.
    joined = sse_event(delta("x")) + sse_event(delta("y"))
    assert (
        text_of(run_sync([joined + sse_event(FINISH)[:5], sse_event(FINISH)[5:9], sse_event(FINISH)[9:]]))
        == "xy"
    )


def test_final_event_without_trailing_blank_line_and_without_done():
    events = run_sync([sse_event(delta("hi")) + b"data: " + json.dumps(FINISH).encode()])
    assert text_of(events) == "hi" and end_of(events).finish_reason == "stop"


def test_every_utf8_split_offset():
    text = "你好 😀 👨‍👩‍👧 é"
    stream = sse_event(delta(text)) + sse_event(FINISH) + sse_event("[DONE]")
    for offset in range(1, len(stream)):
        assert text_of(run_sync([stream[:offset], stream[offset:]])) == text


@pytest.mark.parametrize("with_done", [True, False])
@pytest.mark.parametrize("payload", [
    {"error": {"message": "boom", "type": "server_error", "code": None}},
    {"error": "boom", "code": "server_error"},
    {"code": 500, "reason": "MODEL_NOT_AVAILABLE", "message": "boom"},
])  # fmt: skip
def test_error_object_in_stream_with_or_without_done(payload, with_done):
    stream = sse_event(delta("partial ")) + sse_event(payload) + (sse_event("[DONE]") if with_done else b"")
    seen: list = []

    async def go():
        async def body():
            yield stream

        transport = httpx.MockTransport(
            lambda r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())
        )
        async with new_client(transport) as client:
            async for event in stream_chat(ENDPOINT, KEY, ChatRequest("m", user("x")), client=client):
                seen.append(event)

    with pytest.raises(ProviderError) as info:
        asyncio.run(go())
    assert info.value.kind == "unavailable" and seen == [TextDelta("partial ")]


def test_invalid_utf8_is_replaced_not_fatal():
    stream = b'data: {"choices": [{"index": 0, "delta": {"content": "a\xff\xfeb"}}]}\n\n' + sse_event(FINISH)
    assert text_of(run_sync([stream])) == "a\ufffd\ufffdb"


def test_oversized_event_is_a_protocol_error_not_a_memory_blow_up():
    with pytest.raises(ProviderError) as info:
        run_sync([b"data: " + b"x" * (1024 * 1024)] * (MAX_EVENT_BYTES // (1024 * 1024) + 2))
    assert info.value.kind == "protocol"


def test_content_types():
    whole = {
        "choices": [{"index": 0, "message": {"content": "all at once"}, "finish_reason": "stop"}],
        "model": "m",
    }
    events = run_sync([json.dumps(whole).encode()], content_type="application/json")
    assert text_of(events) == "all at once" and end_of(events).usage is None
    labelled_plain = sse_event(delta("ok")) + sse_event(FINISH)
    assert text_of(run_sync([labelled_plain], content_type="text/plain")) == "ok"
    with pytest.raises(ProviderError) as info:
        run_sync([b"<html>login</html>"], content_type="text/html")
    assert info.value.kind == "protocol" and "web page" in info.value.message
    with pytest.raises(ProviderError) as info:
        run_sync(
            [b'{"error": {"message": "nope", "code": "invalid_api_key"}}'], content_type="application/json"
        )
    assert info.value.kind == "auth"


@settings(max_examples=25, deadline=None)
@given(text=st.text(min_size=1, max_size=80))
def test_echo_through_the_fake_with_split_characters_round_trips(fake_provider, text):
    """The same property end to end: real sockets, chunked encoding, characters split across writes."""

    async def go():
        endpoint = Endpoint("novisurf", fake_provider.base_url("novisurf"))
        request = ChatRequest("fake-model~split_utf8=1", user("echo:" + text))
        async with new_client() as client:
            return await collect(stream_chat(endpoint, KEY, request, timeouts=FAST, client=client))

    events = asyncio.run(go())
    assert text_of(events) == text and end_of(events).finish_reason == "stop"


def test_splitter_fields_line_endings_and_limit():
    splitter = EventSplitter(limit=64)
    assert splitter.feed(b"data: a\r") == []  # the CR may be half of a CRLF
    assert splitter.feed(b"\n\r\ndata:b\ndata:  c\n") == ["a"]
    assert splitter.feed(b"\n: comment\n\nevent: ping\ndata: {}\n\ndata\n\n") == ["b\n c"]
    assert splitter.feed(b"data: \xe4\xbd") == [] and splitter.feed(b"\xa0\n\n") == ["你"]
    assert splitter.finish() == []
    with pytest.raises(EventTooLarge):
        splitter.feed(b"data: " + b"x" * 64)
