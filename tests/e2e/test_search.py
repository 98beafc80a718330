"""Search as a person uses it: type in the sidebar's box, read the highlighted passages, open one at its message."""

import contextlib
import re

from playwright.sync_api import Page, expect

from accounts.models import User
from chat.models import Folder
from tests.chat.searching import chat
from tests.e2e.ui import hold_first, sign_up

FILLER = [
    "Can you suggest a packing list for a week of island hopping?",
    "Light clothes, a rain jacket, sunscreen, a reusable bottle and good sandals.",
]


def search_box(page: Page):
    return page.get_by_role("searchbox", name="Search")


def results(page: Page):
    return page.get_by_role("list", name="Search results")


def hits(page: Page):
    return results(page).locator(".search-hit")


def conversations_of(username: str) -> User:
    return User.objects.get(username=username)


def a_long_trip(owner):
    """A conversation whose match sits far above its last message (so opening it there must scroll)."""
    texts = FILLER * 8 + [
        "Which ferry goes from Piraeus to Naxos on Saturday mornings?",
        "The Blue Star ferry to Naxos leaves Piraeus at 07:25 and arrives around 13:00.",
    ] + FILLER * 10  # fmt: skip
    return chat(owner, "Greek islands in June", *texts, model="llama-3.3-70b")


def test_search_as_you_type_then_open_the_message_at_the_match(page, screenshots):
    sign_up(page)
    alice = conversations_of("alice")
    trip = a_long_trip(alice)
    chat(
        alice,
        "Sourdough starter",
        "How often should I feed a sourdough starter?",
        "Once a day at room temperature.",
    )
    chat(
        alice,
        "Naxos marble",
        "Is Naxos marble used in sculpture?",
        "Yes, since the Cycladic period.",
        model="gpt-4o",
    )
    page.reload()
    list_ = page.get_by_role("navigation", name="Your conversations")
    expect(list_).to_contain_text("Greek islands in June")

    box = search_box(page)
    box.press_sequentially("nax", delay=60)  # as typed: results come while the word is unfinished
    expect(hits(page)).to_have_count(2)
    expect(list_).to_be_hidden()  # the results stand in for the list
    expect(results(page).locator("mark").first).to_have_text(re.compile("^Naxos$", re.I))
    expect(hits(page).filter(has_text="Greek islands in June")).to_contain_text("Blue Star ferry to Naxos")
    expect(hits(page).filter(has_text="Naxos marble").locator(".hit-title mark")).to_have_text("Naxos")
    box.blur()
    page.screenshot(path=screenshots / "search.png", caret="initial")
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshots / "search-dark.png", caret="initial")
    page.emulate_media(color_scheme="light")

    box.press("End")
    box.press_sequentially("os ferry", delay=40)
    expect(hits(page)).to_have_count(1)
    passage = hits(page).get_by_role("link", name=re.compile("Blue Star ferry to Naxos"))
    expect(passage.locator("mark")).to_have_text(["ferry", "Naxos"])

    passage.click()
    reply = trip.messages.get(content__startswith="The Blue Star ferry")
    expect(page).to_have_url(re.compile(rf"/c/{trip.pk}/\?at={reply.pk}&hl=[^#]+#msg-{reply.pk}$"))
    target = page.locator(f"#msg-{reply.pk}")
    expect(target).to_be_in_viewport()
    expect(page.locator(".msg:target")).to_have_count(1)
    expect(page.locator(f"#msg-{reply.pk}:target")).to_have_count(1)
    expect(page.locator(".messages .msg").last).not_to_be_in_viewport()  # it did not scroll to the end
    highlighted = page.evaluate(
        "() => [...(CSS.highlights.get('search-match') || [])].map(r => r.toString())"
    )
    assert sorted({w.lower() for w in highlighted}) == ["ferry", "naxos"]
    expect(search_box(page)).to_have_value("naxos ferry")  # the results stay, to open the next one
    expect(hits(page)).to_have_count(1)
    page.wait_for_timeout(2600)  # the ring around the message settles
    page.screenshot(path=screenshots / "search-opened.png", caret="initial")


