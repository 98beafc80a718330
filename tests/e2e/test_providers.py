"""Settings → Keys for each provider: add, test the connection, list models, replace the secret, chat defaults;
and one reply through each, carrying the key in exactly one header, in the style chosen."""

import re

from playwright.sync_api import expect

from tests.e2e.ui import (
    add_key,
    body,
    check_key,
    key_row,
    model_field,
    new_chat,
    open_keys,
    pick_key,
    send,
    sign_up,
    wait_for_htmx,
    wait_until_done,
)

# label, dialect, secret, auth style (the visible option; None: the provider's default, Bearer)
KEYS = [
    ("Surf header", "novisurf", "nsk-xheader-1111aaaa", "X-API-Key header"),
    ("Surf bearer", "novisurf", "nsk-bearer-2222bbbb", "Authorization: Bearer"),
    ("Kit", "novakit", "nk-kit-3333cccc", None),
    ("Novita v3", "novita", "nv-v3-4444dddd", None),
    ("Novita openai", "novita-openai", "nv-oai-5555eeee", None),
    ("Generic", "openai", "sk-generic-6666ffff", None),
]
PROVIDER_NAMES = {
    "novisurf": "Novisurf",
    "novakit": "NovaKit",
    "novita": "Novita AI",
    "novita-openai": "Novita AI",
    "openai": "OpenAI-compatible",
}


def headers_with(request: dict, secret: str) -> dict:
    return {name: value for name, value in request["headers"].items() if secret in value}


def test_every_provider_works_end_to_end(page, fake_provider):
    sign_up(page)
    for label, dialect, secret, style in KEYS:
        add_key(page, fake_provider, label=label, secret=secret, dialect=dialect, auth_style=style)
    for label, _, _, _ in KEYS:
        row = check_key(page, label, "Works — ")
        expect(row.get_by_role("status")).to_have_text(re.compile(r"^Works — \d+ models?\.$"))
    expect(key_row(page, "Kit").get_by_role("status")).to_have_text("Works — 212 models.")
    expect(key_row(page, "Kit")).to_contain_text("212 models, listed")

    fake_provider.reset()
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page)
    for label, dialect, _, _ in KEYS:
        pick_key(page, label, PROVIDER_NAMES[dialect])
        model_field(page).fill("fake-model")
        reply = send(page, f"echo: hello from {label}")
        wait_until_done(reply)
        expect(body(reply)).to_have_text(f"hello from {label}")

    chats = [r for r in fake_provider.requests if r["path"].endswith("/chat/completions")]
    assert [r["dialect"] for r in chats] == [dialect for _, dialect, _, _ in KEYS]
    for request, (label, _, secret, style) in zip(chats, KEYS, strict=True):
        carried = headers_with(request, secret)
        if style == "X-API-Key header":
            assert carried == {"x-api-key": secret}, (label, carried)
            assert "authorization" not in request["headers"], label
        else:
            assert carried == {"authorization": f"Bearer {secret}"}, (label, carried)
            assert "x-api-key" not in request["headers"], label
        assert request["json"]["model"] == "fake-model"


def test_test_connection_says_what_is_wrong(page, fake_provider, screenshots):
    sign_up(page)
    add_key(page, fake_provider, label="Rejected", secret="sk-invalid-0000abcd")
    add_key(page, fake_provider, label="Broke", secret="nk-broke-0000abcd", dialect="novakit")
    add_key(page, fake_provider, label="No scope", secret="nk-noscope-0000abcd", dialect="novakit")
    open_keys(page)
    page.get_by_role("region", name="Add a key").get_by_label("Label", exact=True).fill("Nobody home")
    page.get_by_role("region", name="Add a key").get_by_label("Base URL").fill("http://127.0.0.1:9/v1")
    page.get_by_role("region", name="Add a key").get_by_label("API key", exact=True).fill("sk-dead-0000abcd")
    page.get_by_role("button", name="Save key").click()
    expect(page.get_by_role("status")).to_contain_text("Saved “Nobody home”")

    row = check_key(page, "Rejected", "OpenAI-compatible: the key was rejected")
    assert "0000abcd" not in row.inner_text().replace("••••abcd", "")
    check_key(page, "Broke", "NovaKit: out of credits — top up your account.")
    check_key(page, "No scope", "NovaKit: your key lacks the chat scope")
    check_key(page, "Nobody home", "Novisurf: cannot reach 127.0.0.1 — check the base URL")
    page.set_viewport_size({"width": 1280, "height": 1200})  # the keys list scrolls inside the page
    page.screenshot(path=screenshots / "key-checks.png")
    # The outcome is remembered as the key's last error after a reload.
    page.reload()
    expect(key_row(page, "Broke")).to_contain_text("Last error: NovaKit: out of credits")
    assert "nk-broke" not in page.content()


