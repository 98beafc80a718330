"""Long conversations open as a window of their path: the latest messages, earlier and later ones on demand,
or a window around one message (`?at=`)."""

import re

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chat.actions import do_create_conversation
from chat.models import Conversation, Message
from chat.window import WINDOW, path_window
from tests.chat.wsclient import PageModel

HX = {"HX-Request": "true"}
ARTICLE = re.compile(r'<article id="msg-(\d+)"')


def grow(conversation: Conversation, n: int, parent_id=None, label="message") -> list[int]:
    """`n` messages in a chain under `parent_id`, alternating user and assistant; the last becomes the leaf."""
    ids = []
    for i in range(n):
        message = Message.objects.create(
            conversation=conversation,
            parent_id=parent_id,
            role="user" if i % 2 == 0 else "assistant",
            content=f"{label} {i}",
        )
        ids.append(parent_id := message.pk)
    Conversation.objects.filter(pk=conversation.pk).update(current_leaf_id=parent_id)
    conversation.refresh_from_db()
    return ids


def shown(html: str) -> list[int]:
    return [int(pk) for pk in ARTICLE.findall(html)]


@pytest.fixture
def long_chat(alice):
    conversation = do_create_conversation(alice)
    return conversation, grow(conversation, 2 * WINDOW + 20)


def test_a_long_conversation_opens_at_its_latest_messages(client, alice, long_chat):
    conversation, ids = long_chat
    client.force_login(alice)
    html = client.get(reverse("chat:conversation", args=[conversation.pk])).content.decode()
    assert shown(html) == ids[-WINDOW:]
    assert "Show earlier messages" in html and f"{len(ids) - WINDOW} before these" in html
    assert "Show later messages" not in html
    assert ">message 0<" not in html  # nothing outside the window is rendered
    assert f'id="m-{ids[-1]}" class="msg-anchor"' in html  # the anchor search results link to


def test_show_earlier_messages_pages_back_to_the_first(client, alice, long_chat):
    conversation, ids = long_chat
    client.force_login(alice)
    url = reverse("chat:messages", args=[conversation.pk])
    first = ids[-WINDOW]
    html = client.get(url, {"before": first}, headers=HX).content.decode()
    assert shown(html) == ids[-2 * WINDOW : -WINDOW]
    assert f"?before={ids[-2 * WINDOW]}" in html and "20 before these" in html
    assert "Show later messages" not in html  # the page already has what follows
    html = client.get(url, {"before": ids[-2 * WINDOW]}, headers=HX).content.decode()
    assert shown(html) == ids[:20]
    assert "Show earlier messages" not in html


