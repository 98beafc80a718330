"""Several daphne processes sharing a Redis channel layer: one reply followed, stopped and resumed
from a process other than the one relaying it."""

import os
import uuid

import pytest
from django.conf import settings

from chat.models import Message
from tests.chat.wsclient import PageModel
from tests.servers import daphne, open_socket

REDIS_URL = os.environ.get("NOVAWEB_TEST_REDIS_URL", "")

pytestmark = [
    pytest.mark.redis,
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not REDIS_URL, reason="set NOVAWEB_TEST_REDIS_URL to run the Redis suite"),
]


@pytest.fixture
def two_servers():
    env = {"REDIS_URL": REDIS_URL, "NOVAWEB_CHANNEL_PREFIX": f"test{uuid.uuid4().hex[:8]}:"}
    db = settings.DATABASES["default"]
    with daphne(db, name="redis-a", **env) as one, daphne(db, name="redis-b", **env) as two:
        yield one, two


async def test_a_reply_relayed_in_one_process_streams_to_a_page_on_another(chat_setup, two_servers):
    one, two = two_servers
    conversation, key, cookie = chat_setup.conversation, chat_setup.key, chat_setup.cookie
    sender = PageModel(await open_socket(one, cookie, conversation.pk))
    watcher = PageModel(await open_socket(two, cookie, conversation.pk))
    await sender.send(
        action="send",
        client_id=str(uuid.uuid4()),
        message="hello",
        credential=key.pk,
        model="fake-model~tokens=60~interval=10",
    )
    await watcher.until(lambda p: p.final_state, timeout=20)
    reply = await Message.objects.aget(conversation=conversation, role="assistant")
    assert reply.state == Message.State.DONE
    assert watcher.stream_text[reply.pk] == reply.content
    assert reply.content.count("tok") == 60
    for page in (sender, watcher):
        await page.communicator.disconnect()


async def test_stop_and_reload_reach_the_relay_through_redis(chat_setup, two_servers):
    one, two = two_servers
    conversation, key, cookie = chat_setup.conversation, chat_setup.key, chat_setup.cookie
    sender = PageModel(await open_socket(one, cookie, conversation.pk))
    await sender.send(
        action="send",
        client_id=str(uuid.uuid4()),
        message="long",
        credential=key.pk,
        model="fake-model~tokens=400~interval=20",
    )
    await sender.until(lambda p: any(t.count("tok") >= 5 for t in p.stream_text.values()))
    await sender.communicator.disconnect()
    # A reload, landing on the other process: the text so far arrives as a snapshot, then live.
    reloaded = PageModel(await open_socket(two, cookie, conversation.pk))
    await reloaded.until(lambda p: any(t.count("tok") >= 15 for t in p.stream_text.values()), timeout=20)
    reply = await Message.objects.aget(conversation=conversation, role="assistant")
    await reloaded.send(action="stop", message_id=reply.pk)
    await reloaded.until(lambda p: p.final_state, timeout=20)
    reply = await Message.objects.aget(pk=reply.pk)
    assert reply.state == Message.State.STOPPED
    assert reloaded.stream_text[reply.pk] == reply.content[: len(reloaded.stream_text[reply.pk])]
    tokens = reply.content.split()
    assert tokens == [f"tok{n}" for n in range(1, len(tokens) + 1)]  # no gap, no duplicate
    await reloaded.communicator.disconnect()
