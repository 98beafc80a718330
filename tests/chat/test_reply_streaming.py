"""One reply end to end: websocket in, fake provider upstream, relay, frames out, rows in PostgreSQL."""

import asyncio
import uuid
from unittest import mock

import pytest
from asgiref.sync import sync_to_async

from chat import actions, relay
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


async def open_page(ws_connect, user, conversation):
    communicator, connected = await ws_connect(user, conversation.pk)
    assert connected
    return PageModel(communicator)


async def reply_of(conversation) -> Message:
    return await Message.objects.filter(conversation=conversation, role="assistant").alatest("id")


async def wait_finished(conversation, timeout=10.0) -> Message:
    for _ in range(int(timeout / 0.05)):
        reply = await reply_of(conversation)
        if reply.state != Message.State.STREAMING:
            return reply
        await asyncio.sleep(0.05)
    raise AssertionError("the reply never finished")


async def wait_relays_idle():
    for _ in range(200):
        if not relay.running_reply_ids():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("a relay is still running")


async def test_a_reply_streams_token_by_token_then_settles_as_rendered_markdown(
    ws_connect, alice, conversation, key, fake
):
    page = await open_page(ws_connect, alice, conversation)
    await page.send_message(key, "Hello there", model="fake-model~tokens=30~interval=5")
    reply = None
    await page.until(lambda p: p.final_state)
    reply = await reply_of(conversation)
    assert reply.state == Message.State.DONE
    assert page.final_state[reply.pk] == "done"
    assert page.stream_text[reply.pk] == reply.content  # every delta arrived, once, in order
    assert reply.content.startswith("tok1 ") and reply.content.count("tok") == 30
    assert reply.completion_tokens and reply.usage_reported
    assert reply.finish_reason == "stop"
    delta_frames = [f for f in page.frames if "beforeend:#msg-" in f]
    assert 1 < len(delta_frames) < 30  # batched, but live
    user_message = await Message.objects.aget(conversation=conversation, role="user")
    assert user_message.content == "Hello there"
    conv = await Conversation.objects.aget(pk=conversation.pk)
    assert conv.title == "Hello there" and conv.current_leaf_id == reply.pk
    sent = fake.requests[-1]
    assert sent["json"]["messages"] == [{"role": "user", "content": "Hello there"}]
    assert sent["headers"]["authorization"] == "Bearer sk-test-CANARY-0123456789"
    await page.communicator.disconnect()


async def test_markdown_is_rendered_and_sanitised_in_the_final_bubble(ws_connect, alice, conversation, key):
    page = await open_page(ws_connect, alice, conversation)
    await page.send_message(key, 'echo: **bold** <img src=x onerror="alert(1)"> [x](javascript:alert(1))')
    await page.until(lambda p: p.final_state)
    final = page.frames[-1]
    assert "<strong>bold</strong>" in final
    assert "<img" not in final  # the tag is shown as text (&lt;img ...), never parsed as an element
    assert "&lt;img src=x onerror" in final
    assert 'href="javascript' not in final
    await page.communicator.disconnect()


async def test_history_goes_back_to_the_provider(ws_connect, alice, conversation, key, fake):
    page = await open_page(ws_connect, alice, conversation)
    await page.send_message(key, "echo: first answer")
    await page.until(lambda p: len(p.final_state) == 1)
    await page.send_message(key, "second question")
    await page.until(lambda p: len(p.final_state) == 2)
    sent = [(m["role"], m["content"].strip()) for m in fake.requests[-1]["json"]["messages"]]
    assert sent == [
        ("user", "echo: first answer"),
        ("assistant", "first answer"),
        ("user", "second question"),
    ]
    await page.communicator.disconnect()


async def test_stop_keeps_what_arrived_and_closes_the_upstream(ws_connect, alice, conversation, key, fake):
    page = await open_page(ws_connect, alice, conversation)
    await page.send_message(key, "Tell me a long story", model="fake-model~tokens=400~interval=20")
    await page.until(lambda p: any(len(t) > 20 for t in p.stream_text.values()))
    reply = await reply_of(conversation)
    await page.send(action="stop", message_id=reply.pk)
    await page.until(lambda p: p.final_state)
    reply = await reply_of(conversation)
    assert reply.state == Message.State.STOPPED
    assert 20 < len(reply.content) < len("tok400 ") * 400
    assert page.final_state[reply.pk] == "stopped"
    await wait_relays_idle()
    await page.communicator.disconnect()


