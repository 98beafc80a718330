"""The chat as a person uses it: send, watch the reply stream, stop, reload, close the tab, errors."""

import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from chat.models import Conversation, Message
from tests.e2e.ui import (
    SLOW,
    add_key,
    assert_composer_works,
    body,
    bubbles,
    composer,
    history,
    new_chat,
    send,
    sign_up,
    stop_button,
    tokens,
    wait_until_done,
)

MARKDOWN = (
    "echo: Here is **bold text** and `inline code`, streamed slowly enough to watch it arrive.\n\n"
    "```python\nprint('hello from the fake provider')\n```"
)


def contiguous_prefix(text: str, n: int) -> bool:
    """`text` is "tok1 tok2 … tokK" for some 1 ≤ K ≤ n: nothing missing, nothing twice."""
    words = text.split()
    return 0 < len(words) <= n and words == [f"tok{i}" for i in range(1, len(words) + 1)]


def sample_while_streaming(bubble, n: int, samples: int = 6) -> list[str]:
    """Read the streaming text a few times until the reply ends; every reading must be a clean prefix."""
    seen = []
    for _ in range(samples):
        if bubble.get_attribute("data-state") != "streaming":
            break
        text = body(bubble).inner_text()
        if bubble.get_attribute("data-state") != "streaming":
            break  # the final bubble replaced it while reading: that reading proves nothing
        assert contiguous_prefix(text, n), f"streamed text has a gap or a repeat: {text!r}"
        seen.append(text)
        time.sleep(0.25)
    return seen


def test_core_loop(page, fake_provider):
    """Sign up → add a key → new chat → the reply streams in → Markdown → sidebar → reload keeps it all."""
    sign_up(page)
    expect(page.get_by_text("First, add a provider key")).to_be_visible()
    add_key(page, fake_provider, label="Fake OpenAI")
    page.get_by_role("link", name="NovaWeb").click()
    expect(page.get_by_role("heading", name="What shall we work on?")).to_be_visible()
    expect(page.get_by_role("navigation", name="Your conversations")).to_contain_text("No conversations yet.")

    new_chat(page, model="fake-model~interval=60")
    expect(page.get_by_role("combobox", name="Key", exact=True)).to_have_value(re.compile(r"\d+"))
    expect(page.get_by_role("combobox", name="Key", exact=True).locator("option:checked")).to_have_text(
        "Fake OpenAI · OpenAI-compatible"
    )
    expect(page.get_by_text("Send a message to start.")).to_be_visible()
    reply = send(page, MARKDOWN)

    question = bubbles(page).first
    expect(question).to_contain_text("Here is **bold text** and `inline code`")  # the user's text stays plain
    # While it streams: a Stop button and the text so far, as escaped plain text (Markdown comes at the end).
    expect(stop_button(reply)).to_be_visible()
    expect(body(reply)).to_contain_text("Here is")
    assert reply.get_attribute("data-state") == "streaming", "the partial text must show before the end"
    expect(body(reply)).to_contain_text("**bold text**")
    assert reply.get_attribute("data-state") == "streaming"

    wait_until_done(reply)
    expect(body(reply).locator("strong")).to_have_text("bold text")
    expect(body(reply).locator("p code")).to_have_text("inline code")
    expect(body(reply).locator("pre")).to_contain_text("print('hello from the fake provider')")
    expect(reply.get_by_role("button", name="Copy code")).to_be_visible()
    expect(reply).to_contain_text("fake-model")  # who answered

    title = "echo: Here is bold text and inline code, streamed slowly en…"  # as read, not as marked up
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    listed = page.get_by_role("navigation", name="Your conversations").get_by_role("link")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(title)
    expect(listed).to_have_attribute("aria-current", "page")
    conversation_url = page.url

    page.reload()
    expect(bubbles(page)).to_have_count(2)
    expect(bubbles(page).first).to_contain_text("Here is **bold text**")
    reply = bubbles(page).last
    expect(reply).to_have_attribute("data-state", "done")
    expect(body(reply).locator("strong")).to_have_text("bold text")
    expect(reply.get_by_role("button", name="Copy code")).to_be_visible()
    expect(page.get_by_label("Model", exact=True)).to_have_value("fake-model~interval=60")

    # The sidebar link brings the conversation back from the home page too.
    page.get_by_role("link", name="NovaWeb").click()
    page.get_by_role("navigation", name="Your conversations").get_by_role("link", name=title).click()
    expect(page).to_have_url(conversation_url)
    expect(bubbles(page)).to_have_count(2)

    # A second turn goes into the same conversation, below the first.
    page.get_by_label("Model", exact=True).fill("fake-model")
    reply = send(page, "echo: second turn")
    wait_until_done(reply)
    expect(body(reply)).to_have_text("second turn")
    expect(bubbles(page)).to_have_count(4)


