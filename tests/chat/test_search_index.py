"""What migration chat 0004 put in the database: folding, the generated vectors, the owner copied to messages."""

import unicodedata

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat.models import Conversation, Message
from tests.chat.searching import chat, found

pytestmark = [pytest.mark.django_db, pytest.mark.server_pg]


def sql(query, *params):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()[0]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=60))
def test_folding_keeps_one_character_for_each(db, text):
    """The highlighted folded text lines up with the original only because of this."""
    nfc = sql("SELECT normalize(%s, NFC)", text)
    assert len(sql("SELECT novaweb_fold(%s)", text)) == len(nfc)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Crème brûlée à Zürich", "Creme brulee a Zurich"),
        ("ŁÓDŹ, Kraków", "LODZ, Krakow"),
        ("Tiếng Việt", "Tieng Viet"),
        ("ἀρχή", "αρχη"),
        ("e\u0301", "e"),  # decomposed input is composed first
        ("snake_case_name os.path.join x86_64 3.14", "snake-case-name os-path-join x86_64 3.14"),
        ("<div>", " div>"),
        ("Straße", "Straße"),  # no one-character base letter: left alone
    ],
)
def test_folding(text, folded):
    assert sql("SELECT novaweb_fold(%s)", text) == folded


def test_every_letter_the_fold_table_lists_folds_to_its_base(db):
    """A cross-check of the table in migration 0004 against Python's Unicode data (Latin-1 and Extended-A)."""
    letters = [chr(c) for c in range(0xC0, 0x180) if unicodedata.category(chr(c)).startswith("L")]
    text = "".join(letters)
    folded = sql("SELECT novaweb_fold(%s)", text)
    for original, base in zip(text, folded, strict=True):
        decomposed = unicodedata.normalize("NFD", original)
        if len(decomposed) > 1 and all(unicodedata.combining(c) for c in decomposed[1:]):
            assert base == decomposed[0], original


def test_vectors_hold_the_owners_words_stems_and_words_as_written(alice):
    conversation = chat(alice, "Running notes", "She was running")
    vector = Message.objects.filter(conversation=conversation).values_list("search_vector", flat=True).get()
    assert vector == f"'{alice.pk}:run':3 '{alice.pk}:running':6A"
    title = Conversation.objects.values_list("search_vector", flat=True).get(pk=conversation.pk)
    assert f"'{alice.pk}:note':2" in title


def test_a_conversation_that_changes_hands_takes_its_messages_along(alice, bob):
    conversation = chat(alice, "", "the lighthouse keeper")
    Conversation.objects.filter(pk=conversation.pk).update(owner=bob)
    assert set(conversation.messages.values_list("owner_id", flat=True)) == {bob.pk}
    assert found(bob, "lighthouse") == [conversation.pk]
    assert found(alice, "lighthouse") == []


def test_the_search_vector_is_not_loaded_with_messages(alice):
    conversation = chat(alice, "", "hello")
    message = conversation.messages.get()
    assert "search_vector" in message.get_deferred_fields()
    assert "search_vector" in Message.objects.get(pk=message.pk).get_deferred_fields()
