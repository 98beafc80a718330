"""Organising conversations in the sidebar, as a person does it: rename, pin, archive, folders (menu and
drag), delete and Undo, delete and let it go; by mouse and by keyboard."""

import re
import time
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from chat.models import Conversation, Folder
from tests.chat.chats import make_chat
from tests.e2e.ui import hold_first, sign_up, wait_for_htmx

UNDO_SECONDS = 8


def sidebar(page: Page):
    return page.get_by_role("navigation", name="Your conversations")


def main_list(page: Page):
    return sidebar(page).get_by_role("list", name="Conversations outside folders")


def folder_list(page: Page, name: str):
    return sidebar(page).get_by_role("list", name=f"In {name}")


def listed_titles(page: Page, where=None) -> list[str]:
    links = (where or sidebar(page)).get_by_role("link")
    return [text.strip() for text in links.locator(".title").all_inner_texts()]


def open_menu(page: Page, title: str):
    """Open a conversation's ⋯ menu; returns the menu."""
    page.get_by_role("button", name=f"Options for {title}", exact=True).click()
    menu = page.get_by_role("menu", name=f"Options for {title}")
    expect(menu).to_be_visible()
    return menu


def choose(page: Page, title: str, item: str) -> None:
    open_menu(page, title).get_by_role("menuitem", name=item, exact=True).click()


def open_chat(page: Page, title: str) -> None:
    """Open a chat from the sidebar and wait, as a person does, for the page to settle: the composer takes
    focus as it loads, and would take it from a field opened before that."""
    sidebar(page).get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    wait_for_htmx(page)
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_focused()


def rename_folder(page: Page, name: str, to: str) -> None:
    """The folder's ⋯ menu → Rename, type the new name, Enter; waits for the folder under its new name."""
    page.get_by_role("button", name=f"Options for folder {name}").click()
    page.get_by_role("menuitem", name="Rename").click()
    field = sidebar(page).get_by_role("textbox", name="Folder name")
    field.fill(to)
    field.press("Enter")
    expect(sidebar(page).get_by_role("button", name=to, exact=True)).to_be_visible()


def person_with_chats(page: Page, *titles: str) -> User:
    """Sign up as alice, with these conversations (the first the most recent), and show them."""
    sign_up(page)
    alice = User.objects.get(username="alice")
    now = timezone.now()
    for n, title in enumerate(titles):
        make_chat(alice, title, updated_at=now - timedelta(minutes=n))
    page.reload()
    return alice


def test_rename_inline(page):
    person_with_chats(page, "Groceries", "Draft of the talk", "Old notes")
    open_chat(page, "Draft of the talk")

    choose(page, "Draft of the talk", "Rename")
    field = sidebar(page).get_by_role("textbox", name="Title")
    expect(field).to_be_focused()
    expect(field).to_have_value("Draft of the talk")
    field.fill("   ")
    field.press("Enter")
    expect(sidebar(page).get_by_role("alert")).to_contain_text("A title can't be empty")
    field = sidebar(page).get_by_role("textbox", name="Title")
    field.fill("Conference talk <final>")
    field.press("Enter")
    expect(sidebar(page).get_by_role("link", name="Conference talk <final>")).to_be_visible()
    # The page's heading and tab follow; the row keeps its place and stays the current one.
    expect(page.get_by_role("heading", level=1)).to_have_text("Conference talk <final>")
    expect(page).to_have_title("Conference talk <final> · NovaWeb")
    assert listed_titles(page) == ["Groceries", "Conference talk <final>", "Old notes"]
    expect(sidebar(page).get_by_role("link", name="Conference talk <final>")).to_have_attribute(
        "aria-current", "page"
    )
    assert Conversation.objects.filter(title="Conference talk <final>").exists()

    # Escape leaves the title as it was.
    choose(page, "Old notes", "Rename")
    field = sidebar(page).get_by_role("textbox", name="Title")
    field.fill("Something else")
    field.press("Escape")
    expect(sidebar(page).get_by_role("link", name="Old notes")).to_be_visible()
    expect(sidebar(page).get_by_role("textbox")).to_have_count(0)
    page.reload()
    assert listed_titles(page) == ["Groceries", "Conference talk <final>", "Old notes"]


