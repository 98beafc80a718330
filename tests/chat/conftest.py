import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.layers import channel_layers

from chat.actions import do_create_conversation
from tests.chat.wsclient import PageModel


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """Each test runs on its own event loop; a channel layer's queues must not outlive it."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest_asyncio.fixture
async def chat_page(ws_connect, alice, make_key):
    """Open a new chat of alice's with a key of `preset` on the fake provider:
    `page, key, conversation = await chat_page("novita")`. Every socket opened is closed afterwards."""
    opened = []

    async def open_chat(preset: str, dialect: str | None = None):
        key = await sync_to_async(make_key)(alice, preset=preset, dialect=dialect or preset)
        conversation = await sync_to_async(do_create_conversation)(alice)
        communicator, connected = await ws_connect(alice, conversation.pk)
        assert connected
        opened.append(communicator)
        return PageModel(communicator), key, conversation

    yield open_chat
    for communicator in opened:
        await communicator.disconnect()
