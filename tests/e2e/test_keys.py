"""Settings → Keys: add, see only the last four, rename, delete, errors in place."""

from playwright.sync_api import expect

from tests.e2e.ui import (
    SECRET,
    add_key,
    add_key_form,
    bubbles,
    fill_key_form,
    new_chat,
    open_keys,
    send,
    sign_up,
    wait_until_done,
)


def key_row(page, label):
    return page.get_by_role("list").get_by_role("listitem").filter(has=page.get_by_text(label, exact=True))


def test_keys_page(page, fake_provider):
    base_url = fake_provider.base_url("openai")
    sign_up(page)
    open_keys(page)
    expect(page.get_by_text("No keys yet. Add one below to start chatting.")).to_be_visible()

    # A missing label: the error shows next to the field, what was typed stays (except the secret).
    fill_key_form(page, label="", base_url=base_url, secret=SECRET)
    form = add_key_form(page)
    label = form.get_by_label("Label", exact=True)
    expect(label).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_have_text("This field is required.")
    expect(form.get_by_label("Base URL")).to_have_value(base_url)
    expect(form.get_by_label("Provider")).to_have_value("openai")
    expect(form.get_by_label("API key", exact=True)).to_have_value("")
    assert SECRET not in page.content()

    # A key that is too short is refused with a reason.
    fill_key_form(page, label="Short", base_url=base_url, secret="sk-1")
    expect(page.get_by_role("alert")).to_have_text("That is too short to be an API key.")

    fill_key_form(page, label="Fake OpenAI", base_url=base_url, secret=SECRET)
    expect(page.get_by_role("status")).to_contain_text(
        "Saved “Fake OpenAI”. The key is stored encrypted and will not be shown again."
    )
    row = key_row(page, "Fake OpenAI")
    expect(row).to_contain_text("OpenAI-compatible")
    expect(row).to_contain_text("••••" + SECRET[-4:])
    expect(row).to_contain_text("Never used")
    expect(add_key_form(page).get_by_label("API key", exact=True)).to_have_value("")
    content = page.content()
    assert SECRET not in content and SECRET[:-4] not in content

    # The same label twice is refused.
    fill_key_form(page, label="Fake OpenAI", base_url=base_url, secret=SECRET)
    expect(page.get_by_role("alert")).to_have_text("You already have a key with this label.")

    # Rename.
    page.get_by_label("New label for Fake OpenAI").fill("Work key")
    row.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("status")).to_contain_text("Renamed to “Work key”.")
    expect(key_row(page, "Work key")).to_contain_text("••••" + SECRET[-4:])
    expect(page.get_by_text("Fake OpenAI", exact=True)).to_have_count(0)

    # Renaming to a label another key has is refused with a message.
    add_key(page, fake_provider, label="Spare key", secret="sk-spare-abcdefgh")
    page.get_by_label("New label for Spare key").fill("Work key")
    key_row(page, "Spare key").get_by_role("button", name="Rename").click()
    expect(page.get_by_role("status")).to_contain_text(
        "That label is empty or already used by another of your keys."
    )
    expect(key_row(page, "Spare key")).to_contain_text("••••efgh")

    # The key is used in a chat, and the keys page then says so.
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="fake-model", key="Work key")
    wait_until_done(send(page, "echo: hi"))
    open_keys(page)
    expect(key_row(page, "Work key")).to_contain_text("Last used")
    assert SECRET not in page.content()

    # Delete both; the chat page then has no key to pick and points to Settings.
    page.get_by_role("button", name="Delete Work key").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted “Work key”.")
    page.get_by_role("button", name="Delete Spare key").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted “Spare key”.")
    expect(page.get_by_text("No keys yet. Add one below to start chatting.")).to_be_visible()
    page.goto("/")
    page.get_by_role("navigation", name="Your conversations").get_by_role("link").first.click()
    expect(bubbles(page)).to_have_count(2)  # the conversation outlives its key
    expect(page.get_by_role("combobox", name="Key", exact=True)).to_have_text("No keys yet")
    page.get_by_role("main").get_by_role("link", name="Add a key").click()
    expect(page.get_by_role("heading", name="Your keys")).to_be_visible()


def test_a_failing_key_shows_its_last_error_without_the_secret(page, fake_provider):
    secret = "sk-invalid-SECRETPART-9876"
    sign_up(page)
    add_key(page, fake_provider, label="Broken", secret=secret)
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="fake-model")
    wait_until_done(send(page, "hello"), "failed")
    open_keys(page)
    expect(key_row(page, "Broken")).to_contain_text("Last error: OpenAI-compatible: the key was rejected")
    assert "SECRETPART" not in page.content()
