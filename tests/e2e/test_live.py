"""Live updates beyond one page: a second tab, a dropped connection, the sidebar loading more as it scrolls."""

import re

from playwright.sync_api import expect

from accounts.models import User
from chat.models import Conversation, Message
from tests.e2e.test_chat import contiguous_prefix
from tests.e2e.ui import (
    SLOW,
    add_key,
    assert_composer_works,
    body,
    bubbles,
    new_chat,
    send,
    sign_up,
    stop_button,
    tokens,
    wait_until_done,
)


def test_a_second_tab_follows_the_reply_and_can_stop_it(page, fake_provider):
    n = 300
    sign_up(page)
    add_key(page, fake_provider)
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model=SLOW.format(tokens=n, interval=30))
    other = page.context.new_page()
    other.goto(page.url)
    expect(other.get_by_text("Send a message to start.")).to_be_visible()

    reply = send(page, "echo-free question")
    expect(bubbles(other)).to_have_count(2)  # the question and the reply appear there too, live
    mirrored = bubbles(other).last
    expect(body(mirrored)).to_contain_text("tok5 ")
    expect(other.get_by_role("heading", level=1)).to_have_text("echo-free question")
    expect(other.get_by_role("navigation", name="Your conversations")).to_contain_text("echo-free question")

    stop_button(mirrored).click()  # stopped from the other tab
    wait_until_done(mirrored, "stopped")
    wait_until_done(reply, "stopped")
    text = body(reply).inner_text()
    assert contiguous_prefix(text, n) and len(text.split()) < n, text
    expect(body(mirrored)).to_have_text(text)


def test_a_dropped_connection_reconnects_and_catches_up(page, fake_provider):
    """The websocket drops mid-reply (a proxy restarting, say): the page says so, reconnects by itself, and
    shows the whole reply, once."""
    n = 100
    sockets = []

    def through_playwright(ws):
        sockets.append((ws, ws.connect_to_server()))

    page.route_web_socket(re.compile(r"/ws/conversations/"), through_playwright)
    sign_up(page)
    add_key(page, fake_provider)
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model=SLOW.format(tokens=n, interval=30))
    reply = send(page, "keep talking")
    expect(body(reply)).to_contain_text("tok3 ")
    assert len(sockets) == 1

    page_side, server_side = sockets[0]
    server_side.close(code=1001, reason="going away")
    page_side.close(code=1001, reason="going away")
    expect(page.get_by_text("Connection lost — reconnecting…")).to_be_visible()
    expect(page.get_by_text("Connection lost — reconnecting…")).to_be_hidden()
    assert len(sockets) == 2
    expect(reply).to_have_attribute("data-state", "streaming")  # still live after the reconnect
    seen = body(reply).inner_text()
    assert contiguous_prefix(seen, n), seen

    wait_until_done(reply)
    expect(body(reply)).to_have_text(tokens(n))
    expect(bubbles(page)).to_have_count(2)
    assert_composer_works(page, "after the reconnect")  # the new socket carries new messages


def test_the_sidebar_loads_more_as_it_scrolls(page, fake_provider):
    """More than a page (30) of conversations: scrolling the list to its end loads the rest.
    The list scrolls inside the sidebar, not the window, so the "Loading…" item must trigger on
    intersection (htmx's "revealed" only re-checks on window scroll)."""
    sign_up(page)
    alice = User.objects.get(username="alice")
    for i in range(1, 36):
        conversation = Conversation.objects.create(owner=alice, title=f"Old chat {i:02}")
        leaf = Message.objects.create(conversation=conversation, role="user", content=f"question {i}")
        conversation.current_leaf = leaf
        conversation.save()
    page.reload()
    nav = page.get_by_role("navigation", name="Your conversations")
    listed = nav.get_by_role("link")
    expect(listed).to_have_count(30)
    expect(listed.first).to_contain_text("Old chat 35")  # newest first
    expect(nav.get_by_text("Loading…")).to_be_attached()

    page.get_by_role("navigation", name="Your conversations").get_by_role(
        "listitem"
    ).last.scroll_into_view_if_needed()
    expect(listed).to_have_count(35)
    expect(listed.last).to_contain_text("Old chat 01")
    expect(nav.get_by_text("Loading…")).to_have_count(0)
    listed.last.click()
    expect(page.get_by_role("heading", name="Old chat 01", level=1)).to_be_visible()
    expect(bubbles(page)).to_have_count(1)
    expect(bubbles(page).first).to_contain_text("question 1")

    # A chat far down the list, opened by its address: the list shows where it is.
    page.goto(f"/c/{Conversation.objects.get(title='Old chat 10').pk}/")
    current = page.get_by_role("navigation", name="Your conversations").locator('[aria-current="page"]')
    expect(current).to_contain_text("Old chat 10")
    expect(current).to_be_in_viewport()


def test_a_reply_that_ends_before_the_socket_opens_still_settles_on_the_page(page):
    """The page is drawn while a reply streams; the reply ends before the page's socket joins, so no frame
    of it will ever come. The page must not show "streaming" for ever: its first connection resyncs."""
    sign_up(page)
    alice = User.objects.get(username="alice")
    conversation = Conversation.objects.create(owner=alice, title="Late join")
    question = Message.objects.create(conversation=conversation, role="user", content="Are you there?")
    reply = Message.objects.create(
        conversation=conversation, parent=question, role="assistant", content="Half an ans", state="streaming"
    )
    Conversation.objects.filter(pk=conversation.pk).update(current_leaf=reply)

    def reply_ends_then_load(route):
        # The page's HTML is already drawn (streaming); the websocket script has not run yet.
        Message.objects.filter(pk=reply.pk).update(state="done", content="Half an answer, then the rest.")
        route.continue_()

    page.route("**/htmx-ext-ws-*.js", reply_ends_then_load)
    page.goto(f"/c/{conversation.pk}/")
    bubble = bubbles(page).last
    expect(bubble).to_have_attribute("data-state", "done")
    expect(body(bubble)).to_have_text("Half an answer, then the rest.")
