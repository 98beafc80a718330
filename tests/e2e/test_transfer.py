"""Export and import as a person does them, and a long conversation opened in a window of messages."""

import io
import json
import re
import zipfile
from pathlib import Path

from playwright.sync_api import Page, expect

from accounts.models import User
from chat.models import Conversation, Message
from tests.e2e.ui import add_key, body, bubbles, composer, history, new_chat, send, sign_up, wait_until_done

MESSAGE = "echo: Pack **light** for Lisbon"
TITLE = "echo: Pack light for Lisbon"  # a chat is named after its first message, as read


def open_data_page(page: Page) -> None:
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Import & export").click()
    expect(page.get_by_role("heading", name="Import", exact=True)).to_be_visible()


def download(page: Page, link_name: str, tmp_path: Path) -> tuple[str, bytes]:
    """Click a download link; (the file name the browser was offered, its bytes)."""
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    return info.value.suggested_filename, saved.read_bytes()


def import_file(page: Page, path: Path) -> None:
    page.get_by_label("File", exact=True).set_input_files(path)
    page.get_by_role("button", name="Import", exact=True).click()


def test_export_and_reimport(page, fake_provider, tmp_path, screenshots):
    sign_up(page)
    add_key(page, fake_provider)
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="fake-model")
    reply = send(page, MESSAGE)
    wait_until_done(reply)

    # Export this conversation, from its header.
    export_menu = page.locator("summary", has_text="Export")
    export_menu.click()
    page.screenshot(
        path=screenshots / "export-menu.png",
        caret="initial",
        clip={"x": 280, "y": 0, "width": 1000, "height": 260},
    )
    name, markdown = download(page, "Markdown (.md)", tmp_path)
    assert name == "echo-Pack-light-for-Lisbon.md"  # from the title, without its :
    text = markdown.decode()
    assert text.startswith(f"# {TITLE}\n") and "## You ·" in text
    assert "## Assistant (fake-model) ·" in text and "sk-e2e" not in text
    expect(page.get_by_role("link", name="JSON (.json)")).to_be_hidden()  # picking one closed the menu
    export_menu.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="JSON (.json)")).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")  # closes it, and the keyboard is back on the menu's button
    expect(page.get_by_role("link", name="JSON (.json)")).to_be_hidden()
    expect(export_menu).to_be_focused()
    export_menu.click()
    name, raw = download(page, "JSON (.json)", tmp_path)
    data = json.loads(raw)
    assert name == "echo-Pack-light-for-Lisbon.json" and data["format"] == "novaweb"
    assert [m["role"] for m in data["conversation"]["messages"]] == ["user", "assistant"]
    assert data["conversation"]["key"] == {"label": "Fake", "provider": "OpenAI-compatible"}

    # Export everything, from Settings.
    open_data_page(page)
    expect(page.get_by_text("1 conversation", exact=True)).to_be_visible()
    name, archive = download(page, "Export all conversations (zip)", tmp_path)
    assert name.startswith("novaweb-export-") and name.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert {"index.json", "index.md"} <= set(opened.namelist())
        assert json.loads(opened.read("index.json"))["conversations"][0]["title"] == TITLE

    # Import the JSON back: she has that conversation, so nothing is written, and the page says so.
    json_path = tmp_path / "echo-Pack-light-for-Lisbon.json"
    import_file(page, json_path)
    result = page.get_by_role("status")
    expect(result).to_contain_text("Nothing new to import: you already have the conversation in this file")
    assert Conversation.objects.filter(title=TITLE).count() == 1

    # The same conversation exported elsewhere (another id there) comes in, and the export counts it at once.
    data["conversation"]["id"] = 987654
    elsewhere = tmp_path / "from-elsewhere.json"
    elsewhere.write_text(json.dumps(data))
    import_file(page, elsewhere)
    expect(result).to_contain_text("Imported 1 conversation with 2 messages from a NovaWeb export.")
    expect(page.get_by_text("2 conversations", exact=True)).to_be_visible()
    page.screenshot(path=screenshots / "import-export.png", caret="initial", full_page=True)
    result.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(bubbles(page)).to_have_count(2)
    expect(body(bubbles(page).nth(1)).locator("strong")).to_have_text("light")
    imported = Conversation.objects.order_by("-id").first()
    assert page.url.endswith(f"/c/{imported.pk}/") and imported.credential_id is None

    # Imported again, and the zip of everything: skipped, each with a link to the copy she has.
    open_data_page(page)
    import_file(page, elsewhere)
    expect(result).to_contain_text("Nothing new to import")
    import_file(page, tmp_path / name)
    expect(result).to_contain_text("Nothing new to import")
    result.get_by_text("1 skipped").click()
    expect(result.get_by_role("link", name=TITLE)).to_be_visible()
    page.screenshot(path=screenshots / "import-skipped.png", caret="initial", full_page=True)
    expect(page.get_by_text("2 conversations", exact=True)).to_be_visible()
    assert Conversation.objects.filter(title=TITLE).count() == 2

    # A broken file: the reason, and nothing imported.
    broken = tmp_path / "broken.json"
    broken.write_text(
        '{"format": "novaweb", "version": 1, "conversation": {"messages": [{"id": "a", "parent": "b", "role": "user"}]}}'
    )
    import_file(page, broken)
    error = page.get_by_role("alert")
    expect(error).to_contain_text("Nothing was imported.")
    expect(error).to_contain_text("Conversation 1, message 'a': parent 'b' does not exist.")
    assert Conversation.objects.filter(title=TITLE).count() == 2
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / "import-export-dark.png", caret="initial", full_page=True)


