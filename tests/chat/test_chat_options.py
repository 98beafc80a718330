"""What the composer's options send upstream: parameters per preset, web search, images, the user id, and
Novita's text completion mode — asserted on the exact request the fake provider received."""

import pytest
from django.urls import reverse

from chat.actions import do_create_conversation
from chat.history import provider_user_id
from chat.models import Conversation, Message

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.asyncio
async def test_novisurf_sends_only_its_documented_parameters_clamped(chat_page, fake):
    page, key, conversation = await chat_page("novisurf")
    await page.send_message(
        key, "echo: hi", p_temperature="7", p_top_p="0.5", p_max_tokens="64", p_stop="END\nSTOP",
        p_top_k="5", p_web_search="true", p_user="forged", p_frequency_penalty="1", unknown="x",
    )  # fmt: skip
    await page.until(lambda p: p.final_state)
    body = fake.requests[-1]["json"]
    assert {k: v for k, v in body.items() if k not in ("model", "messages", "stream")} == {
        "temperature": 2.0,
        "top_p": 0.5,
        "max_tokens": 64,
        "stop": ["END", "STOP"],
    }
    conv = await Conversation.objects.aget(pk=conversation.pk)
    assert conv.params == {"temperature": 2.0, "top_p": 0.5, "max_tokens": 64, "stop": ["END", "STOP"]}


@pytest.mark.asyncio
async def test_novakit_web_search_images_and_a_stable_user_id(chat_page, alice, fake):
    page, key, conversation = await chat_page("novakit")
    images = "https://img.example/a.png\nhttps://img.example/b.jpg"
    await page.send_message(
        key, "echo: what is this?", model="openai/gpt-4o", p_web_search="true", images=images
    )
    await page.until(lambda p: p.final_state)
    body = fake.requests[-1]["json"]
    assert body["web_search"] is True
    assert body["messages"] == [{"role": "user", "content": "echo: what is this?", "images": images.split()}]
    # Stable per person, and neither their name nor their plain id.
    assert body["user"] == provider_user_id(alice.pk) and len(body["user"]) == 35
    assert "alice" not in body["user"] and body["user"] != f"nw-{alice.pk}"
    user_message = await Message.objects.aget(conversation=conversation, role="user")
    assert user_message.images == images.split()
    reply = await Message.objects.aget(conversation=conversation, role="assistant")
    assert reply.usage_reported and reply.credits is not None


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("model", "images", "error"),
    [
        ("meta-llama/llama-3.1-8b", "https://img.example/a.png", "does not take images"),
        ("openai/gpt-4o", "http://img.example/a.png", "must be https://"),
        ("openai/gpt-4o", "javascript:alert(1)", "must be https://"),
        ("openai/gpt-4o", " ".join(f"https://img.example/{i}.png" for i in range(5)), "At most 4 images"),
    ],
)
async def test_bad_images_are_refused_before_anything_is_sent(chat_page, fake, model, images, error):
    page, key, conversation = await chat_page("novakit")
    await page.send_message(key, "look", model=model, images=images)
    await page.until(lambda p: p.errors)
    assert error in page.errors[-1]
    assert fake.requests == [] and not await Message.objects.filter(conversation=conversation).aexists()


@pytest.mark.asyncio
async def test_images_are_refused_where_the_provider_takes_none(chat_page, fake):
    page, key, _ = await chat_page("novisurf")
    await page.send_message(key, "look", images="https://img.example/a.png")
    await page.until(lambda p: p.errors)
    assert "Novisurf does not take images" in page.errors[-1] and fake.requests == []


