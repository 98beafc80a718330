"""Glue around httpx-sse: the `data` of each event in a streamed reply, with the buffering bounded.

httpx-sse does the parsing (comments such as `: ping`, multi-line data, CR/LF/CRLF endings) on top of
httpx's incremental UTF-8 decoder, so a character split across network reads arrives whole. What it does not
do is bound its line buffer: a provider that sends megabytes without a newline would grow it forever. The
byte source below counts what arrived since the last complete event and stops the stream past a limit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import aclosing

import httpx
from httpx_sse import EventSource

log = logging.getLogger(__name__)

MAX_EVENT_CHARS = 4 * 1024 * 1024


class EventTooLarge(Exception):
    """More than the limit arrived without completing one event."""


class _CountingSource:
    """Duck-types the part of httpx.Response that EventSource reads (`headers`, `aiter_text`).

    The caller has already decided the body is an event stream (some compatible servers label it text/plain),
    so the content type it reports is fixed.
    """

    headers = httpx.Headers({"content-type": "text/event-stream"})

    def __init__(self, response: httpx.Response, limit: int) -> None:
        self._response = response
        self._limit = limit
        self.pending = 0

    async def aiter_text(self) -> AsyncIterator[str]:
        async for text in self._response.aiter_text():
            self.pending += len(text)
            if self.pending > self._limit:
                raise EventTooLarge(f"more than {self._limit} characters without a complete event")
            yield text
        # The body ended cleanly (a cut raises above instead), so a last event the server did not close with
        # a blank line was meant to be whole: dispatch it rather than drop it as the spec would. A truncated
        # JSON line still fails to parse and is ignored by the caller.
        yield "\n\n"


async def iter_event_data(response: httpx.Response, *, limit: int = MAX_EVENT_CHARS) -> AsyncIterator[str]:
    """Yield the non-empty `data` of each event, stripped. Comments and empty keep-alives never appear.

    Raises EventTooLarge past `limit` characters without a complete event; httpx transport errors propagate.
    """
    # The SSE format is UTF-8 by definition, whatever charset a server declares.
    response.encoding = "utf-8"
    source = _CountingSource(response, limit)
    events = EventSource(source).aiter_sse()  # type: ignore[arg-type]
    async with aclosing(events):
        async for event in events:
            source.pending = 0
            if event.event == "ping":
                continue
            data = event.data.strip()
            if not data:
                log.debug("ignored an empty SSE event")
                continue
            yield data
