"""The sidebar's organising requests (chat/organising_views.py, chat/folder_views.py): what each answers,
for whom, and what it refuses."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chat import organising, sidebar
from chat.models import Conversation, Folder
from chat.sidebar import Key
from tests.chat.chats import make_chat, make_chats

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def viewing(conversation) -> dict:
    """The headers of an htmx request sent by the page of `conversation`."""
    return {**HTMX, "HX-Current-URL": f"http://testserver/c/{conversation.pk}/"}


def fresh(conversation) -> Conversation:
    return Conversation.objects.get(pk=conversation.pk)


# --- Who may ----------------------------------------------------------------------------------------------
CONVERSATION_REQUESTS = [
    ("get", "chat:row", {}),
    ("get", "chat:rename", {}),
    ("post", "chat:rename", {"title": "Mine now"}),
    ("post", "chat:pin", {"pinned": "1"}),
    ("post", "chat:archive", {"archived": "1"}),
    ("get", "chat:move", {}),
    ("post", "chat:move", {"folder": ""}),
    ("post", "chat:move", {"new_folder": "Stolen"}),
    ("post", "chat:delete", {}),
    ("post", "chat:restore", {}),
]
FOLDER_REQUESTS = [
    ("get", "chat:folder", {}),
    ("get", "chat:rename_folder", {}),
    ("post", "chat:rename_folder", {"name": "Mine now"}),
    ("post", "chat:toggle_folder", {"collapsed": "1"}),
    ("get", "chat:delete_folder", {}),
    ("post", "chat:delete_folder", {}),
    ("get", "chat:folder_more", {}),
]


@pytest.mark.parametrize(("method", "name", "data"), CONVERSATION_REQUESTS)
def test_someone_elses_conversation_is_a_404_and_stays_as_it_was(client, alice, bob, method, name, data):
    folder = Folder.objects.create(owner=alice, name="Alice's")
    theirs = make_chat(alice, "Alice's secret plan", folder=folder)
    if name == "chat:restore":
        Conversation.objects.filter(pk=theirs.pk).update(deleted_at=timezone.now())
    before = Conversation.objects.filter(pk=theirs.pk).values().get()
    client.force_login(bob)
    response = getattr(client, method)(reverse(name, args=[theirs.pk]), data, headers=HTMX)
    assert response.status_code == 404
    assert b"secret plan" not in response.content
    assert Conversation.objects.filter(pk=theirs.pk).values().get() == before
    assert Folder.objects.filter(owner=bob).count() == 0


@pytest.mark.parametrize(("method", "name", "data"), FOLDER_REQUESTS)
def test_someone_elses_folder_is_a_404_and_stays_as_it_was(client, alice, bob, method, name, data):
    folder = Folder.objects.create(owner=alice, name="Alice's clients")
    make_chat(alice, "Inside", folder=folder)
    client.force_login(bob)
    response = getattr(client, method)(reverse(name, args=[folder.pk]), data, headers=HTMX)
    assert response.status_code == 404
    assert b"Alice" not in response.content
    assert Folder.objects.filter(pk=folder.pk, name="Alice's clients", collapsed=False).exists()


def test_moving_into_someone_elses_folder_is_a_404(as_alice, alice, bob):
    mine = make_chat(alice, "Mine")
    bobs = Folder.objects.create(owner=bob, name="Bob's")
    for value in (str(bobs.pk), "not-a-number", "99999999999999999999999"):
        response = as_alice.post(reverse("chat:move", args=[mine.pk]), {"folder": value}, headers=HTMX)
        assert response.status_code == 404
    assert fresh(mine).folder_id is None


def test_signed_out_people_are_sent_to_sign_in(client, alice):
    chat = make_chat(alice, "Private")
    for method, name, data in CONVERSATION_REQUESTS:
        response = getattr(client, method)(reverse(name, args=[chat.pk]), data)
        assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]
    assert fresh(chat).title == "Private" and fresh(chat).deleted_at is None


def test_writes_need_post_and_a_csrf_token(alice):
    chat = make_chat(alice, "Guarded")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(reverse("chat:delete", args=[chat.pk])).status_code == 405
    assert client.post(reverse("chat:delete", args=[chat.pk]), headers=HTMX).status_code == 403
    assert fresh(chat).deleted_at is None


def test_the_menu_paths_the_page_script_builds_are_the_real_ones(alice):
    """static/js/sidebar.js builds a row's action URLs from its link: "<link>rename/" and so on."""
    chat = make_chat(alice, "Any")
    link = reverse("chat:conversation", args=[chat.pk])
    for name in ("rename", "pin", "archive", "move", "delete"):
        assert reverse(f"chat:{name}", args=[chat.pk]) == f"{link}{name}/"


