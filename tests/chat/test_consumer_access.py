"""Who may open a conversation's websocket, and what garbage does to it (nothing)."""

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chat.actions import do_create_conversation
from chat.models import Message
from tests.chat.wsclient import PageModel

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation(alice):
    return do_create_conversation(alice)


async def test_anonymous_is_refused(ws_connect, conversation):
    _, connected = await ws_connect(None, conversation.pk)
    assert not connected


@pytest.mark.parametrize("origin", [b"https://evil.example", None])
async def test_foreign_or_missing_origin_is_refused(ws_connect, alice, conversation, origin):
    _, connected = await ws_connect(alice, conversation.pk, origin=origin)
    assert not connected


async def test_someone_elses_conversation_is_refused_and_nothing_is_stored(
    ws_connect, bob, conversation, fake
):
    _, connected = await ws_connect(bob, conversation.pk)
    assert not connected
    _, connected = await ws_connect(bob, 999_999)
    assert not connected
    assert fake.requests == []
    assert not await Message.objects.acount()


@pytest.mark.parametrize(
    "frame",
    [
        "not json at all",
        "[1, 2, 3]",
        json.dumps({"action": "dance"}),
        json.dumps({"no": "action"}),
        json.dumps({"action": "send"}),
        json.dumps({"action": "send", "client_id": "not-a-uuid", "message": "hi"}),
        json.dumps({"action": "stop", "message_id": "x"}),
        json.dumps({"action": "stop", "message_id": 10**9}),
        json.dumps({"action": "send", "client_id": str(uuid.uuid4()), "message": {"nested": [[[[]]]]}}),
        "x" * 900_000,
    ],
)
async def test_garbage_frames_get_an_error_and_the_socket_stays_usable(
    ws_connect, alice, conversation, frame
):
    communicator, connected = await ws_connect(alice, conversation.pk)
    assert connected
    page = PageModel(communicator)
    await communicator.send_to(text_data=frame)
    await page.until(lambda p: p.errors)
    await page.send(action="send", client_id=str(uuid.uuid4()), message="", credential="", model="")
    await page.until(lambda p: len(p.errors) >= 2)
    assert page.errors[-1] == "Type a message first."
    assert not await Message.objects.acount()
    await communicator.disconnect()


async def test_a_key_that_is_not_yours_cannot_be_used(ws_connect, alice, bob, conversation, make_key, fake):
    bobs_key = await make_key_async(make_key, bob)
    communicator, _ = await ws_connect(alice, conversation.pk)
    page = PageModel(communicator)
    await page.send(
        action="send", client_id=str(uuid.uuid4()), message="hi", credential=bobs_key.pk, model="m"
    )
    await page.until(lambda p: p.errors)
    assert "not available" in page.errors[0]
    assert fake.requests == []
    assert not await Message.objects.acount()
    await communicator.disconnect()


async def make_key_async(make_key, owner, **kwargs):
    from asgiref.sync import sync_to_async

    return await sync_to_async(make_key)(owner, **kwargs)


@pytest.mark.parametrize("frame", ["send", "incomplete send", "stop"])
@pytest.mark.parametrize("how", ["sign_out", "deactivate", "password_change"])
async def test_an_open_socket_stops_working_once_the_session_ends(
    ws_connect, alice, conversation, how, frame
):
    from django.contrib.sessions.models import Session

    communicator, connected = await ws_connect(alice, conversation.pk)
    assert connected

    @sync_to_async
    def end_session():
        if how == "sign_out":
            Session.objects.all().delete()
        elif how == "deactivate":
            type(alice).objects.filter(pk=alice.pk).update(is_active=False)
        else:
            alice.set_password("a whole new password 123")
            alice.save()

    await end_session()
    page = PageModel(communicator)
    if frame == "send":
        await page.send(action="send", client_id=str(uuid.uuid4()), message="hi", credential="", model="")
    elif frame == "incomplete send":
        await page.send(action="send", message="hi")
    else:
        await page.send(action="stop", message_id=1)
    await page.until(lambda p: p.errors)
    assert "session has ended" in page.errors[0]
    assert (await communicator.receive_output(timeout=2))["type"] == "websocket.close"
    assert not await Message.objects.acount()


async def test_a_flood_of_frames_is_dropped_cheaply_and_the_socket_recovers(ws_connect, alice, conversation):
    communicator, _ = await ws_connect(alice, conversation.pk)
    page = PageModel(communicator)
    for _ in range(300):
        await communicator.send_to(text_data='{"action": "dance"}')
    await page.until(lambda p: any("Too many" in e for e in p.errors), timeout=10)
    answered = len([e for e in page.errors if "unknown" in e])
    assert answered <= 25  # the burst, not the flood, was parsed and answered
    await asyncio.sleep(1.2)
    await page.send(action="send", client_id=str(uuid.uuid4()), message="", credential="", model="")
    await page.until(lambda p: p.errors and p.errors[-1] == "Type a message first.")
    await communicator.disconnect()


async def test_chatting_counts_as_being_seen_every_few_minutes(ws_connect, alice, conversation, make_key):
    """A person chatting all afternoon loads no page: their sends keep the People page's "last seen" true."""
    key = await sync_to_async(make_key)(alice)
    User = type(alice)
    long_ago = timezone.now() - timedelta(hours=3)
    await User.objects.filter(pk=alice.pk).aupdate(last_seen_at=long_ago)
    communicator, connected = await ws_connect(alice, conversation.pk)
    assert connected
    page = PageModel(communicator)
    await page.send_message(key, "hi")
    await page.until(lambda p: p.final_state)
    seen = (await User.objects.aget(pk=alice.pk)).last_seen_at
    assert seen > timezone.now() - timedelta(minutes=1)

    await page.send_message(key, "again")  # within the few minutes: no second write
    await page.until(lambda p: len(p.final_state) == 2)
    assert (await User.objects.aget(pk=alice.pk)).last_seen_at == seen
    await communicator.disconnect()
