"""Search filters: titles only, model, folder, archived, dates."""

import datetime as dt

import pytest
from django.utils import timezone

from chat import search, search_typos
from chat.models import Folder, Message
from tests.chat.searching import chat, found

pytestmark = [pytest.mark.django_db, pytest.mark.server_pg]


@pytest.fixture(autouse=True)
def exact_search_only(monkeypatch):
    """What the full-text search itself finds: no typo fallback (tests/chat/test_search_typos.py has that)."""
    monkeypatch.setattr(search_typos, "available", lambda: False)


def test_titles_only(alice):
    titled = chat(alice, "Gnocchi recipe", "potatoes and flour")
    mentioned = chat(alice, "Dinner", "we had gnocchi")
    assert set(found(alice, "gnocchi")) == {titled.pk, mentioned.pk}
    assert found(alice, "gnocchi", title_only=True) == [titled.pk]


def test_by_model(alice):
    llama = chat(alice, "", "tell me about lemurs", model="llama-3.3-70b")
    chat(alice, "", "lemurs again", model="gpt-4o")
    assert found(alice, "lemurs", model="llama-3.3-70b") == [llama.pk]
    assert found(alice, "lemurs", model="no-such-model") == []


def test_by_folder(alice):
    work = Folder.objects.create(owner=alice, name="Work")
    filed = chat(alice, "", "quarterly narwhal report", folder=work)
    chat(alice, "", "narwhal holiday")
    assert found(alice, "narwhal", folder=work) == [filed.pk]


def test_archived_only_when_asked(alice):
    archived = chat(alice, "", "the old ibex plan", archived=True)
    current = chat(alice, "", "the new ibex plan")
    assert found(alice, "ibex") == [current.pk]
    assert set(found(alice, "ibex", include_archived=True)) == {archived.pk, current.pk}


def test_by_date_range_inclusive_of_both_days(alice):
    old = chat(alice, "", "tapir notes", days_ago=40)
    recent = chat(alice, "", "tapir notes", days_ago=2)
    today = timezone.localdate()
    assert found(alice, "tapir", date_from=today - dt.timedelta(days=10)) == [recent.pk]
    assert found(alice, "tapir", date_to=today - dt.timedelta(days=30)) == [old.pk]
    exactly = today - dt.timedelta(days=2)
    assert found(alice, "tapir", date_from=exactly, date_to=exactly) == [recent.pk]


def test_filters_combine(alice):
    work = Folder.objects.create(owner=alice, name="Work")
    wanted = chat(alice, "Okapi", "okapi", folder=work, model="m1", archived=True)
    chat(alice, "Okapi", "okapi", folder=work, model="m2", archived=True)
    chat(alice, "Okapi", "okapi", model="m1", archived=True)
    assert found(alice, "okapi", folder=work, model="m1", include_archived=True, title_only=True) == [
        wanted.pk
    ]


def test_filters_alone_list_the_conversations_they_select_newest_first(alice):
    work = Folder.objects.create(owner=alice, name="Work")
    older = chat(alice, "Older llama", "hello", model="llama-3.3-70b", days_ago=3)
    newer = chat(alice, "Newer llama", "hello", model="llama-3.3-70b", days_ago=1)
    filed = chat(alice, "Filed", "hello", model="gpt-4o", folder=work)
    chat(alice, "Archived llama", "hello", model="llama-3.3-70b", archived=True)
    for text in ("", "  ", '"', "- -"):  # no words
        results = search.search(alice, text, search.Filters(model="llama-3.3-70b"))
        assert [hit.conversation.pk for hit in results.hits] == [newer.pk, older.pk]
        assert results.listing and results.hits[0].passages == [] and results.hits[0].title == ()
    assert found(alice, "", folder=work) == [filed.pk]
    assert found(alice, "", model="llama-3.3-70b", include_archived=True)[1:] == [newer.pk, older.pk]
    today = timezone.localdate()
    assert found(alice, "", date_from=today - dt.timedelta(days=2), date_to=today - dt.timedelta(days=1)) == [
        newer.pk
    ]


def test_a_listing_by_dates_takes_the_conversations_written_in_between(alice):
    """A conversation with a message in the range is listed, even if it went on after it."""
    went_on = chat(alice, "", "started long ago", days_ago=40)
    Message.objects.create(conversation=went_on, role=Message.Role.USER, content="and went on today")
    chat(alice, "", "only recent", days_ago=1)
    today = timezone.localdate()
    assert found(alice, "", date_to=today - dt.timedelta(days=30)) == [went_on.pk]


def test_filters_that_select_nothing_by_themselves_list_nothing(alice):
    chat(alice, "", "hello")
    for filters in (search.Filters(), search.Filters(title_only=True), search.Filters(include_archived=True)):
        results = search.search(alice, "", filters)
        assert results.hits == [] and not results.listing


def test_a_listing_pages_like_a_search(alice):
    made = [chat(alice, f"Chat {i}", "hello", model="m1", days_ago=20 - i) for i in range(12)]
    first = search.search(alice, "", search.Filters(model="m1"))
    assert first.has_more and len(first.hits) == search.PER_PAGE
    second = search.search(alice, "", search.Filters(model="m1"), page=2)
    assert [hit.conversation.pk for hit in second.hits] == [made[1].pk, made[0].pk] and not second.has_more


def test_a_search_that_only_archived_chats_match_says_how_many(alice):
    chat(alice, "Incident review", "the incident of May", archived=True)
    chat(alice, "", "another incident, long ago", archived=True)
    chat(alice, "", "something else")
    results = search.search(alice, "incident")
    assert results.hits == []
    assert (results.archived, results.archived_capped) == (2, False)
    assert search.search(alice, "incid").archived == 2  # as typed
    assert search.search(alice, "review", search.Filters(title_only=True)).archived == 1
    assert search.search(alice, "incident", search.Filters(model="no-such-model")).archived == 0
    with_them = search.search(alice, "incident", search.Filters(include_archived=True))
    assert len(with_them.hits) == 2 and with_them.archived == 0
    assert search.search(alice, "platypus").archived == 0


def test_archived_chats_are_not_counted_when_there_are_results(alice):
    chat(alice, "", "the incident of May", archived=True)
    chat(alice, "", "a current incident")
    assert search.search(alice, "incident").archived == 0


def test_the_archived_count_stops_at_the_candidates(alice, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 2)
    for _ in range(3):
        chat(alice, "", "pelican", "pelican again", archived=True)
    results = search.search(alice, "pelican")
    assert results.archived_capped and 1 <= results.archived <= 2


def test_the_archived_count_is_yours_only(alice, bob):
    chat(bob, "", "the incident of May", archived=True)
    assert search.search(alice, "incident").archived == 0


def test_a_listing_that_finds_nothing_counts_the_archived_ones_too(alice):
    chat(alice, "", "hello", model="m1", archived=True)
    results = search.search(alice, "", search.Filters(model="m1"))
    assert results.hits == [] and results.archived == 1
