"""Provider failures become a sentence in the bubble; whatever arrived is kept; the page stays usable."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from chat.actions import do_create_conversation
from chat.models import Message
from keys.models import Credential
from tests.chat.wsclient import PageModel

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation(alice):
    return do_create_conversation(alice)


async def run_reply(ws_connect, user, conversation, key, model, text="hello"):
    communicator, connected = await ws_connect(user, conversation.pk)
    assert connected
    page = PageModel(communicator)
    await page.send(action="send", client_id=str(uuid.uuid4()), message=text, credential=key.pk, model=model)
    await page.until(lambda p: p.final_state, timeout=20)
    reply = await Message.objects.filter(conversation=conversation, role="assistant").alatest("id")
    await communicator.disconnect()
    return reply, page


@pytest.mark.parametrize(
    ("preset", "dialect", "secret", "model", "state", "words"),
    [
        ("openai", "openai", "sk-invalid-000000000", "fake-model", "failed", "rejected"),
        ("novisurf", "novisurf", "lsk_broke_00000000", "fake-model", "failed", "credits"),
        ("novakit", "novakit", "sk_noscope_0000000", "fake-model", "failed", "scope"),
        ("novita", "novita", "sk-test-0000000000", "missing-model", "failed", "does not exist"),
        ("openai", "openai", "sk-test-0000000000", "fake-model~status=500", "failed", ""),
        ("openai", "openai", "sk-test-0000000000", "fake-model~tokens=30~cut=10", "interrupted", "cut off"),
        (
            "openai",
            "openai",
            "sk-test-0000000000",
            "fake-model~tokens=30~no_done=1",
            "interrupted",
            "cut off",
        ),
        ("openai", "openai", "sk-test-0000000000", "fake-model~tokens=30~error_after=5", "failed", ""),
    ],
)
async def test_provider_errors_are_explained_in_the_bubble(
    ws_connect, alice, conversation, make_key, preset, dialect, secret, model, state, words
):
    key = await sync_to_async(make_key)(alice, preset=preset, dialect=dialect, secret=secret)
    reply, page = await run_reply(ws_connect, alice, conversation, key, model)
    assert reply.state == state
    assert reply.error and words.lower() in reply.error.lower()
    assert secret not in reply.error
    final = page.frames[-1]
    assert 'class="msg-error"' in final
    if "cut" in model or "error_after" in model:
        assert reply.content.startswith("tok1 ")  # what arrived is kept
    credential = await Credential.objects.aget(pk=key.pk)
    if state == "failed":
        assert credential.last_error == reply.error


async def test_rate_limit_is_retried_before_the_first_token(ws_connect, alice, conversation, make_key, fake):
    key = await sync_to_async(make_key)(alice)
    reply, page = await run_reply(
        ws_connect, alice, conversation, key, "fake-model~status=429~retry_after=0~fail_first=1"
    )
    assert reply.state == Message.State.DONE
    statuses = [f for f in page.frames if ":#msg-" in f and "-status" in f and "stream" not in f]
    assert "Rate-limited, retrying (2/3)" in statuses[0]
    assert statuses[-1].endswith("></p>")  # cleared once the text started


async def test_a_key_deleted_before_the_reply_starts_fails_it_in_words(
    alice, conversation, make_key, broadcasts
):
    from chat import actions, relay

    key = await sync_to_async(make_key)(alice)
    result = await sync_to_async(actions.do_send_message)(
        alice, conversation, text="hi", client_id=uuid.uuid4(), credential_id=key.pk, model="m", max_chars=100
    )
    await sync_to_async(key.delete)()
    await relay.start_relay(result.reply.pk).task
    reply = await Message.objects.aget(pk=result.reply.pk)
    assert reply.state == Message.State.FAILED
    assert "key chosen for this chat was deleted" in reply.error
    assert (
        f"conversation.{conversation.pk}",
        {"type": "message.updated", "message_id": reply.pk},
    ) in broadcasts


async def test_nul_bytes_and_surrogates_from_the_model_are_stored_safely(
    ws_connect, alice, conversation, make_key
):
    key = await sync_to_async(make_key)(alice)
    reply, _ = await run_reply(
        ws_connect, alice, conversation, key, "fake-model", text="echo: a\x00b \ud800 c"
    )
    assert reply.state == Message.State.DONE
    assert "\x00" not in reply.content


@pytest.mark.parametrize(
    ("model", "error"),
    [
        # A rejected request: the provider's reason is in the sentence, and only there.
        (
            "fake-model~status=400",
            "OpenAI-compatible: the request was rejected (Invalid request: see the docs) — check the model and "
            "parameters.",
        ),
        # A proxy's HTML page: neither its markup nor its "502" title is quoted as the provider's words.
        (
            "fake-model~status=502~body=html~retry_after=0",
            "OpenAI-compatible: the provider (or a proxy in front of it) is unavailable (HTTP 502) — try again "
            "in a moment.",
        ),
        # Plain text is somebody's words, and said once after the sentence.
        (
            "fake-model~status=503~body=text~retry_after=0",
            "OpenAI-compatible: the provider (or a proxy in front of it) is unavailable (HTTP 503) — try again "
            "in a moment.\nThe provider said: “upstream connect error or disconnect/reset before headers”",
        ),
    ],
)
async def test_the_providers_words_are_said_once(ws_connect, alice, conversation, make_key, model, error):
    key = await sync_to_async(make_key)(alice)
    reply, _page = await run_reply(ws_connect, alice, conversation, key, model)
    assert (reply.state, reply.error) == (Message.State.FAILED, error)


async def test_a_rate_limit_says_the_wait_the_provider_last_asked_for(
    ws_connect, alice, conversation, make_key, fake
):
    key = await sync_to_async(make_key)(alice)
    reply, _page = await run_reply(
        ws_connect, alice, conversation, key, "fake-model~status=429~retry_after=1"
    )
    assert len([r for r in fake.requests if r["path"].endswith("/chat/completions")]) == 3  # retried, then…
    assert reply.error.startswith("OpenAI-compatible: rate-limited — try again in about 1 second.\n")


async def test_a_reply_without_text_shows_the_error_alone_and_a_filtered_one_says_so(
    ws_connect, alice, conversation, make_key
):
    key = await sync_to_async(make_key)(alice)
    _failed, page = await run_reply(ws_connect, alice, conversation, key, "fake-model~status=401")
    final = page.frames[-1]
    assert 'class="msg-error" role="alert"' in final and "msg-body" not in final  # no empty bubble
    filtered, page = await run_reply(ws_connect, alice, conversation, key, "fake-model~finish=content_filter")
    assert (filtered.state, filtered.finish_reason) == (Message.State.DONE, "content_filter")
    final = page.frames[-1]
    assert "Stopped by the provider's content filter" in final and "msg-body" in final
    assert "Continue" not in final
    empty, page = await run_reply(ws_connect, alice, conversation, key, "fake-model", text="echo:")
    assert (empty.state, empty.content) == (Message.State.DONE, "")
    final = page.frames[-1]
    assert "This reply has no text." in final and "msg-body" not in final


async def test_what_the_connection_showed_is_not_passed_off_as_the_providers_words(
    ws_connect, alice, conversation, make_key
):
    key = await sync_to_async(make_key)(alice)
    reply, _page = await run_reply(ws_connect, alice, conversation, key, "fake-model~redirect=1")
    assert reply.error.endswith("— check the base URL.\nDetails: redirect to elsewhere.invalid")
