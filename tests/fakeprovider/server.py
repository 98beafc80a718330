"""A real OpenAI-compatible HTTP server on loopback that speaks each provider's dialect and injects faults.

`FakeServer` is the asyncio server; `FakeProvider` runs one in a background thread with its own event loop,
for tests:

    fp = FakeProvider(); fp.start()
    fp.base_url("novita")   # "http://127.0.0.1:PORT/novita/v3/openai"
    fp.requests             # what arrived: method, path, query, headers (lowercased), json, disconnected
    fp.reset(); fp.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
import traceback

from tests.fakeprovider import replies
from tests.fakeprovider.dialects import FAMILY, AuthProblem, check_key, error_body, odd_body
from tests.fakeprovider.directives import Directives, parse
from tests.fakeprovider.http11 import BadRequest, Connection, Request, read_request
from tests.fakeprovider.routes import BASE_PATHS, choice_count, route
from tests.fakeprovider.streaming import stream_reply


class FakeServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._records: list[dict] = []
        self._failures: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def base_url(self, dialect: str) -> str:
        return self.url + BASE_PATHS[dialect]

    @property
    def requests(self) -> list[dict]:
        with self._lock:
            return list(self._records)

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self._failures.clear()

    async def listen(self) -> None:
        self._server = await asyncio.start_server(self._on_connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                conn = Connection(reader, writer)
                try:
                    request = await read_request(reader)
                except (BadRequest, ValueError, asyncio.IncompleteReadError, TimeoutError) as exc:
                    with contextlib.suppress(ConnectionError):
                        await conn.send(400, str(exc).encode(), "text/plain")
                    break
                if request is None:
                    break
                try:
                    await self._dispatch(conn, request)
                except (ConnectionError, asyncio.CancelledError):
                    raise
                except Exception as exc:  # a bug in the fake must show as a 500, not hang the client
                    traceback.print_exc()
                    with contextlib.suppress(ConnectionError):
                        await conn.send(500, f"fake provider bug: {exc!r}".encode(), "text/plain")
                    break
                finally:
                    await conn.stop_watching()
                if not conn.keep_alive or request.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _dispatch(self, conn: Connection, request: Request) -> None:
        if request.path == "/_fake/requests" and request.method == "GET":
            await conn.send_json(200, self.requests)
            return
        if request.path == "/_fake/reset" and request.method == "POST":
            self.reset()
            await conn.send_json(200, {"ok": True})
            return
        found = route(request.path)
        if found is None:
            await conn.send(404, b"Not Found", "text/plain")
            return
        prefix, dialect = found
        record = self._record(request, dialect)
        conn.record = record
        operation = request.path[len(prefix) :].strip("/")
        if operation == "models" and request.method == "GET":
            await self._models(conn, request, dialect)
        elif operation == "chat/completions" and request.method == "POST":
            await self._completion(conn, request, dialect, "chat")
        elif operation == "completions" and request.method == "POST" and FAMILY[dialect] == "novita":
            await self._completion(conn, request, dialect, "text")
        else:
            await conn.send(404, b"Not Found", "text/plain")

    def _record(self, request: Request, dialect: str) -> dict:
        record = {
            "id": next(self._ids),
            "dialect": dialect,
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": request.headers,
            "json": request.json(),
            "received_at": time.monotonic(),
            "disconnected": False,
        }
        with self._lock:
            self._records.append(record)
        return record

    def _failure_count(self, model: str) -> int:
        with self._lock:
            self._failures[model] = self._failures.get(model, 0) + 1
            return self._failures[model]

    async def _models(self, conn: Connection, request: Request, dialect: str) -> None:
        try:
            check_key(dialect, request.headers)
        except AuthProblem as problem:
            await self._auth_failure(conn, dialect, problem)
            return
        await conn.send_json(200, replies.models(dialect))

    async def _auth_failure(self, conn: Connection, dialect: str, problem: AuthProblem) -> None:
        body = error_body(dialect, problem.status, key=problem.key, note=problem.note)
        await conn.send_json(problem.status, body)

    async def _completion(self, conn: Connection, request: Request, dialect: str, kind: str) -> None:
        body = request.json()
        if not isinstance(body, dict):
            await conn.send_json(400, error_body(dialect, 400, note="the body is not a JSON object"))
            return
        try:
            check_key(dialect, request.headers)
        except AuthProblem as problem:
            await self._auth_failure(conn, dialect, problem)
            return
        model = body.get("model")
        if dialect == "novakit" and not model:
            model = replies.NOVAKIT_DEFAULT_MODEL  # NovaKit documents `model` as optional
        if not isinstance(model, str) or not model:
            await conn.send_json(400, error_body(dialect, 400, note="model is required"))
            return
        directives = parse(model)
        if directives.redirect:
            location = "http://elsewhere.invalid" + request.path
            await conn.send(302, b"", "text/plain", {"Location": location})
            return
        if "missing" in directives.base:
            await conn.send_json(404, error_body(dialect, 404, model=directives.base))
            return
        status = directives.status
        if directives.fail_first:
            failing = self._failure_count(model) <= directives.fail_first
            status = (status or 503) if failing else None
        if status is not None:
            await self._fail(conn, dialect, directives, status)
            return
        stream = body.get("stream") is True or (
            dialect == "novakit" and request.query.get("stream") == "true"
        )
        choices = choice_count(dialect, body, directives)
        pieces = replies.reply_pieces(directives, replies.last_user_text(body))
        if stream and not directives.nonstream:
            await stream_reply(conn, dialect, kind, body, directives, pieces, choices)
            return
        texts = ["".join(replies.choice_pieces(pieces, i)) for i in range(choices)]
        finish = None if directives.finish == "none" else directives.finish
        payload = replies.whole(kind, "cmpl-fake", directives.base, texts, finish)
        payload["usage"] = replies.usage(dialect, body, len(pieces), directives.base)
        if dialect == "novakit":
            payload["model_tier"] = replies.tier_of(directives.base)
        await conn.send_json(200, payload)

    async def _fail(self, conn: Connection, dialect: str, directives: Directives, status: int) -> None:
        headers = {"Retry-After": directives.retry_after} if directives.retry_after is not None else {}
        if directives.body == "dialect":
            await conn.send_json(status, error_body(dialect, status, model=directives.base), headers)
        else:
            body, content_type = odd_body(directives.body, status)
            await conn.send(status, body, content_type, headers)


class FakeProvider(FakeServer):
    """A FakeServer on a free port, run by a background thread with its own event loop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()

    def start(self) -> FakeProvider:
        self._thread = threading.Thread(target=self._run, name="fakeprovider", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake provider did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def wait_for(self, predicate, timeout: float = 3.0) -> bool:
        """Poll `predicate(self.requests)` until true or `timeout` seconds pass (blocking)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.requests):
                return True
            time.sleep(0.01)
        return bool(predicate(self.requests))

    async def wait_for_async(self, predicate, timeout: float = 3.0) -> bool:
        """As wait_for, without blocking the caller's event loop."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.requests):
                return True
            await asyncio.sleep(0.01)
        return bool(predicate(self.requests))

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        await self.listen()
        self._ready.set()
        await self._stopping.wait()
        await self.aclose()