def test_opening_at_a_message_shows_a_window_around_it(client, alice, long_chat):
    conversation, ids = long_chat
    client.force_login(alice)
    target = ids[30]
    html = client.get(reverse("chat:conversation", args=[conversation.pk]), {"at": target}).content.decode()
    window = shown(html)
    assert target in window and window == ids[30 - WINDOW // 2 : 30 - WINDOW // 2 + WINDOW]
    assert "Show earlier messages" in html and "Show later messages" in html
    assert "Jump to the latest" in html
    # Later messages load below, up to the end.
    later = client.get(
        reverse("chat:messages", args=[conversation.pk]), {"after": window[-1]}, headers=HX
    ).content.decode()
    last = ids.index(window[-1])
    assert shown(later) == ids[last + 1 : last + 1 + WINDOW]
    assert "Show earlier messages" not in later


def test_opening_near_the_end_shows_through_to_the_end(client, alice, long_chat):
    conversation, ids = long_chat
    client.force_login(alice)
    target = ids[-WINDOW + 5]
    html = client.get(reverse("chat:conversation", args=[conversation.pk]), {"at": target}).content.decode()
    assert shown(html)[-1] == ids[-1] and target in shown(html)
    assert "Show later messages" not in html


def test_opening_at_a_message_on_another_version_shows_where_it_branches(client, alice, long_chat):
    conversation, ids = long_chat
    # A retry of reply 41 made another branch; the path on screen kept the first.
    leaf = conversation.current_leaf_id
    branch = grow(conversation, 3, parent_id=ids[40], label="branch")
    Conversation.objects.filter(pk=conversation.pk).update(current_leaf_id=leaf)
    conversation.refresh_from_db()
    client.force_login(alice)
    html = client.get(
        reverse("chat:conversation", args=[conversation.pk]), {"at": branch[2]}
    ).content.decode()
    assert "in another version of this conversation" in html
    assert ids[41] in shown(html) and branch[2] not in shown(html)
    assert "1 / 2" in html  # the switch that leads to the branch is on screen


@pytest.mark.parametrize("at", ["", "abc", "-1", "99999999999999999999", "1e3", "0"])
def test_garbage_in_at_opens_the_latest_window(client, alice, long_chat, at):
    conversation, ids = long_chat
    client.force_login(alice)
    response = client.get(reverse("chat:conversation", args=[conversation.pk]), {"at": at})
    assert response.status_code == 200 and shown(response.content.decode()) == ids[-WINDOW:]


def test_paging_from_a_message_no_longer_on_the_path_says_so(client, alice, long_chat):
    conversation, ids = long_chat
    client.force_login(alice)
    branch = grow(conversation, 2, parent_id=ids[10], label="branch")  # the path is now 13 messages long
    url = reverse("chat:messages", args=[conversation.pk])
    html = client.get(url, {"before": ids[-1]}, headers=HX).content.decode()
    assert "has changed since the page was opened" in html and shown(html) == []
    assert shown(client.get(url, {"before": branch[0]}, headers=HX).content.decode()) == ids[:11]
    assert client.get(url, headers=HX).status_code == 404
    garbage = client.get(url, {"before": "x"}, headers=HX)
    assert garbage.status_code == 200 and "has changed" in garbage.content.decode()


def test_other_peoples_messages_are_404(client, bob, long_chat):
    conversation, ids = long_chat
    client.force_login(bob)
    url = reverse("chat:messages", args=[conversation.pk])
    response = client.get(url, {"before": ids[-1]}, headers=HX)
    assert response.status_code == 404 and b"message 1" not in response.content


def test_opening_costs_the_same_queries_however_long(client, alice):
    short = do_create_conversation(alice)
    grow(short, 4)
    client.force_login(alice)
    client.get(reverse("chat:conversation", args=[short.pk]))  # warm: session, caches
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("chat:conversation", args=[short.pk]))
    long = Conversation.objects.create(owner=alice)
    grow(long, 3 * WINDOW)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("chat:conversation", args=[long.pk]))
    assert len(many) == len(few)


def test_versions_are_known_inside_the_window(alice):
    conversation = do_create_conversation(alice)
    ids = grow(conversation, 6)
    retry = Message.objects.create(
        conversation=conversation, parent_id=ids[4], role="assistant", content="again"
    )
    Conversation.objects.filter(pk=conversation.pk).update(current_leaf_id=retry.pk)
    conversation.refresh_from_db()
    window = path_window(conversation, size=3)
    assert [m.pk for m in window.messages] == [ids[3], ids[4], retry.pk]
    assert window.messages[-1].versions == [ids[5], retry.pk]
    assert (window.earlier, window.later) == (3, 0)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_redraw_over_the_socket_shows_the_latest_window(ws_connect, alice):
    """After a reconnect (or Retry, or a version switch) the page is redrawn: the latest window, not the
    whole path."""

    def make():
        conversation = do_create_conversation(alice)
        return conversation, grow(conversation, WINDOW + 7)

    conversation, ids = await sync_to_async(make)()
    communicator, connected = await ws_connect(alice, conversation.pk)
    assert connected
    page = PageModel(communicator)
    await page.send(action="resync")
    await page.until(lambda p: any('id="messages"' in f for f in p.frames))
    [frame] = [f for f in page.frames if 'id="messages"' in f]
    assert shown(frame) == ids[-WINDOW:] and "7 before these" in frame
    await communicator.disconnect()
