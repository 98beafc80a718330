"""Fixtures for the provider tests: one fake provider for the session, reset before each test.

The lead will lift `fake_provider` into tests/conftest.py; until then it lives here.
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from providers import aclose_shared_client
from tests.fakeprovider import FakeProvider


@pytest.fixture(scope="session")
def fake_provider():
    fp = FakeProvider().start()
    yield fp
    fp.stop()


@pytest_asyncio.fixture
async def fp(fake_provider):
    """The session's fake provider, emptied; closes this test loop's shared httpx client afterwards."""
    fake_provider.reset()
    yield fake_provider
    await aclose_shared_client()