def test_stop_keeps_partial_text(page, fake_provider):
    sign_up(page)
    add_key(page, fake_provider)
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model=SLOW.format(tokens=400, interval=30))
    reply = send(page, "Tell me a long story")
    expect(body(reply)).to_contain_text("tok5 ")
    stop_button(reply).click()

    wait_until_done(reply, "stopped")
    expect(reply.get_by_text("Stopped", exact=True)).to_be_visible()
    kept = body(reply).inner_text()
    assert contiguous_prefix(kept, 400) and len(kept.split()) < 400, kept
    # The stream really ended upstream: the fake saw the client go away.
    fake_provider.wait_for(lambda reqs: reqs and reqs[-1]["disconnected"], timeout=5)

    page.reload()
    reply = bubbles(page).last
    expect(reply).to_have_attribute("data-state", "stopped")
    expect(reply.get_by_text("Stopped", exact=True)).to_be_visible()
    expect(body(reply)).to_have_text(kept)
    expect(stop_button(reply)).to_have_count(0)
    assert_composer_works(page, "after the stop")


def test_reload_mid_reply_continues_without_gaps(page, fake_provider):
    n = 60
    sign_up(page)
    add_key(page, fake_provider)
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model=SLOW.format(tokens=n, interval=40))
    reply = send(page, "count for me")
    expect(body(reply)).to_contain_text("tok12 ")
    assert sample_while_streaming(reply, n, samples=2)

    page.reload()
    reply = bubbles(page).last
    expect(reply).to_have_attribute("data-state", "streaming")
    expect(stop_button(reply)).to_be_visible()
    expect(body(reply)).to_contain_text("tok12 ")  # the text so far is there at once
    seen = sample_while_streaming(reply, n)
    assert seen, "the reply should still be streaming after the reload"
    assert len(seen[-1].split()) > len(seen[0].split()), f"the text did not grow live: {seen}"

    wait_until_done(reply)
    expect(body(reply)).to_have_text(tokens(n))


def test_closing_the_tab_mid_reply_keeps_the_whole_reply(page, fake_provider):
    n = 40
    sign_up(page)
    add_key(page, fake_provider)
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model=SLOW.format(tokens=n, interval=40))
    reply = send(page, "keep going without me")
    expect(body(reply)).to_contain_text("tok3 ")
    url, context = page.url, page.context
    page.close()

    # Nobody is watching; the server finishes the reply on its own.
    deadline = time.monotonic() + 15
    while Message.objects.filter(role="assistant", state="streaming").exists():
        assert time.monotonic() < deadline, "the reply never finished after the tab closed"
        time.sleep(0.2)

    later = context.new_page()
    later.goto(url)
    reply = bubbles(later).last
    expect(reply).to_have_attribute("data-state", "done")
    expect(body(reply)).to_have_text(tokens(n))


