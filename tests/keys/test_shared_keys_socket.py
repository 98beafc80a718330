"""A member chats on a shared key over the real websocket: limits, revocation and a replaced secret take
effect on the next request of a socket that is already open; the remaining budget follows each reply."""

import html
import re

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.layers import channel_layers

from chat.models import Conversation, Message
from keys.models import UsageEntry
from keys.shared_actions import do_change_grant, do_replace_shared_secret, do_revoke_grant
from tests.chat.wsclient import PageModel
from tests.conftest import SHARED_SECRET

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

KEY_OPTION = re.compile(r'<option id="key-option-(\d+)" hx-swap-oob="innerHTML">(.*?)</option>')


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def shared(alice, bob, make_shared_key, make_grant):
    key = make_shared_key(alice, label="Team GPT")
    grant = make_grant(alice, key, user=bob, budget_tokens=2000, budget_period="day")
    return key, grant


@pytest_asyncio.fixture
async def page(ws_connect, bob):
    conversation = await Conversation.objects.acreate(owner=bob)
    communicator, connected = await ws_connect(bob, conversation.pk)
    assert connected
    page = PageModel(communicator)
    page.conversation = conversation
    yield page
    await communicator.disconnect()


async def send(page, key, text="echo: hello there", model="fake-model", **params):
    await page.send_message(key, text, model, **{f"p_{name}": str(value) for name, value in params.items()})


async def next_reply(page, count):
    """Wait until the page has seen `count` replies end; returns the latest from the database."""
    await page.until(lambda p: len(p.final_state) >= count, timeout=20)
    return await Message.objects.filter(conversation=page.conversation, role="assistant").alatest("id")


async def test_a_member_chats_on_a_shared_key_and_the_remaining_budget_follows(page, shared, fake):
    key, _grant = shared
    await send(page, key, max_tokens=5000)
    reply = await next_reply(page, 1)
    assert reply.state == Message.State.DONE and reply.content.strip() == "hello there"
    request = fake.requests[-1]
    assert request["json"]["max_tokens"] == 2000 - 9  # lowered to fit: "echo: hello there" is 9 tokens
    assert request["headers"]["authorization"] == f"Bearer {SHARED_SECRET}"
    entry = await UsageEntry.objects.aget(message=reply)
    assert entry.state == "settled" and not entry.estimated
    used = entry.prompt_tokens + entry.completion_tokens
    assert used == reply.prompt_tokens + reply.completion_tokens > 0
    options = [KEY_OPTION.search(frame) for frame in page.frames]
    updates = [(int(m[1]), html.unescape(m[2])) for m in options if m]
    assert updates == [(key.pk, f"Team GPT — {2000 - used:,} tokens left today")]
    every_frame = "".join(page.frames)
    assert SHARED_SECRET not in every_frame and SHARED_SECRET[-4:] not in every_frame


async def test_over_budget_on_an_open_socket_is_refused_with_its_reset_and_nothing_is_sent(
    page, shared, fake
):
    key, grant = shared
    await sync_to_async(do_change_grant)(None, grant, budget_tokens=10)
    await send(page, key)
    await page.until(lambda p: p.errors)
    assert re.fullmatch(
        r"This key's budget for today is used up; it resets at 00:00 UTC \(in [^)]+\)\.", page.errors[-1]
    )
    assert fake.requests == []
    assert not await Message.objects.filter(conversation=page.conversation).aexists()


async def test_a_revoked_grant_is_refused_on_the_next_request_of_an_open_socket(alice, page, shared, fake):
    key, grant = shared
    await send(page, key)
    await next_reply(page, 1)
    sent = len(fake.requests)
    await sync_to_async(do_revoke_grant)(alice, grant)
    await send(page, key, text="echo: again")
    await page.until(lambda p: p.errors)
    assert page.errors[-1] == "That key is not available — pick another."
    assert len(fake.requests) == sent
    assert await Message.objects.filter(conversation=page.conversation).acount() == 2


async def test_retry_on_a_revoked_grant_is_refused_too(alice, page, shared, fake):
    key, grant = shared
    await send(page, key)
    reply = await next_reply(page, 1)
    await sync_to_async(do_revoke_grant)(alice, grant)
    await page.send(action="retry", message_id=reply.pk, credential=key.pk, model="fake-model")
    await page.until(lambda p: p.errors)
    assert page.errors[-1] == "That key is not available — pick another."
    assert len(fake.requests) == 1


async def test_a_replaced_secret_is_used_by_the_next_request_of_an_open_socket(alice, page, shared, fake):
    key, _grant = shared
    await send(page, key)
    await next_reply(page, 1)
    await sync_to_async(do_replace_shared_secret)(
        alice, key, secret="sk-rotated-0000new1", base_url=key.base_url, auth_style="bearer", auth_header=""
    )
    await send(page, key, text="echo: again")
    reply = await next_reply(page, 2)
    assert reply.state == Message.State.DONE
    assert fake.requests[-1]["headers"]["authorization"] == "Bearer sk-rotated-0000new1"
    assert await Conversation.objects.filter(pk=page.conversation.pk, credential=key).aexists()


