"""What a person does in NovaWeb, as Playwright steps: by accessible roles and labels only.

Every step ends by waiting for what the person would wait for (a heading, a flash, a bubble), so the next
step never races the page.
"""

import threading

from playwright.sync_api import Locator, Page, Route, expect

PASSWORD = "correct horse battery staple"
SECRET = "sk-e2e-SECRETVALUE-7a3f9c21"
# A reply of N tokens, `interval` ms apart: "tok1 tok2 … tokN ".
SLOW = "fake-model~tokens={tokens}~interval={interval}"


def tokens(n: int) -> str:
    """The exact text of the fake provider's `tokens=n` reply, as shown (trailing space trimmed)."""
    return " ".join(f"tok{i}" for i in range(1, n + 1))


def sign_up(page: Page, username: str = "alice", password: str = PASSWORD) -> None:
    """From anywhere signed out: the sign-in page, then "Create an account", then the home page."""
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password confirmation").fill(password)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="What shall we work on?")).to_be_visible()
    wait_for_htmx(page)


def sign_in(page: Page, username: str = "alice", password: str = PASSWORD) -> None:
    """On the sign-in page: fill the form and submit (the caller checks where it lands)."""
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def wait_for_htmx(page: Page) -> None:
    """Until the page has loaded htmx, as a person waits for a page to finish loading before using it (before
    that, htmx controls act as their plain HTML fallbacks)."""
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")


def hold_first(page: Page, url_pattern: str) -> list[Route]:
    """Hold back the first request to `url_pattern`, as a slow link would, and let later ones through.
    Returns the held routes: `held[0].continue_()` lets it arrive."""
    held: list[Route] = []

    def route(request_route: Route) -> None:
        if held:
            request_route.continue_()
        else:
            held.append(request_route)

    page.route(url_pattern, route)
    return held