# --- Rename -----------------------------------------------------------------------------------------------
def test_rename_shows_a_field_then_saves_and_the_heading_follows(as_alice, alice):
    chat = make_chat(alice, "Old title")
    url = reverse("chat:rename", args=[chat.pk])
    form = as_alice.get(url, headers=HTMX).content.decode()
    assert 'name="title"' in form and 'value="Old title"' in form and "autofocus" in form
    saved = as_alice.post(url, {"title": "  New <b>title</b> "}, headers=viewing(chat)).content.decode()
    assert fresh(chat).title == "New <b>title</b>"
    assert "New &lt;b&gt;title&lt;/b&gt;" in saved and "<b>title" not in saved
    assert 'id="chat-title"' in saved and 'hx-swap-oob="true"' in saved  # the page's heading
    assert "<title>New &lt;b&gt;title&lt;/b&gt; · NovaWeb</title>" in saved
    elsewhere = as_alice.post(url, {"title": "Third"}, headers=HTMX).content.decode()
    assert "Third" in elsewhere and 'id="chat-title"' not in elsewhere  # another page: only the row


@pytest.mark.parametrize(("typed", "says"), [("", "can&#x27;t be empty"), ("z" * 5000, "at most 200")])
def test_a_title_that_cannot_be_gives_the_field_back_with_why(as_alice, alice, typed, says):
    chat = make_chat(alice, "Kept")
    response = as_alice.post(reverse("chat:rename", args=[chat.pk]), {"title": typed}, headers=HTMX)
    assert response.status_code == 200  # htmx swaps only 2xx
    assert says in response.content.decode() and 'role="alert"' in response.content.decode()
    assert fresh(chat).title == "Kept"


def test_escape_brings_the_row_back(as_alice, alice):
    chat = make_chat(alice, "Unchanged")
    row = as_alice.get(reverse("chat:row", args=[chat.pk]), headers=viewing(chat)).content.decode()
    assert f'id="conv-{chat.pk}"' in row and "Unchanged" in row and 'aria-current="page"' in row


# --- Pin, archive, move: the lists redrawn ------------------------------------------------------------------
def test_pin_redraws_the_lists_with_it_on_top(as_alice, alice):
    chats = make_chats(alice, 3)
    html = as_alice.post(
        reverse("chat:pin", args=[chats[2].pk]), {"pinned": "1"}, headers=HTMX
    ).content.decode()
    assert html.index("Pinned") < html.index("Chat 3") < html.index("Chats") < html.index("Chat 1")
    assert f'id="conv-{chats[2].pk}"' in html and "data-pinned" in html
    html = as_alice.post(
        reverse("chat:pin", args=[chats[2].pk]), {"pinned": "0"}, headers=HTMX
    ).content.decode()
    assert "Pinned" not in html and html.index("Chat 2") < html.index("Chat 3")


def test_garbage_flags_and_positions_are_bad_requests_that_change_nothing(as_alice, alice):
    chat = make_chat(alice, "Steady")
    for data in ({"pinned": "yes"}, {}, {"pinned": "1", "until": "garbage"}):
        assert as_alice.post(reverse("chat:pin", args=[chat.pk]), data, headers=HTMX).status_code == 400
    assert as_alice.post(reverse("chat:archive", args=[chat.pk]), {"archived": "2"}).status_code == 400
    assert as_alice.get(reverse("chat:list"), {"after": "1.x.2"}, headers=HTMX).status_code == 400
    assert fresh(chat).pinned_at is None and fresh(chat).archived_at is None


def test_a_redraw_keeps_the_depth_the_page_had_scrolled_to(as_alice, alice, monkeypatch):
    monkeypatch.setattr(sidebar, "PAGE_SIZE", 3)
    chats = make_chats(alice, 9)
    until = Key.of(chats[5]).encode()  # the page had loaded two pages
    html = as_alice.post(
        reverse("chat:pin", args=[chats[8].pk]), {"pinned": "1", "until": until}, headers=HTMX
    ).content.decode()
    for n in range(1, 10):
        assert (f"Chat {n}<" in html) == (n <= 6 or n == 9), n
    assert f'value="{until}"' in html  # how deep it is now


