import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command

from chat.actions import do_create_conversation, do_send_message
from chat.models import Message


@pytest.mark.django_db
def test_start_up_marks_every_unfinished_reply_interrupted_keeping_its_text(alice, make_key):
    conversation = do_create_conversation(alice)
    key = make_key(alice)
    result = do_send_message(
        alice, conversation, text="hi", client_id=uuid.uuid4(), credential_id=key.pk, model="m", max_chars=100
    )
    Message.objects.filter(pk=result.reply.pk).update(content="half")
    call_command("interrupt_stale_replies")  # recent: left alone (another process may be relaying it)
    assert Message.objects.get(pk=result.reply.pk).state == Message.State.STREAMING
    call_command("interrupt_stale_replies", all=True)
    reply = Message.objects.get(pk=result.reply.pk)
    assert reply.state == Message.State.INTERRUPTED and reply.content == "half"
    assert "restarted" in reply.error


@pytest.mark.django_db
def test_without_all_only_silent_replies_are_marked(alice, make_key):
    conversation = do_create_conversation(alice)
    key = make_key(alice)
    result = do_send_message(
        alice, conversation, text="hi", client_id=uuid.uuid4(), credential_id=key.pk, model="m", max_chars=100
    )
    Message.objects.filter(pk=result.reply.pk).update(
        updated_at=result.reply.updated_at - timedelta(minutes=5)
    )
    call_command("interrupt_stale_replies")
    assert Message.objects.get(pk=result.reply.pk).state == Message.State.INTERRUPTED
