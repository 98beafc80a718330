"""Retry (a new version beside the old), Continue (carry on a cut reply), and switching versions."""

import asyncio

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async

from chat.actions import do_create_conversation
from chat.models import Conversation, Message

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest_asyncio.fixture
async def setup(chat_page):
    return await chat_page("novisurf")


async def replies(conversation):
    return [
        m async for m in Message.objects.filter(conversation=conversation, role="assistant").order_by("id")
    ]


async def settle(conversation):
    for _ in range(200):
        found = await replies(conversation)
        if found and all(m.state != "streaming" for m in found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("replies never settled")


async def test_retry_writes_a_new_version_and_keeps_the_old(setup, fake):
    page, key, conversation = setup
    await page.send_message(key, "echo: first try", model="fake-model~status=500")
    await page.until(lambda p: p.final_state)
    [failed] = await settle(conversation)
    assert failed.state == "failed" and "Novisurf" in failed.error
    await page.send(action="retry", message_id=failed.pk, credential=key.pk, model="fake-model")
    await page.until(lambda p: len(p.final_state) == 2)
    old, new = await settle(conversation)
    assert (old.pk, new.state, new.content.strip()) == (failed.pk, "done", "first try")
    assert new.parent_id == old.parent_id and new.model == "fake-model"
    conv = await Conversation.objects.aget(pk=conversation.pk)
    assert conv.current_leaf_id == new.pk
    assert conv.model == "fake-model"  # the chat reopens with the model its latest reply used
    shown = page.frames[-1]
    assert "2 / 2" in shown and f'"message_id": {old.pk}' in shown  # the switcher points back to the old
    # The provider saw the history without the failed version.
    assert fake.requests[-1]["json"]["messages"] == [{"role": "user", "content": "echo: first try"}]

    await page.send(action="version", message_id=old.pk)
    await page.until(lambda p: any(f"msg-{old.pk}" in f and "1 / 2" in f for f in p.frames[-2:]))
    conv = await Conversation.objects.aget(pk=conversation.pk)
    assert conv.current_leaf_id == old.pk


async def test_continue_carries_on_from_a_reply_cut_at_the_token_limit(setup, fake):
    page, key, conversation = setup
    await page.send_message(key, "echo: The start", model="fake-model~finish=length")
    await page.until(lambda p: p.final_state)
    [cut] = await settle(conversation)
    assert cut.finish_reason == "length" and cut.can_continue
    assert "Continue" in page.frames[-1]
    page.final_state.clear()
    await page.send(action="continue", message_id=cut.pk)
    await page.until(lambda p: p.final_state)
    [done] = await settle(conversation)
    assert done.pk == cut.pk and done.state == "done"
    assert done.content == cut.content * 2  # the echo again, carried on after the text it had
    sent = fake.requests[-1]["json"]["messages"]
    assert sent[-1] == {"role": "assistant", "content": cut.content}
    assert page.stream_text[cut.pk].startswith(cut.content)


async def test_continue_and_retry_are_refused_while_a_reply_streams(setup):
    page, key, conversation = setup
    await page.send_message(key, "long", model="fake-model~tokens=200~interval=20")
    await page.until(lambda p: p.stream_text)
    [streaming] = await replies(conversation)
    await page.send(action="retry", message_id=streaming.pk)
    await page.until(lambda p: p.errors)
    assert "still being written" in page.errors[-1]
    await page.send(action="stop", message_id=streaming.pk)
    await page.until(lambda p: p.final_state)


async def test_a_finished_reply_cannot_be_continued_and_foreign_ids_are_refused(setup, alice, bob, make_key):
    page, key, conversation = setup
    await page.send_message(key, "echo: done")
    await page.until(lambda p: p.final_state)
    [done] = await settle(conversation)
    await page.send(action="continue", message_id=done.pk)
    await page.until(lambda p: p.errors)
    assert "Only the last reply can be continued" in page.errors[-1]
    other = await sync_to_async(do_create_conversation)(bob)
    bobs = await Message.objects.acreate(conversation=other, role="assistant", content="x", state="stopped")
    for action in ("retry", "continue", "version"):
        page.errors.clear()
        await page.send(action=action, message_id=bobs.pk)
        await page.until(lambda p: p.errors)
        assert "does not exist" in page.errors[-1] or "Only the last reply" in page.errors[-1]
    assert (await Message.objects.aget(pk=bobs.pk)).state == "stopped"