def test_the_lists_fetched_again_are_the_persons_own_as_deep_as_the_page_had_them(
    as_alice, alice, bob, monkeypatch
):
    """What a page fetches when its socket says the conversations changed in another tab."""
    monkeypatch.setattr(sidebar, "PAGE_SIZE", 3)
    chats = make_chats(alice, 9)
    make_chat(bob, "Bob's secret plan")
    until = Key.of(chats[5]).encode()
    response = as_alice.get(reverse("chat:lists"), {"until": until}, headers=viewing(chats[1]))
    html = response.content.decode()
    assert response.status_code == 200
    for n in range(1, 10):
        assert (f"Chat {n}<" in html) == (n <= 6), n  # newest first, down to where the page was
    assert "Bob" not in html
    assert 'aria-current="page"' in html  # the chat on screen stays marked
    assert as_alice.get(reverse("chat:lists"), {"until": "1.x.2"}, headers=HTMX).status_code == 400


def test_archive_from_the_sidebar_then_unarchive_from_the_archived_page(as_alice, alice):
    keep, shelve = make_chats(alice, 2)
    html = as_alice.post(
        reverse("chat:archive", args=[shelve.pk]), {"archived": "1"}, headers=HTMX
    ).content.decode()
    assert "Chat 1" in html and "Chat 2" not in html
    page = as_alice.get(reverse("chat:archived")).content.decode()
    assert "<h1>Archived</h1>" in page and "Unarchive Chat 2" in page
    assert page.count('class="archived-row"') == 1 and 'aria-current="page"' in page
    back = as_alice.post(
        reverse("chat:archive", args=[shelve.pk]), {"archived": "0"}, headers=HTMX
    ).content.decode()
    assert "“Chat 2” is back in your chats." in back
    assert 'id="sidebar-lists" hx-swap-oob="innerHTML"' in back and f'id="conv-{shelve.pk}"' in back
    assert fresh(shelve).archived_at is None and keep


def test_an_archived_chats_page_says_so_and_brings_it_back_from_there(as_alice, alice):
    keep, shelve = make_chats(alice, 2)
    page = as_alice.get(reverse("chat:conversation", args=[shelve.pk])).content.decode()
    assert '<p id="archived-notice" class="archived-notice" role="status"></p>' in page  # not archived: empty

    archived = as_alice.post(
        reverse("chat:archive", args=[shelve.pk]), {"archived": "1"}, headers=viewing(shelve)
    ).content.decode()
    assert (
        "Archived: this chat is not in your list of chats." in archived and 'hx-swap-oob="true"' in archived
    )
    assert f'id="conv-{shelve.pk}"' not in archived  # the lists are redrawn without it
    page = as_alice.get(reverse("chat:conversation", args=[shelve.pk])).content.decode()
    assert "Archived: this chat is not in your list of chats." in page and ">Unarchive</button>" in page

    back = as_alice.post(
        reverse("chat:archive", args=[shelve.pk]), {"archived": "0"}, headers=viewing(shelve)
    ).content.decode()
    assert '<p id="archived-notice" class="archived-notice" role="status" hx-swap-oob="true"></p>' in back
    assert f'id="conv-{shelve.pk}"' in back and "is back in your chats" not in back
    assert fresh(shelve).archived_at is None

    elsewhere = as_alice.post(
        reverse("chat:archive", args=[shelve.pk]), {"archived": "1"}, headers=viewing(keep)
    ).content.decode()
    assert "archived-notice" not in elsewhere  # another chat's page has no such line to update


def test_the_archived_page_pages_and_shows_only_the_persons(as_alice, alice, bob, monkeypatch):
    monkeypatch.setattr(sidebar, "PAGE_SIZE", 2)
    for n in range(3):
        make_chat(
            alice, f"Shelf {n}", archived_at=timezone.now(), updated_at=timezone.now() - timedelta(hours=n)
        )
    make_chat(bob, "Bob's shelf", archived_at=timezone.now())
    page = as_alice.get(reverse("chat:archived")).content.decode()
    assert "Shelf 0" in page and "Shelf 1" in page and "Shelf 2" not in page and "Bob" not in page
    cursor = page.split("?after=")[1].split('"')[0]
    more = as_alice.get(reverse("chat:archived"), {"after": cursor}, headers=HTMX).content.decode()
    assert "Shelf 2" in more and "Shelf 1" not in more and "<html" not in more


def test_the_move_dialog_lists_the_persons_folders(as_alice, alice, bob):
    chat = make_chat(alice, "To file")
    Folder.objects.create(owner=alice, name="Work")
    Folder.objects.create(owner=bob, name="Bob's folder")
    html = as_alice.get(reverse("chat:move", args=[chat.pk]), headers=HTMX).content.decode()
    assert "<dialog" in html and "Move “To file”" in html and "Work" in html and "Bob" not in html
    assert "No folder" in html