async def test_closing_the_tab_does_not_lose_the_reply(ws_connect, alice, conversation, key):
    page = await open_page(ws_connect, alice, conversation)
    await page.send_message(key, "Write while I am away", model="fake-model~tokens=40~interval=10")
    await page.until(lambda p: p.stream_text)
    await page.communicator.disconnect()
    reply = await wait_finished(conversation)
    assert reply.state == Message.State.DONE
    assert reply.content.count("tok") == 40


async def test_reload_mid_reply_shows_the_text_so_far_then_continues_without_gap_or_duplicate(
    ws_connect, alice, conversation, key
):
    first = await open_page(ws_connect, alice, conversation)
    await first.send_message(key, "A long one please", model="fake-model~tokens=120~interval=10")
    await first.until(lambda p: any(len(t) > 100 for t in p.stream_text.values()))
    await first.communicator.disconnect()
    # The reload: a fresh page, which asks the relay for the text so far, then follows live.
    second = await open_page(ws_connect, alice, conversation)
    await second.until(lambda p: p.final_state, timeout=15)
    reply = await reply_of(conversation)
    assert reply.state == Message.State.DONE
    assert second.stream_text[reply.pk] == reply.content
    assert reply.content.count("tok") == 120
    await second.communicator.disconnect()


async def test_a_second_tab_sees_the_same_reply(ws_connect, alice, conversation, key):
    one = await open_page(ws_connect, alice, conversation)
    two = await open_page(ws_connect, alice, conversation)
    await one.send_message(key, "For both tabs", model="fake-model~tokens=25~interval=5")
    await one.until(lambda p: p.final_state)
    await two.until(lambda p: p.final_state)
    reply = await reply_of(conversation)
    assert one.stream_text[reply.pk] == two.stream_text[reply.pk] == reply.content
    for page in (one, two):
        await page.communicator.disconnect()


async def test_the_text_reaches_the_database_about_once_a_second_not_per_token(
    ws_connect, alice, conversation, key
):
    page = await open_page(ws_connect, alice, conversation)
    with mock.patch.object(actions, "do_save_reply_progress", wraps=actions.do_save_reply_progress) as flush:
        await page.send_message(key, "Slowly", model="fake-model~tokens=100~interval=25")  # ~2.5 s
        await page.until(lambda p: p.final_state, timeout=15)
    assert 1 <= flush.call_count <= 4
    await page.communicator.disconnect()


async def test_a_repeated_send_is_recognised(ws_connect, alice, conversation, key):
    page = await open_page(ws_connect, alice, conversation)
    client_id = str(uuid.uuid4())
    await page.send_message(key, "only once", client_id=client_id)
    await page.send_message(key, "only once", client_id=client_id)
    await page.until(lambda p: p.final_state)
    await wait_relays_idle()
    assert await Message.objects.filter(conversation=conversation).acount() == 2
    await page.communicator.disconnect()


async def test_one_reply_at_a_time_per_conversation(ws_connect, alice, conversation, key):
    page = await open_page(ws_connect, alice, conversation)
    await page.send_message(key, "first", model="fake-model~tokens=50~interval=20")
    await page.until(lambda p: p.stream_text)
    await page.send_message(key, "second")
    await page.until(lambda p: p.errors)
    assert "still being written" in page.errors[0]
    await page.until(lambda p: p.final_state, timeout=15)
    assert await Message.objects.filter(conversation=conversation).acount() == 2
    await page.communicator.disconnect()


async def test_a_stale_streaming_reply_is_marked_interrupted_on_connect(ws_connect, alice, conversation, key):
    @sync_to_async
    def leave_a_dead_reply():
        result = actions.do_send_message(
            alice,
            conversation,
            text="hello",
            client_id=uuid.uuid4(),
            credential_id=key.pk,
            model="m",
            max_chars=1000,
        )
        Message.objects.filter(pk=result.reply.pk).update(content="half a th")
        Message.objects.filter(pk=result.reply.pk).update(
            updated_at=result.reply.updated_at - __import__("datetime").timedelta(minutes=5)
        )
        return result.reply

    dead = await leave_a_dead_reply()
    page = await open_page(ws_connect, alice, conversation)
    await page.until(lambda p: p.final_state)
    dead = await Message.objects.aget(pk=dead.pk)
    assert dead.state == Message.State.INTERRUPTED and dead.content == "half a th"
    assert page.final_state[dead.pk] == "interrupted"
    await page.communicator.disconnect()
