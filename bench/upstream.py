#!/usr/bin/env python
"""CPU per streamed event of the provider read path alone, against ways of reading the same stream.

    .venv/bin/python bench/upstream.py [--streams 20] [--tokens 500] [--interval-ms 5]

Starts the fake provider (core 1), then on core 0 reads `--streams` concurrent replies of `--tokens` tokens,
`--interval-ms` apart (so, as with a real provider, most network reads carry one event), in four ways:

- `stream_chat`: NovaWeb's `providers.client.stream_chat` (httpx over aiohttp, `providers/wire.py`, + our
  byte-level SSE splitter + deadline + JSON);
- `httpx aiter_raw`: httpx with its own transport (httpcore), raw chunks only, no SSE parsing;
- `httpx aiter_raw + bytes SSE`: the same, with a minimal SSE split and json.loads per event;
- `asyncio streams`: a bare HTTP/1.1 chunked reader on asyncio streams, same minimal SSE split + json.loads.

and prints this process's µs of CPU per event for each. Nothing of daphne or the database is involved.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaweb.settings")

KEY = "sk-bench-0123456789"


def model(args) -> str:
    return f"fake-model~tokens={args.tokens}~interval={args.interval_ms}"


async def via_stream_chat(args, base: str) -> int:
    from providers.client import stream_chat
    from providers.http import new_client
    from providers.types import ChatRequest, Endpoint, TextDelta

    endpoint = Endpoint(preset="openai", base_url=base, auth_style="bearer", auth_header="")
    request = ChatRequest(model=model(args), messages=[{"role": "user", "content": "bench"}], params={})
    count = 0

    async def one(client):
        nonlocal count
        async for event in stream_chat(endpoint, KEY, request, client=client):
            if isinstance(event, TextDelta):
                count += event.text.count("tok")  # a delta holds every event that arrived by the read

    async with new_client() as client:
        await asyncio.gather(*(one(client) for _ in range(args.streams)))
    return count


def _body(args) -> dict:
    return {"model": model(args), "messages": [{"role": "user", "content": "bench"}], "stream": True}


async def via_httpx(args, base: str, parse: bool) -> int:
    import httpx

    count = 0
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=args.streams + 4)) as client:

        async def one():
            nonlocal count
            buf = b""
            async with client.stream(
                "POST",
                f"{base}/chat/completions",
                json=_body(args),
                headers={"Authorization": f"Bearer {KEY}"},
            ) as response:
                async for chunk in response.aiter_raw():
                    if not parse:
                        count += chunk.count(b"\n\n")
                        continue
                    buf += chunk
                    *events, buf = buf.split(b"\n\n")
                    for event in events:
                        if event.startswith(b"data: {"):
                            json.loads(event[6:])
                            count += 1

        await asyncio.gather(*(one() for _ in range(args.streams)))
    return count


async def via_asyncio(args, host: str, port: int, path: str) -> int:
    count = 0

    async def one():
        nonlocal count
        reader, writer = await asyncio.open_connection(host, port)
        body = json.dumps(_body(args)).encode()
        writer.write(
            f"POST {path}/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # headers (chunked, as the fake provider sends)
        buf = b""
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
            if size == 0:
                break
            buf += (await reader.readexactly(size + 2))[:-2]
            *events, buf = buf.split(b"\n\n")
            for event in events:
                if event.startswith(b"data: {"):
                    json.loads(event[6:])
                    count += 1
        writer.close()

    await asyncio.gather(*(one() for _ in range(args.streams)))
    return count


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--streams", type=int, default=20)
    p.add_argument("--tokens", type=int, default=500)
    p.add_argument("--interval-ms", type=int, default=5)
    args = p.parse_args()

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pin = shutil.which("taskset") and (os.cpu_count() or 1) >= 2
    argv = [sys.executable, "-m", "tests.fakeprovider", "--host", "127.0.0.1", "--port", str(port)]
    fake = subprocess.Popen(
        (["taskset", "-c", "1"] if pin else []) + argv,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        if pin:
            os.sched_setaffinity(0, {0})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        import django

        django.setup()
        base = f"http://127.0.0.1:{port}/openai/v1"
        ways = [
            ("stream_chat (NovaWeb)", lambda: via_stream_chat(args, base)),
            ("httpx aiter_raw, no parsing", lambda: via_httpx(args, base, False)),
            ("httpx aiter_raw + bytes SSE + json", lambda: via_httpx(args, base, True)),
            (
                "asyncio streams + bytes SSE + json",
                lambda: via_asyncio(args, "127.0.0.1", port, "/openai/v1"),
            ),
        ]
        print(
            f"{args.streams} streams x {args.tokens} tokens, {args.interval_ms} ms apart"
            f"{'' if pin else ' (unpinned: no taskset)'}"
        )
        for name, make in ways:
            asyncio.run(make())  # warm-up (imports, first connections)
            cpu, wall = time.process_time(), time.perf_counter()
            events = asyncio.run(asyncio.wait_for(make(), timeout=120))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(
                f"  {name:38} {cpu / max(events, 1) * 1e6:7.1f} µs CPU/event  ({events} events, {wall:.1f} s)"
            )
    finally:
        os.killpg(fake.pid, signal.SIGTERM)
        fake.wait(10)


if __name__ == "__main__":
    main()
