"""An admin shares a key with a budget; a member chats on it and watches the remaining budget fall, until
the budget is used up and the composer says when it resets."""

import re

from playwright.sync_api import expect

from accounts.actions import do_sign_up
from accounts.models import User
from keys.models import Credential
from keys.shared_actions import do_grant
from tests.e2e.ui import (
    PASSWORD,
    add_key,
    bubbles,
    key_picker,
    model_field,
    outside_the_browser_loop,
    send,
    sign_up,
    wait_for_htmx,
    wait_until_done,
)

SHARED_SECRET = "sk-e2e-SHARED-CANARY-4d5eWqZx"
BUDGET = 120


def open_shared_keys(page):
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Team").click()
    page.get_by_role("navigation", name="Team administration").get_by_role("link", name="Shared keys").click()
    expect(page.get_by_role("heading", name="Shared keys", level=2)).to_be_visible()


def add_shared_key(page, fake_provider, label="Team GPT"):
    form = page.get_by_role("region", name="Add a shared key")
    form.get_by_label("Provider").select_option(label="OpenAI-compatible")
    form.get_by_label("Label", exact=True).fill(label)
    form.get_by_label("Base URL").fill(fake_provider.base_url("openai"))
    form.get_by_label("API key", exact=True).fill(SHARED_SECRET)
    form.get_by_role("button", name="Save shared key").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Saved “{label}”")
    expect(page.get_by_role("heading", name=label, level=2)).to_be_visible()


def grant_form(page):
    return page.get_by_role("form", name="Grant this key")


def grant_per_day(page, grantee: str, budget: int = BUDGET) -> None:
    """On a shared key's page: grant it to `grantee` (as the "Grant to" list names them) with a daily token
    budget."""
    form = grant_form(page)
    form.get_by_label("Grant to").select_option(label=grantee)
    form.get_by_label("Token budget").fill(str(budget))
    form.get_by_label("Budget period").select_option(label="Per day")
    form.get_by_role("button", name="Grant").click()


def remaining_in_picker(page) -> int:
    """The member's remaining tokens, as the composer's key picker says it."""
    text = key_picker(page).locator("option:checked").inner_text()
    match = re.fullmatch(r"Team GPT — ([\d,]+) tokens? left today", text)
    assert match, text
    return int(match[1].replace(",", ""))


def test_an_admin_shares_a_key_and_a_member_spends_its_budget(new_context, fake_provider, screenshots):
    # Tall enough for the whole key page in one screenshot (the page scrolls inside its main pane).
    page = new_context(viewport={"width": 1280, "height": 1400}).new_page()
    sign_up(page, "alice")  # the first person is the admin
    member = new_context().new_page()
    sign_up(member, "bob")

    # The admin adds a shared key, tests it, lists its models, and grants it to bob with a daily budget.
    open_shared_keys(page)
    expect(page.get_by_text("No shared keys yet.")).to_be_visible()
    add_shared_key(page, fake_provider)
    card = page.locator("#key-card")
    card.get_by_role("button", name="Test connection").click()
    expect(card.get_by_role("status")).to_contain_text("Works —")
    expect(page.get_by_text("Nobody can use this key yet.")).to_be_visible()
    form = grant_form(page)
    form.get_by_label("Grant to").select_option(label="bob")
    expect(form.get_by_role("radio", name="All models")).to_be_checked()
    form.get_by_label("Token budget").fill("0")
    form.get_by_role("button", name="Grant").click()
    expect(grant_form(page).get_by_label("Token budget")).to_have_attribute(
        "aria-invalid", "true"
    )  # in place
    form = grant_form(page)
    form.get_by_label("Token budget").fill(str(BUDGET))
    form.get_by_label("Budget period").select_option(label="Per day")
    form.get_by_label("Requests per minute").fill("20")
    form.get_by_label("Replies at once").fill("2")
    form.get_by_role("button", name="Grant").click()
    grants = page.get_by_role("region", name="Grants")
    expect(grants.get_by_role("status")).to_have_text("Granted “Team GPT” to bob.")
    row = grants.get_by_role("listitem", name="Grant to bob")
    expect(row).to_contain_text(f"0 of {BUDGET} tokens used today")
    expect(row).to_contain_text("20 requests a minute · 2 at once")
    assert SHARED_SECRET not in page.content()
    page.screenshot(path=screenshots / "team-keys.png", caret="initial")

    # The member picks the shared key by its label, with the budget left, and chats on it.
    member.get_by_role("button", name="New chat").click()
    expect(member.get_by_role("heading", name="New chat", level=1)).to_be_visible()
    expect(key_picker(member).locator("option:checked")).to_have_text(
        f"Team GPT — {BUDGET} tokens left today"
    )
    model_field(member).fill("fake-model")
    reply = send(member, "echo: hello from the team key")
    wait_until_done(reply)
    expect(key_picker(member).locator("option:checked")).not_to_have_text(re.compile(f"— {BUDGET} tokens"))
    after_one = remaining_in_picker(member)
    assert 0 < after_one < BUDGET

    # A long reply (the fake provider ignores max_tokens) spends the rest; the picker follows.
    model_field(member).fill("fake-model~tokens=150")
    wait_until_done(send(member, "write a lot"))
    expect(key_picker(member).locator("option:checked")).to_have_text("Team GPT — 0 tokens left today")

    # Over budget: a clear sentence with the reset time, the message kept in the composer, nothing sent.
    sent_before = len(fake_provider.requests)
    before = bubbles(member).count()
    box = member.get_by_role("textbox", name="Message", exact=True)
    box.fill("one more, please")
    box.press("Enter")
    error = member.locator("#composer-error")
    expect(error).to_have_text(
        re.compile(r"^This key's budget for today is used up; it resets at 00:00 UTC \(in .+\)\.$")
    )
    expect(box).to_have_value("one more, please")
    expect(bubbles(member)).to_have_count(before)
    assert len(fake_provider.requests) == sent_before
    member.screenshot(path=screenshots / "shared-key-chat.png", caret="initial")
    content = member.content()
    assert SHARED_SECRET not in content and SHARED_SECRET[-4:] not in content

    # The admin sees what bob's grant used today (more than its budget: the provider overran max_tokens).
    page.reload()
    used = page.get_by_role("listitem", name="Grant to bob").get_by_text(
        re.compile(f"of {BUDGET} tokens used today")
    )
    expect(used).to_be_visible()
    assert int(used.inner_text().split(" of ")[0].replace(",", "")) >= BUDGET

    # Dark theme, for the screenshot.
    page.get_by_role("button", name="Switch theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", re.compile("dark|light"))
    page.screenshot(path=screenshots / "team-keys-dark.png", caret="initial")


