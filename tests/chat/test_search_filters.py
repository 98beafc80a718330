"""Search filters: titles only, model, folder, archived, dates."""

import datetime as dt

import pytest
from django.utils import timezone

from chat import search_typos
from chat.models import Folder
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
