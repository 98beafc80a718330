import pytest
from channels.layers import channel_layers


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test runs on its own event loop; a channel layer's queues must not outlive it."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()
