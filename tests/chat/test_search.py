"""Search: what matches, in which order, with which words highlighted (chat/search.py)."""

import pytest
from django.db import connection

from chat import search, search_typos
from chat.models import Message
from tests.chat.searching import chat, found, marked, passage_text

pytestmark = [pytest.mark.django_db, pytest.mark.server_pg]


@pytest.fixture(autouse=True)
def exact_search_only(monkeypatch):
    """What the full-text search itself finds: no typo fallback (tests/chat/test_search_typos.py has that)."""
    monkeypatch.setattr(search_typos, "available", lambda: False)


def test_a_word_finds_the_conversations_that_use_it_and_no_other(alice):
    whale = chat(alice, "Sea life", "Tell me about the blue whale.", "The blue whale is the largest animal.")
    chat(alice, "Cooking", "How long do I boil an egg?", "About nine minutes.")
    assert found(alice, "whale") == [whale.pk]
    assert found(alice, "giraffe") == []


def test_the_best_conversation_comes_first(alice):
    once = chat(alice, "Holiday plans", "We could go hiking, or visit the kubernetes meetup, or stay home.")
    about = chat(
        alice,
        "Kubernetes upgrade",
        "Our kubernetes cluster needs an upgrade.",
        "Upgrade the kubernetes control plane first, then the kubernetes nodes.",
    )
    assert found(alice, "kubernetes") == [about.pk, once.pk]


def test_words_are_stemmed_in_english(alice):
    conversation = chat(alice, "", "She was running the migrations all night.")
    assert found(alice, "run") == [conversation.pk]
    assert found(alice, "migration") == [conversation.pk]


def test_an_exact_phrase_needs_the_words_side_by_side(alice):
    together = chat(alice, "", "The blue whale surfaced.")
    apart = chat(alice, "", "The whale was not blue at all.")
    assert found(alice, '"blue whale"') == [together.pk]
    assert set(found(alice, "blue whale")) == {together.pk, apart.pk}


def test_a_minus_excludes_a_word(alice):
    plain = chat(alice, "", "Python tips for beginners.")
    chat(alice, "", "Python and Django tips.")
    assert found(alice, "python -django") == [plain.pk]


def test_or_finds_either_word(alice):
    rust = chat(alice, "", "Rust ownership rules.")
    haskell = chat(alice, "", "Haskell type classes.")
    chat(alice, "", "Go channels.")
    assert set(found(alice, "rust OR haskell")) == {rust.pk, haskell.pk}
    assert set(found(alice, "rust or haskell")) == {rust.pk, haskell.pk}


@pytest.mark.parametrize(
    ("typed", "text"),
    [
        ("kube", "Kubernetes rollout"),
        ("runn", "She was running late"),  # past the stem ("run"): matched against the word as written
        ("authentica", "Add authentication to the API"),
        ("Camel", "Rename CamelCaseThing"),
        ("snake_ca", "call snake_case_name here"),
        ("caf", "un café crème"),
    ],
)
def test_the_last_word_matches_as_a_prefix_while_it_is_typed(alice, typed, text):
    conversation = chat(alice, "", text)
    assert found(alice, typed) == [conversation.pk]


def test_the_word_as_typed_ranks_above_words_that_only_start_with_it(alice):
    """While `zebra1` is being typed it also finds zebra11, zebra12…; the conversation that has zebra1 itself
    comes first, though the others are newer (newer wins a tie) and there are more of them."""
    exact = chat(alice, "Python asyncio deadlock", "a unique word zebra1", "noted: zebra1")
    longer = [chat(alice, f"Notes {n}", f"a unique word zebra1{n}", f"noted: zebra1{n}") for n in range(10)]
    order = found(alice, "zebra1")
    assert order[0] == exact.pk
    assert set(order[1:]) == {c.pk for c in longer[1:]}  # the first page: the nine newest of the rest
    assert found(alice, "zebra1 ") == [exact.pk]  # the word finished: only itself
    # In titles too, and with titles only.
    titled = chat(alice, "zebra2 migration", "hello")
    newer = chat(alice, "zebra21 migration", "hello")
    assert found(alice, "zebra2")[:2] == [titled.pk, newer.pk]
    assert found(alice, "zebra2", title_only=True) == [titled.pk, newer.pk]