def test_escape_clears_the_box_and_brings_the_list_back(page):
    sign_up(page)
    chat(conversations_of("alice"), "Tax return", "When is the tax deadline?", "The end of May.")
    page.reload()
    box = search_box(page)
    box.fill("deadline")
    expect(hits(page)).to_have_count(1)
    box.press("Escape")
    expect(box).to_have_value("")
    expect(results(page)).to_have_count(0)
    expect(page.get_by_role("navigation", name="Your conversations")).to_contain_text("Tax return")
    box.fill("deadline")
    expect(hits(page)).to_have_count(1)
    box.fill("")
    expect(page.get_by_role("navigation", name="Your conversations")).to_be_visible()


def test_nothing_found_and_problems_are_said_in_words(page):
    sign_up(page)
    chat(conversations_of("alice"), "Tax return", "When is the tax deadline?")
    page.reload()
    box = search_box(page)
    box.fill("platypus ")
    expect(page.get_by_text("No conversation matches “platypus”.")).to_be_visible()
    box.fill("the of and ")
    expect(page.get_by_text("Only very common words")).to_be_visible()
    box.fill("% _ \\ ' \" < >")
    expect(page.locator("#search-results")).not_to_contain_text("could not")


def test_filters_narrow_the_results(page):
    sign_up(page)
    alice = conversations_of("alice")
    work = Folder.objects.create(owner=alice, name="Work")
    chat(alice, "Quarterly budget", "budget for the offsite", folder=work, model="gpt-4o")
    chat(alice, "Holiday", "a budget holiday in Porto", model="llama-3.3-70b")
    chat(alice, "Old budget", "last year's budget", archived=True)
    page.reload()
    search_box(page).fill("budget")
    expect(hits(page)).to_have_count(2)

    page.get_by_text("Filters").click()
    filters = page.locator(".search-filters")
    filters.get_by_label("Include archived").check()
    expect(hits(page)).to_have_count(3)
    filters.get_by_label("Titles only").check()
    expect(hits(page)).to_have_count(2)
    expect(hits(page).first.locator(".hit-passages")).to_have_count(0)
    filters.get_by_label("Titles only").uncheck()
    filters.get_by_label("Folder").select_option(label="Work")
    expect(hits(page)).to_have_count(1)
    expect(hits(page)).to_contain_text("Quarterly budget")
    filters.get_by_label("Folder").select_option(label="Any folder")
    filters.get_by_label("Model").select_option("llama-3.3-70b")
    expect(hits(page)).to_have_count(1)
    expect(hits(page)).to_contain_text("Holiday")
    filters.get_by_label("From").fill("2001-01-02")
    filters.get_by_label("To").fill("2001-01-01")
    expect(page.get_by_role("alert")).to_contain_text("The end date is before the start date.")