def sign_out(page: Page) -> None:
    wait_for_htmx(page)
    page.get_by_role("link", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def open_keys(page: Page) -> None:
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Your keys")).to_be_visible()


def add_key_form(page: Page) -> Locator:
    """The "Add a key" card (each key's row has a replace-secret form with the same fields)."""
    return page.get_by_role("region", name="Add a key")


def fill_key_form(
    page: Page,
    *,
    label: str,
    base_url: str,
    secret: str,
    provider: str = "OpenAI-compatible",
    auth_style: str | None = None,
) -> None:
    """Fill and submit "Add a key"; `auth_style` is the visible option, e.g. "X-API-Key header"."""
    form = add_key_form(page)
    form.get_by_label("Provider").select_option(label=provider)
    form.get_by_label("Label", exact=True).fill(label)
    form.get_by_label("Base URL").fill(base_url)
    if auth_style is not None:
        form.get_by_label("Auth header").select_option(label=auth_style)
    form.get_by_label("API key", exact=True).fill(secret)
    form.get_by_role("button", name="Save key").click()


PROVIDERS = {
    "openai": "OpenAI-compatible",
    "novisurf": "Novisurf",
    "novakit": "NovaKit",
    "novita": "Novita AI",
    "novita-openai": "Novita AI",
}


def add_key(
    page: Page,
    fake_provider,
    *,
    label: str = "Fake",
    secret: str = SECRET,
    dialect: str = "openai",
    auth_style: str | None = None,
) -> None:
    """Settings → add a key for the fake provider's `dialect` (OpenAI-compatible by default); stays on the
    keys page."""
    open_keys(page)
    fill_key_form(
        page,
        label=label,
        base_url=fake_provider.base_url(dialect),
        secret=secret,
        provider=PROVIDERS[dialect],
        auth_style=auth_style,
    )
    expect(page.get_by_role("status")).to_contain_text(f"Saved “{label}”")


def key_row(page: Page, label: str) -> Locator:
    """One key's row on the keys page (named by its label)."""
    return page.get_by_role("listitem", name=label, exact=True)


def check_key(page: Page, label: str, expected: str) -> Locator:
    """Press "Test connection" on a key's row and wait for its outcome line; returns the row."""
    # Before htmx has loaded, the button posts the plain form and the outcome comes back as a page message.
    wait_for_htmx(page)
    key_row(page, label).get_by_role("button", name=f"Test connection of {label}").click()
    row = key_row(page, label)
    expect(row.get_by_role("status")).to_contain_text(expected)
    return row


def key_picker(page: Page) -> Locator:
    return page.get_by_role("combobox", name="Key", exact=True)


def model_field(page: Page) -> Locator:
    """The composer's Model input (a combobox: it offers the key's listed models)."""
    return page.get_by_role("combobox", name="Model", exact=True)


def pick_key(page: Page, key: str, provider: str = "OpenAI-compatible") -> None:
    """Choose a key in the composer and wait for its provider's options to be swapped in."""
    options = page.locator("#composer-options")
    before = options.element_handle()
    key_picker(page).select_option(label=f"{key} · {provider}")
    expect(key_picker(page).locator("option:checked")).to_have_text(f"{key} · {provider}")
    if before is not None:  # htmx replaces the options block: wait until the old one has gone
        before.wait_for_element_state("hidden")


def new_chat(
    page: Page, model: str | None = None, key: str | None = None, provider: str = "OpenAI-compatible"
) -> None:
    """ "New chat" from the sidebar; then pick the key and type the model if given."""
    page.get_by_role("button", name="New chat").click()
    expect(page.get_by_role("heading", name="New chat", level=1)).to_be_visible()
    page.wait_for_load_state("load")
    if key is not None:
        pick_key(page, key, provider)
    if model is not None:
        page.get_by_label("Model", exact=True).fill(model)


def composer(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Message", exact=True)


def send(page: Page, text: str) -> Locator:
    """Type (paste) the message and press Enter; returns the reply's bubble once it and the question show.

    The composer is cleared only once the server has accepted the message."""
    # As a person would not type into a page still loading: the deferred scripts (htmx, Enter to send) run
    # before "load"; a key pressed earlier just breaks the line.
    page.wait_for_load_state("load")
    before = bubbles(page).count()
    box = composer(page)
    box.fill(text)
    box.press("Enter")
    expect(bubbles(page)).to_have_count(before + 2)
    expect(box).to_have_value("")
    return bubbles(page).nth(before + 1)


def history(page: Page) -> Locator:
    return page.get_by_role("region", name="Conversation history")


def bubbles(page: Page) -> Locator:
    return history(page).get_by_role("article")


def stop_button(bubble: Locator) -> Locator:
    return bubble.get_by_role("button", name="Stop")


def wait_until_done(bubble: Locator, state: str = "done", timeout: float = 15_000) -> None:
    """The streaming bubble has been replaced by the final one in `state`."""
    expect(bubble).to_have_attribute("data-state", state, timeout=timeout)
    expect(stop_button(bubble)).to_have_count(0)


def body(bubble: Locator) -> Locator:
    """The text of a bubble (without its name line and buttons)."""
    return bubble.locator(".msg-body")


def assert_composer_works(page: Page, text: str) -> None:
    """After whatever happened before, a new message still goes out and its reply comes back."""
    page.get_by_label("Model", exact=True).fill("fake-model")
    reply = send(page, f"echo: {text}")
    wait_until_done(reply)
    expect(body(reply)).to_have_text(text)


def outside_the_browser_loop(action, *args, **kwargs):
    """Run an action from a test: on a thread of its own, as views run them. Actions that tell open pages
    of a change send on the channel layer with async_to_sync, which refuses the thread Playwright's sync API
    keeps an event loop in. (daphne serves the pages from another process, so what they send from a test
    reaches no page: the test's own pages drive what must be heard.)"""
    outcome = {}

    def run():
        try:
            outcome["value"] = action(*args, **kwargs)
        except BaseException as exc:  # handed to the test below
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
