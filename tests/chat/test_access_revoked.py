"""An admin takes someone's access away while they chat: their sockets hear it at once and close, and their
running replies stop with the text kept. Real ASGI app, real channel layer, the fake provider upstream."""

import asyncio
import uuid

import pytest
from asgiref.sync import sync_to_async

from accounts.models import User
from accounts.people_actions import do_set_active, do_set_role
from chat.actions import do_create_conversation
from chat.models import Message
from tests.chat.wsclient import PageModel

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

SLOW = "fake-model~tokens=400~interval=20"


@pytest.fixture
def root(make_user):
    return make_user("root")  # the first person: the admin


@pytest.fixture
def alice(make_user, root):
    return make_user("alice")


async def start_reply(page, key, model=SLOW):
    await page.send(
        action="send", client_id=str(uuid.uuid4()), message="Tell me a story", credential=key.pk, model=model
    )
    await page.until(lambda p: any(len(text) > 20 for text in p.stream_text.values()))


async def reply_in(conversation) -> Message:
    return await Message.objects.filter(conversation=conversation, role="assistant").alatest("id")


async def settled(conversation, timeout=10.0) -> Message:
    for _ in range(int(timeout / 0.05)):
        reply = await reply_in(conversation)
        if reply.state != Message.State.STREAMING:
            return reply
        await asyncio.sleep(0.05)
    raise AssertionError("the reply is still streaming")


async def closed_with(communicator) -> int:
    """Read frames until the server closes the socket; the close code."""
    while True:
        output = await communicator.receive_output(timeout=5)
        if output["type"] == "websocket.close":
            return output.get("code")


def assert_kept_and_stopped(reply):
    assert reply.state == Message.State.STOPPED
    assert reply.content.startswith("tok1 tok2 ") and 20 < len(reply.content) < len("tok400 ") * 400


@pytest.mark.parametrize(
    ("take_away", "words"),
    [
        (lambda admin, person: do_set_active(admin, person, False), "deactivated your account"),
        (lambda admin, person: do_set_role(admin, person, User.Role.PENDING), "paused your access"),
    ],
    ids=["deactivated", "back-to-pending"],
)
async def test_losing_access_closes_every_socket_of_theirs_and_stops_their_reply(
    chat_page, ws_connect, root, alice, bob, take_away, words
):
    page, key, conversation = await chat_page("openai")
    other_chat = await sync_to_async(do_create_conversation)(alice)
    second, connected = await ws_connect(alice, other_chat.pk)  # another tab, another chat
    assert connected
    bobs_chat = await sync_to_async(do_create_conversation)(bob)
    bystander, connected = await ws_connect(bob, bobs_chat.pk)
    assert connected
    await start_reply(page, key)

    await sync_to_async(take_away)(root, alice)

    await page.until(lambda p: p.errors)
    assert words in page.errors[-1]
    assert await closed_with(page.communicator) == 4403
    assert await closed_with(second) == 4403
    assert_kept_and_stopped(await settled(conversation))
    # Someone else's socket carries on.
    assert await bystander.receive_nothing(timeout=0.3)
    bob_page = PageModel(bystander)
    await bob_page.send(action="send", client_id=str(uuid.uuid4()), message="", credential="", model="")
    await bob_page.until(lambda p: p.errors)
    assert bob_page.errors[-1] == "Type a message first."
    await bystander.disconnect()


async def test_a_reply_running_with_no_page_open_is_stopped_too(chat_page, root, alice):
    page, key, conversation = await chat_page("openai")
    await start_reply(page, key)
    await page.communicator.disconnect()  # the tab closed; the reply goes on on the server
    await asyncio.sleep(0.2)
    assert (await reply_in(conversation)).state == Message.State.STREAMING
    await sync_to_async(do_set_active)(root, alice, False)
    assert_kept_and_stopped(await settled(conversation))


async def test_an_admin_made_a_member_keeps_chatting(chat_page, root, alice):
    await sync_to_async(do_set_role)(root, alice, User.Role.ADMIN)
    page, key, conversation = await chat_page("openai")
    await start_reply(page, key, model="fake-model~tokens=60~interval=10")
    await sync_to_async(do_set_role)(root, alice, User.Role.MEMBER)
    reply = await settled(conversation)
    assert reply.state == Message.State.DONE and reply.content.count("tok") == 60
    assert not page.errors


@pytest.mark.parametrize("state", ["pending", "inactive"])
async def test_pending_and_deactivated_people_cannot_connect(ws_connect, root, alice, state):
    conversation = await sync_to_async(do_create_conversation)(alice)
    if state == "pending":
        await User.objects.filter(pk=alice.pk).aupdate(role=User.Role.PENDING)
    else:
        await User.objects.filter(pk=alice.pk).aupdate(is_active=False)
    await alice.arefresh_from_db()
    _, connected = await ws_connect(alice, conversation.pk)
    assert not connected


async def test_a_frame_after_being_sent_back_to_approval_is_refused_even_without_the_broadcast(
    ws_connect, root, alice, make_key, fake
):
    key = await sync_to_async(make_key)(alice)
    conversation = await sync_to_async(do_create_conversation)(alice)
    communicator, _ = await ws_connect(alice, conversation.pk)
    page = PageModel(communicator)
    await User.objects.filter(pk=alice.pk).aupdate(role=User.Role.PENDING)  # no action, so no broadcast
    await page.send(action="send", client_id=str(uuid.uuid4()), message="hi", credential=key.pk, model="m")
    await page.until(lambda p: p.errors)
    assert "session has ended" in page.errors[0]
    assert not await Message.objects.acount()
    assert fake.requests == []