def test_only_archived_matches_offer_to_include_them(page, screenshots):
    sign_up(page)
    chat(conversations_of("alice"), "Incident review", "the incident of May", archived=True)
    page.reload()
    search_box(page).fill("incident")
    empty = results(page).locator(".search-empty")
    expect(empty).to_contain_text("No conversation matches “incident”.")
    expect(empty).to_contain_text("1 archived chat matches.")
    search_box(page).blur()
    page.screenshot(path=screenshots / "search-archived.png", caret="initial")
    empty.get_by_role("link", name="Include archived").click()
    expect(hits(page)).to_have_count(1)
    expect(hits(page)).to_contain_text("Incident review")
    expect(hits(page)).to_contain_text("archived")
    filters = page.locator(".search-filters")
    expect(filters.get_by_label("Include archived")).to_be_checked()  # the filter says what changed
    expect(filters.get_by_label("Model")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/$"))  # no page load: the sidebar searched again


def test_a_filter_alone_lists_the_chats_it_selects(page):
    sign_up(page)
    alice = conversations_of("alice")
    chat(alice, "Llama notes", "hello", model="llama-3.3-70b")
    chat(alice, "GPT notes", "hello", model="gpt-4o")
    page.reload()
    list_ = page.get_by_role("navigation", name="Your conversations")
    page.get_by_text("Filters", exact=True).click()
    filters = page.locator(".search-filters")
    filters.get_by_label("Model").select_option("llama-3.3-70b")
    expect(hits(page)).to_have_count(1)
    expect(hits(page)).to_contain_text("Llama notes")
    expect(list_).to_be_hidden()
    search_box(page).fill("hello")  # words narrow the listing like any search
    expect(hits(page)).to_have_count(1)
    search_box(page).press("Escape")  # the box is empty, the filter still set: its listing again
    expect(hits(page)).to_have_count(1)
    filters.get_by_label("Model").select_option("")
    expect(results(page)).to_have_count(0)
    expect(list_).to_contain_text("GPT notes")


def test_a_newer_search_replaces_one_in_flight(page):
    """The form's hx-sync="this:replace" aborts the older request: its answer never lands over the newer one.
    (htmx 2 logs an abort as console errors, `htmx:afterRequest` and `htmx:sendAbort`: that is this, working.)"""
    sign_up(page)
    alice = conversations_of("alice")
    chat(alice, "Budget", "budget for the offsite")
    chat(alice, "Holiday", "a week in Porto")
    page.reload()
    held = hold_first(page, "**/search/?*")
    search_box(page).fill("budget")
    for _ in range(100):  # until the search is on its way (after the box's 250 ms pause)
        if held:
            break
        page.wait_for_timeout(20)
    assert len(held) == 1
    search_box(page).fill("porto")
    expect(hits(page)).to_have_count(1)
    expect(hits(page)).to_contain_text("Holiday")
    with contextlib.suppress(Exception):  # aborted: the browser no longer waits for it
        held[0].continue_()
    page.wait_for_timeout(300)
    expect(hits(page)).to_have_count(1)
    expect(hits(page)).to_contain_text("Holiday")


def filters_past_the_sidebar(page: Page) -> list[str]:
    """Every control of the search filters (and its label) that reaches past the sidebar's inner edges."""
    return page.evaluate(
        """() => {
          const sidebar = document.querySelector('.sidebar');
          const box = sidebar.getBoundingClientRect();
          const left = box.left + sidebar.clientLeft, right = left + sidebar.clientWidth;
          return [...document.querySelectorAll('.search-filters :is(summary, label, input, select)')]
            .filter(e => e.getClientRects().length)
            .map(e => [e.name || e.textContent.trim().split('\\n')[0], e.getBoundingClientRect()])
            .filter(([, r]) => r.left < left - 0.5 || r.right > right + 0.5)
            .map(([name, r]) => `${name}: ${Math.round(r.left)}..${Math.round(r.right)} (sidebar ${left}..${right})`);
        }"""
    )


def test_the_filters_fit_in_the_sidebar(new_context, screenshots):
    """Opened, every filter is inside the sidebar, full width: on a desktop in light and dark, and on a phone,
    with a model and a folder name longer than the sidebar is wide."""
    for viewport, name, person in (
        ({"width": 1280, "height": 800}, "search-filters", "alice"),
        ({"width": 390, "height": 844}, "search-filters-phone", "bob"),
    ):
        page = new_context(viewport=viewport, is_mobile=viewport["width"] < 760).new_page()
        sign_up(page, person)
        alice = conversations_of(person)
        work = Folder.objects.create(owner=alice, name="Quarterly planning and everything that goes with it")
        chat(
            alice,
            "Incident review",
            "the incident of May",
            folder=work,
            model="meta-llama/llama-3.3-70b-instruct-turbo",
        )
        page.reload()
        search_box(page).fill("incident")
        expect(hits(page)).to_have_count(1)
        page.get_by_text("Filters").click()
        filters = page.locator(".search-filters")
        expect(filters.get_by_label("Model")).to_be_visible()
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            assert filters_past_the_sidebar(page) == []
            search_box(page).blur()
            page.screenshot(
                path=screenshots / f"{name}{'-dark' if scheme == 'dark' else ''}.png", caret="initial"
            )
        page.emulate_media(color_scheme="light")
        model = filters.get_by_label("Model")
        from_, to = filters.get_by_label("From"), filters.get_by_label("To")
        width = filters.evaluate("e => e.getBoundingClientRect().width")
        assert model.evaluate("e => e.getBoundingClientRect().width") >= width - 1  # full width
        if viewport["width"] > 760:  # no room for the dates side by side: one above the other, full width
            assert to.evaluate("e => e.getBoundingClientRect().top") > from_.evaluate(
                "e => e.getBoundingClientRect().bottom"
            )
            assert to.evaluate("e => e.getBoundingClientRect().width") >= width - 1
        else:
            assert to.evaluate("e => e.getBoundingClientRect().top") == from_.evaluate(
                "e => e.getBoundingClientRect().top"
            )
        filters.get_by_label("Folder").select_option(
            label="Quarterly planning and everything that goes with it"
        )
        expect(hits(page)).to_have_count(1)
        assert filters_past_the_sidebar(page) == []
        page.context.close()


def test_more_results_load_below(page):
    sign_up(page)
    alice = conversations_of("alice")
    for i in range(13):
        chat(alice, f"Heron sighting {i}", f"a grey heron at the pond, day {i}")
    page.reload()
    search_box(page).fill("heron")
    expect(hits(page)).to_have_count(10)
    page.get_by_role("link", name="More results").click()
    expect(hits(page)).to_have_count(13)
    expect(page.get_by_role("link", name="More results")).to_have_count(0)


def test_a_title_match_opens_the_conversation(page):
    sign_up(page)
    conversation = chat(conversations_of("alice"), "Lisbon offsite", "hello")
    page.reload()
    search_box(page).fill("lisbon")
    page.get_by_role("link", name="Lisbon offsite").click()
    expect(page).to_have_url(re.compile(rf"/c/{conversation.pk}/$"))
    expect(page.get_by_role("heading", name="Lisbon offsite", level=1)).to_be_visible()


def test_another_persons_conversations_never_show(page, new_context):
    sign_up(page)
    chat(conversations_of("alice"), "Zephyrine deal", "the zephyrine acquisition")
    bob = new_context().new_page()
    sign_up(bob, "bob")
    search_box(bob).fill("zephyrine")
    expect(bob.get_by_text("No conversation matches “zephyrine”.")).to_be_visible()
    expect(bob.locator("mark")).to_have_count(0)


def test_what_was_typed_before_the_page_had_loaded_is_searched(page):
    """A quick typist fills the box while the page's scripts are still on their way: the search runs once
    they arrive, instead of waiting for another keystroke."""
    sign_up(page)
    chat(conversations_of("alice"), "Zephyrine deal", "the zephyrine acquisition")
    held = hold_first(page, "**/htmx-*.min.js")  # htmx itself, not arrived yet: a slow link
    page.goto("/", wait_until="commit")
    search_box(page).fill("zephyrine")
    assert len(held) == 1
    expect(results(page)).to_have_count(0)
    held[0].continue_()
    expect(hits(page)).to_have_count(1)
    expect(hits(page)).to_contain_text("Zephyrine deal")


def test_search_on_a_phone(new_context, screenshots):
    phone = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    sign_up(phone)
    alice = conversations_of("alice")
    trip = a_long_trip(alice)
    chat(alice, "Naxos marble", "Is Naxos marble used in sculpture?", "Yes, since the Cycladic period.")
    phone.reload()
    box = search_box(phone)
    expect(phone.locator(".search-filters")).to_be_hidden()  # no room to spare until something is typed
    box.tap()
    box.fill("naxos")
    expect(hits(phone)).to_have_count(2)
    expect(phone.locator(".search-filters")).to_be_visible()
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"
    box.blur()
    phone.screenshot(path=screenshots / "search-phone.png", caret="initial")
    hits(phone).filter(has_text="Greek islands").get_by_role("link", name=re.compile("Blue Star")).tap()
    reply = trip.messages.get(content__startswith="The Blue Star ferry")
    expect(phone.locator(f"#msg-{reply.pk}")).to_be_in_viewport()