@pytest.mark.asyncio
async def test_novita_text_completion_continues_the_whole_document(chat_page, fake):
    page, key, conversation = await chat_page("novita")
    await page.send_message(
        key, "echo: Once upon a time", mode="text", p_top_k="40", p_repetition_penalty="1.1",
        p_logit_bias="50256: -100\n15: 2.5",
    )  # fmt: skip
    await page.until(lambda p: len(p.final_state) == 1)
    first = fake.requests[-1]
    assert first["path"] == "/novita/v3/openai/completions"
    assert first["json"]["prompt"] == "echo: Once upon a time"
    assert (first["json"]["top_k"], first["json"]["repetition_penalty"]) == (40, 1.1)
    assert first["json"]["logit_bias"] == {"50256": -100, "15": 2.5}
    assert "messages" not in first["json"]
    reply = await Message.objects.filter(conversation=conversation, role="assistant").alatest("id")
    assert reply.state == Message.State.DONE and reply.content.strip() == "Once upon a time"
    await page.send_message(key, " and then", mode="text")
    await page.until(lambda p: len(p.final_state) == 2)
    assert fake.requests[-1]["json"]["prompt"] == "echo: Once upon a time" + reply.content + " and then"
    conv = await Conversation.objects.aget(pk=conversation.pk)
    assert conv.mode == "text"


@pytest.mark.asyncio
async def test_text_mode_falls_back_to_chat_where_the_provider_has_no_completions(chat_page, fake):
    page, key, _ = await chat_page("novisurf")
    await page.send_message(key, "echo: hi", mode="text")
    await page.until(lambda p: p.final_state)
    assert fake.requests[-1]["path"].endswith("/chat/completions")


def test_the_options_panel_saves_clamped_values_and_shows_them(client, alice, make_key):
    key = make_key(alice, preset="novita", dialect="novita")
    conversation = do_create_conversation(alice)
    client.force_login(alice)
    url = reverse("chat:options", args=[conversation.pk])
    response = client.post(
        url, {"credential": key.pk, "p_n": "99", "p_min_p": "abc", "p_temperature": "-3", "mode": "text", "x": "1"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="p_n" value="8"' in html and 'name="p_temperature" value="0"' in html
    assert 'value="text" checked' in html
    conversation.refresh_from_db()
    assert conversation.params == {"n": 8, "temperature": 0.0} and conversation.mode == "text"
    assert conversation.credential_id == key.pk
    # Switching to a key of another provider shows that provider's parameters only.
    other = make_key(alice, preset="novakit", dialect="novakit")
    html = client.get(url, {"credential": other.pk}, headers={"HX-Request": "true"}).content.decode()
    assert (
        "p_web_search" in html
        and "p_top_k" not in html
        and "p_n" not in html
        and "Text completion" not in html
    )
    assert 'name="p_temperature" value="0"' in html  # a shared parameter carries over


def test_options_never_500_and_never_reach_other_people(client, alice, bob, make_key):
    key = make_key(alice, preset="novita", dialect="novita")
    bobs_key = make_key(bob, preset="novisurf", dialect="novisurf")
    conversation = do_create_conversation(alice)
    client.force_login(alice)
    url = reverse("chat:options", args=[conversation.pk])
    for data in ({}, {"credential": "x"}, {"credential": bobs_key.pk, "p_temperature": "1"},
                 {"credential": key.pk, "p_stop": "a\x00b" * 300, "p_n": "1e400", "mode": "🙂"}):  # fmt: skip
        assert client.post(url, data, headers={"HX-Request": "true"}).status_code == 200
    conversation.refresh_from_db()
    assert conversation.credential_id == key.pk
    # A stale or forged key id is ignored: the chat's own key decides which parameters the panel holds.
    for forged in (bobs_key.pk, "x", ""):
        response = client.post(
            url,
            {"credential": forged, "p_temperature": "0.4", "p_top_k": "7"},
            headers={"HX-Request": "true"},
        )
        assert "p_repetition_penalty" in response.content.decode()  # still the Novita panel
        conversation.refresh_from_db()
        assert conversation.credential_id == key.pk
        assert conversation.params == {"temperature": 0.4, "top_k": 7}
    client.force_login(bob)
    assert client.post(url, {"credential": bobs_key.pk}).status_code == 404
    assert client.get(url).status_code == 404
