"""What the sidebar lists, in what order, a page at a time (chat/sidebar.py)."""

from datetime import timedelta

import pytest
from django.core.exceptions import BadRequest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat import sidebar
from chat.models import Conversation, Folder
from chat.sidebar import Key, archived_page, chats_page, chats_until, folder_page, folders_with_pages
from tests.chat.chats import make_chat, make_chats, titles

pytestmark = pytest.mark.django_db


def all_pages(fetch):
    """Every row of a list, following its cursors; also how many pages it took."""
    rows, after, pages = [], None, 0
    while True:
        page = fetch(after)
        rows += page.rows
        pages += 1
        if not page.has_more:
            return rows, pages
        after = Key.decode(page.cursor)


def test_keyset_pages_cover_every_row_once_in_order_despite_ties(alice, monkeypatch):
    monkeypatch.setattr(sidebar, "PAGE_SIZE", 4)
    chats = make_chats(alice, 11, ties=3)  # updated_at shared by three at a time: ids break the ties
    rows, pages = all_pages(lambda after: chats_page(alice, after))
    assert pages == 3
    expected = sorted(chats, key=lambda c: (c.updated_at, c.pk), reverse=True)
    assert [r.pk for r in rows] == [c.pk for c in expected]


def test_pinned_come_first_then_newest_first_with_group_labels(alice, monkeypatch):
    monkeypatch.setattr(sidebar, "PAGE_SIZE", 3)
    make_chats(alice, 5)
    old = make_chat(alice, "Old but pinned", updated_at=timezone.now() - timedelta(days=30))
    older = make_chat(alice, "Older, pinned too", updated_at=timezone.now() - timedelta(days=60))
    Conversation.objects.filter(pk__in=[old.pk, older.pk]).update(pinned_at=timezone.now())
    first = chats_page(alice)
    assert titles(first) == ["Old but pinned", "Older, pinned too", "Chat 1"]
    assert [r.group_label for r in first] == ["Pinned", None, "Chats"]
    second = chats_page(alice, Key.decode(first.cursor))
    assert titles(second) == ["Chat 2", "Chat 3", "Chat 4"]
    assert all(r.group_label is None for r in second)  # "Chats" was already above


def test_a_later_page_heads_chats_when_pinned_rows_ended_on_the_page_before(alice, monkeypatch):
    monkeypatch.setattr(sidebar, "PAGE_SIZE", 2)
    chats = make_chats(alice, 4)
    Conversation.objects.filter(pk__in=[chats[2].pk, chats[3].pk]).update(pinned_at=timezone.now())
    first = chats_page(alice)
    assert titles(first) == ["Chat 3", "Chat 4"]
    second = chats_page(alice, Key.decode(first.cursor))
    assert [r.group_label for r in second] == ["Chats", None]


def test_the_main_list_leaves_out_folders_archived_deleted_empty_and_other_people(alice, bob):
    make_chat(alice, "Listed")
    folder = Folder.objects.create(owner=alice, name="Work")
    make_chat(alice, "In a folder", folder=folder)
    make_chat(alice, "Archived", archived_at=timezone.now())
    make_chat(alice, "Deleted long ago", deleted_at=timezone.now() - timedelta(minutes=5))
    Conversation.objects.create(owner=alice, title="Untouched new chat")
    make_chat(bob, "Bob's")
    assert titles(chats_page(alice)) == ["Listed"]
    assert titles(folder_page(alice, folder)) == ["In a folder"]
    assert titles(archived_page(alice)) == ["Archived"]


def test_a_deleted_conversation_in_its_undo_window_shows_in_its_place(alice):
    chats = make_chats(alice, 3)
    Conversation.objects.filter(pk=chats[1].pk).update(deleted_at=timezone.now())
    deleted = sidebar.deleted_rows(alice, purge=False)
    rows = chats_page(alice, deleted=deleted).rows
    assert titles(rows) == ["Chat 1", "Chat 2", "Chat 3"]
    assert rows[1].deleted_at is not None and 0 < rows[1].undo_ms <= 8000


def test_a_deleted_row_goes_on_the_page_whose_range_holds_it_only(alice, monkeypatch):
    monkeypatch.setattr(sidebar, "PAGE_SIZE", 2)
    chats = make_chats(alice, 5)
    Conversation.objects.filter(pk=chats[3].pk).update(deleted_at=timezone.now())  # "Chat 4"
    deleted = sidebar.deleted_rows(alice, purge=False)
    first = chats_page(alice, deleted=deleted)
    second = chats_page(alice, Key.decode(first.cursor), deleted=deleted)
    assert titles(first) == ["Chat 1", "Chat 2"]
    assert titles(second) == ["Chat 3", "Chat 4", "Chat 5"]