def test_a_finished_word_is_not_a_prefix(alice):
    chat(alice, "", "Kubernetes rollout")
    assert found(alice, "kube ") == []
    assert found(alice, '"kube"') == []


def test_a_prefix_keeps_or_and_phrases(alice):
    rust = chat(alice, "", "Rust ownership")
    haskell = chat(alice, "", "Haskell typeclasses")
    assert set(found(alice, "rust OR hask")) == {rust.pk, haskell.pk}
    assert found(alice, '"rust owner') == [rust.pk]


def test_an_excluded_word_is_not_a_prefix(alice):
    chat(alice, "", "Java streams and python")
    javascript = chat(alice, "", "Python and javascript")
    assert found(alice, "python -java") == [javascript.pk]


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("cafe", "Un café, s'il vous plaît."),
        ("café", "Meet at the cafe."),
        ("muller", "Frau Müller sagt hallo."),
        ("Müller", "Herr Muller is here."),
        ("ECOLE", "À l'école."),
        ("resume", "Envoyez votre résumé."),
        ("e\u0301cole", "à l'école"),  # decomposed (NFD) input
        ("mañana", "see you manana"),
        ("lodz", "Łódź is a city"),
    ],
)
def test_accents_do_not_matter(alice, query, text):
    conversation = chat(alice, "", text)
    assert found(alice, query) == [conversation.pk]


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("snake_case_name", "then call snake_case_name(value)"),
        ("case", "then call snake_case_name(value)"),
        ("os.path.join", "use os.path.join(a, b)"),
        ("join", "use os.path.join(a, b)"),
        ("foo.bar()", "call foo.bar() twice"),
        ("camelcase", "the CamelCase class"),
        ("is_running", "check is_running first"),
        ("README.md", "see README.md"),
        ("readme", "see README.md"),
        ("docs.python.org", "https://docs.python.org/3/library"),
        ("x86_64", "built for x86_64"),
        ("<div>", "wrap it in <div class='box'>"),
        ("box", "wrap it in <div class='box'>"),
    ],
)
def test_code_identifiers_are_found_whole_and_by_their_parts(alice, query, text):
    conversation = chat(alice, "", text)
    assert found(alice, query) == [conversation.pk]


def test_identifiers_are_not_split_into_stop_words(alice):
    chat(alice, "", "the process is running")
    wanted = chat(alice, "", "if is_running: stop()")
    assert found(alice, "is_running") == [wanted.pk]


def test_titles_are_searched_and_highlighted(alice):
    conversation = chat(alice, "Budget for the Lisbon offsite", "hello")
    [hit] = search.search(alice, "lisbon").hits
    assert hit.conversation.pk == conversation.pk
    assert marked(hit.title) == ["Lisbon"]
    assert hit.passages == []


def test_passages_mark_the_matching_words_in_the_text_as_written(alice):
    chat(alice, "", "Before. The function snake_case_name() parses Café menus. After.")
    [hit] = search.search(alice, "snake_case_name cafe").hits
    [(_, role, passage)] = hit.passages
    assert role == "user"
    assert passage_text(passage) == "Before. The function snake_case_name() parses Café menus. After."
    assert marked(passage.segments) == ["snake_case_name", "Café"]


def test_a_prefix_marks_the_whole_word(alice):
    chat(alice, "", "Running late again")
    [hit] = search.search(alice, "runn").hits
    assert marked(hit.passages[0][2].segments) == ["Running"]


