"""A send on a person's own key calls the provider while its rows commit (chat.actions.plan_send), so the
database work is not added to the time to the first token. The call is kept only if the committed send is
the one it was planned for; a shared key's send commits (and reserves its budget) before anything goes out.

Each test holds the commit (do_send_message) until the fake provider has seen the request, or has had time
to: with the commit first, the first test would find no request and fail.
"""

import asyncio

import pytest

from chat import actions, relay
from chat.actions import do_create_conversation
from chat.models import Conversation, Message
from tests.chat.wsclient import PageModel

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

LONG = "fake-model~tokens=400~interval=20"


@pytest.fixture
def conversation(alice):
    return do_create_conversation(alice)


@pytest.fixture
def key(alice, make_key):
    return make_key(alice)


@pytest.fixture
def hold_the_commit(monkeypatch, fake):
    """Run `before()` in the send's database thread just before the send commits; records whether the fake
    provider had a request by then."""
    seen = {}

    def install(before=None, wait=5.0):
        original = actions.do_send_message

        def held(*args, **kwargs):
            seen["called_first"] = fake.wait_for(lambda requests: len(requests) >= 1, timeout=wait)
            if before:
                before()
            return original(*args, **kwargs)

        monkeypatch.setattr(actions, "do_send_message", held)
        return seen

    return install


async def open_page(ws_connect, user, conversation):
    communicator, connected = await ws_connect(user, conversation.pk)
    assert connected
    return PageModel(communicator)


async def replies(conversation):
    return [
        m async for m in Message.objects.filter(conversation=conversation, role="assistant").order_by("id")
    ]


async def no_relay_left():
    for _ in range(100):
        if not relay.running_reply_ids() and not relay._early:
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.parametrize(
    "model",
    [
        "fake-model~tokens=5",  # the whole reply arrives before the commit: held, then sent at once
        "fake-model~tokens=60~interval=5~ttft=0",  # it starts before the commit and goes on after it
    ],
)
async def test_the_provider_is_called_while_the_send_commits(
    ws_connect, alice, conversation, key, fake, hold_the_commit, model
):
    seen = hold_the_commit()
    page = await open_page(ws_connect, alice, conversation)
    await page.send_message(key, "Hello there", model=model)
    await page.until(lambda p: p.final_state)
    assert seen["called_first"]
    (reply,) = await replies(conversation)
    assert reply.state == Message.State.DONE
    assert page.stream_text[reply.pk] == reply.content  # what was held arrived once, in order, then the rest
    assert reply.content.count("tok1 ") == 1
    assert fake.requests[-1]["json"]["messages"] == [{"role": "user", "content": "Hello there"}]
    assert len(fake.requests) == 1
    await page.communicator.disconnect()


async def test_a_send_the_commit_refuses_ends_its_call_unseen(
    ws_connect, alice, conversation, key, fake, hold_the_commit
):
    def refuse():
        raise actions.ActionError("A reply is still being written — stop it or wait for it to finish.")

    seen = hold_the_commit(before=refuse)
    page = await open_page(ws_connect, alice, conversation)
    await page.send_message(key, "Tell me a long story", model=LONG)
    await page.until(lambda p: p.errors)
    assert seen["called_first"]
    assert page.errors == ["A reply is still being written — stop it or wait for it to finish."]
    assert await fake.wait_for_async(lambda requests: requests[-1].get("disconnected"))
    assert await no_relay_left()
    assert not page.stream_text and not page.final_state
    assert not await Message.objects.filter(conversation=conversation).aexists()
    await page.communicator.disconnect()


async def test_a_send_overtaken_by_another_tab_asks_again_with_the_history_as_committed(
    ws_connect, alice, conversation, key, fake, hold_the_commit
):
    def another_tab_sends_first():
        asked = Message.objects.create(
            conversation=conversation, role=Message.Role.USER, content="From the other tab"
        )
        answer = Message.objects.create(
            conversation=conversation, parent=asked, role=Message.Role.ASSISTANT, content="Its answer"
        )
        Conversation.objects.filter(pk=conversation.pk).update(current_leaf=answer)

    hold_the_commit(before=another_tab_sends_first)
    page = await open_page(ws_connect, alice, conversation)
    # Long enough that the planned call is still streaming when the commit finds it overtaken.
    await page.send_message(key, "Hello there", model="fake-model~tokens=60~interval=20")
    await page.until(lambda p: p.final_state, timeout=20)
    planned, asked_again = fake.requests
    assert planned["json"]["messages"] == [{"role": "user", "content": "Hello there"}]
    assert await fake.wait_for_async(lambda requests: requests[0].get("disconnected"))
    assert asked_again["json"]["messages"] == [
        {"role": "user", "content": "From the other tab"},
        {"role": "assistant", "content": "Its answer"},
        {"role": "user", "content": "Hello there"},
    ]
    reply = (await replies(conversation))[-1]
    assert reply.state == Message.State.DONE and reply.content.count("tok1 ") == 1
    assert page.stream_text[reply.pk] == reply.content
    await page.communicator.disconnect()


@pytest.fixture
def shared(alice, bob, make_shared_key, make_grant):
    key = make_shared_key(alice, label="Team GPT")
    make_grant(alice, key, user=bob, budget_tokens=2000, budget_period="day")
    return key


async def test_a_shared_key_calls_the_provider_only_after_its_budget_admits_the_send(
    ws_connect, bob, shared, fake, hold_the_commit
):
    conversation = await Conversation.objects.acreate(owner=bob)
    seen = hold_the_commit(wait=0.5)
    page = await open_page(ws_connect, bob, conversation)
    await page.send_message(shared, "echo: hello there")
    await page.until(lambda p: p.final_state)
    assert seen["called_first"] is False
    (reply,) = await replies(conversation)
    assert reply.state == Message.State.DONE and reply.content.strip() == "hello there"
    await page.communicator.disconnect()