def test_redrawn_lists_go_as_deep_as_the_page_had_loaded(alice, monkeypatch):
    monkeypatch.setattr(sidebar, "PAGE_SIZE", 3)
    chats = make_chats(alice, 10)
    page = chats_until(alice, Key.of(chats[6]))
    assert titles(page) == [f"Chat {n}" for n in range(1, 8)]
    assert page.has_more and Key.decode(page.cursor) == Key.of(chats[6])
    # Not loaded past the first page: a first page.
    assert titles(chats_until(alice, Key.of(chats[1]))) == ["Chat 1", "Chat 2", "Chat 3"]
    # Down to the last row: nothing more.
    assert not chats_until(alice, Key.of(chats[9])).has_more


def test_redrawn_lists_stop_at_max_depth(alice, monkeypatch):
    monkeypatch.setattr(sidebar, "PAGE_SIZE", 2)
    monkeypatch.setattr(sidebar, "MAX_DEPTH", 4)
    chats = make_chats(alice, 8)
    page = chats_until(alice, Key.of(chats[7]))
    assert titles(page) == ["Chat 1", "Chat 2", "Chat 3", "Chat 4"] and page.has_more


def test_open_folders_come_with_their_first_page_in_two_queries(alice, bob, monkeypatch):
    monkeypatch.setattr(sidebar, "FOLDER_PAGE_SIZE", 2)
    work = Folder.objects.create(owner=alice, name="work")
    home = Folder.objects.create(owner=alice, name="Home")
    shut = Folder.objects.create(owner=alice, name="Archive box", collapsed=True)
    Folder.objects.create(owner=bob, name="Bob's")
    for n in range(3):
        make_chat(alice, f"Work {n}", folder=work, updated_at=timezone.now() - timedelta(minutes=n))
    make_chat(alice, "Home 0", folder=home)
    make_chat(alice, "Shut 0", folder=shut)
    pinned = make_chat(alice, "Work pinned", folder=work, updated_at=timezone.now() - timedelta(days=9))
    Conversation.objects.filter(pk=pinned.pk).update(pinned_at=timezone.now())
    with CaptureQueriesContext(connection) as queries:
        folders = folders_with_pages(alice)
    assert len(queries.captured_queries) == 2
    assert [f.name for f in folders] == ["Archive box", "Home", "work"]  # by name, whatever the case
    assert not hasattr(folders[0], "page")
    assert titles(folders[1].page) == ["Home 0"] and not folders[1].page.has_more
    assert titles(folders[2].page) == ["Work pinned", "Work 0"] and folders[2].page.has_more
    rest = folder_page(alice, work, Key.decode(folders[2].page.cursor))
    assert titles(rest) == ["Work 1", "Work 2"] and not rest.has_more


def test_archived_pages_newest_first(alice, monkeypatch):
    monkeypatch.setattr(sidebar, "PAGE_SIZE", 2)
    for n in range(5):
        make_chat(
            alice, f"Gone {n}", archived_at=timezone.now(), updated_at=timezone.now() - timedelta(hours=n)
        )
    rows, pages = all_pages(lambda after: archived_page(alice, after))
    assert titles(rows) == [f"Gone {n}" for n in range(5)] and pages == 3


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "1.2",
        "2.123.4",
        "1.abc.4",
        "0.1.0",
        "0.1.-5",
        "1.999999999999999999999.1",
        "0.1.99999999999999999999",
    ],
)
def test_a_mangled_cursor_is_a_bad_request(cursor):
    with pytest.raises(BadRequest):
        Key.decode(cursor)


def test_a_cursor_round_trips_to_the_microsecond():
    key = Key(True, timezone.now().replace(microsecond=123456), 42)
    assert Key.decode(key.encode()) == key
    assert Key.decode("") is None and Key.decode(None) is None


@pytest.mark.server_pg
def test_the_list_query_reads_the_sidebar_index(alice):
    """The order and filter match `conversation_sidebar`, so PostgreSQL can read a page straight from it
    (forced here: on a handful of rows it would rightly prefer a scan)."""
    make_chats(alice, 3)
    deep = Key.of(Conversation.objects.get(title="Chat 2"))
    query = sidebar._listed(alice).filter(folder__isnull=True).order_by(*sidebar._ORDER)
    for qs in (query[:31], query.filter(sidebar._after(deep))[:31]):
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            # With a few rows, another index plus a sort can cost the same; only an index giving the order
            # can avoid the sort, and that is what this asks.
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "conversation_sidebar" in plan and "Sort" not in plan, plan
