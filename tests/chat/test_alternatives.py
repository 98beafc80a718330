"""Novita's n > 1: the alternatives are kept side by side and the person keeps one."""

import asyncio
import uuid

import pytest

from chat.models import Message

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def finished_reply(conversation):
    for _ in range(200):
        reply = await Message.objects.filter(conversation=conversation, role="assistant").alatest("id")
        if reply.state != "streaming":
            return reply
        await asyncio.sleep(0.05)
    raise AssertionError("the reply never finished")


async def test_three_alternatives_side_by_side_then_one_is_kept(chat_page, fake):
    page, key, conversation = await chat_page("novita")
    await page.send(
        action="send",
        client_id=str(uuid.uuid4()),
        message="echo: pick me",
        credential=key.pk,
        model="m",
        p_n="3",
    )
    await page.until(lambda p: p.final_state)
    assert fake.requests[-1]["json"]["n"] == 3
    reply = await finished_reply(conversation)
    assert reply.choices == [" pick me", "[choice 1]  pick me", "[choice 2]  pick me"]
    assert reply.content == " pick me"  # the streamed first one, until the person chooses
    assert page.stream_text[reply.pk] == " pick me"  # the others never leaked into the live text
    final = page.frames[-1]
    assert "3 alternatives" in final and "Keep alternative 3" in final
    await page.send(action="keep", message_id=reply.pk, index=2)
    await page.until(lambda p: "Keep alternative" not in p.frames[-1] and f"msg-{reply.pk}" in p.frames[-1])
    kept = await Message.objects.aget(pk=reply.pk)
    assert (kept.content, kept.choices) == ("[choice 2]  pick me", [])
    # What goes back to the provider next is the kept one.
    await page.send(
        action="send", client_id=str(uuid.uuid4()), message="echo: next", credential=key.pk, model="m"
    )
    await page.until(lambda p: len(p.final_state) == 2 or p.errors)
    assert fake.requests[-1]["json"]["messages"][1] == {"role": "assistant", "content": "[choice 2]  pick me"}
    for bad in (-1, 5, "1", None, 1.5):
        page.errors.clear()
        await page.send(action="keep", message_id=reply.pk, index=bad)
        await page.until(lambda p: p.errors)
        assert "does not exist" in page.errors[-1]
