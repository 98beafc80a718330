"""A search only ever narrows what its user may see: never another person's words, counts or corrections."""

import pytest

from chat import search, search_typos
from tests.chat.searching import chat, found, passage_text

pytestmark = [pytest.mark.django_db, pytest.mark.server_pg]


@pytest.fixture
def bobs_secret(bob):
    return chat(bob, "Zephyrine acquisition", "The zephyrine acquisition closes Friday.", "Zephyrine it is.")


def test_another_persons_words_find_nothing(alice, bobs_secret):
    chat(alice, "Lunch", "Where shall we eat?")
    results = search.search(alice, "zephyrine")
    assert results.hits == [] and not results.corrected and not results.capped
    assert found(alice, "zephy") == []  # as a prefix either
    assert found(alice, "acquisition", title_only=True) == []


def test_shared_words_find_only_your_own_conversations_and_counts(alice, bob, bobs_secret):
    mine = chat(alice, "Our acquisition", "The acquisition of the bakery.")
    [hit] = search.search(alice, "acquisition").hits
    assert hit.conversation.pk == mine.pk
    assert hit.matches == 1  # bob's two matching messages are not counted
    texts = [passage_text(p) for _, _, p in hit.passages]
    assert texts == ["The acquisition of the bakery."]
    assert "Zephyrine" not in "".join(t for t, _ in hit.title)


def test_admins_search_only_their_own_conversations_too(make_user, bobs_secret):
    admin = make_user("an-admin")
    admin.role = admin.Role.ADMIN
    admin.save()
    assert found(admin, "zephyrine") == []


def test_pages_past_the_end_show_nothing_of_anyone(alice, bobs_secret):
    mine = chat(alice, "", "one zephyrine of mine")
    assert found(alice, "zephyrine") == [mine.pk]
    assert search.search(alice, "zephyrine", page=2).hits == []
    assert search.search(alice, "zephyrine", page=50).hits == []


def test_deleted_conversations_are_not_searched(alice):
    from django.utils import timezone

    from chat.models import Conversation

    gone = chat(alice, "Old plans", "the narwhal project")
    Conversation.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    assert found(alice, "narwhal") == []
    assert found(alice, "narwhal", include_archived=True) == []


def test_a_typo_is_never_corrected_to_someone_elses_word(alice, bobs_secret):
    if not _vocabulary_exists():
        pytest.skip("the server has no pg_trgm: typo correction is off (it runs against DATABASE_URL in CI)")
    search_typos._available.clear()
    chat(alice, "", "nothing like it here")
    results = search.search(alice, "zephyrin")
    assert results.hits == [] and results.corrected == ""


def test_the_index_keys_every_message_to_its_owner(alice, bob, bobs_secret):
    """The structural half of the invariant: index entries carry the owner, so a search cannot reach
    another person's words even before the conversation filter."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT split_part(lexeme, ':', 1) FROM chat_message m, unnest(m.search_vector)"
            " WHERE m.conversation_id = %s",
            [bobs_secret.pk],
        )
        assert {row[0] for row in cursor.fetchall()} == {str(bob.pk)}


def _vocabulary_exists() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('searchterm_trigrams') IS NOT NULL")
        return cursor.fetchone()[0]