def test_provider_errors_show_a_sentence_and_the_page_stays_usable(page, fake_provider, screenshots):
    sign_up(page)
    add_key(page, fake_provider, label="Good key")
    add_key(page, fake_provider, label="Bad key", secret="sk-invalid-00000000")
    page.get_by_role("link", name="NovaWeb").click()

    new_chat(page, model="fake-model", key="Bad key")
    reply = send(page, "hello?")
    wait_until_done(reply, "failed")
    expect(reply.get_by_text("Failed", exact=True)).to_be_visible()
    error = reply.get_by_role("alert")
    expect(error).to_contain_text(
        "OpenAI-compatible: the key was rejected — check the key and its auth header style."
    )
    # The provider's own words follow on their own line, with the echoed key redacted.
    expect(error).to_contain_text(
        "The provider said: “invalid_api_key: Incorrect API key provided: [redacted].”"
    )
    expect(page.get_by_text("sk-invalid-00000000")).to_have_count(0)
    # Nothing arrived: no empty bubble above the error, which reads on its own.
    expect(body(reply)).to_have_count(0)

    # A rejected request says the provider's reason once, in the sentence.
    page.get_by_role("combobox", name="Key", exact=True).select_option(label="Good key · OpenAI-compatible")
    page.get_by_label("Model", exact=True).fill("fake-model~status=400")
    reply = send(page, "too odd?")
    wait_until_done(reply, "failed")
    expect(reply.get_by_role("alert")).to_have_text(
        "OpenAI-compatible: the request was rejected (Invalid request: see the docs) — check the model and "
        "parameters."
    )
    expect(body(reply)).to_have_count(0)
    page.screenshot(path=screenshots / "reply-errors.png", caret="initial")
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / "reply-errors-dark.png", caret="initial")
    page.emulate_media(color_scheme="light")

    # A reply the provider's content filter ended says so.
    page.get_by_label("Model", exact=True).fill("fake-model~finish=content_filter")
    reply = send(page, "echo: something it would rather not finish")
    wait_until_done(reply)
    expect(reply.get_by_text("Stopped by the provider's content filter")).to_be_visible()
    expect(reply.get_by_role("button", name="Continue")).to_have_count(0)

    # A cut stream keeps what arrived and says so.
    page.get_by_label("Model", exact=True).fill(SLOW.format(tokens=20, interval=10) + "~cut=5")
    reply = send(page, "and now?")
    wait_until_done(reply, "interrupted")
    expect(reply.get_by_text("Interrupted", exact=True)).to_be_visible()
    expect(body(reply)).to_have_text(tokens(5))
    expect(reply.get_by_role("alert")).to_contain_text("the reply was cut off")

    # The composer keeps working.
    page.get_by_label("Model", exact=True).fill("fake-model")
    reply = send(page, "echo: still here")
    wait_until_done(reply)
    expect(body(reply)).to_have_text("still here")
    expect(bubbles(page)).to_have_count(10)


def test_composer_errors_show_in_place(page, fake_provider):
    """Sending with no model typed says what to do, and nothing is sent."""
    sign_up(page)
    add_key(page, fake_provider)
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page)
    box = composer(page)
    expect(box).to_be_focused()  # a new chat is ready to type into
    box.fill("no model yet")
    box.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Type the model to use, e.g. llama-3.3-70b-versatile.")
    expect(box).to_have_value("no model yet")  # kept, so nothing is lost
    expect(bubbles(page)).to_have_count(0)
    page.get_by_label("Model", exact=True).fill("fake-model")
    page.get_by_role("button", name="Send").click()
    expect(bubbles(page)).to_have_count(2)
    wait_until_done(bubbles(page).last)
    expect(page.get_by_role("alert")).to_have_count(0)  # the error went away with the successful send


def test_enter_sends_and_shift_enter_breaks_the_line(page, fake_provider):
    sign_up(page)
    add_key(page, fake_provider)
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="fake-model")
    box = composer(page)
    box.click()
    box.press_sequentially("echo: first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    expect(box).to_have_value("echo: first line\nsecond line")
    expect(bubbles(page)).to_have_count(0)
    time.sleep(0.3)  # give a wrongly sent message time to show up
    expect(bubbles(page)).to_have_count(0)

    box.press("Enter")
    expect(bubbles(page)).to_have_count(2)
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    reply = bubbles(page).last
    wait_until_done(reply)
    expect(body(reply)).to_have_text("first line\nsecond line")
    expect(bubbles(page).first).to_have_text(re.compile(r"echo: first line\nsecond line"))

    # Enter on an empty (or blank) composer sends nothing.
    box.fill("   ")
    box.press("Enter")
    time.sleep(0.3)
    expect(bubbles(page)).to_have_count(2)


def test_model_output_cannot_run_script(page, fake_provider):
    sign_up(page)
    add_key(page, fake_provider)
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="fake-model~interval=20")
    hostile = "echo: <img src=x onerror=alert(1)> [x](javascript:alert(1)) <script>alert(2)</script>"
    reply = send(page, hostile)
    expect(body(reply)).to_contain_text("<img src=x")  # while streaming: shown as text
    wait_until_done(reply)
    expect(body(reply)).to_contain_text("<img src=x onerror=alert(1)>")
    expect(page.get_by_role("region", name="Conversation history").locator("img, script")).to_have_count(0)
    expect(body(reply).get_by_role("link")).to_have_count(0)  # javascript: links are not links
    page.reload()
    expect(body(bubbles(page).last)).to_contain_text("<img src=x onerror=alert(1)>")
    expect(page.get_by_role("region", name="Conversation history").locator("img, script")).to_have_count(0)
    # The page fixture fails the test if any dialog opened.


