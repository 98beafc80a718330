"""Whatever is typed gets an answer: hostile, empty, huge, stop words only, or tsquery syntax."""

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat import search, search_typos
from chat.search_query import MAX_QUERY_CHARS, TsQuery, lexeme_literal, parse, to_tsquery
from tests.chat.searching import chat, found

pytestmark = [pytest.mark.django_db, pytest.mark.server_pg]


@pytest.fixture(autouse=True)
def exact_search_only(monkeypatch):
    """What the full-text search itself finds: no typo fallback (tests/chat/test_search_typos.py has that)."""
    monkeypatch.setattr(search_typos, "available", lambda: False)


@pytest.mark.parametrize(
    "text",
    [
        "%",
        "_",
        "\\",
        "'",
        '"',
        "<",
        ">",
        "% _ \\ ' \" < >",
        "'a':*",
        "a & b | !c <-> d",
        "(((",
        '"""',
        "- - -",
        "OR OR OR",
        "or",
        "-",
        "!",
        ":*",
        "\x00nul",
        "\ud800 lone surrogate",
        "\ue000\ue001 private use",
        "x" * 300,
        "word " * 50,
        "a\u0301\u0301\u0301",
        "🦄 unicorn 🦄",
        "C:\\path\\to\\file",
        "SELECT * FROM chat_message; --",
    ],
)
def test_hostile_queries_get_an_answer(alice, text):
    chat(alice, "", "a unicorn in the file path C:\\path\\to\\file")
    results = search.search(alice, text)
    assert isinstance(results.hits, list)
    assert results.problem != "Search could not handle that query."


def test_a_query_too_long_is_refused_in_words(alice):
    results = search.search(alice, "a" * 10_000)
    assert results.hits == []
    assert results.problem == f"Search for at most {MAX_QUERY_CHARS} characters."


def test_an_empty_query_finds_nothing_and_says_nothing(alice):
    chat(alice, "", "anything")
    for text in ("", "   ", '""', "-"):
        results = search.search(alice, text)
        assert results.hits == [] and results.problem == ""


def test_stop_words_alone_are_explained(alice):
    chat(alice, "", "the and of")
    results = search.search(alice, "the and of ")
    assert results.hits == []
    assert "common words" in results.problem


def test_only_exclusions_are_explained(alice):
    chat(alice, "", "rust")
    results = search.search(alice, "-java ")
    assert results.hits == []
    assert "excluding" in results.problem


def test_quotes_and_backslashes_in_text_are_found(alice):
    conversation = chat(alice, "", "it's O'Reilly's book about back\\slashes")
    assert found(alice, "O'Reilly's") == [conversation.pk]
    assert found(alice, "eilly") == []  # a prefix matches words from their start only
    assert found(alice, "o'reil") == [conversation.pk]


def test_the_word_being_typed_is_the_last_one():
    assert parse("rust own") == parse("rust own")
    assert parse("rust own").prefix == "own"
    assert parse("rust own ").prefix == ""
    assert parse('"rust own"').prefix == ""
    assert parse('"rust own').prefix == "own"
    assert parse("rust -own").prefix == ""
    assert parse("rust OR").prefix == ""
    assert parse("a\x00b\u200bc").text == "abc"


@pytest.mark.parametrize("lexeme", ["plain", "it's", "back\\slash", "''", "\\'", "a b", "a:*", "42:x"])
def test_lexeme_literals_read_back_as_the_same_lexeme(lexeme):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT unnest(tsvector_to_array(strip(%s::tsquery::text::tsvector)))", [lexeme_literal(lexeme)]
        )
        # tsquery text and tsvector text quote alike: one lexeme, unchanged.
        assert cursor.fetchall() == [(lexeme,)]


def test_for_owner_prefixes_every_lexeme():
    query = TsQuery("'cat' & ( 'it''s':* | !'dog' ) <-> 'a b'", False, whole="'cat' & 'it''s'")
    assert query.for_owner(7) == "'7:cat' & ( '7:it''s':* | !'7:dog' ) <-> '7:a b'"
    assert query.for_owner(7, query.whole) == "'7:cat' & '7:it''s'"


@pytest.mark.parametrize(
    ("typed", "text", "whole"),
    [
        ("zebra1", "'zebra1':*", "'zebra1'"),
        ("running", "'running':* | 'run':*", "'run'"),  # whole: the word as a finished word would find it
        ('cat "blue wha', "'cat' & 'blue' <-> 'wha':*", "'cat' & 'blue' <-> 'wha'"),
        ("zebra1 ", "'zebra1'", ""),  # nothing being typed: nothing to rank twice
        ("-zebra1 cat ", "!'zebra1' & 'cat'", ""),
    ],
)
def test_the_word_being_typed_comes_whole_too_for_ranking(db, typed, text, whole):
    with connection.cursor() as cursor:
        tsquery = to_tsquery(cursor, parse(typed), 4000)
    assert (tsquery.text, tsquery.whole) == (text, whole)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_any_text_makes_a_valid_tsquery(alice, text):
    parsed = parse(text)
    with connection.cursor() as cursor:
        tsquery = to_tsquery(cursor, parsed, 4000)
        cursor.execute(
            "SELECT %s::tsquery, %s::tsquery, %s::tsquery",
            [tsquery.text, tsquery.for_owner(alice.pk), tsquery.for_owner(alice.pk, tsquery.whole or "x")],
        )


def test_a_search_that_takes_too_long_says_so(alice, monkeypatch):
    """The statement timeout (set for the search's own transaction) ends a runaway search, in words."""
    chat(alice, "", "anything at all")

    def slow(cursor, *args):
        cursor.execute("SELECT pg_sleep(1)")

    monkeypatch.setattr(search, "TIMEOUT_MS", 50)
    monkeypatch.setattr(search, "_run", slow)
    results = search.search(alice, "anything")
    assert results.hits == []
    assert results.problem == "That search took too long: try more specific words."
    monkeypatch.undo()
    assert found(alice, "anything")  # the connection is fine afterwards