def test_refreshed_models_are_offered_in_the_composer(page, fake_provider):
    sign_up(page)
    add_key(page, fake_provider, label="Kit", secret="nk-models-1234abcd", dialect="novakit")
    row = key_row(page, "Kit")
    expect(row).to_contain_text("Models not listed yet")
    row.get_by_role("button", name="Refresh models of Kit").click()
    expect(key_row(page, "Kit").get_by_role("status")).to_have_text("Works — 212 models.")
    expect(key_row(page, "Kit")).to_contain_text("212 models, listed")

    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page)
    options = page.locator("#model-options option")
    expect(options).to_have_count(212)
    expect(page.locator('#model-options option[value="meta-llama/llama-3.1-8b"]')).to_have_attribute(
        "label", "basic tier"
    )
    expect(page.locator('#model-options option[value="openai/gpt-4o-mini"]')).to_have_attribute(
        "label", "basic tier · images"
    )
    expect(model_field(page)).to_have_attribute("list", "model-options")
    fake_provider.reset()
    model_field(page).press_sequentially("anthropic/claude-3-haiku")
    reply = send(page, "echo: which one?")
    wait_until_done(reply)
    expect(reply).to_contain_text("anthropic/claude-3-haiku")
    expect(reply.locator(".usage")).to_contain_text("basic tier")
    (chat,) = [r for r in fake_provider.requests if r["path"].endswith("/chat/completions")]
    assert chat["json"]["model"] == "anthropic/claude-3-haiku"


def test_replace_secret_and_chat_defaults(page, fake_provider):
    sign_up(page)
    add_key(page, fake_provider, label="Surf", secret="nsk-first-1111wxyz", dialect="novisurf")
    add_key(page, fake_provider, label="Kit", secret="nk-defaults-2222abcd", dialect="novakit")
    expect(key_row(page, "Surf")).to_contain_text("••••wxyz")

    # A new address without the secret is refused, beside the field.
    key_row(page, "Surf").get_by_text("Replace secret or address").click()
    base_url = key_row(page, "Surf").get_by_label("Base URL")
    expect(base_url).to_have_value(fake_provider.base_url("novisurf"))
    base_url.fill(fake_provider.base_url("novisurf") + "/")
    key_row(page, "Surf").get_by_role("button", name="Replace secret").click()
    expect(key_row(page, "Surf").get_by_role("alert")).to_have_text("This field is required.")
    expect(key_row(page, "Surf").get_by_label("New API key")).to_be_visible()  # still open, to fix

    key_row(page, "Surf").get_by_label("New API key").fill("nsk-second-3333qrst")
    key_row(page, "Surf").get_by_role("button", name="Replace secret").click()
    expect(key_row(page, "Surf").get_by_role("status")).to_have_text(
        "Secret replaced. It is stored encrypted and will not be shown again."
    )
    expect(key_row(page, "Surf")).to_contain_text("••••qrst")
    expect(key_row(page, "Surf")).not_to_contain_text("••••wxyz")
    fake_provider.reset()
    check_key(page, "Surf", "Works — ")
    assert fake_provider.requests[-1]["headers"]["authorization"] == "Bearer nsk-second-3333qrst"

    # Chat defaults: the key picker swaps in its provider's parameters.
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Chat defaults").click()
    expect(page.get_by_role("heading", name="Chat defaults")).to_be_visible()
    wait_for_htmx(page)  # picking a key asks the server for its provider's parameters
    page.get_by_label("Key", exact=True).select_option(label="Kit · NovaKit")
    expect(page.get_by_label("Web search")).to_be_visible()
    page.get_by_label("Model", exact=True).fill("openai/gpt-4o-mini")
    page.get_by_label("Temperature").fill("0.3")
    page.get_by_label("Instructions").fill("Answer in French.")
    page.get_by_role("button", name="Save defaults").click()
    expect(page.get_by_role("status")).to_contain_text("Saved. New chats start with these settings.")
    expect(page.get_by_label("Temperature")).to_have_value("0.3")

    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page)
    expect(page.get_by_role("combobox", name="Key", exact=True).locator("option:checked")).to_have_text(
        "Kit · NovaKit"
    )
    expect(model_field(page)).to_have_value("openai/gpt-4o-mini")
    expect(page.get_by_label("Web search")).to_be_visible()
    page.get_by_text("Parameters", exact=True).click()
    expect(page.get_by_label("Temperature")).to_have_value("0.3")
    page.locator("summary", has_text="Instructions").click()
    expect(page.get_by_role("textbox", name="Instructions")).to_have_value("Answer in French.")