def test_copy_gives_a_reply_as_written(page, fake_provider):
    """The page shows a reply rendered; Copy puts its Markdown on the clipboard, as the model wrote it."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_up(page)
    add_key(page, fake_provider, label="Generic", secret="sk-copies-8888bbbb")
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="fake-model")
    reply = send(page, "echo: Use **bold** and `code`.")
    wait_until_done(reply)
    expect(body(reply).locator("strong")).to_have_text("bold")
    reply.get_by_role("button", name="Copy reply").click()
    expect(reply.get_by_role("button", name="Copy reply")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()").strip() == "Use **bold** and `code`."
    expect(reply.get_by_role("button", name="Copy reply")).to_have_text("Copy")


def test_messages_say_when_they_were_written_on_the_readers_clock(new_context, fake_provider):
    """Times travel in UTC and show in the reader's time zone: the hour today, the day before that, the year
    when it is not this one; the whole date on hover."""
    page = new_context(timezone_id="Asia/Tokyo", locale="en-GB").new_page()
    sign_up(page)
    add_key(page, fake_provider, label="Fake")
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="fake-model")
    reply = send(page, "echo: what time is it?")
    wait_until_done(reply)
    tokyo = datetime.now(ZoneInfo("Asia/Tokyo"))
    now_or_next_minute = {
        f"{t:%H:%M}" for t in (tokyo - timedelta(minutes=1), tokyo, tokyo + timedelta(minutes=1))
    }
    written = reply.locator("time")
    assert written.inner_text() in now_or_next_minute
    assert str(tokyo.year) in written.get_attribute("title")

    question = Message.objects.get(role=Message.Role.USER)
    Message.objects.filter(pk=question.pk).update(created_at=datetime(2024, 3, 5, 23, 30, tzinfo=UTC))
    page.reload()
    # 23:30 UTC on 5 March is the 6th in Tokyo.
    expect(bubbles(page).first.locator("time")).to_have_text("6 Mar 2024, 08:30")
    expect(bubbles(page).last.locator("time")).to_have_text(re.compile(r"^\d\d:\d\d$"))

    # The sidebar: a chat active today shows the hour, yesterday says so, older ones their day.
    chats = page.get_by_role("navigation", name="Your conversations")
    expect(chats.locator("time")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    day_before = tokyo - timedelta(days=1)
    Conversation.objects.update(updated_at=day_before.replace(hour=12))
    page.reload()
    expect(chats.locator("time")).to_have_text("Yesterday")
    Conversation.objects.update(updated_at=datetime(2024, 3, 5, 23, 30, tzinfo=UTC))
    page.reload()
    expect(chats.locator("time")).to_have_text("6 Mar 2024")


def test_the_conversation_follows_a_reply_unless_the_reader_scrolled_up(page, fake_provider, screenshots):
    """At the bottom, new text stays in view. Scrolled up to read, the page stays put and offers a way back
    down, which then follows the reply again."""
    sign_up(page)
    add_key(page, fake_provider, label="Fake")
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="fake-model")
    wait_until_done(send(page, "echo: " + "\n\n".join(f"Paragraph {n}." for n in range(1, 40))))
    history_box = history(page)
    down = page.get_by_role("button", name="Scroll to the end")

    def from_bottom() -> float:
        return history_box.evaluate("box => box.scrollHeight - box.scrollTop - box.clientHeight")

    page.get_by_label("Model", exact=True).fill("fake-model~tokens=400~interval=15")
    reply = send(page, "a long one")
    expect(body(reply)).to_contain_text("tok20")
    assert from_bottom() < 80, "at the bottom, the page follows the reply"
    expect(down).to_be_hidden()

    history_box.hover()
    page.mouse.wheel(0, -600)
    expect(down).to_be_visible()
    away = history_box.evaluate("box => box.scrollTop")
    expect(body(reply)).to_contain_text("tok120")  # more text arrives…
    assert history_box.evaluate("box => box.scrollTop") == away  # …and the reader is left where they were
    page.screenshot(path=screenshots / "scrolled-up.png", caret="initial")

    down.click()
    expect(down).to_be_hidden()
    expect(body(reply)).to_contain_text("tok200")
    assert from_bottom() < 80, "back at the bottom, the page follows the reply again"
    wait_until_done(reply)
