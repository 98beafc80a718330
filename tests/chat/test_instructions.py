"""A conversation's instructions: sent first as a system message (chat mode only), kept with the chat, set in
the composer's options or from the chat defaults, counted in the prompt estimate."""

import pytest
from django.urls import reverse

from chat.actions import clean_instructions, do_create_conversation
from chat.billing import prompt_estimate
from chat.history import request_context
from chat.models import Conversation, Message
from keys.models import MAX_INSTRUCTIONS_CHARS

SYSTEM = {"role": "system", "content": "Answer in French."}


async def sent_after(page, fake, action):
    """What the provider was asked after `action` (a coroutine that starts one reply)."""
    page.final_state.clear()
    await action
    await page.until(lambda p: p.final_state)
    return fake.requests[-1]["json"]["messages"]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_instructions_go_first_and_stay_with_the_chat_until_changed(chat_page, fake):
    page, key, conversation = await chat_page("novisurf")
    asked = await sent_after(
        page, fake, page.send_message(key, "echo: hello", instructions="  Answer in French.\n")
    )
    assert asked == [SYSTEM, {"role": "user", "content": "echo: hello"}]
    assert (await Conversation.objects.aget(pk=conversation.pk)).instructions == "Answer in French."

    # A frame without the field (text mode hides it) leaves them as they are; so do Retry and Edit.
    asked = await sent_after(page, fake, page.send_message(key, "echo: again"))
    assert asked[0] == SYSTEM and len(asked) == 4
    reply = await Message.objects.filter(conversation=conversation).alatest("id")
    asked = await sent_after(page, fake, page.send(action="retry", message_id=reply.pk, credential=key.pk))
    assert asked[0] == SYSTEM
    question = await Message.objects.aget(pk=reply.parent_id)
    edit = page.send(action="edit", message_id=question.pk, message="echo: encore", credential=key.pk)
    assert (await sent_after(page, fake, edit))[0] == SYSTEM

    # Emptied, they are gone.
    asked = await sent_after(page, fake, page.send_message(key, "echo: plain", instructions=""))
    assert asked[0]["role"] == "user"
    assert (await Conversation.objects.aget(pk=conversation.pk)).instructions == ""


@pytest.mark.django_db
def test_a_text_completion_has_no_place_for_them(alice, make_key):
    key = make_key(alice, preset="novita", dialect="novita")
    conversation = Conversation.objects.create(owner=alice, instructions="Be brief.")
    prompt = [Message(role="user", content="Once upon a time")]
    text = request_context(
        key, conversation, prompt, mode="text", model="m", params={}, instructions="Be brief."
    )
    assert text.request.prompt == "Once upon a time"
    chat = request_context(
        key, conversation, prompt, mode="chat", model="m", params={}, instructions="Be brief."
    )
    assert chat.request.messages[0] == {"role": "system", "content": "Be brief."}


@pytest.mark.django_db
def test_the_options_panel_saves_them_cleaned(client, alice, make_key):
    key = make_key(alice)
    conversation = do_create_conversation(alice)
    client.force_login(alice)
    url = reverse("chat:options", args=[conversation.pk])
    long = "x" * (MAX_INSTRUCTIONS_CHARS + 50)
    for typed, stored in [("  Be kind.\x00 ", "Be kind."), (long, "x" * MAX_INSTRUCTIONS_CHARS), ("", "")]:
        response = client.post(
            url, {"credential": key.pk, "instructions": typed}, headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        conversation.refresh_from_db()
        assert conversation.instructions == stored
    # Shown back as stored, in the panel's field.
    client.post(url, {"credential": key.pk, "instructions": "Use <b>metric</b> units."})
    html = client.get(url, {"credential": key.pk}, headers={"HX-Request": "true"}).content.decode()
    assert 'name="instructions"' in html and "Use &lt;b&gt;metric&lt;/b&gt; units." in html
    assert clean_instructions(["not", "text"]) == ""


@pytest.mark.django_db
def test_chat_defaults_give_new_chats_their_instructions(client, alice, make_key):
    key = make_key(alice)
    client.force_login(alice)
    response = client.post(
        reverse("keys:defaults"), {"credential": key.pk, "instructions": " Reply in Spanish. "}
    )
    assert response.status_code == 302
    assert do_create_conversation(alice).instructions == "Reply in Spanish."
    assert "Reply in Spanish." in client.get(reverse("keys:defaults")).content.decode()
    too_long = client.post(
        reverse("keys:defaults"), {"credential": key.pk, "instructions": "y" * (MAX_INSTRUCTIONS_CHARS + 1)}
    )
    assert too_long.status_code == 400 and "at most 10000 characters" in too_long.content.decode()


@pytest.mark.django_db
def test_the_prompt_estimate_counts_them(alice, make_key):
    key = make_key(alice)
    conversation = Conversation.objects.create(owner=alice, credential=key)
    question = Message.objects.create(conversation=conversation, role="user", content="Hi")
    reply = Message.objects.create(
        conversation=conversation, parent=question, role="assistant", credential=key
    )
    without = prompt_estimate(reply)
    conversation.instructions = "z" * 400
    assert prompt_estimate(reply) > without
    conversation.mode = Conversation.Mode.TEXT
    assert prompt_estimate(reply) == without
