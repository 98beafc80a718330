"""A fake OpenAI-compatible provider: a real HTTP server on loopback. See README.md for dialects and faults."""

from tests.fakeprovider.routes import BASE_PATHS
from tests.fakeprovider.server import FakeProvider, FakeServer

__all__ = ["BASE_PATHS", "FakeProvider", "FakeServer"]
