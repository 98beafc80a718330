"""A reply's text as written, for its Copy button (who may fetch it: tests/test_routes_by_role.py)."""

import pytest
from django.urls import reverse

from chat.models import Conversation, Message

pytestmark = pytest.mark.django_db


def test_a_reply_comes_back_as_plain_text_exactly_as_stored(client, alice):
    conversation = Conversation.objects.create(owner=alice)
    markdown = "# Plan\n\n- <b>not HTML</b>\n- `code` & **bold**\n"
    reply = Message.objects.create(
        conversation=conversation, role="assistant", content=markdown, state="done"
    )
    client.force_login(alice)
    response = client.get(reverse("chat:message_text", args=[conversation.pk, reply.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"
    assert response.content.decode() == markdown


def test_a_message_of_another_conversation_is_not_found_through_this_one(client, alice):
    mine, other = Conversation.objects.create(owner=alice), Conversation.objects.create(owner=alice)
    reply = Message.objects.create(conversation=other, role="assistant", content="elsewhere", state="done")
    client.force_login(alice)
    assert client.get(reverse("chat:message_text", args=[mine.pk, reply.pk])).status_code == 404
