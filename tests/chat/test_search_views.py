"""The search box's requests: the partial as you type, the page without scripts, filters, garbage."""

import pytest
from django.urls import reverse

from tests.chat.searching import chat

pytestmark = [pytest.mark.django_db, pytest.mark.server_pg]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client_alice(client, alice):
    client.force_login(alice)
    return client


def get(client, **params):
    return client.get(reverse("chat:search"), params, **HTMX)


def test_results_are_a_partial_with_highlighted_passages_that_open_the_message(client_alice, alice):
    conversation = chat(alice, "Trip", "Book the ferry to Naxos.", "The Naxos ferry leaves at nine.")
    response = get(client_alice, q="naxos")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "<mark>Naxos</mark>" in html
    first, second = conversation.messages.order_by("id")
    assert f'href="/c/{conversation.pk}/?at={second.pk}&amp;hl=Naxos#msg-{second.pk}"' in html
    assert f'href="/c/{conversation.pk}/?at={first.pk}&amp;hl=Naxos#msg-{first.pk}"' in html
    assert f'href="/c/{conversation.pk}/"' in html  # the title opens the conversation


def test_nothing_found_says_so(client_alice, alice):
    chat(alice, "", "hello")
    html = get(client_alice, q="platypus").content.decode()
    assert "No conversation matches “platypus”." in html


def test_only_archived_matches_offer_to_include_them(client_alice, alice):
    chat(alice, "Incident review", "the incident of May", archived=True)
    html = get(client_alice, q="incident", model="").content.decode()
    assert "No conversation matches “incident”." in html
    assert "1 archived chat matches." in html
    assert '<a class="include-archived" href="/search/?q=incident&amp;model=&amp;archived=on">' in html
    chat(alice, "", "another incident", archived=True)
    assert "2 archived chats match." in get(client_alice, q="incident").content.decode()
    html = get(client_alice, q="incident", archived="on").content.decode()
    assert html.count('class="search-hit"') == 2 and "include-archived" not in html


def test_filters_alone_list_conversations(client_alice, alice):
    chat(alice, "Llama chat", "hello", model="llama-3.3-70b")
    chat(alice, "Other chat", "hello", model="gpt-4o")
    html = get(client_alice, q="", model="llama-3.3-70b").content.decode()
    assert html.count('class="search-hit"') == 1 and "Llama chat" in html
    html = get(client_alice, q="", model="no-such-model").content.decode()
    assert "No conversation matches these filters." in html
    assert get(client_alice, q="", title_only="on", archived="on").content.decode().strip() == ""


def test_an_empty_box_gives_an_empty_partial(client_alice, alice):
    chat(alice, "", "hello")
    response = get(client_alice, q="")
    assert response.status_code == 200
    assert response.content.decode().strip() == ""


def test_without_htmx_the_whole_page_shows_the_results(client_alice, alice):
    chat(alice, "Trip", "Book the ferry to Naxos.")
    response = client_alice.get(reverse("chat:search"), {"q": "naxos"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and "<mark>Naxos</mark>" in html
    assert 'value="naxos"' in html
    assert "Titles only" in html  # the filters are there without a script to load them


def test_model_and_user_text_never_become_html(client_alice, alice):
    chat(
        alice,
        "<b>bold</b> title about otters",
        "<script>alert('otters')</script> & <mark>fake</mark> otters",
        '"><img src=x onerror=alert(1)> otters',
    )
    html = get(client_alice, q="otters").content.decode()
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#x27;" in html
    assert "&lt;mark&gt;fake&lt;/mark&gt;" in html
    assert html.count("<mark>") == html.count("</mark>") == 4  # the title's and each passage's "otters"


def test_the_query_is_echoed_as_text(client_alice, alice):
    html = get(client_alice, q="<script>x</script>").content.decode()
    assert "<script>x" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


@pytest.mark.parametrize(
    "params",
    [
        {"q": "a" * 10_000},
        {"q": "x", "date_from": "yesterday"},
        {"q": "x", "date_to": "2026-02-31"},
        {"q": "x", "folder": "abc"},
        {"q": "x", "folder": "99999999999999999999999"},
        {"q": "x", "page": "-1"},
        {"q": "x", "page": "1e9"},
        {"q": "x", "page": "99999999999999999999"},
        {"q": "x", "title_only": "maybe", "archived": "on"},
        {"q": "x", "model": "m" * 500},
        {"q": "\x00"},
    ],
)
def test_garbage_never_500s(client_alice, alice, params):
    chat(alice, "", "x marks the spot")
    response = get(client_alice, **params)
    assert response.status_code == 200


def test_bad_filters_are_explained(client_alice, alice):
    html = get(client_alice, q="x", date_from="2026-05-01", date_to="2026-04-01").content.decode()
    assert "The end date is before the start date." in html
    html = get(client_alice, q="x", date_from="soon").content.decode()
    assert "Enter a valid date." in html


def test_someone_elses_folder_is_not_a_choice(client_alice, alice, bob):
    from chat.models import Folder

    folder = Folder.objects.create(owner=bob, name="Secrets")
    chat(bob, "", "inside the secret folder", folder=folder)
    html = get(client_alice, q="secret", folder=folder.pk).content.decode()
    assert "Select a valid choice" in html
    assert "secret folder" not in html


def test_more_results_continue_the_list(client_alice, alice):
    for i in range(12):
        chat(alice, f"Heron {i}", "a heron")
    first = get(client_alice, q="heron").content.decode()
    assert "More results" in first
    more = get(client_alice, q="heron", page="2").content.decode()
    assert more.count('class="search-hit"') == 2
    assert "More results" not in more
    assert "search-hits" not in more  # list items only, appended to the list already shown


def test_filters_offer_your_models_and_folders_only(client_alice, alice, bob):
    from chat.models import Folder

    Folder.objects.create(owner=alice, name="Mine")
    Folder.objects.create(owner=bob, name="Bobs")
    chat(alice, "", "x", model="llama-3.3-70b")
    chat(bob, "", "x", model="bobs-private-model")
    html = client_alice.get(reverse("chat:search_filters"), **HTMX).content.decode()
    assert "llama-3.3-70b" in html and "Mine" in html
    assert "bobs-private-model" not in html and "Bobs" not in html


def test_search_needs_signing_in(client):
    response = client.get(reverse("chat:search"), {"q": "x"})
    assert response.status_code == 302


def test_search_is_get_only(client_alice):
    assert client_alice.post(reverse("chat:search"), {"q": "x"}).status_code == 405


def test_the_sidebar_has_the_search_box(client_alice):
    html = client_alice.get(reverse("chat:home")).content.decode()
    assert 'role="search"' in html
    assert '<label for="search-q" class="visually-hidden">Search</label>' in html


def test_too_many_matches_are_explained(client_alice, alice, monkeypatch):
    from chat import search

    monkeypatch.setattr(search, "CANDIDATES", 2)
    for _ in range(3):
        chat(alice, "", "pelican")
    html = get(client_alice, q="pelican").content.decode()
    assert "these are the best of the most recent" in html
