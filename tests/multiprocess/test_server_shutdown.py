"""A real daphne stopped with SIGTERM mid-reply keeps the text so far, marked interrupted."""

import uuid

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from chat.models import Message
from tests.chat.wsclient import PageModel
from tests.servers import daphne, open_socket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_sigterm_mid_reply_stores_the_text_so_far_as_interrupted(chat_setup):
    conversation, key, cookie = chat_setup.conversation, chat_setup.key, chat_setup.cookie
    with daphne(settings.DATABASES["default"], name="shutdown") as server:
        page = PageModel(await open_socket(server, cookie, conversation.pk))
        await page.send(
            action="send",
            client_id=str(uuid.uuid4()),
            message="long",
            credential=key.pk,
            model="fake-model~tokens=400~interval=20",
        )
        await page.until(lambda p: any(t.count("tok") >= 10 for t in p.stream_text.values()))
        seen = max(page.stream_text.values(), key=len)
        code = await sync_to_async(server.terminate)()
        assert code == 0, server.log()
    reply = await Message.objects.aget(conversation=conversation, role="assistant")
    assert reply.state == Message.State.INTERRUPTED
    assert reply.content.startswith(seen)  # nothing the reader saw is lost
    assert "restarted" in reply.error