def test_move_into_a_folder_then_back(as_alice, alice):
    chat = make_chat(alice, "To file")
    folder = Folder.objects.create(owner=alice, name="Work")
    html = as_alice.post(
        reverse("chat:move", args=[chat.pk]), {"folder": str(folder.pk)}, headers=HTMX
    ).content.decode()
    assert fresh(chat).folder_id == folder.pk
    assert (
        html.index(f'id="folder-{folder.pk}"') < html.index("To file") < html.index('id="conversation-items"')
    )
    assert 'id="sidebar-dialog" hx-swap-oob="innerHTML"' in html  # the dialog closes
    as_alice.post(reverse("chat:move", args=[chat.pk]), {"folder": ""}, headers=HTMX)
    assert fresh(chat).folder_id is None


def test_move_into_a_new_folder_or_say_why_not(as_alice, alice):
    chat = make_chat(alice, "To file")
    Folder.objects.create(owner=alice, name="Taken")
    response = as_alice.post(reverse("chat:move", args=[chat.pk]), {"new_folder": "taken"}, headers=HTMX)
    assert response.status_code == 200 and response["HX-Retarget"] == "#sidebar-dialog"
    assert "You already have a folder called “Taken”." in response.content.decode()
    assert fresh(chat).folder_id is None
    as_alice.post(reverse("chat:move", args=[chat.pk]), {"new_folder": "Fresh"}, headers=HTMX)
    assert fresh(chat).folder.name == "Fresh"


# --- Delete and undo --------------------------------------------------------------------------------------
def test_delete_leaves_an_undo_row_and_undo_brings_the_row_back(as_alice, alice):
    chat = make_chat(alice, "Oops")
    html = as_alice.post(reverse("chat:delete", args=[chat.pk]), headers=HTMX).content.decode()
    assert "Deleted “Oops”." in html and ">Undo</button>" in html and 'data-undo-ms="8000"' in html
    assert as_alice.get(reverse("chat:conversation", args=[chat.pk])).status_code == 404
    listed = as_alice.get(reverse("chat:list"), headers=HTMX).content.decode()
    assert "Deleted “Oops”." in listed and f'href="/c/{chat.pk}/"' not in listed  # in its place, as Undo only
    row = as_alice.post(reverse("chat:restore", args=[chat.pk]), headers=HTMX).content.decode()
    assert f'id="conv-{chat.pk}"' in row and "Deleted" not in row and 'class="conv-row"' in row
    assert as_alice.get(reverse("chat:conversation", args=[chat.pk])).status_code == 200


def test_undo_of_an_archived_one_puts_back_its_archived_row(as_alice, alice):
    chat = make_chat(alice, "Shelved", archived_at=timezone.now())
    as_alice.post(reverse("chat:delete", args=[chat.pk]), headers=HTMX)
    row = as_alice.post(reverse("chat:restore", args=[chat.pk]), headers=HTMX).content.decode()
    assert 'class="archived-row"' in row and "Unarchive Shelved" in row


def test_deleting_the_conversation_on_screen_takes_the_page_home_where_undo_waits(as_alice, alice):
    chat = make_chat(alice, "On screen")
    response = as_alice.post(reverse("chat:delete", args=[chat.pk]), headers=viewing(chat))
    assert response["HX-Redirect"] == reverse("chat:home")
    home = as_alice.get(reverse("chat:home")).content.decode()
    assert "Deleted “On screen”." in home and ">Undo</button>" in home


def test_after_the_undo_window_the_next_load_deletes_it_for_good(as_alice, alice, bob):
    long_ago = timezone.now() - organising.PURGE_AFTER - timedelta(seconds=1)
    mine = make_chat(alice, "Expired", deleted_at=long_ago)
    bobs = make_chat(bob, "Bob's expired", deleted_at=long_ago)
    home = as_alice.get(reverse("chat:home")).content.decode()
    assert "Expired" not in home
    assert not Conversation.objects.filter(pk=mine.pk).exists()
    assert Conversation.objects.filter(pk=bobs.pk).exists()  # Bob's goes when Bob comes (or at start-up)
    assert as_alice.post(reverse("chat:restore", args=[mine.pk]), headers=HTMX).status_code == 404


def test_an_undo_row_past_its_time_is_not_drawn(as_alice, alice):
    make_chat(alice, "Just past", deleted_at=timezone.now() - timedelta(seconds=organising.UNDO_SECONDS + 1))
    assert "Just past" not in as_alice.get(reverse("chat:home")).content.decode()


