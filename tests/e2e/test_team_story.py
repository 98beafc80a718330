"""The whole team story in one run, as people do it: an admin invites a person into a team, shares a key with
that team under a budget, the person chats on it and watches the budget fall, and the admin reads the usage
chart their replies made (real ledger rows, nothing planted)."""

import re

from playwright.sync_api import expect

from tests.e2e.test_people import fill_sign_up, open_team, set_policy
from tests.e2e.test_shared_keys import SHARED_SECRET, add_shared_key, grant_per_day, open_shared_keys
from tests.e2e.ui import key_picker, model_field, send, sign_up, wait_until_done

BUDGET = 500


def test_invite_team_shared_budget_chat_and_usage_chart(page, new_context, fake_provider):
    sign_up(page, "root")  # the first person is the admin

    # A team, then an invite into it (sign-up by invite only).
    open_team(page, "Teams")
    page.get_by_label("Team name").fill("Research")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("status")).to_contain_text("Team “Research” created.")
    set_policy(page, "Invite only", "Saved: only people with an invite link can sign up.")
    open_team(page, "Invites")
    page.get_by_label("Joins as").select_option(label="Member")
    page.get_by_label("Team", exact=True).select_option(label="Research")
    page.get_by_role("button", name="Create invite link").click()
    link = page.get_by_role("textbox", name="Invite link").input_value()

    dana = new_context().new_page()
    dana.goto(link)
    fill_sign_up(dana, "dana")
    expect(dana.get_by_role("heading", name="What shall we work on?")).to_be_visible()

    # A shared key, granted to the team with a daily token budget.
    open_shared_keys(page)
    add_shared_key(page, fake_provider)
    grant_per_day(page, "Research (team of 1)", BUDGET)
    expect(page.get_by_role("region", name="Grants").get_by_role("status")).to_contain_text("Research")

    # Dana chats on it by its label and sees what is left fall after each reply.
    dana.get_by_role("button", name="New chat").click()
    chosen = key_picker(dana).locator("option:checked")
    expect(chosen).to_have_text(f"Team GPT — {BUDGET} tokens left today")
    model_field(dana).fill("fake-model")
    wait_until_done(send(dana, "echo: hello from the research team"))
    expect(chosen).not_to_have_text(f"Team GPT — {BUDGET} tokens left today")
    first = int(re.search(r"— ([\d,]+) tokens", chosen.inner_text())[1].replace(",", ""))
    assert 0 < first < BUDGET
    wait_until_done(send(dana, "echo: and once more"))
    expect(chosen).not_to_have_text(f"Team GPT — {first:,} tokens left today")
    second = int(re.search(r"— ([\d,]+) tokens", chosen.inner_text())[1].replace(",", ""))
    assert second < first
    assert SHARED_SECRET not in dana.content() and SHARED_SECRET[-4:] not in dana.content()

    # The admin reads the usage chart: dana's two replies, by person, on the shared key.
    open_team(page, "Usage")
    page.get_by_role("radio", name="Person").check()  # applies as it changes
    chart = page.locator("svg").filter(has=page.locator("title"))
    expect(chart.first).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"^dana 2 "))).to_be_visible()  # two requests
    page.get_by_role("radio", name="Key").check()
    expect(page.get_by_role("row", name=re.compile(r"^Team GPT · shared 2 ")).first).to_be_visible()
