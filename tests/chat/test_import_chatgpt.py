"""Importing a ChatGPT data export: conversations.json alone or the whole zip; branches, times and models kept,
what ChatGPT did not show left out."""

import copy
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from chat.import_tree import ImportRejected
from chat.imports import check_import, do_import
from chat.models import Conversation, Message
from tests.chat.transfer_data import EPOCH, chatgpt_conversation, to_json, zip_bytes


def when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def imported(user, data: bytes, name="conversations.json"):
    return do_import(user, check_import(SimpleUploadedFile(name, data)))


def messages_by_text(conversation) -> dict[str, Message]:
    return {m.content: m for m in Message.objects.filter(conversation=conversation)}


def test_branches_times_and_models_are_kept(alice):
    summary = imported(alice, to_json([chatgpt_conversation()]))
    assert summary.source == "a ChatGPT export"
    [(conversation, count)] = summary.conversations
    conversation.refresh_from_db()
    assert (conversation.title, conversation.model, count) == ("Boiling eggs", "gpt-4o", 7)
    assert conversation.archived_at is not None and conversation.credential_id is None
    assert conversation.created_at == when(EPOCH - 1) and conversation.updated_at == when(EPOCH + 124)
    m = messages_by_text(conversation)
    first, edited = m["How do I boil an egg?"], m["How do I boil an egg, softly?"]
    # The edited question is a second version of the first (both hang from the hidden root: no parent here).
    assert first.parent_id is None and edited.parent_id is None
    assert m["Put it in water."].parent_id == first.pk
    # The regenerated answer is a version beside the first one.
    assert m["Six minutes."].parent_id == m["Six and a half minutes."].parent_id == edited.pk
    assert (
        m["Six and a half minutes."].finish_reason == "length" and m["Six minutes."].finish_reason == "stop"
    )
    assert m["Six minutes."].model == "gpt-4o" and m["Six minutes."].created_at == when(EPOCH + 65)
    assert first.created_at == when(EPOCH) and first.updated_at == when(EPOCH)
    # The picture is noted; the tool call, its output and the reasoning are gone, and the answer hangs from
    # the question it answers.
    question = m["[Image not imported]\n\nIs this one done?"]
    assert question.parent_id == m["Six and a half minutes."].pk
    answer = m["Yes — the yolk is soft."]
    assert answer.parent_id == question.pk and conversation.current_leaf_id == answer.pk
    assert not any("print(6 * 60)" in text or text == "360" for text in m)
    assert summary.left_out == 12 - 7  # root, system, thoughts, the tool call and its output
    assert all(msg.state == "done" and msg.role in ("user", "assistant") for msg in m.values())


def test_the_conversation_on_screen_is_the_branch_chatgpt_showed(client, alice):
    conversation = chatgpt_conversation()
    conversation["current_node"] = "a2"  # the first of the regenerated answers
    [(imported_conversation, _)] = imported(alice, to_json([conversation])).conversations
    client.force_login(alice)
    html = client.get(f"/c/{imported_conversation.pk}/").content.decode()
    assert "Six minutes." in html and "Six and a half minutes." not in html and "1 / 2" in html
    assert "How do I boil an egg, softly?" in html and "Put it in water." not in html


def test_the_export_zip_is_read_for_its_conversations_json(alice):
    data = zip_bytes(
        {
            "chat.html": "<html>…</html>",
            "user.json": '{"email": "someone@example.com"}',
            "file-abc.png": b"\x89PNG\r\n",
            "conversations.json": to_json(
                [
                    chatgpt_conversation(),
                    {**chatgpt_conversation(), "title": "Again", "conversation_id": "another"},
                ]
            ),
        }
    )
    summary = imported(alice, data, "chatgpt-export.zip")
    assert [c.title for c, _ in summary.conversations] == ["Boiling eggs", "Again"]
    assert Message.objects.count() == 14