# --- Folders ----------------------------------------------------------------------------------------------
def test_new_folder_field_then_create_and_the_lists_redrawn(as_alice, alice):
    form = as_alice.get(reverse("chat:new_folder"), headers=HTMX).content.decode()
    assert 'id="new-folder"' in form and 'name="name"' in form and "autofocus" in form
    response = as_alice.post(reverse("chat:new_folder"), {"name": " Research "}, headers=HTMX)
    assert response["HX-Retarget"] == "#sidebar-lists" and response["HX-Reswap"] == "innerHTML"
    assert "Research" in response.content.decode() and Folder.objects.get(owner=alice).name == "Research"


def test_a_duplicate_folder_name_gives_the_field_back_with_why(as_alice, alice):
    Folder.objects.create(owner=alice, name="Research")
    response = as_alice.post(reverse("chat:new_folder"), {"name": "research"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "HX-Retarget" not in response
    assert "You already have a folder called “Research”." in html and 'value="research"' in html
    assert Folder.objects.count() == 1


def test_rename_fold_and_delete_a_folder(as_alice, alice):
    folder = Folder.objects.create(owner=alice, name="Old name")
    inside = make_chat(alice, "Inside", folder=folder)
    form = as_alice.get(reverse("chat:rename_folder", args=[folder.pk]), headers=HTMX).content.decode()
    assert 'value="Old name"' in form
    as_alice.post(reverse("chat:rename_folder", args=[folder.pk]), {"name": "New name"}, headers=HTMX)
    assert Folder.objects.get(pk=folder.pk).name == "New name"
    shut = as_alice.post(reverse("chat:toggle_folder", args=[folder.pk]), {"collapsed": "1"}, headers=HTMX)
    assert 'aria-expanded="false"' in shut.content.decode() and "Inside" not in shut.content.decode()
    opened = as_alice.post(reverse("chat:toggle_folder", args=[folder.pk]), {"collapsed": "0"}, headers=HTMX)
    assert 'aria-expanded="true"' in opened.content.decode() and "Inside" in opened.content.decode()
    dialog = as_alice.get(reverse("chat:delete_folder", args=[folder.pk]), headers=HTMX).content.decode()
    assert "Delete the folder “New name”?" in dialog and "they go back to your chats" in dialog
    html = as_alice.post(reverse("chat:delete_folder", args=[folder.pk]), headers=HTMX).content.decode()
    assert not Folder.objects.exists() and fresh(inside).folder_id is None
    assert html.index('id="conversation-items"') < html.index("Inside")  # back in the main list


def test_show_more_in_a_folder(as_alice, alice, monkeypatch):
    monkeypatch.setattr(sidebar, "FOLDER_PAGE_SIZE", 2)
    folder = Folder.objects.create(owner=alice, name="Big")
    for n in range(3):
        make_chat(alice, f"In {n}", folder=folder, updated_at=timezone.now() - timedelta(minutes=n))
    home = as_alice.get(reverse("chat:home")).content.decode()
    assert "In 0" in home and "In 1" in home and "In 2" not in home and "Show more" in home
    cursor = home.split(f"/folders/{folder.pk}/more/?after=")[1].split('"')[0]
    more = as_alice.get(reverse("chat:folder_more", args=[folder.pk]), {"after": cursor}, headers=HTMX)
    assert "In 2" in more.content.decode() and "Show more" not in more.content.decode()


# --- Cost -------------------------------------------------------------------------------------------------
def test_the_sidebar_costs_the_same_queries_however_much_is_in_it(as_alice, alice):
    def queries_for_home():
        with CaptureQueriesContext(connection) as queries:
            assert as_alice.get(reverse("chat:home")).status_code == 200
        return len(queries.captured_queries)

    queries_for_home()  # the first request also records when alice was last seen
    folder = Folder.objects.create(owner=alice, name="F0")
    make_chat(alice, "One", folder=folder)
    make_chat(alice, "Two", pinned_at=timezone.now())
    make_chat(alice, "Gone", deleted_at=timezone.now())
    small = queries_for_home()
    for n in range(1, 6):
        folder = Folder.objects.create(owner=alice, name=f"F{n}")
        for m in range(4):
            make_chat(alice, f"F{n} chat {m}", folder=folder, pinned_at=timezone.now() if m == 0 else None)
    make_chats(alice, 40)
    for n in range(3):
        make_chat(alice, f"Gone {n}", deleted_at=timezone.now())
    assert queries_for_home() == small