async def test_a_stop_on_a_shared_key_bills_what_was_generated(page, shared, fake):
    key, _grant = shared
    await send(page, key, text="go", model="fake-model~tokens=400~interval=20")
    await page.until(lambda p: any(len(text) > 40 for text in p.stream_text.values()))
    streaming = await Message.objects.filter(conversation=page.conversation, role="assistant").alatest("id")
    await page.send(action="stop", message_id=streaming.pk)
    reply = await next_reply(page, 1)
    assert reply.state == Message.State.STOPPED
    entry = await UsageEntry.objects.aget(message=reply)
    assert entry.state == "settled" and entry.estimated
    assert entry.completion_tokens == -(-len(reply.content) // 4) > 10
    assert entry.prompt_tokens == 5  # "go": 1 token and 4 for the message


async def test_a_key_the_provider_rejects_says_to_tell_an_admin_and_shows_nothing_of_the_key(
    alice, bob, page, make_shared_key, make_grant
):
    secret = "sk-invalid-CANARY-5e6f7a8b"
    key = await sync_to_async(make_shared_key)(alice, secret=secret, label="Broken")
    await sync_to_async(make_grant)(alice, key, user=bob)
    await send(page, key)
    reply = await next_reply(page, 1)
    assert reply.state == Message.State.FAILED
    assert reply.error == (
        "OpenAI-compatible: the key was rejected — check the key and its auth header style. "
        "This is a shared key — tell an admin."
    )
    every_frame = "".join(page.frames)
    assert secret not in every_frame and secret[-4:] not in every_frame
    entry = await UsageEntry.objects.aget(message=reply)
    assert (entry.state, entry.prompt_tokens, entry.completion_tokens) == ("settled", 0, 0)


async def test_two_replies_at_once_on_a_limit_of_one(bob, ws_connect, shared, fake):
    key, grant = shared
    await sync_to_async(do_change_grant)(None, grant, max_concurrent=1)
    pages = []
    for _ in range(2):
        conversation = await Conversation.objects.acreate(owner=bob)
        communicator, connected = await ws_connect(bob, conversation.pk)
        assert connected
        pages.append(PageModel(communicator))
    await send(pages[0], key, text="slow", model="fake-model~tokens=100~interval=20")
    await pages[0].until(lambda p: p.stream_text)
    await send(pages[1], key)
    await pages[1].until(lambda p: p.errors)
    assert pages[1].errors[-1] == "This key allows 1 reply at once; wait for one to finish."
    await pages[0].until(lambda p: p.final_state, timeout=20)
    await send(pages[1], key)
    await pages[1].until(lambda p: p.final_state, timeout=20)
    for p in pages:
        await p.communicator.disconnect()


PICKER = re.compile(r'<select id="credential" hx-swap-oob="innerHTML">(.*?)</select>', re.S)


async def picker_redrawn(page) -> str:
    """The next key picker the page is sent, as its options' text."""
    seen = len(page.frames)
    await page.until(lambda p: any(PICKER.search(frame) for frame in p.frames[seen:]))
    found = next(PICKER.search(frame) for frame in page.frames[seen:] if PICKER.search(frame))
    return html.unescape(found[1])


async def test_an_open_chat_hears_of_its_persons_shared_keys_at_once(
    page, alice, bob, make_shared_key, make_grant, make_team
):
    """Granted, revoked, granted to a team they join or leave, renamed, deleted: bob's open picker follows."""
    from accounts.team_actions import do_add_member, do_remove_member
    from keys.shared_actions import do_delete_shared_key, do_rename_shared_key

    key = await sync_to_async(make_shared_key)(alice, label="Team GPT")
    grant = await sync_to_async(make_grant)(alice, key, user=bob, budget_tokens=2000, budget_period="day")
    assert "Team GPT — 2,000 tokens left today" in await picker_redrawn(page)
    await sync_to_async(do_revoke_grant)(alice, grant)
    assert "Team GPT" not in await picker_redrawn(page)

    team = await sync_to_async(make_team)("Research")
    await sync_to_async(make_grant)(alice, key, team=team)
    await sync_to_async(do_add_member)(alice, team, bob)
    assert "Team GPT" in await picker_redrawn(page)
    await sync_to_async(do_rename_shared_key)(alice, key, "Research GPT")
    assert "Research GPT" in await picker_redrawn(page)
    await sync_to_async(do_remove_member)(alice, team, bob)
    assert "Research GPT" not in await picker_redrawn(page)
    await sync_to_async(do_add_member)(alice, team, bob)
    await picker_redrawn(page)
    await sync_to_async(do_delete_shared_key)(alice, key)
    assert "Research GPT" not in await picker_redrawn(page)
    every_frame = "".join(page.frames)
    assert SHARED_SECRET not in every_frame and SHARED_SECRET[-4:] not in every_frame
