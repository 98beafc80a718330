"""Real NovaWeb server processes for tests: daphne started as a subprocess against the test database."""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(db: dict) -> str:
    """A libpq URL for a Django database settings dict (socket-directory hosts included)."""
    host = db.get("HOST") or db.get("OPTIONS", {}).get("host", "")
    query = f"?host={quote(host)}" if host.startswith("/") else ""
    netloc = "" if query else f"{host}:{db.get('PORT') or 5432}"
    user, password = quote(db.get("USER") or ""), quote(db.get("PASSWORD") or "")
    return f"postgresql://{user}:{password}@{netloc}/{db['NAME']}{query}"


class DaphneProcess:
    def __init__(self, process: subprocess.Popen, port: int, log_path: Path):
        self.process, self.port, self.log_path = process, port, log_path
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"

    def terminate(self, timeout: float = 15) -> int:
        """SIGTERM, as a process manager would; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def daphne(settings_dict: dict, name: str = "daphne", **env_overrides):
    """Serve NovaWeb on a free port against the database in `settings_dict` until the block ends."""
    port = free_port()
    log_path = ROOT / "var" / f"test-{name}-{port}.log"
    log_path.parent.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(settings_dict),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "NOVAWEB_ENV": "development",
        "DJANGO_SETTINGS_MODULE": "novaweb.settings",
        **env_overrides,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "novaweb.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = DaphneProcess(process, port, log_path)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"daphne did not start:\n{server.log()}") from None
                    time.sleep(0.1)
            yield server
        finally:
            server.terminate()


class RealSocket:
    """A websockets connection with the two calls tests/chat/wsclient.PageModel uses."""

    def __init__(self, connection):
        self.connection = connection

    async def receive_from(self, timeout=1):
        import asyncio

        return await asyncio.wait_for(self.connection.recv(), timeout)

    async def send_json_to(self, payload):
        import json

        await self.connection.send(json.dumps(payload))

    async def disconnect(self):
        await self.connection.close()


async def open_socket(server: DaphneProcess, cookie: bytes, conversation_id: int) -> RealSocket:
    """The conversation websocket on a real server, as a signed-in browser on that origin opens it."""
    from websockets.asyncio.client import connect

    connection = await connect(
        f"{server.ws_url}/ws/conversations/{conversation_id}/",
        origin=server.url,
        additional_headers={"Cookie": cookie.decode()},
        open_timeout=10,
    )
    return RealSocket(connection)
