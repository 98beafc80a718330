"""Signing up, in and out, and what one person can never see of another's."""

from playwright.sync_api import expect

from tests.e2e.ui import PASSWORD, add_key, body, new_chat, send, sign_in, sign_out, sign_up, wait_until_done


def test_sign_up_errors_show_in_place(page):
    page.goto("/accounts/sign-up/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD + " typo")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("The two password fields didn\u2019t match.")
    expect(page.get_by_label("Username")).to_have_value("alice")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")  # secrets are not sent back

    # Too short as well as mismatched: both are said at once, each beside its field.
    page.get_by_label("Password", exact=True).fill("abc")
    page.get_by_label("Password confirmation").fill("abd")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert").filter(has_text="too short")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="didn\u2019t match")).to_be_visible()


def test_the_sign_out_link_followed_before_the_page_has_loaded_asks_first(page, screenshots):
    """Without htmx (still loading, or no JavaScript) the header's link is a plain GET: a page that asks,
    whose button signs out."""
    sign_up(page)
    page.goto("/accounts/sign-out/")
    expect(page.get_by_role("heading", name="Sign out?")).to_be_visible()
    page.screenshot(path=screenshots / "sign-out.png", caret="initial")
    page.get_by_role("link", name="Stay signed in").click()
    expect(page.get_by_role("button", name="New chat")).to_be_visible()
    page.goto("/accounts/sign-out/")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_sign_out_and_back_in(page):
    sign_up(page)
    sign_out(page)

    # Signed out, the app's pages lead to the sign-in page, which then returns there.
    page.goto("/settings/keys/")
    sign_in(page, password="not the password")
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password.")
    expect(page.get_by_label("Username")).to_have_value("alice")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")

    sign_in(page)
    expect(page.get_by_role("heading", name="Your keys")).to_be_visible()
    expect(page.get_by_role("navigation", name="Account")).to_contain_text("alice")

    # A second account cannot take the same name.
    sign_out(page)
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert")).to_contain_text("A user with that username already exists.")


def test_nobody_else_can_open_my_conversation(page, new_context, fake_provider):
    sign_up(page, "alice")
    add_key(page, fake_provider)
    page.get_by_role("link", name="NovaWeb").click()
    new_chat(page, model="fake-model")
    reply = send(page, "echo: alice's secret plans")
    wait_until_done(reply)
    expect(body(reply)).to_have_text("alice's secret plans")
    url = page.url

    bob = new_context().new_page()
    sign_up(bob, "bob")
    expect(bob.get_by_role("navigation", name="Your conversations")).to_contain_text("No conversations yet.")
    response = bob.goto(url)
    assert response is not None and response.status == 404
    expect(bob.get_by_text("secret plans")).to_have_count(0)

    # Alice still has it.
    page.reload()
    expect(
        body(page.get_by_role("region", name="Conversation history").get_by_role("article").last)
    ).to_have_text("alice's secret plans")