def test_the_menu_works_from_the_keyboard(page):
    person_with_chats(page, "Alpha", "Beta")
    options = page.get_by_role("button", name="Options for Beta", exact=True)
    options.focus()
    page.keyboard.press("Enter")
    menu = page.get_by_role("menu", name="Options for Beta")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Rename")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="Pin", exact=True)).to_be_focused()
    page.keyboard.press("End")
    expect(menu.get_by_role("menuitem", name="Delete")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    options.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # Pin
    expect(main_list(page).get_by_role("heading", name="Pinned")).to_be_visible()
    assert listed_titles(page) == ["Beta", "Alpha"]
    # Focus stays with the conversation the action was about, in its new place.
    expect(sidebar(page).get_by_role("link", name="Beta")).to_be_focused()


def test_delete_and_undo_from_the_keyboard_keep_focus_on_the_chat(page):
    person_with_chats(page, "Alpha", "Beta")
    page.get_by_role("button", name="Options for Beta", exact=True).focus()
    page.keyboard.press("Enter")
    page.keyboard.press("End")
    page.keyboard.press("Enter")  # Delete
    undo = sidebar(page).get_by_role("button", name="Undo deleting “Beta”")
    expect(undo).to_be_focused()
    page.keyboard.press("Enter")
    expect(sidebar(page).get_by_role("link", name="Beta")).to_be_focused()


def test_pin_moves_to_the_top_and_unpin_puts_it_back(page):
    person_with_chats(page, "Newest", "Middle", "Oldest")
    choose(page, "Oldest", "Pin")
    expect(main_list(page).get_by_role("heading", name="Pinned")).to_be_visible()
    expect(main_list(page).get_by_role("heading", name="Chats")).to_be_visible()
    assert listed_titles(page) == ["Oldest", "Newest", "Middle"]
    expect(sidebar(page).get_by_role("link", name="Oldest")).to_contain_text("Oldest")
    expect(sidebar(page).get_by_role("link", name="Oldest").get_by_role("img", name="Pinned")).to_be_visible()
    page.reload()
    assert listed_titles(page) == ["Oldest", "Newest", "Middle"]
    choose(page, "Oldest", "Unpin")
    expect(main_list(page).get_by_role("heading", name="Pinned")).to_have_count(0)
    assert listed_titles(page) == ["Newest", "Middle", "Oldest"]


def test_archive_then_find_it_under_archived_and_bring_it_back(page):
    person_with_chats(page, "Keep around", "Finished project")
    choose(page, "Finished project", "Archive")
    expect(sidebar(page).get_by_role("link", name="Finished project")).to_have_count(0)
    assert listed_titles(page) == ["Keep around"]

    page.get_by_role("link", name="Archived").click()
    expect(page.get_by_role("heading", name="Archived", level=1)).to_be_visible()
    archived = page.get_by_role("list", name="Archived conversations")
    expect(archived.get_by_role("link", name="Finished project")).to_be_visible()
    archived.get_by_role("link", name="Finished project").click()  # it can still be opened and read
    expect(page.get_by_role("heading", name="Finished project", level=1)).to_be_visible()
    page.go_back()

    archived = page.get_by_role("list", name="Archived conversations")
    archived.get_by_role("button", name="Unarchive Finished project").click()
    expect(archived.get_by_role("status")).to_contain_text("“Finished project” is back in your chats.")
    expect(sidebar(page).get_by_role("link", name="Finished project")).to_be_visible()
    assert listed_titles(page) == ["Keep around", "Finished project"]
    page.reload()
    expect(page.get_by_text("Nothing archived.")).to_be_visible()


def test_the_chat_on_screen_says_it_is_archived_and_comes_back_from_there(page, screenshots):
    person_with_chats(page, "Keep around", "Finished project")
    open_chat(page, "Finished project")
    notice = page.locator("#archived-notice")
    expect(notice).to_be_hidden()
    choose(page, "Finished project", "Archive")
    expect(notice).to_have_text(re.compile("Archived: this chat is not in your list of chats."))
    assert listed_titles(page) == ["Keep around"]
    page.reload()  # as anyone opening it from the Archived page finds it
    expect(notice).to_be_visible()
    page.screenshot(path=screenshots / "archived-chat.png", caret="initial")
    wait_for_htmx(page)
    notice.get_by_role("button", name="Unarchive").click()
    expect(notice).to_be_hidden()
    expect(sidebar(page).get_by_role("link", name="Finished project")).to_be_visible()
    assert listed_titles(page) == ["Keep around", "Finished project"]
    expect(page.get_by_label("Message")).to_be_editable()  # the page is as usable as before


def test_folders_create_move_by_menu_and_by_drag_fold_rename_delete(page):
    person_with_chats(page, "Invoice questions", "Team offsite", "Contract review", "Holiday ideas")
    page.get_by_role("button", name="New folder").click()
    name = sidebar(page).get_by_role("textbox", name="Folder name")
    expect(name).to_be_focused()
    name.fill("Clients")
    name.press("Enter")
    expect(sidebar(page).get_by_role("button", name="Clients", exact=True)).to_have_attribute(
        "aria-expanded", "true"
    )
    expect(folder_list(page, "Clients")).to_contain_text("Empty")

    # A duplicate name is refused in words.
    page.get_by_role("button", name="New folder").click()
    name = sidebar(page).get_by_role("textbox", name="Folder name")
    name.fill("clients")
    name.press("Enter")
    expect(sidebar(page).get_by_role("alert")).to_have_text("You already have a folder called “Clients”.")
    sidebar(page).get_by_role("textbox", name="Folder name").press("Escape")
    expect(sidebar(page).get_by_role("textbox", name="Folder name")).to_have_count(0)

    # By the menu.
    choose(page, "Contract review", "Move to folder…")
    dialog = page.get_by_role("dialog", name="Move “Contract review”")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Clients").click()
    expect(dialog).to_have_count(0)
    expect(folder_list(page, "Clients").get_by_role("link", name="Contract review")).to_be_visible()
    assert listed_titles(page, main_list(page)) == ["Invoice questions", "Team offsite", "Holiday ideas"]

    # By dragging onto the folder.
    main_list(page).get_by_role("link", name="Invoice questions").drag_to(
        sidebar(page).get_by_role("button", name="Clients", exact=True)
    )
    expect(folder_list(page, "Clients").get_by_role("link", name="Invoice questions")).to_be_visible()
    assert listed_titles(page, folder_list(page, "Clients")) == ["Invoice questions", "Contract review"]
    assert listed_titles(page, main_list(page)) == ["Team offsite", "Holiday ideas"]

    # Fold and unfold; it stays as left.
    sidebar(page).get_by_role("button", name="Clients", exact=True).click()
    expect(folder_list(page, "Clients")).to_have_count(0)
    expect(sidebar(page).get_by_role("button", name="Clients", exact=True)).to_be_focused()  # drawn again
    page.reload()
    expect(sidebar(page).get_by_role("button", name="Clients", exact=True)).to_have_attribute(
        "aria-expanded", "false"
    )
    sidebar(page).get_by_role("button", name="Clients", exact=True).click()
    expect(folder_list(page, "Clients").get_by_role("link")).to_have_count(2)

    # Out again by dragging onto the main list.
    folder_list(page, "Clients").get_by_role("link", name="Invoice questions").drag_to(
        main_list(page).get_by_role("link", name="Holiday ideas")
    )
    expect(main_list(page).get_by_role("link", name="Invoice questions")).to_be_visible()
    assert listed_titles(page, main_list(page)) == ["Invoice questions", "Team offsite", "Holiday ideas"]

    # Rename the folder, then delete it: what was in it comes back to the main list.
    rename_folder(page, "Clients", "Customers")
    page.get_by_role("button", name="Options for folder Customers").click()
    page.get_by_role("menuitem", name="Delete folder…").click()
    dialog = page.get_by_role("dialog", name="Delete the folder “Customers”?")
    expect(dialog).to_contain_text("The conversations in it are kept")
    dialog.get_by_role("button", name="Delete folder").click()
    expect(dialog).to_have_count(0)
    expect(sidebar(page).get_by_role("button", name="Customers", exact=True)).to_have_count(0)
    assert listed_titles(page, main_list(page)) == [
        "Invoice questions",
        "Team offsite",
        "Contract review",
        "Holiday ideas",
    ]
    assert not Folder.objects.exists()


def test_move_into_a_new_folder_from_the_dialog(page):
    person_with_chats(page, "Lone chat")
    choose(page, "Lone chat", "Move to folder…")
    dialog = page.get_by_role("dialog", name="Move “Lone chat”")
    dialog.get_by_role("textbox", name="Or a new folder").fill("Reading list")
    dialog.get_by_role("button", name="Create and move").click()
    expect(dialog).to_have_count(0)
    expect(folder_list(page, "Reading list").get_by_role("link", name="Lone chat")).to_be_visible()
    # Cancel leaves things as they are.
    choose(page, "Lone chat", "Move to folder…")
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(folder_list(page, "Reading list").get_by_role("link", name="Lone chat")).to_be_visible()


def test_delete_then_undo_puts_it_back_in_place(page):
    person_with_chats(page, "First", "Second", "Third")
    choose(page, "Second", "Delete")
    undo_row = main_list(page).get_by_role("listitem").filter(has_text="Deleted “Second”.")
    expect(undo_row).to_be_visible()
    expect(undo_row.get_by_role("status")).to_have_text("Deleted “Second”.")
    assert listed_titles(page) == ["First", "Third"]
    assert Conversation.objects.get(title="Second").deleted_at is not None
    undo_row.get_by_role("button", name="Undo deleting “Second”").click()
    expect(sidebar(page).get_by_role("link", name="Second")).to_be_visible()
    assert listed_titles(page) == ["First", "Second", "Third"]
    assert Conversation.objects.get(title="Second").deleted_at is None
    time.sleep(UNDO_SECONDS / 4)
    page.reload()
    assert listed_titles(page) == ["First", "Second", "Third"]


def test_delete_and_let_it_go(page):
    person_with_chats(page, "Keep", "Throw away")
    choose(page, "Throw away", "Delete")
    undo = sidebar(page).get_by_role("button", name="Undo deleting “Throw away”")
    expect(undo).to_be_visible()
    expect(undo).to_have_count(0, timeout=(UNDO_SECONDS + 3) * 1000)  # the Undo row goes by itself
    assert listed_titles(page) == ["Keep"]
    time.sleep(4.5)  # past the grace the purge leaves for a last-moment Undo
    page.reload()  # the next load deletes it for good
    assert listed_titles(page) == ["Keep"]
    assert list(Conversation.objects.values_list("title", flat=True)) == ["Keep"]


def test_deleting_the_conversation_on_screen_goes_home_with_undo(page):
    person_with_chats(page, "Elsewhere", "Looking at this")
    open_chat(page, "Looking at this")
    choose(page, "Looking at this", "Delete")
    expect(page.get_by_role("heading", name="What shall we work on?")).to_be_visible()
    expect(page).to_have_url(re.compile(r"^http://[^/]+/$"))
    sidebar(page).get_by_role("button", name="Undo deleting “Looking at this”").click()
    open_chat(page, "Looking at this")


def test_changes_made_in_another_tab_show_without_a_reload(page):
    """Alice reads one chat in a tab and organises in another: the first tab's sidebar follows, but never
    while she is renaming something in it."""
    person_with_chats(page, "Groceries", "Draft of the talk", "Old notes")
    page.add_init_script(
        """document.addEventListener("htmx:wsOpen", () => { window.socketOpen = true; });
        document.addEventListener("htmx:oobAfterSwap", (event) => {
          if (event.detail.target.id === "sidebar-changed") window.sidebarTold = (window.sidebarTold || 0) + 1;
        });"""
    )
    open_chat(page, "Old notes")
    page.wait_for_function("() => window.socketOpen === true")

    sidebar(page).get_by_role("link", name="Draft of the talk").focus()  # where a keyboard user is

    other = page.context.new_page()
    other.goto("/")
    wait_for_htmx(other)
    choose(other, "Groceries", "Rename")
    field = sidebar(other).get_by_role("textbox", name="Title")
    field.fill("Shopping list")
    field.press("Enter")
    expect(sidebar(other).get_by_role("link", name="Shopping list")).to_be_visible()
    expect(sidebar(page).get_by_role("link", name="Shopping list")).to_be_visible()
    expect(sidebar(page).get_by_role("link", name="Old notes")).to_have_attribute("aria-current", "page")
    expect(
        sidebar(page).get_by_role("link", name="Draft of the talk")
    ).to_be_focused()  # kept through the redraw

    # Mid-rename here, a change there waits until she is done here.
    page.bring_to_front()
    choose(page, "Old notes", "Rename")
    mine = sidebar(page).get_by_role("textbox", name="Title")
    mine.fill("Old notes, tidied")
    told = page.evaluate("() => window.sidebarTold")
    other.bring_to_front()
    choose(other, "Draft of the talk", "Pin")
    expect(sidebar(other).get_by_role("link").first).to_have_text(re.compile("Draft of the talk"))
    page.bring_to_front()
    page.wait_for_function("(told) => window.sidebarTold > told", arg=told)  # the change has reached here
    time.sleep(1)  # and its redraw has been tried again, still waiting
    expect(mine).to_have_value("Old notes, tidied")
    expect(mine).to_be_focused()
    mine.press("Enter")
    expect(sidebar(page).get_by_role("link", name="Old notes, tidied")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Old notes, tidied")
    expect(sidebar(page).get_by_role("link").first).to_have_text(re.compile("Draft of the talk"))  # pinned

    # A folder made there shows here.
    other.bring_to_front()
    other.get_by_role("button", name="New folder").click()
    name = sidebar(other).get_by_role("textbox", name="Folder name")
    name.fill("Talks")
    name.press("Enter")
    expect(sidebar(page).get_by_role("button", name="Talks", exact=True)).to_be_visible()

    # Lists still on their way when a menu opens here wait too: the menu's choice still acts on its row.
    held = hold_first(page, "**/c/lists/**")
    told = page.evaluate("() => window.sidebarTold")
    choose(other, "Shopping list", "Pin")
    page.bring_to_front()
    page.wait_for_function("(told) => window.sidebarTold > told", arg=told)
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    menu = open_menu(page, "Old notes, tidied")
    with page.expect_response(re.compile(r"/c/lists/")):
        held[0].continue_()
    menu.get_by_role("menuitem", name="Rename", exact=True).click()
    expect(sidebar(page).get_by_role("textbox", name="Title")).to_be_focused()
    sidebar(page).get_by_role("textbox", name="Title").press("Escape")
    expect(sidebar(page).get_by_role("link").first).to_have_text(re.compile("Shopping list"))  # pinned since


def test_pages_without_a_socket_catch_up_when_the_person_comes_back(page):
    """Home and Archived hear of nothing while open: a chat renamed in another tab shows in their sidebar
    once the person comes back to the tab, without a reload."""
    person_with_chats(page, "Groceries", "Old notes", "Receipts")
    wait_for_htmx(page)
    other = page.context.new_page()
    other.goto("/")
    wait_for_htmx(other)

    for where, title, to in (("/", "Groceries", "Shopping list"), ("/archived/", "Old notes", "Notes")):
        page.goto(where)
        wait_for_htmx(page)
        other.bring_to_front()
        choose(other, title, "Rename")
        field = sidebar(other).get_by_role("textbox", name="Title")
        field.fill(to)
        field.press("Enter")
        expect(sidebar(other).get_by_role("link", name=to)).to_be_visible()
        expect(sidebar(page).get_by_role("link", name=title)).to_be_visible()  # nothing has told it
        page.bring_to_front()
        page.evaluate("() => window.dispatchEvent(new FocusEvent('focus'))")  # the window focused again
        expect(sidebar(page).get_by_role("link", name=to)).to_be_visible()
        expect(sidebar(page).get_by_role("link", name=title)).to_have_count(0)


def test_a_field_redrawn_away_is_not_cancelled_over_what_replaced_it(page):
    """A redraw of the lists (an action's answer) can take an open rename field away. Chrome reports that as
    focus leaving the field; it must not count as the person leaving it, whose cancel would fetch the folder
    again and could land over a rename saved meanwhile."""
    person_with_chats(page, "Invoice questions")
    Folder.objects.create(owner=User.objects.get(username="alice"), name="Clients")
    page.reload()
    wait_for_htmx(page)
    page.get_by_role("button", name="Options for folder Clients").click()
    page.get_by_role("menuitem", name="Rename").click()
    expect(sidebar(page).get_by_role("textbox", name="Folder name")).to_be_focused()
    refetched = []
    page.on(
        "request", lambda r: refetched.append(r.url) if re.search(r"/folders/\d+/(\?|$)", r.url) else None
    )
    with page.expect_response(re.compile(r"/c/lists/")):
        page.evaluate(
            """() => htmx.ajax("GET", "/c/lists/", { target: "#sidebar-lists", swap: "innerHTML" })"""
        )
    expect(sidebar(page).get_by_role("textbox", name="Folder name")).to_have_count(0)
    rename_folder(page, "Clients", "Customers")
    page.wait_for_timeout(300)  # time for a stray cancel's request and answer
    assert refetched == []
    expect(sidebar(page).get_by_role("button", name="Customers", exact=True)).to_be_visible()


def test_screenshots_of_the_sidebar(new_context, screenshots):
    """The sidebar with folders, pinned chats and a menu open, light and dark, and the Archived page."""
    for scheme in ("light", "dark"):
        page = new_context(color_scheme=scheme).new_page()
        sign_up(page, username=f"{scheme}-reader")
        owner = User.objects.get(username=f"{scheme}-reader")
        now = timezone.now()
        titles = [
            "Quarterly report outline",
            "Regex for parsing nginx logs",
            "Trip to Lisbon — three-day itinerary",
            "Explain vector clocks simply",
            "Birthday message for Sam",
            "SQL window functions cheat sheet",
            "Refactor the billing module",
            "Email to the landlord about the boiler",
            "Sourdough starter schedule",
            "Compare two hiking backpacks",
        ]
        for n, title in enumerate(titles):
            make_chat(owner, title, updated_at=now - timedelta(hours=3 * n))
        clients = Folder.objects.create(owner=owner, name="Client work")
        Folder.objects.create(owner=owner, name="Reading list", collapsed=True)
        Conversation.objects.filter(owner=owner, title__in=titles[5:7]).update(folder=clients)
        Conversation.objects.filter(owner=owner, title__in=titles[2:4]).update(pinned_at=now)
        Conversation.objects.filter(owner=owner, title=titles[8]).update(archived_at=now)
        page.reload()
        open_chat(page, titles[0])
        open_menu(page, titles[1])
        page.wait_for_timeout(200)  # the menu placed beside its row
        name = "sidebar.png" if scheme == "light" else "sidebar-dark.png"
        page.screenshot(path=screenshots / name, clip={"x": 0, "y": 0, "width": 640, "height": 800})
        page.keyboard.press("Escape")
        if scheme == "light":
            page.get_by_role("link", name="Archived").click()
            expect(page.get_by_role("heading", name="Archived", level=1)).to_be_visible()
            wait_for_htmx(page)  # the menu's choices are sidebar.js's: before it loads, a click does nothing
            page.screenshot(path=screenshots / "archived.png")
            sidebar(page).get_by_role("button", name=f"Options for {titles[4]}").click()
            page.get_by_role("menuitem", name="Move to folder…").click()
            expect(page.get_by_role("dialog")).to_be_visible()
            page.wait_for_timeout(200)
            page.screenshot(path=screenshots / "move-dialog.png")
