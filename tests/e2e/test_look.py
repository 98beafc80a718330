"""Names, themes, phones and screenshots: how the pages look and what assistive technology hears."""

from playwright.sync_api import expect

from tests.e2e.ui import (
    SLOW,
    add_key,
    body,
    bubbles,
    check_key,
    composer,
    fill_key_form,
    history,
    hold_first,
    new_chat,
    open_keys,
    send,
    sign_up,
    stop_button,
    wait_until_done,
)

LIGHT_BG = "rgb(247, 247, 249)"
DARK_BG = "rgb(15, 17, 23)"
CHAT_REPLY = (
    "echo: Sure — here is a **tiny** example with `greet()` and a code block:\n\n"
    '```python\ndef greet(name: str) -> str:\n    return f"Hello, {name}!"\n```\n\n'
    "- it is *typed*\n- it returns a string"
)


def test_controls_have_the_names_people_hear(page, fake_provider):
    """Every control named in the issue, by its exact accessible name."""
    page.goto("/accounts/sign-in/")
    for name in ("Username", "Password"):
        expect(
            page.get_by_role("textbox", name=name, exact=True).or_(page.get_by_label(name, exact=True))
        ).to_be_visible()
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("textbox", name="Username", exact=True)).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("type", "password")
    expect(page.get_by_label("Password confirmation", exact=True)).to_have_attribute("type", "password")

    sign_up(page)
    account = page.get_by_role("navigation", name="Account")
    expect(account.get_by_role("link", name="Settings", exact=True)).to_be_visible()
    expect(account.get_by_role("link", name="Sign out", exact=True)).to_be_visible()
    expect(account.get_by_role("button", name="Switch theme", exact=True)).to_be_visible()

    open_keys(page)
    expect(page.get_by_role("combobox", name="Provider", exact=True)).to_be_visible()
    expect(page.get_by_role("textbox", name="Label", exact=True)).to_be_visible()
    expect(page.get_by_role("textbox", name="Base URL", exact=True)).to_be_visible()
    expect(page.get_by_label("API key", exact=True)).to_have_attribute("type", "password")
    expect(page.get_by_role("button", name="Save key", exact=True)).to_be_visible()
    add_key(page, fake_provider)

    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model=SLOW.format(tokens=200, interval=20))
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_visible()
    expect(page.get_by_role("combobox", name="Model", exact=True)).to_be_visible()
    expect(page.get_by_role("combobox", name="Key", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_visible()
    reply = send(page, "long one")
    expect(reply.get_by_role("button", name="Stop", exact=True)).to_be_visible()
    stop_button(reply).click()
    wait_until_done(reply, "stopped")
    # Last, as it is the one that fails today: the sidebar button is heard as "+ New chat".
    expect(page.get_by_role("button", name="New chat", exact=True)).to_be_visible()

    # The first Tab offers to skip the header and the sidebar.
    page.goto("/settings/keys/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_role("main").get_by_role("link").first).to_be_focused()


def test_the_home_page_starts_a_chat(page, fake_provider):
    sign_up(page)
    page.get_by_role("link", name="Add a key").click()
    expect(page.get_by_role("heading", name="Add a key")).to_be_visible()
    fill_key_form(page, label="Fake", base_url=fake_provider.base_url("openai"), secret="sk-home-12345678")
    page.get_by_role("link", name="NovaWeb").click()
    expect(page.get_by_text("Start a new chat, or pick one from the list.")).to_be_visible()
    page.get_by_role("button", name="Start a chat").click()
    expect(page.get_by_role("heading", name="New chat", level=1)).to_be_visible()
    expect(composer(page)).to_be_visible()
    # An untouched new chat is reused rather than piling up, and is not listed until it has a message.
    page.get_by_role("button", name="New chat").click()
    expect(page.get_by_role("navigation", name="Your conversations")).to_contain_text("No conversations yet.")


def test_the_theme_toggle_flips_and_persists(page, new_context):
    sign_up(page)
    root, page_body = page.locator("html"), page.locator("body")
    expect(page_body).to_have_css("background-color", LIGHT_BG)
    toggle = page.get_by_role("button", name="Switch theme")
    toggle.click()
    expect(root).to_have_attribute("data-theme", "dark")
    expect(page_body).to_have_css("background-color", DARK_BG)
    page.reload()
    expect(root).to_have_attribute("data-theme", "dark")
    expect(page_body).to_have_css("background-color", DARK_BG)
    page.get_by_role("link", name="Settings").click()  # and on every page
    expect(page.locator("body")).to_have_css("background-color", DARK_BG)
    page.get_by_role("button", name="Switch theme").click()
    expect(root).to_have_attribute("data-theme", "light")
    page.reload()
    expect(page.locator("body")).to_have_css("background-color", LIGHT_BG)

    # Someone whose system is dark gets dark without asking, and the toggle takes them to light.
    dark = new_context(color_scheme="dark").new_page()
    dark.goto("/accounts/sign-in/")
    expect(dark.locator("body")).to_have_css("background-color", DARK_BG)


def test_the_theme_toggle_works_before_the_pages_other_scripts_have_loaded(page):
    """On a slow link the button is on screen before the deferred scripts arrive: a click then still flips
    the theme, rather than doing nothing."""
    sign_up(page)
    held = hold_first(page, "**/js/novaweb.js")  # the page's own script, not arrived yet
    page.goto("/", wait_until="commit")
    page.get_by_role("button", name="Switch theme").click()
    assert len(held) == 1
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.locator("body")).to_have_css("background-color", DARK_BG)
    held[0].continue_()
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")


def test_phone(new_context, fake_provider, screenshots):
    """A 390 x 844 phone: in a chat, the conversation has the screen and the chats are a drawer (☰) over it;
    everything fits the width and works by touch."""
    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    sign_up(phone)
    add_key(phone, fake_provider)
    phone.get_by_role("link", name="NovaWeb").click()
    new_chat(phone, model="fake-model~interval=5")
    reply = send(phone, CHAT_REPLY)
    wait_until_done(reply)
    expect(phone.get_by_role("button", name="Copy code")).to_be_visible()
    phone.screenshot(path=screenshots / "phone.png", caret="initial")

    box, send_button = composer(phone), phone.get_by_role("button", name="Send")
    expect(box).to_be_in_viewport()
    expect(send_button).to_be_in_viewport()
    sidebar = phone.get_by_role("complementary", name="Conversations")
    expect(sidebar).to_be_hidden()
    history_height = history(phone).bounding_box()["height"]
    assert history_height >= 844 * 0.4, f"the conversation gets {history_height}px of 844"
    # Nothing wider than the phone (a wider layout makes the browser zoom out, or scroll sideways).
    for name, element in (
        ("chat", phone.get_by_role("main")),
        ("reply", reply),
        ("message box", box),
        ("send button", send_button),
    ):
        bounds = element.bounding_box()
        assert bounds and bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= 390.5, f"{name}: {bounds}"

    # One options panel open at a time, so the conversation keeps its room.
    phone.locator("summary", has_text="Parameters").tap()
    phone.locator("summary", has_text="Instructions").tap()
    expect(phone.get_by_label("Instructions", exact=True)).to_be_visible()
    expect(phone.get_by_label("Temperature")).to_be_hidden()
    assert history(phone).bounding_box()["height"] >= 844 * 0.25
    phone.locator("summary", has_text="Instructions").tap()

    # The chats: ☰ opens them over the conversation, the open one shown; Escape, or a tap beside, closes.
    chats = phone.get_by_role("button", name="Chats")
    chats.tap()
    expect(sidebar).to_be_visible()
    expect(chats).to_have_attribute("aria-expanded", "true")
    current = sidebar.get_by_role("link", name="echo: Sure")
    expect(current).to_be_focused()
    bounds = sidebar.bounding_box()
    assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= 390.5, bounds
    phone.screenshot(path=screenshots / "phone-chats.png", caret="initial")
    phone.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    expect(chats).to_be_focused()
    chats.tap()
    phone.mouse.click(380, 500)  # beside the drawer, on the shaded chat
    expect(sidebar).to_be_hidden()
    chats.tap()
    sidebar.get_by_role("button", name="New chat").tap()
    expect(phone.get_by_role("heading", name="New chat", level=1)).to_be_visible()
    expect(sidebar).to_be_hidden()
    phone.get_by_role("button", name="Chats").tap()
    sidebar.get_by_role("link", name="echo: Sure").tap()
    expect(bubbles(phone)).to_have_count(2)

    # Usable by touch: tap the box, type, tap Send.
    box.tap()
    box.fill("echo: from my phone")
    send_button.tap()
    expect(bubbles(phone)).to_have_count(4)
    wait_until_done(bubbles(phone).last)
    expect(body(bubbles(phone).last)).to_have_text("from my phone")


def test_screenshots(page, fake_provider, screenshots):
    """docs/screenshots/: the chat in light and dark with a finished Markdown + code reply, and the keys page
    with one key tested and working and one rejected."""
    sign_up(page)
    add_key(page, fake_provider, label="Personal")
    add_key(page, fake_provider, label="Team Novisurf", dialect="novisurf", secret="nsk-demo-4f2a9b71")
    add_key(page, fake_provider, label="Old NovaKit", dialect="novakit", secret="nk-invalid-0c3e5d18")
    open_keys(page)  # without the "Saved" flash
    check_key(page, "Team Novisurf", "Works — ")
    check_key(page, "Old NovaKit", "NovaKit: the key was rejected — ")
    page.get_by_role("heading", name="Settings", level=1).click()  # no focus ring in the picture
    page.set_viewport_size(
        {"width": 1280, "height": 1400}
    )  # the whole page (it scrolls inside, not the document)
    page.screenshot(path=screenshots / "keys.png", caret="initial")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="fake-model~interval=5", key="Personal")
    wait_until_done(send(page, "How do I greet someone in Python?"))  # the fake's canned Markdown answer
    expect(page.get_by_role("button", name="Copy code")).to_be_visible()
    composer(page).blur()
    page.screenshot(path=screenshots / "chat-light.png", caret="initial")

    page.emulate_media(color_scheme="dark")
    expect(page.locator("body")).to_have_css("background-color", DARK_BG)
    page.screenshot(path=screenshots / "chat-dark.png", caret="initial")
