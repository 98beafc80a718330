"""An admin runs the team: sign-up policy, invites, teams, approval, deactivation — in Chromium, as people do."""

import re
import time

from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.actions import do_create_invite, do_sign_up
from accounts.models import User
from chat.models import Message
from tests.e2e.ui import (
    PASSWORD,
    SLOW,
    add_key,
    assert_composer_works,
    body,
    hold_first,
    new_chat,
    send,
    sign_in,
    sign_up,
)


def open_team(page: Page, section: str) -> None:
    """Top bar → Team, then a section of the team area's navigation."""
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()
    page.get_by_role("navigation", name="Team administration").get_by_role("link", name=section).click()
    expect(page.get_by_role("link", name=section)).to_have_attribute("aria-current", "page")


def set_policy(page: Page, policy: str, saved: str) -> None:
    open_team(page, "Sign-up")
    page.get_by_role("radio", name=policy).check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text(saved)


def fill_sign_up(page: Page, username: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()


def tall_screenshot(page: Page, path, height: int = 1100) -> None:
    """The whole page: its content scrolls inside <main>, so a full-page capture would stop at the fold."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": height})
    page.screenshot(path=path, caret="initial")
    page.set_viewport_size(size)


def settled_reply(username: str, timeout: float = 10) -> Message:
    """`username`'s reply once it is no longer streaming (the stop reaches the relay within moments)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = Message.objects.get(role="assistant", conversation__owner__username=username)
        if reply.state != Message.State.STREAMING or time.monotonic() > deadline:
            return reply
        time.sleep(0.1)


def person_row(page: Page, username: str):
    return page.get_by_role("list", name="People").get_by_role("listitem", name=username, exact=True)


def test_an_invite_link_opens_without_javascript_too(page, new_context, screenshots):
    """The token after "#" is read by the page's script; without JavaScript the page asks for it pasted."""
    sign_up(page)  # the admin
    _, token = do_create_invite(User.objects.get(username="alice"), role="member", team=None, days=7)
    erin = new_context(java_script_enabled=False).new_page()
    erin.goto(f"/accounts/invite/#{token}")
    expect(erin.get_by_role("heading", name="Opening your invite…")).to_be_visible()
    erin.screenshot(path=screenshots / "invite-without-javascript.png", caret="initial")
    erin.get_by_label("Invite code").fill(token)
    erin.get_by_role("button", name="Continue").click()
    expect(erin.get_by_role("heading", name="Create your account")).to_be_visible()
    expect(erin.get_by_role("status")).to_have_text("You have an invite to join as a member.")


def test_an_admin_invites_a_person_and_puts_them_in_a_team(page, new_context, screenshots):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_up(page, "root")
    set_policy(page, "Invite only", "Saved: only people with an invite link can sign up.")

    # Without an invite, nobody can sign up now.
    stranger = new_context().new_page()
    stranger.goto("/accounts/sign-up/")
    expect(stranger.get_by_text("You need an invite.")).to_be_visible()
    expect(stranger.get_by_label("Username")).to_have_count(0)

    open_team(page, "Invites")
    page.get_by_label("Joins as").select_option(label="Member")
    page.get_by_label("Link expires after").select_option(label="7 days")
    page.get_by_label("Note").fill("for Dana, design")
    page.get_by_role("button", name="Create invite link").click()
    expect(page.get_by_role("heading", name="Invite link ready")).to_be_visible()
    link = page.get_by_role("textbox", name="Invite link").input_value()
    assert "/accounts/invite/" in link
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link
    invite_row = page.get_by_role("listitem", name=re.compile(r"^Invite \d+: for Dana, design$"))
    expect(invite_row).to_contain_text("Active")
    expect(invite_row).to_contain_text("Joins as member")
    tall_screenshot(page, screenshots / "team-invites.png")

    dana = new_context().new_page()
    addresses = []  # every address dana's browser asks for: the token must be in none (no server logs it)
    dana.on("request", lambda request: addresses.append(request.url))
    dana.goto(link)
    expect(dana.get_by_role("heading", name="Create your account")).to_be_visible()
    expect(dana.get_by_role("status")).to_have_text("You have an invite to join as a member.")
    assert "/accounts/invite/" not in dana.url  # the token left the address bar
    token = link.partition("#")[2]
    assert token and addresses and not [address for address in addresses if token in address]
    dana.screenshot(path=screenshots / "sign-up-invite.png", caret="initial")
    fill_sign_up(dana, "dana")
    expect(dana.get_by_role("heading", name="What shall we work on?")).to_be_visible()

    # The link made one account; it says so to the next person who tries it.
    stranger.goto(link)
    expect(stranger.get_by_role("alert")).to_contain_text("already been used")
    page.reload()
    expect(invite_row).to_contain_text("Used by dana")

    open_team(page, "Teams")
    page.get_by_label("Team name").fill("Design")
    page.get_by_role("button", name="Create team").click()
    expect(page.get_by_role("status")).to_contain_text("Team “Design” created.")
    card = page.get_by_role("region", name="Design")
    card.get_by_label("Add a person to Design").fill("dana")
    card.get_by_role("button", name="Add").click()
    expect(card.get_by_role("status")).to_have_text("Added dana to Design.")
    expect(card.get_by_role("list", name="Members of Design")).to_contain_text("dana")
    page.get_by_label("Team name").fill("Research")
    page.get_by_role("button", name="Create team").click()
    research = page.get_by_role("region", name="Research")
    research.get_by_label("Add a person to Research").fill("root")
    research.get_by_role("button", name="Add").click()
    expect(research.get_by_role("list", name="Members of Research")).to_contain_text("root")
    tall_screenshot(page, screenshots / "team-teams.png")

    # For the picture: someone waiting and someone deactivated, as a real team has.
    for username, fields in (("pat", {"role": User.Role.PENDING}), ("sam", {"is_active": False})):
        User.objects.create_user(username, password=PASSWORD, last_seen_at=timezone.now(), **fields)
    open_team(page, "People")
    expect(person_row(page, "pat").get_by_role("button", name="Approve pat")).to_be_visible()
    expect(person_row(page, "sam").get_by_role("button", name="Reactivate sam")).to_be_visible()
    expect(person_row(page, "dana")).to_contain_text("Teams: Design")
    expect(person_row(page, "dana")).to_contain_text("Member")
    tall_screenshot(page, screenshots / "team-people.png")
    page.get_by_role("button", name="Switch theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    tall_screenshot(page, screenshots / "team-people-dark.png")

    open_team(page, "Overview")
    at_a_glance = page.get_by_role("list", name="At a glance")
    expect(at_a_glance.get_by_role("link").filter(has_text="people active")).to_contain_text("2")
    expect(at_a_glance.get_by_role("link").filter(has_text="team")).to_contain_text("2")
    page.screenshot(path=screenshots / "team-overview-dark.png", caret="initial")

    # On a phone the rows stack: name and facts, then the actions.
    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    phone.goto("/team/people/")
    sign_in(phone, "root")
    expect(person_row(phone, "pat").get_by_role("button", name="Approve pat")).to_be_in_viewport()
    phone.screenshot(path=screenshots / "team-people-phone.png", caret="initial")


def test_a_pending_person_waits_until_approved_then_chats(page, new_context, fake_provider, screenshots):
    sign_up(page, "root")
    set_policy(page, "Approval", "Saved: new people wait for an admin's approval.")
    page.screenshot(path=screenshots / "team-signup.png", caret="initial")

    pat = new_context().new_page()
    pat.goto("/accounts/sign-up/")
    expect(pat.get_by_text("Sign-ups need an admin's approval.")).to_be_visible()
    fill_sign_up(pat, "pat")
    expect(pat.get_by_role("heading", name="Waiting for approval")).to_be_visible()
    pat.screenshot(path=screenshots / "waiting.png", caret="initial")
    pat.goto("/settings/keys/")  # anything else: still the waiting page
    expect(pat.get_by_role("heading", name="Waiting for approval")).to_be_visible()

    open_team(page, "Overview")
    waiting = (
        page.get_by_role("list", name="At a glance").get_by_role("link").filter(has_text="awaiting approval")
    )
    expect(waiting).to_contain_text("1")
    waiting.click()
    filters = page.get_by_role("navigation", name="Show")
    expect(filters.get_by_role("link", name="Awaiting approval 1")).to_have_attribute("aria-current", "page")
    row = person_row(page, "pat")
    expect(row).to_contain_text("Awaiting approval")
    row.get_by_role("button", name="Approve pat").click()
    expect(row.get_by_role("status")).to_have_text("Approved: pat can use NovaWeb now.")
    expect(filters.get_by_role("link", name="Awaiting approval 0")).to_be_visible()

    # The waiting page notices by itself.
    expect(pat.get_by_role("heading", name="What shall we work on?")).to_be_visible(timeout=15_000)
    add_key(pat, fake_provider)
    pat.get_by_role("link", name="NovaWeb").click()
    new_chat(pat)
    assert_composer_works(pat, "approved and chatting")


def test_deactivating_someone_ends_their_open_chat_and_their_session(page, new_context, fake_provider):
    sign_up(page, "root")
    bob = new_context().new_page()
    sign_up(bob, "bob")
    add_key(bob, fake_provider)
    bob.get_by_role("link", name="NovaWeb").click()
    new_chat(bob, model=SLOW.format(tokens=400, interval=30))
    reply = send(bob, "a long story please")
    expect(body(reply)).to_contain_text("tok5 ")

    open_team(page, "People")
    row = person_row(page, "bob")
    row.get_by_role("button", name="Deactivate bob…").click()
    expect(row).to_contain_text("Deactivate bob? They are signed out at once")
    row.get_by_role("button", name="Cancel").click()
    expect(row.get_by_role("button", name="Deactivate bob…")).to_be_visible()
    row.get_by_role("button", name="Deactivate bob…").click()
    row.get_by_role("button", name="Deactivate bob", exact=True).click()
    expect(row.get_by_role("status")).to_have_text("Deactivated: bob is signed out everywhere.")
    expect(row.get_by_role("button", name="Reactivate bob")).to_be_visible()

    # Bob's open page hears it at once; his reply stopped with its text kept.
    expect(bob.get_by_role("alert")).to_contain_text("An admin has deactivated your account")
    expect(bob.get_by_role("status").filter(has_text="Disconnected.")).to_be_visible()
    expect(bob.get_by_role("button", name="Send")).to_be_disabled()
    stopped = settled_reply("bob")
    assert stopped.state == Message.State.STOPPED and stopped.content.startswith("tok1 tok2 tok3 tok4 tok5 ")
    bob.reload()
    expect(bob.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in(bob, "bob")
    expect(bob.get_by_role("alert")).to_contain_text("Please enter a correct username and password.")
    assert not User.objects.get(username="bob").is_active


def a_few_people() -> None:
    for name in ("amelia", "amos", "bruno", "carmen"):
        do_sign_up(name, PASSWORD)


def test_an_admin_finds_people_by_typing_part_of_a_name(page):
    sign_up(page, "root")
    a_few_people()
    open_team(page, "People")
    people = page.get_by_role("list", name="People")
    expect(people.get_by_role("listitem")).to_have_count(5)

    page.get_by_role("searchbox", name="Find a person").fill("am")
    expect(people.get_by_role("listitem")).to_have_count(2)
    expect(person_row(page, "amelia")).to_be_visible()
    expect(person_row(page, "amos")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]q=am"))  # the address keeps the search, for Back and sharing

    page.get_by_role("searchbox", name="Find a person").fill("zz")
    expect(page.get_by_text("username contains “zz”.")).to_be_visible()
    page.get_by_role("searchbox", name="Find a person").fill("")
    expect(people.get_by_role("listitem")).to_have_count(5)


def test_a_name_typed_before_the_page_had_loaded_is_searched(page):
    """On a slow link the box is there before htmx is: what was typed meanwhile is searched once it arrives,
    instead of waiting for another keystroke."""
    sign_up(page, "root")
    a_few_people()
    held = hold_first(page, "**/htmx-*.min.js")
    page.goto("/team/people/", wait_until="commit")
    page.get_by_role("searchbox", name="Find a person").fill("bru")
    assert len(held) == 1
    expect(page.get_by_role("list", name="People").get_by_role("listitem")).to_have_count(5)
    held[0].continue_()
    expect(page.get_by_role("list", name="People").get_by_role("listitem")).to_have_count(1)
    expect(person_row(page, "bruno")).to_be_visible()
