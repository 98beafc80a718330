"""Streaming one reply as server-sent events, with the faults and timing its directives ask for."""

from __future__ import annotations

import asyncio
import contextlib
import json

from tests.fakeprovider import replies
from tests.fakeprovider.dialects import stream_error
from tests.fakeprovider.directives import Directives
from tests.fakeprovider.http11 import Connection

_SPLIT_PAUSE = 0.003  # between the two halves of a split character, so they travel as separate writes


async def stream_reply(
    conn: Connection,
    dialect: str,
    kind: str,
    body: dict,
    directives: Directives,
    pieces: list[str],
    choices: int,
) -> None:
    """Stream `pieces` (choice 0; other choices are marked copies) as chunks, then usage and [DONE]."""
    # A client that goes away mid-reply ends the reply; its record already says so.
    with contextlib.suppress(ConnectionResetError):
        await _stream(conn, dialect, kind, body, directives, pieces, choices)


async def _stream(
    conn: Connection, dialect: str, kind: str, body: dict, d: Directives, pieces: list[str], choices: int
) -> None:
    model = d.base
    extra = {"model_tier": replies.tier_of(model)} if dialect == "novakit" else {}
    split = bool(d.split_utf8)

    async def send(payload: dict) -> None:
        await _send_event(conn, {**payload, **extra}, split)

    await conn.start_stream()
    if d.silent:
        await conn.closed.wait()  # headers sent, then nothing until the client gives up
        return
    if d.ping:
        await conn.chunk(b": ping\n\n")
    if not await conn.pause(d.ttft / 1000):
        return
    if kind == "chat":
        for index in range(choices):
            await send(_role_chunk(model, index))
    per_choice = [replies.choice_pieces(pieces, i) for i in range(choices)]
    steps = max(len(p) for p in per_choice)
    for step in range(steps + 1):
        if d.cut is not None and step == d.cut:
            conn.abort()  # no terminating chunk: the client sees a truncated body
            return
        if d.error_after is not None and step == d.error_after:
            await _send_event(conn, stream_error(dialect), split)
            await conn.chunk(b"data: [DONE]\n\n")
            await conn.end_stream()
            return
        if step == steps:
            break
        if step and d.interval and not await conn.pause(d.interval / 1000):
            return
        if d.ping:
            await conn.chunk(b": ping\n\n")
            await conn.chunk(b"data: \n\n")
        for index in range(choices):
            if step < len(per_choice[index]):
                await send(replies.chunk(kind, "cmpl-fake", model, index, per_choice[index][step], None))
    if d.no_done:
        await conn.end_stream()  # a clean end, but no [DONE] and no finish_reason
        return
    usage = replies.usage(dialect, body, len(pieces), model)
    separate_usage = (body.get("stream_options") or {}).get("include_usage") is True
    for index in range(choices):
        final = replies.chunk(kind, "cmpl-fake", model, index, None, None if d.finish == "none" else d.finish)
        if index == choices - 1 and not separate_usage:
            final["usage"] = usage
        await send(final)
    if separate_usage:
        # OpenAI's shape with stream_options.include_usage: a last chunk with no choices.
        await send(
            {
                "id": "cmpl-fake",
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [],
                "usage": usage,
            }
        )
    await conn.chunk(b"data: [DONE]\n\n")
    await conn.end_stream()


def _role_chunk(model: str, index: int) -> dict:
    chunk = replies.chunk("chat", "cmpl-fake", model, index, "", None)
    chunk["choices"][0]["delta"]["role"] = "assistant"
    return chunk


async def _send_event(conn: Connection, payload: dict, split: bool) -> None:
    data = b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"
    cut = _inside_multibyte(data) if split else None
    if cut is None:
        await conn.chunk(data)
        return
    await conn.chunk(data[:cut])
    await asyncio.sleep(_SPLIT_PAUSE)
    await conn.chunk(data[cut:])


def _inside_multibyte(data: bytes) -> int | None:
    """An offset just after the first lead byte of a multibyte UTF-8 character, if there is one."""
    for offset, byte in enumerate(data):
        if byte >= 0xC0:
            return offset + 1
    return None
