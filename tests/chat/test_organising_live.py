"""Organising while pages are open: a deleted conversation's reply stops, its sockets and sends are
refused, and a rename reaches every open page of it."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from chat import organising, relay
from chat.actions import do_create_conversation
from chat.models import Conversation, Message
from tests.chat.wsclient import PageModel

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation(alice):
    return do_create_conversation(alice)


@pytest.fixture
def key(alice, make_key):
    return make_key(alice, preset="openai", dialect="openai")


async def open_page(ws_connect, user, conversation) -> PageModel:
    communicator, connected = await ws_connect(user, conversation.pk)
    assert connected
    return PageModel(communicator)


async def wait_relays_idle():
    for _ in range(200):
        if not relay.running_reply_ids():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("a relay is still running")


async def test_deleting_a_conversation_stops_its_streaming_reply(ws_connect, alice, conversation, key):
    page = await open_page(ws_connect, alice, conversation)
    await page.send_message(key, "A long story", model="fake-model~tokens=400~interval=20")
    await page.until(lambda p: any(len(t) > 20 for t in p.stream_text.values()))
    fetched = await Conversation.objects.aget(pk=conversation.pk)
    await sync_to_async(organising.do_delete_conversation)(fetched)
    await page.until(lambda p: p.final_state)
    reply = await Message.objects.aget(conversation=conversation, role="assistant")
    assert reply.state == Message.State.STOPPED  # the relay ended it as Stop would, text kept
    assert 20 < len(reply.content) < len("tok400 ") * 400
    await wait_relays_idle()
    # The page still open on it cannot add to it; it says why.
    await page.send_message(key, "Still there?")
    await page.until(lambda p: p.errors)
    assert page.errors[-1] == "This conversation was deleted."
    assert await Message.objects.filter(conversation=conversation).acount() == 2
    await page.communicator.disconnect()


async def test_a_deleted_conversation_refuses_new_sockets_until_undone(ws_connect, alice, conversation):
    await sync_to_async(organising.do_delete_conversation)(conversation)
    communicator, connected = await ws_connect(alice, conversation.pk)
    assert not connected
    await sync_to_async(organising.do_restore_conversation)(conversation)
    communicator, connected = await ws_connect(alice, conversation.pk)
    assert connected
    await communicator.disconnect()


async def test_a_rename_reaches_every_open_page_of_the_conversation(ws_connect, alice, conversation):
    first = await open_page(ws_connect, alice, conversation)
    second = await open_page(ws_connect, alice, conversation)
    await sync_to_async(organising.do_rename_conversation)(conversation, "Plans <for> May")
    for page in (first, second):
        await page.until(lambda p: any('id="chat-title"' in f for f in p.frames))
        heading = next(f for f in page.frames if 'id="chat-title"' in f)
        assert "Plans &lt;for&gt; May" in heading and 'hx-swap-oob="true"' in heading
        await page.communicator.disconnect()


SIDEBAR_CHANGED = '<span id="sidebar-changed" hidden hx-swap-oob="true"></span>'


def sidebar_told(page) -> int:
    return page.frames.count(SIDEBAR_CHANGED)


async def test_a_change_to_the_list_reaches_this_persons_pages_of_other_conversations(
    ws_connect, alice, bob, conversation, key
):
    """Another tab of alice's starts, renames, pins or files a chat: her page of another conversation is told
    to fetch its lists again. Bob's page is told nothing."""
    other = await sync_to_async(do_create_conversation)(alice)
    page = await open_page(ws_connect, alice, conversation)
    bobs = await open_page(ws_connect, bob, await sync_to_async(do_create_conversation)(bob))

    elsewhere = await open_page(ws_connect, alice, other)
    await elsewhere.send_message(key, "A new chat, named by this")  # a first message names it and lists it
    await page.until(lambda p: sidebar_told(p) == 1)
    await elsewhere.until(lambda p: p.final_state)
    await wait_relays_idle()

    fetched = await Conversation.objects.aget(pk=other.pk)
    steps = [
        lambda: organising.do_rename_conversation(fetched, "Renamed"),
        lambda: organising.do_set_pinned(fetched, True),
        lambda: organising.do_move_to_new_folder(alice, fetched, "Work"),
        lambda: organising.do_set_archived(fetched, True),
        lambda: organising.do_delete_conversation(fetched),
        lambda: organising.do_restore_conversation(fetched),
    ]
    for step in steps:
        told = sidebar_told(page)
        await sync_to_async(step)()
        await page.until(lambda p, told=told: sidebar_told(p) > told)

    assert await bobs.communicator.receive_nothing(timeout=0.3)
    for each in (page, bobs, elsewhere):
        await each.communicator.disconnect()


async def test_a_refused_action_tells_no_page(ws_connect, alice, conversation):
    page = await open_page(ws_connect, alice, conversation)
    await sync_to_async(organising.do_create_folder)(alice, "Work")
    await page.until(lambda p: sidebar_told(p) == 1)
    with pytest.raises(organising.ActionError):
        await sync_to_async(organising.do_create_folder)(alice, "work")  # taken: nothing changed
    assert await page.communicator.receive_nothing(timeout=0.3)
    await page.communicator.disconnect()
