"""Just enough HTTP/1.1 on asyncio streams: read a request, answer with a fixed body or a chunked stream.

Streamed replies use chunked transfer encoding, so closing the socket mid-stream looks to the client exactly
like a real truncated body ("incomplete chunked read"). Everything read is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

MAX_HEADERS = 100
MAX_BODY = 8 * 1024 * 1024
IDLE_KEEPALIVE = 30.0  # seconds a kept-alive connection may sit idle between requests


class BadRequest(Exception):
    pass


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on the connection, or None at a clean EOF. Raises BadRequest on garbage."""
    try:
        line = await asyncio.wait_for(reader.readline(), IDLE_KEEPALIVE)
    except (TimeoutError, ValueError, ConnectionError):
        return None
    if not line:
        return None
    parts = line.decode("latin-1").strip().split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest("bad request line")
    method, target, _ = parts
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        raw = await asyncio.wait_for(reader.readline(), IDLE_KEEPALIVE)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep:
            raise BadRequest("bad header line")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    else:
        raise BadRequest("too many headers")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise BadRequest("chunked request bodies are not supported by the fake")
    length = int(headers.get("content-length", "0") or 0)
    if length < 0 or length > MAX_BODY:
        raise BadRequest("body too large")
    body = await reader.readexactly(length) if length else b""
    url = urlsplit(target)
    return Request(method.upper(), url.path, dict(parse_qsl(url.query)), headers, body)


@dataclass
class Connection:
    """One client connection. `closed` is set as soon as the client goes away, even mid-reply."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    keep_alive: bool = True
    record: dict | None = None  # the request's record, to note when the client went away
    _watcher: asyncio.Task | None = None

    async def send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        head = {"Content-Type": content_type, "Content-Length": str(len(body)), **(headers or {})}
        await self._write(_head(status, head) + body)

    async def send_json(self, status: int, payload: object, headers: dict | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        await self.send(status, body, "application/json", headers)

    async def start_stream(self, content_type: str = "text/event-stream; charset=utf-8") -> None:
        """Send the head of a chunked reply and start watching for the client going away."""
        head = {"Content-Type": content_type, "Transfer-Encoding": "chunked", "Cache-Control": "no-cache"}
        await self._write(_head(200, head))
        self._watcher = asyncio.create_task(self._watch_eof())

    async def chunk(self, data: bytes) -> None:
        """One HTTP chunk; with several calls, one network write each."""
        if data:
            await self._write(b"%x\r\n%s\r\n" % (len(data), data))

    async def end_stream(self) -> None:
        await self.stop_watching()
        await self._write(b"0\r\n\r\n")

    def abort(self) -> None:
        """Drop the connection mid-body: no terminating chunk, as a crashed upstream would."""
        self.keep_alive = False
        self.writer.transport.abort()
        self.closed.set()

    async def pause(self, seconds: float) -> bool:
        """Sleep, waking early if the client leaves; True when the client is still there."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closed.wait(), seconds)
        return not self.closed.is_set()

    async def _write(self, data: bytes) -> None:
        if self.closed.is_set():
            raise ConnectionResetError("client went away")
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, RuntimeError):
            self._client_left()
            raise ConnectionResetError("client went away") from None

    async def _watch_eof(self) -> None:
        # HTTP/1.1 clients here do not pipeline, so anything readable during a reply means EOF or a reset.
        with contextlib.suppress(ConnectionError, OSError):
            await self.reader.read(1)
        self._client_left()

    def _client_left(self) -> None:
        self.keep_alive = False
        if not self.closed.is_set() and self.record is not None:
            self.record["disconnected"] = True
            self.record["disconnected_at"] = time.monotonic()
        self.closed.set()

    async def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            # asyncio.wait never raises, so a cancellation of the caller itself is not swallowed here.
            await asyncio.wait([self._watcher])
            self._watcher = None


def _head(status: int, headers: dict) -> bytes:
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Status"
    lines = [
        f"HTTP/1.1 {status} {reason}",
        f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}",
    ]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
