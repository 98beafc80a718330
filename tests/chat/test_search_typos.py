"""Typo fallback: only on servers with pg_trgm (the CI and production servers); skipped elsewhere."""

import pytest
from django.db import connection

from chat import search, search_typos
from chat.models import SearchTerm
from tests.chat.searching import chat, found

pytestmark = [pytest.mark.django_db, pytest.mark.server_pg]


@pytest.fixture
def trigrams():
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('searchterm_trigrams') IS NOT NULL")
        if not cursor.fetchone()[0]:
            pytest.skip(
                "the server has no pg_trgm: typo correction is off (it runs against DATABASE_URL in CI)"
            )
    search_typos._available.clear()
    yield
    search_typos._available.clear()


def test_a_misspelt_word_is_corrected_from_your_own_words(alice, trigrams):
    conversation = chat(alice, "", "The kubernetes cluster is down.")
    results = search.search(alice, "kubernetse cluster")
    assert [hit.conversation.pk for hit in results.hits] == [conversation.pk]
    assert results.corrected == "kubernetes cluster"


def test_a_misspelling_with_the_words_stem_is_found_without_a_correction(alice, trigrams):
    """`kubernets` and `kubernetes` have one English stem (`kubernet`): the search itself finds it, so the
    fallback never runs and there is no "Showing results for …" to show."""
    conversation = chat(alice, "Kubernetes upgrade", "The kubernetes cluster is down.")
    for typed in ("kubernets", "kubernets "):
        results = search.search(alice, typed)
        assert [hit.conversation.pk for hit in results.hits] == [conversation.pk]
        assert results.corrected == ""


def test_the_correction_keeps_the_rest_of_the_query(alice, trigrams):
    wanted = chat(alice, "", "Postgres replication lag")
    chat(alice, "", "Postgres replication lag and mysql")
    results = search.search(alice, 'replicaton -mysql "postgres"')
    assert [hit.conversation.pk for hit in results.hits] == [wanted.pk]
    assert results.corrected == 'replication -mysql "postgres"'


def test_words_you_have_are_left_alone(alice, trigrams):
    chat(alice, "", "alpha beta")
    chat(alice, "", "alpha gamma")
    assert search.search(alice, "alpha beta gamma").corrected == ""


def test_the_vocabulary_follows_your_messages(alice, bob, trigrams):
    chat(alice, "", "Serendipity happens")
    chat(bob, "", "Zanzibar spices")
    alices = set(SearchTerm.objects.filter(owner=alice).values_list("term", flat=True))
    assert {"serendipity", "happens"} <= alices
    assert "zanzibar" not in alices


def test_without_pg_trgm_nothing_is_corrected(alice, monkeypatch):
    monkeypatch.setattr(search_typos, "available", lambda: False)
    chat(alice, "", "The kubernetes cluster is down.")
    results = search.search(alice, "kubernetse")
    assert results.hits == [] and results.corrected == ""
    assert found(alice, "kubernetes") != []


def test_availability_is_detected_from_the_database():
    search_typos._available.clear()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')"
            " AND to_regclass('searchterm_trigrams') IS NOT NULL"
        )
        expected = cursor.fetchone()[0]
    assert search_typos.available() == expected


def test_more_results_of_a_corrected_search_continue_it(client, alice, trigrams):
    from django.urls import reverse

    for i in range(12):
        chat(alice, f"Note {i}", "the kubernetes cluster")
    client.force_login(alice)
    html = client.get(reverse("chat:search"), {"q": "kubernetse"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Showing results for <strong>kubernetes</strong>" in html
    assert 'href="/search/?q=kubernetes&amp;page=2"' in html