def test_a_long_message_gives_a_passage_around_its_first_match(alice):
    filler = " ".join(["lorem ipsum dolor sit amet"] * 60)
    chat(alice, "", f"{filler} first zanzibar here. {filler} second zanzibar there. {filler}")
    [hit] = search.search(alice, "zanzibar").hits
    [(_, _, passage)] = hit.passages
    text = passage_text(passage)
    assert "first zanzibar here" in text and len(text) < 300
    assert passage.cut_before and passage.cut_after
    assert not text.startswith(("orem", "psum", "olor", "it ", "met"))  # starts at a whole word


def test_a_match_far_into_a_long_message_is_highlighted(alice):
    filler = " ".join(["lorem ipsum dolor sit amet"] * 500)  # ~13,500 characters
    chat(alice, "", f"{filler} the Zürich office {filler}")
    [hit] = search.search(alice, "zurich").hits
    assert marked(hit.passages[0][2].segments) == ["Zürich"]


def test_a_conversation_shows_its_best_three_passages_at_most(alice):
    chat(alice, "", *[f"message {i} mentions quokka" for i in range(8)])
    [hit] = search.search(alice, "quokka").hits
    assert hit.matches == 8
    assert len(hit.passages) == 3
    assert len({message_id for message_id, _, _ in hit.passages}) == 3


def test_a_streaming_reply_is_found_once_it_is_final(alice):
    conversation = chat(alice, "", "question")
    reply = Message.objects.create(
        conversation=conversation, role="assistant", content="partial answer about ocelots", state="streaming"
    )
    assert found(alice, "ocelots") == []
    Message.objects.filter(pk=reply.pk).update(state=Message.State.DONE)
    assert found(alice, "ocelots") == [conversation.pk]


def test_messages_are_stamped_with_their_conversations_owner(alice):
    conversation = chat(alice, "", "hello")
    bulk = Message.objects.bulk_create([Message(conversation=conversation, role="user", content="more")])
    owners = set(Message.objects.filter(conversation=conversation).values_list("owner_id", flat=True))
    assert owners == {alice.pk}
    assert bulk[0].pk is not None


def test_pages_of_ten_conversations(alice):
    conversations = [chat(alice, f"Note {i}", f"llama fact number {i}") for i in range(23)]
    first = search.search(alice, "llama")
    assert len(first.hits) == 10 and first.has_more
    third = search.search(alice, "llama", page=3)
    assert len(third.hits) == 3 and not third.has_more
    pages = [
        hit.conversation.pk for page in (1, 2, 3) for hit in search.search(alice, "llama", page=page).hits
    ]
    assert sorted(pages) == sorted(c.pk for c in conversations)
    assert search.search(alice, "llama", page=4).hits == []
    assert search.search(alice, "llama", page=10**9).problem


def test_when_there_are_too_many_matches_the_newest_are_ranked(alice, monkeypatch):
    """Candidates come from the newest slice of 65,536 message ids first."""
    monkeypatch.setattr(search, "CANDIDATES", 4)
    old = [chat(alice, "", "capybara facts") for _ in range(3)]
    with connection.cursor() as cursor:  # the next messages start a later slice
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('chat_message', 'id'), max(id) + 65536) FROM chat_message"
        )
    new = [chat(alice, "", "capybara facts") for _ in range(4)]
    results = search.search(alice, "capybara")
    assert results.capped
    assert {hit.conversation.pk for hit in results.hits} == {c.pk for c in new}
    monkeypatch.setattr(search, "CANDIDATES", 50)
    results = search.search(alice, "capybara")
    assert not results.capped
    assert {hit.conversation.pk for hit in results.hits} == {c.pk for c in old + new}


def test_a_search_takes_a_fixed_number_of_queries(alice, django_assert_max_num_queries):
    for i in range(12):
        chat(alice, f"Wombat {i}", *[f"wombat note {k}" for k in range(4)])
    with django_assert_max_num_queries(8):
        results = search.search(alice, "wombat")
    assert len(results.hits) == 10