def test_an_admin_changes_limits_replaces_the_secret_revokes_and_deletes(
    new_context, fake_provider, screenshots
):
    page = new_context().new_page()
    sign_up(page, "alice")
    member = new_context().new_page()
    sign_up(member, "bob")
    open_shared_keys(page)
    add_shared_key(page, fake_provider)
    page.locator("#key-card").get_by_role("button", name="Refresh models").click()
    expect(page.locator("#key-card").get_by_role("status")).to_contain_text("Works — 3 models")

    # bob's grant, with every limit left open.
    form = grant_form(page)
    form.get_by_label("Grant to").select_option(label="bob")
    form.get_by_role("button", name="Grant").click()
    expect(page.get_by_role("region", name="Grants").get_by_role("status")).to_have_text(
        "Granted “Team GPT” to bob."
    )

    # The list of shared keys says how many grants each has.
    page.get_by_role("link", name="Shared keys", exact=True).last.click()
    row = page.get_by_role("listitem", name="Team GPT")
    expect(row).to_contain_text("1 grant")
    expect(row).to_contain_text("••••" + SHARED_SECRET[-4:])
    page.screenshot(path=screenshots / "team-keys-list.png", caret="initial")
    row.get_by_role("link", name="Grants and settings of Team GPT").click()

    # Only one model: tick it from the key's list (the pickers appear once "Only the models below" is chosen).
    page.get_by_text("Change limits of bob").click()
    edit = page.get_by_role("listitem", name="Grant to bob")
    expect(edit.get_by_role("checkbox", name="fake-model")).to_be_hidden()
    edit.get_by_role("radio", name="Only the models below").check()
    edit.get_by_role("checkbox", name="fake-model").check()
    edit.get_by_role("button", name="Save limits of bob").click()
    grants = page.get_by_role("region", name="Grants")
    expect(grants.get_by_role("status")).to_have_text("Limits of bob changed; the next request meets them.")
    expect(grants.get_by_role("listitem", name="Grant to bob")).to_contain_text("fake-model")

    # bob sees the key in Settings, without any part of the secret, and chats on the allowed model only.
    member.get_by_role("link", name="Settings").click()
    shared = member.get_by_role("region", name="Shared with you")
    expect(shared.get_by_role("listitem", name="Team GPT")).to_contain_text("Models: fake-model")
    assert SHARED_SECRET[-4:] not in member.content()
    member.screenshot(path=screenshots / "keys-shared-with-you.png", caret="initial")
    member.get_by_role("link", name="NovaWeb").click()
    member.get_by_role("button", name="New chat").click()
    expect(member.get_by_role("heading", name="New chat", level=1)).to_be_visible()
    expect(model_field(member)).to_be_visible()
    # The model list offers what the grant allows, not everything the key lists.
    expect(member.locator("#model-options option")).to_have_count(1)
    expect(member.locator("#model-options option")).to_have_attribute("value", "fake-model")
    model_field(member).fill("another-model")
    box = member.get_by_role("textbox", name="Message", exact=True)
    member.wait_for_load_state("load")
    box.fill("echo: not this one")
    box.press("Enter")
    expect(member.locator("#composer-error")).to_have_text(
        "“Team GPT” cannot be used with another-model — pick one of: fake-model."
    )
    model_field(member).fill("fake-model")
    wait_until_done(send(member, "echo: first"))
    assert fake_provider.requests[-1]["headers"]["authorization"] == f"Bearer {SHARED_SECRET}"

    # A new secret: bob's next message, on the page he has open, uses it.
    card = page.locator("#key-card")
    card.get_by_text("Replace secret or address").click()
    card.get_by_label("New API key").fill("sk-e2e-REPLACED-00000001")
    card.get_by_role("button", name="Replace secret").click()
    expect(page.locator("#key-card").get_by_role("status")).to_contain_text("Secret replaced.")
    wait_until_done(send(member, "echo: second"))
    assert fake_provider.requests[-1]["headers"]["authorization"] == "Bearer sk-e2e-REPLACED-00000001"

    # Revoked: bob's open page no longer offers the key, his next message is refused, and nothing goes
    # upstream.
    page.get_by_role("button", name="Revoke bob's grant").click()
    expect(page.get_by_role("region", name="Grants").get_by_role("status")).to_have_text(
        "Revoked the grant to bob: their next request on “Team GPT” is refused."
    )
    expect(page.get_by_text("Revoked grants (1)")).to_be_visible()
    expect(key_picker(member).locator("option:checked")).to_have_text("No keys yet")
    sent = len(fake_provider.requests)
    box.fill("echo: third")
    box.press("Enter")
    expect(member.locator("#composer-error")).to_have_text(
        "Pick a key first — add one under Settings → Keys."
    )
    assert len(fake_provider.requests) == sent

    # Renamed, then deleted.
    page.get_by_label("New label for Team GPT").fill("Old GPT")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name="Old GPT", level=2)).to_be_visible()
    page.get_by_role("button", name="Delete “Old GPT”").click()
    expect(page.get_by_role("status").first).to_contain_text("Deleted “Old GPT” and its grants.")
    expect(page.get_by_text("No shared keys yet.")).to_be_visible()