def long_conversation(username: str, length: int, model: str = "") -> tuple[Conversation, list[int]]:
    owner = User.objects.get(username=username)
    conversation = Conversation.objects.create(owner=owner, title="A long one", model=model)
    ids, parent = [], None
    for n in range(length):
        role = "user" if n % 2 == 0 else "assistant"
        content = (
            f"Question {n}"
            if role == "user"
            else f"Answer {n} with `code` and **bold**.\n\n```python\nprint({n})\n```"
        )
        parent = Message.objects.create(
            conversation=conversation, parent_id=parent, role=role, content=content
        ).pk
        ids.append(parent)
    Conversation.objects.filter(pk=conversation.pk).update(current_leaf_id=parent)
    return conversation, ids


def test_a_long_conversation_opens_at_its_end_and_shows_earlier_messages(page, screenshots):
    sign_up(page)
    conversation, ids = long_conversation("alice", 130)
    page.goto(f"/c/{conversation.pk}/")
    expect(bubbles(page)).to_have_count(50)
    last = page.locator(f"#msg-{ids[-1]}")
    expect(last).to_be_in_viewport()  # the newest messages are what a person sees first
    history(page).evaluate("box => { box.scrollTop = 0; }")
    reading = page.locator(f"#msg-{ids[-50]}")
    before = reading.bounding_box()["y"]
    expect(page.get_by_text("80 before these")).to_be_visible()
    page.get_by_role("button", name="Show earlier messages").click()
    expect(bubbles(page)).to_have_count(100)
    expect(page.get_by_text("30 before these")).to_be_visible()
    # The message being read stays where it was; the older ones went above it.
    assert abs(reading.bounding_box()["y"] - before) < 5
    expect(reading).to_be_in_viewport()
    expect(page.locator(f"#msg-{ids[-51]}")).to_contain_text("Answer 79")
    expect(page.locator(f"#msg-{ids[-51]} .code-wrap button")).to_have_text(
        "Copy"
    )  # new bubbles get copy buttons
    page.get_by_role("button", name="Show earlier messages").click()
    expect(bubbles(page)).to_have_count(130)
    expect(page.get_by_role("button", name="Show earlier messages")).to_have_count(0)
    expect(bubbles(page).first).to_contain_text("Question 0")


def test_a_link_to_one_message_opens_around_it_highlighted(page, screenshots):
    sign_up(page)
    conversation, ids = long_conversation("alice", 200)
    target = ids[61]
    page.goto(f"/c/{conversation.pk}/?at={target}#m-{target}")
    article = page.locator(f"#msg-{target}")
    expect(article).to_be_in_viewport()
    expect(article).to_contain_text("Answer 61")
    outline = article.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline == "solid", outline  # ringed: it is the message the link pointed at
    assert page.locator(f"#msg-{ids[60]}").evaluate("el => getComputedStyle(el).outlineStyle") == "none"
    expect(bubbles(page)).to_have_count(50)
    page.screenshot(path=screenshots / "long-conversation.png", caret="initial")
    page.get_by_role("button", name="Show later messages").click()
    expect(bubbles(page)).to_have_count(100)
    expect(page.locator(f"#msg-{ids[86]}")).to_contain_text("Question 86")
    page.get_by_role("link", name="Jump to the latest").click()
    expect(page.locator(f"#msg-{ids[-1]}")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Show later messages")).to_have_count(0)


def test_sending_from_the_middle_of_a_long_conversation_goes_to_the_latest(page, fake_provider):
    """A page opened at an old message has later messages it does not show: a new message arriving below
    them would leave a gap, so the page moves to the latest messages, where the reply streams in."""
    sign_up(page)
    add_key(page, fake_provider)
    conversation, ids = long_conversation("alice", 200, model="fake-model")
    page.goto(f"/c/{conversation.pk}/?at={ids[20]}#m-{ids[20]}")
    expect(page.get_by_role("button", name="Show later messages")).to_be_visible()
    page.wait_for_load_state("load")
    composer(page).fill("echo: back to the present")
    composer(page).press("Enter")
    expect(page).to_have_url(re.compile(rf"/c/{conversation.pk}/$"))
    reply = bubbles(page).last
    wait_until_done(reply)
    expect(body(reply)).to_have_text("back to the present")
    expect(bubbles(page).nth(-2)).to_contain_text("echo: back to the present")
    expect(page.get_by_role("button", name="Show later messages")).to_have_count(0)
