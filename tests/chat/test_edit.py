"""Edit: one of your messages rewritten goes beside the old one, with a new reply, and the old stays a version
away."""

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


async def exchange(page, key, conversation, text):
    """Send `text`, wait for its reply to finish; the user message and the reply."""
    page.final_state.clear()
    await page.send_message(key, text)
    await page.until(lambda p: p.final_state)
    reply = await settled(conversation)
    return await Message.objects.aget(pk=reply.parent_id), reply


async def settled(conversation) -> Message:
    """The conversation's reply on screen, once nothing streams."""
    for _ in range(200):
        if not await Message.objects.filter(conversation=conversation, state="streaming").aexists():
            leaf = (await Conversation.objects.aget(pk=conversation.pk)).current_leaf_id
            return await Message.objects.aget(pk=leaf)
        await asyncio.sleep(0.05)
    raise AssertionError("the reply never settled")


async def test_an_edited_message_is_asked_again_beside_the_old_one(setup, fake):
    page, key, conversation = setup
    question, answer = await exchange(page, key, conversation, "echo: the first wording")
    page.final_state.clear()
    await page.send(
        action="edit", message_id=question.pk, message="echo: the second wording", credential=key.pk
    )
    await page.until(lambda p: p.final_state)
    new_answer = await settled(conversation)
    edited = await Message.objects.aget(pk=new_answer.parent_id)

    assert (edited.role, edited.content, edited.parent_id) == ("user", "echo: the second wording", None)
    assert (new_answer.state, new_answer.content.strip()) == ("done", "the second wording")
    # Nothing was overwritten: the first wording and its reply are still there, a version away.
    assert (await Message.objects.aget(pk=question.pk)).content == "echo: the first wording"
    assert (await Message.objects.aget(pk=answer.pk)).content.strip() == "the first wording"
    assert fake.requests[-1]["json"]["messages"] == [{"role": "user", "content": "echo: the second wording"}]
    # The page was redrawn with the new version, whose switcher points back to the old one.
    redrawn = next(f for f in page.frames if f'id="msg-{edited.pk}"' in f and 'id="messages"' in f)
    assert "2 / 2" in redrawn and f'"message_id": {question.pk}' in redrawn
    assert f'id="msg-{question.pk}"' not in redrawn

    await page.send(action="version", message_id=question.pk)
    await page.until(lambda p: any(f"msg-{question.pk}" in f and "1 / 2" in f for f in p.frames[-2:]))
    assert (await Conversation.objects.aget(pk=conversation.pk)).current_leaf_id == answer.pk


async def test_editing_an_earlier_message_leaves_what_followed_it_on_the_old_version(setup, fake):
    page, key, conversation = setup
    first, _ = await exchange(page, key, conversation, "echo: one")
    await exchange(page, key, conversation, "echo: two")
    page.final_state.clear()
    await page.send(
        action="edit",
        message_id=first.pk,
        message="echo: uno",
        credential=key.pk,
        model="fake-model~tokens=3",
    )
    await page.until(lambda p: p.final_state)
    await settled(conversation)
    # The provider saw the new branch only: the edited message, not the exchange that followed the old one.
    assert fake.requests[-1]["json"]["messages"] == [{"role": "user", "content": "echo: uno"}]
    assert await Message.objects.filter(conversation=conversation).acount() == 6
    # The chat reopens with the model the edit was asked with.
    assert (await Conversation.objects.aget(pk=conversation.pk)).model == "fake-model~tokens=3"


async def test_an_edit_needs_words_an_idle_chat_and_a_message_of_yours(setup, bob):
    page, key, conversation = setup
    question, _ = await exchange(page, key, conversation, "echo: hello")
    other = await sync_to_async(do_create_conversation)(bob)
    bobs = await Message.objects.acreate(conversation=other, role="user", content="bob's words")
    answer = await settled(conversation)
    refusals = [
        ({"message_id": question.pk, "message": "   "}, "Type a message first."),
        ({"message_id": bobs.pk, "message": "echo: mine now"}, "That message does not exist."),
        ({"message_id": answer.pk, "message": "echo: a reply"}, "That message does not exist."),
        ({"message_id": question.pk, "message": 12}, "Type a message first."),
    ]
    for frame, words in refusals:
        page.errors.clear()
        await page.send(action="edit", credential=key.pk, **frame)
        await page.until(lambda p: p.errors)
        assert words in page.errors[-1]
    assert await Message.objects.filter(conversation=conversation).acount() == 2
    assert (await Message.objects.aget(pk=bobs.pk)).content == "bob's words"

    page.final_state.clear()
    await page.send_message(key, "long", model="fake-model~tokens=200~interval=20")
    await page.until(lambda p: p.stream_text)
    page.errors.clear()
    await page.send(action="edit", message_id=question.pk, message="echo: now", credential=key.pk)
    await page.until(lambda p: p.errors)
    assert "still being written" in page.errors[-1]
    streaming = await Message.objects.aget(conversation=conversation, state="streaming")
    await page.send(action="stop", message_id=streaming.pk)
    await page.until(lambda p: p.final_state)


async def test_an_edit_can_change_or_drop_the_image_links_it_asked_about(chat_page, fake):
    page, key, conversation = await chat_page("novakit")
    page.final_state.clear()
    await page.send_message(key, "echo: what is this?", "openai/gpt-4o", images="https://img.example/a.png")
    await page.until(lambda p: p.final_state)
    question = await Message.objects.aget(conversation=conversation, role="user")
    assert question.images == ["https://img.example/a.png"]

    # Kept when the frame does not say (an editor without the field), replaced or dropped when it does.
    for images, kept in [
        (None, ["https://img.example/a.png"]),
        (
            "https://img.example/b.png\nhttps://img.example/c.png",
            ["https://img.example/b.png", "https://img.example/c.png"],
        ),
        ("", []),
    ]:
        page.final_state.clear()
        frame = {"images": images} if images is not None else {}
        await page.send(action="edit", message_id=question.pk, message="echo: and this?", credential=key.pk,
                        model="openai/gpt-4o", **frame)  # fmt: skip
        await page.until(lambda p: p.final_state)
        edited = await Message.objects.filter(conversation=conversation, role="user").alatest("id")
        assert edited.images == kept
        sent = fake.requests[-1]["json"]["messages"][-1]
        assert sent.get("images", []) == kept


async def test_an_edit_on_a_model_without_images_says_how_to_go_on(chat_page):
    page, key, conversation = await chat_page("novakit")
    await page.send_message(key, "echo: look", "openai/gpt-4o", images="https://img.example/a.png")
    await page.until(lambda p: p.final_state)
    question = await Message.objects.aget(conversation=conversation, role="user")
    await page.send(action="edit", message_id=question.pk, message="echo: look again", credential=key.pk,
                    model="meta-llama/llama-3.1-8b")  # fmt: skip
    await page.until(lambda p: p.errors)
    assert "does not take images" in page.errors[-1]


async def test_an_edited_prompt_in_text_completion_keeps_its_spaces_and_line_breaks(chat_page):
    page, key, conversation = await chat_page("novita")
    page.final_state.clear()
    await page.send_message(key, "echo: Once upon a time", mode="text")
    await page.until(lambda p: p.final_state)
    question = await Message.objects.aget(conversation=conversation, role="user")
    page.final_state.clear()
    await page.send(
        action="edit", message_id=question.pk, message="  echo: Once, long ago\n", credential=key.pk
    )
    await page.until(lambda p: p.final_state)
    edited = await Message.objects.filter(conversation=conversation, role="user").alatest("id")
    assert edited.content == "  echo: Once, long ago\n"