def test_a_new_grant_is_shown_where_the_admin_is(page, fake_provider, screenshots):
    """With a few grants above it, the grant form is far below the section's top: after Grant, the new row
    comes into view, glowing, with its outcome beside it, and takes the focus (a screen reader reads both)."""
    sign_up(page, "alice")
    people = [do_sign_up(name, PASSWORD) for name in ("bob", "carol", "dave", "erin", "frank")]
    open_shared_keys(page)
    add_shared_key(page, fake_provider)
    key = Credential.objects.get(label="Team GPT")
    admin = User.objects.get(username="alice")
    for person in people[:4]:
        outside_the_browser_loop(do_grant, admin, key, user=person, budget_tokens=1000)
    page.reload()
    wait_for_htmx(page)
    form = grant_form(page)
    form.get_by_label("Grant to").select_option(label="frank")
    form.get_by_label("Token budget").fill("5000")
    form.get_by_role("button", name="Grant").click()
    row = page.get_by_role("listitem", name="Grant to frank")
    expect(row).to_be_focused()
    status = row.get_by_role("status")
    expect(status).to_have_text("Granted “Team GPT” to frank.")
    expect(status).to_be_in_viewport()
    expect(row).to_contain_text("0 of 5,000 tokens used this month")
    page.screenshot(path=screenshots / "grant-made.png", caret="initial", animations="disabled")
    # Changing a grant's limits says so in its row too.
    erin = page.get_by_role("listitem", name="Grant to erin")
    erin.get_by_text("Change limits").click()
    erin.get_by_label("Token budget").fill("2000")
    erin.get_by_role("button", name="Save limits").click()
    erin = page.get_by_role("listitem", name="Grant to erin")
    expect(erin).to_be_focused()
    expect(erin.get_by_role("status")).to_have_text("Limits of erin changed; the next request meets them.")
    expect(page.get_by_role("status")).to_have_count(1)  # the earlier outcome is gone


def test_a_members_open_chat_picker_follows_the_grants_made_and_revoked(new_context, fake_provider):
    """bob chats on his own key while alice grants him the team's key, then revokes it: his open picker shows
    it and then not, without a reload, and the key he picked stays picked."""
    page = new_context().new_page()
    sign_up(page, "alice")
    bob_page = new_context().new_page()
    sign_up(bob_page, "bob")
    add_key(bob_page, fake_provider, label="Mine")
    bob_page.get_by_role("link", name="NovaWeb").click()
    bob_page.get_by_role("button", name="New chat").click()
    wait_for_htmx(bob_page)
    picked = key_picker(bob_page).locator("option:checked")
    expect(picked).to_have_text("Mine · OpenAI-compatible")

    open_shared_keys(page)
    add_shared_key(page, fake_provider)
    grant_per_day(page, "bob")
    shared = key_picker(bob_page).locator("option", has_text="Team GPT")
    expect(shared).to_have_text(f"Team GPT — {BUDGET} tokens left today")
    expect(picked).to_have_text("Mine · OpenAI-compatible")  # his choice stays

    key_picker(bob_page).select_option(label=f"Team GPT — {BUDGET} tokens left today")
    wait_for_htmx(bob_page)
    page.get_by_role("listitem", name="Grant to bob").get_by_role("button", name="Revoke").click()
    expect(shared).to_have_count(0)
    expect(picked).to_have_text("Mine · OpenAI-compatible")  # the one left
    model_field(bob_page).fill("fake-model")
    wait_until_done(send(bob_page, "echo: still chatting"))
