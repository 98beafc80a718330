"""A recognisable shared secret is planted; every page, fragment, websocket frame, error, log line and
export a member or an admin can reach is scanned for it. Members see no part of it (not even the last four
characters, nor the first few); admins see only the last four; logs and exports hold none of it."""

import io
import logging
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from django.core.management import call_command
from django.urls import reverse

from chat.actions import do_create_conversation
from chat.models import Message
from tests.chat.wsclient import PageModel
from tests.conftest import SHARED_SECRET

# A second shared key whose secret the fake provider echoes back in its 401 body.
ECHOED_SECRET = "sk-invalid-CANARY-5e6fRtYu"
SECRETS = (SHARED_SECRET, ECHOED_SECRET)
ALLOWED = ["fake-model", "fake-model~status=500", "fake-model~tokens=5"]
HTMX = {"HTTP_HX_REQUEST": "true"}


def pieces_members_must_not_see(secret: str) -> tuple[str, ...]:
    return (secret, secret[-4:], secret[:12], secret[4:-4])


def assert_nothing_of_the_secrets(text: str, where: str, *, admin=False) -> None:
    for secret in SECRETS:
        pieces = (secret, secret[:12], secret[4:-4]) if admin else pieces_members_must_not_see(secret)
        for piece in pieces:
            assert piece not in text, f"{piece!r} in {where}"


@pytest.fixture
def planted(alice, bob, make_shared_key, make_grant, make_key):
    key = make_shared_key(alice, label="Team GPT", secret=SHARED_SECRET)
    echoed = make_shared_key(alice, label="Echoing", secret=ECHOED_SECRET)
    make_grant(alice, key, user=bob, budget_tokens=5000, budget_period="day", allowed_models=ALLOWED)
    make_grant(alice, echoed, user=bob)
    make_key(bob, secret="sk-bob-own-0000PERS", label="Bob personal")
    key.models_cache = [{"id": "fake-model"}]
    key.save()
    return key, echoed


@pytest.mark.django_db
def test_every_page_and_fragment_a_member_or_admin_reaches(client, alice, bob, planted, caplog):
    caplog.set_level(logging.DEBUG)
    key, echoed = planted
    conversation = do_create_conversation(bob)
    client.force_login(bob)
    member_urls = [
        ("get", reverse("chat:home"), {}),
        ("get", reverse("chat:list"), {}),
        ("get", reverse("chat:conversation", args=[conversation.pk]), {}),
        ("get", reverse("chat:options", args=[conversation.pk]) + f"?credential={key.pk}", HTMX),
        (
            "post",
            reverse("chat:options", args=[conversation.pk]),
            {"data": {"credential": key.pk, "p_max_tokens": "7"}},
        ),
        ("get", reverse("keys:list"), {}),
        ("get", reverse("keys:defaults"), {}),
        ("get", reverse("keys:defaults") + f"?credential={key.pk}", HTMX),
        ("post", reverse("keys:defaults"), {"data": {"credential": key.pk, "model": "fake-model"}}),
        ("get", reverse("team_keys:list"), {}),
        ("get", reverse("team_keys:key", args=[key.pk]), {}),
        ("post", reverse("keys:check", args=[key.pk]), {}),
    ]
    seen = []
    for method, url, extra in member_urls:
        data = extra.get("data", {})
        headers = {k: v for k, v in extra.items() if k != "data"}
        response = getattr(client, method)(url, data, **headers)
        body = response.content.decode()
        seen.append((url, response.status_code))
        assert_nothing_of_the_secrets(body, f"{method} {url} as a member")
        if url == reverse("chat:conversation", args=[conversation.pk]):
            assert "Team GPT — 5,000 tokens left today" in body  # the label is there
    assert (reverse("team_keys:list"), 403) in seen

    client.force_login(alice)
    admin_requests = [
        ("get", reverse("team_keys:list"), {}),
        ("get", reverse("team_keys:key", args=[key.pk]), {}),
        ("post", reverse("team_keys:check", args=[key.pk]), {}),
        ("post", reverse("team_keys:check", args=[echoed.pk]), HTMX),  # the provider echoes the key: redacted
        ("post", reverse("team_keys:replace-secret", args=[key.pk]), {"data": {"api_key": "short"}, **HTMX}),
        (
            "post",
            reverse("team_keys:list"),
            {"data": {"provider": "openai", "label": "", "api_key": SHARED_SECRET}},
        ),
        ("get", reverse("keys:list"), {}),
        ("get", reverse("admin:keys_credential_changelist"), {}),
        ("get", reverse("admin:keys_credential_change", args=[key.pk]), {}),
    ]
    for method, url, extra in admin_requests:
        data = extra.get("data", {})
        headers = {k: v for k, v in extra.items() if k != "data"}
        body = getattr(client, method)(url, data, **headers).content.decode()
        assert_nothing_of_the_secrets(body, f"{method} {url} as an admin", admin=True)
    assert "••••" + SHARED_SECRET[-4:] in client.get(reverse("team_keys:key", args=[key.pk])).content.decode()

    out = io.StringIO()
    call_command("dumpdata", stdout=out)  # a backup: ciphertext only
    assert_nothing_of_the_secrets(out.getvalue(), "dumpdata", admin=True)
    assert_nothing_of_the_secrets(caplog.text, "the log")
    assert_nothing_of_the_secrets(repr([(r.msg, r.args) for r in caplog.records]), "log records")


@pytest.fixture
def fresh_channel_layer():
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_every_frame_error_and_log_line_of_a_members_chat(
    ws_connect, bob, planted, caplog, fake, fresh_channel_layer
):
    caplog.set_level(logging.DEBUG)
    key, echoed = planted
    conversation = await sync_to_async(do_create_conversation)(bob)
    communicator, connected = await ws_connect(bob, conversation.pk)
    assert connected
    page = PageModel(communicator)

    async def send(credential, model, text="echo: hi"):
        await page.send(
            action="send", client_id=str(uuid.uuid4()), message=text, credential=credential.pk, model=model
        )

    await send(key, "fake-model")  # a reply that works
    await page.until(lambda p: len(p.final_state) == 1, timeout=20)
    await send(echoed, "fake-model")  # the provider rejects the key, echoing it
    await page.until(lambda p: len(p.final_state) == 2, timeout=20)
    await send(key, "other-model")  # not allowed on this grant
    await page.until(lambda p: p.errors)
    await send(key, "fake-model~status=500")  # an upstream failure
    await page.until(lambda p: len(p.final_state) == 3, timeout=20)
    reply = await Message.objects.filter(conversation=conversation, role="assistant").alatest("id")
    await page.send(action="retry", message_id=reply.pk, credential=key.pk, model="fake-model~tokens=5")
    await page.until(lambda p: len(p.final_state) == 4, timeout=20)
    await page.send(action="resync")
    await page.until(lambda p: any('id="messages"' in f for f in p.frames))
    await communicator.disconnect()

    assert any("rejected" in f for f in page.frames) and page.errors
    assert fake.requests[1]["headers"]["authorization"] == f"Bearer {ECHOED_SECRET}"  # it did go upstream
    for frame in page.frames:
        assert_nothing_of_the_secrets(frame, "a websocket frame")
    async for message in Message.objects.filter(conversation=conversation):
        assert_nothing_of_the_secrets(
            f"{message.content} {message.error} {message.usage_extra}", "a stored message"
        )
    assert_nothing_of_the_secrets(caplog.text, "the log")