def test_a_conversation_of_only_hidden_messages_is_skipped_and_a_missing_title_is_made(alice):
    hidden = copy.deepcopy(chatgpt_conversation())
    hidden["mapping"] = {k: v for k, v in hidden["mapping"].items() if k in ("root", "sys")}
    hidden["current_node"] = "sys"
    untitled = {**chatgpt_conversation(), "title": None, "current_node": None, "default_model_slug": None}
    summary = imported(alice, to_json([hidden, untitled]))
    [(conversation, _)] = summary.conversations
    assert conversation.title == "How do I boil an egg?"
    # Without current_node, the newest message without replies is where the conversation stands.
    assert Message.objects.get(pk=conversation.current_leaf_id).content == "Yes — the yolk is soft."
    assert conversation.model == "gpt-4o"  # from the model of that reply


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c["mapping"]["a1"]["message"]["author"].update(role="robot"),
         "conversation 1 (“Boiling eggs”), node 'a1': author role 'robot' is not user, assistant, system or tool."),
        (lambda c: c["mapping"]["a1"].update(parent="nowhere"),
         "conversation 1 (“Boiling eggs”), node 'a1': parent 'nowhere' does not exist."),
        (lambda c: c["mapping"]["root"].update(parent="a3"),
         "its parents lead back to itself (a cycle)."),
        (lambda c: c.update(current_node="gone"), "conversation 1 (“Boiling eggs”): the current node 'gone' does not exist."),
        (lambda c: c.update(create_time="yesterday"), "create_time 'yesterday' is not a time (seconds since 1970 expected)."),
        (lambda c: c["mapping"]["q1"]["message"].update(create_time=1e300), "node 'q1': create_time '1e+300' is not a valid time."),
        (lambda c: c.update(mapping=["not", "an", "object"]), "“mapping” should be an object of messages, not a list."),
        (lambda c: c["mapping"]["q1"]["message"].update(content="plain"), "node 'q1': its content should be an object, not text."),
        (lambda c: c["mapping"]["q1"]["message"]["content"].update(parts=["a\x00b"]), "node 'q1': its text holds a NUL character"),
    ],
)  # fmt: skip
def test_a_broken_conversation_says_what_and_where(alice, change, expected):
    good, broken = chatgpt_conversation(), chatgpt_conversation()
    change(broken)
    with pytest.raises(ImportRejected) as refused:
        imported(alice, to_json([good, broken]))
    assert expected.replace("conversation 1", "conversation 2") in str(refused.value)
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_too_many_nodes_in_one_conversation_are_refused(alice, monkeypatch):
    monkeypatch.setattr("chat.import_chatgpt.MAX_MESSAGES_PER_CONVERSATION", 5)
    with pytest.raises(ImportRejected, match=r"12 messages; at most 5 per conversation"):
        imported(alice, to_json([chatgpt_conversation()]))


def test_a_conversation_imported_before_is_skipped_by_its_chatgpt_id(alice, bob):
    """ChatGPT's next export holds the same conversations again: only the new ones come in, once each."""
    first = imported(alice, to_json([chatgpt_conversation()]))
    [(copy_, _)] = first.conversations
    newer = {**chatgpt_conversation(), "title": "Poaching", "conversation_id": "6553f5e0-new"}
    with_id_field = {**chatgpt_conversation(), "id": "6553f5e0-0000-4000-8000-000000000001"}
    again = imported(alice, to_json([chatgpt_conversation(), newer, newer, with_id_field]))
    assert [c.title for c, _ in again.conversations] == ["Poaching"]
    assert [(i.title, have) for i, have in again.skipped] == [
        ("Boiling eggs", copy_),
        ("Poaching", None),  # twice in the file
        ("Boiling eggs", copy_),
    ]
    assert again.left_out == first.left_out  # the skipped conversation's hidden messages are not counted
    assert Conversation.objects.filter(owner=alice).count() == 2
    # Someone else's import is theirs: bob gets his own copy.
    assert len(imported(bob, to_json([chatgpt_conversation()])).conversations) == 1
