"""Run the fake provider in the foreground: `python -m tests.fakeprovider --host 127.0.0.1 --port 8001`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from tests.fakeprovider.routes import BASE_PATHS
from tests.fakeprovider.server import FakeServer


async def _serve(host: str, port: int) -> None:
    server = FakeServer(host, port)
    await server.listen()
    print(f"fake provider listening on {server.url}", flush=True)
    for dialect in BASE_PATHS:
        print(f"  {dialect:<14} {server.base_url(dialect)}", flush=True)
    print("  requests log   GET  /_fake/requests, reset: POST /_fake/reset", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakeprovider", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
