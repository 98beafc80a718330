"""Importing NovaWeb exports: export → import gives the same tree, for one conversation and for the zip of
everything; the page shows what came in."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chat.export_archive import write_archive
from chat.exports import conversation_data, document, export_messages, key_names
from chat.imports import check_import, do_import
from chat.models import Conversation, Folder, Message
from tests.chat.transfer_data import rich_conversation, to_json

HX = {"HX-Request": "true"}
MESSAGE_FIELDS = (
    "role", "content", "state", "model", "params", "prompt_tokens", "completion_tokens", "credits",
    "usage_reported", "usage_extra", "finish_reason", "error", "images", "choices", "created_at", "updated_at",
)  # fmt: skip


@pytest.fixture
def chat(alice, make_key):
    return rich_conversation(alice, make_key(alice, preset="novakit", label="Team NovaKit"))


def exported(conversation) -> bytes:
    messages = export_messages(conversation)
    keys = key_names({m.credential_id for m in messages})
    return to_json(document(conversation_data(conversation, messages, keys)))


def upload(data: bytes, name="export.json") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def tree(conversation: Conversation) -> list[tuple]:
    """A conversation's messages as comparable tuples: fields, and the parent by position (not by id)."""
    messages = list(Message.objects.filter(conversation=conversation).order_by("created_at", "id"))
    position = {m.pk: n for n, m in enumerate(messages)}
    rows = [(position.get(m.parent_id), *(getattr(m, f) for f in MESSAGE_FIELDS)) for m in messages]
    return [*rows, ("leaf", position[conversation.current_leaf_id])]


def same_conversation(copy: Conversation, original: Conversation) -> None:
    for name in ("title", "model", "params", "mode", "instructions", "created_at", "updated_at"):
        assert getattr(copy, name) == getattr(original, name), name
    assert copy.folder.name == original.folder.name and copy.folder.owner_id == copy.owner_id
    assert (copy.pinned_at is None, copy.archived_at is None) == (
        original.pinned_at is None,
        original.archived_at is None,
    )
    assert tree(copy) == tree(original)


def test_a_json_export_imports_as_the_same_tree(alice, bob, chat):
    summary = do_import(bob, check_import(upload(exported(chat))))
    [(copy, count)] = summary.conversations
    copy.refresh_from_db()
    assert (summary.source, summary.messages, count) == ("a NovaWeb export", 5, 5)
    assert copy.owner == bob and copy.pk != chat.pk and copy.credential_id is None
    same_conversation(copy, chat)
    assert not Message.objects.filter(conversation=copy, credential__isnull=False).exists()
    assert set(Message.objects.filter(conversation=copy).values_list("pk", flat=True)).isdisjoint(
        Message.objects.filter(conversation=chat).values_list("pk", flat=True)
    )


def test_the_zip_of_everything_imports_back(alice, bob, chat):
    other = Conversation.objects.create(owner=alice, title="Second")
    Message.objects.create(conversation=other, role="user", content="just one")
    Conversation.objects.filter(pk=other.pk).update(current_leaf=other.messages.get())
    other.refresh_from_db()
    buffer = io.BytesIO()
    write_archive(alice, buffer)
    # As when restoring a backup: the conversations themselves were deleted meanwhile.
    Conversation.objects.filter(owner=alice).update(deleted_at=timezone.now())
    summary = do_import(alice, check_import(upload(buffer.getvalue(), "novaweb-export.zip")))
    copies = [c for c, _ in summary.conversations]
    assert [c.title for c in copies] == [chat.title, "Second"]
    for copy, original in zip(copies, (chat, other), strict=True):
        copy.refresh_from_db()
        assert tree(copy) == tree(original)
    assert Folder.objects.filter(owner=alice).count() == 1  # the existing "Travel" folder is reused


def test_an_export_of_several_conversations_in_one_file_imports(alice, bob, chat):
    data = json.loads(exported(chat))
    data["conversations"] = [data.pop("conversation"), {**data_without_ids(data), "title": "Copy"}]
    summary = do_import(bob, check_import(upload(to_json(data))))
    assert [c.title for c, _ in summary.conversations] == [chat.title, "Copy"]


def data_without_ids(_data) -> dict:
    return {"messages": [{"id": "a", "role": "user", "content": "hi", "created_at": "2025-01-01T10:00:00Z"}]}


def test_a_streaming_reply_imports_as_interrupted_and_times_default_sensibly(alice):
    data = {
        "format": "novaweb",
        "version": 1,
        "conversation": {
            "messages": [
                {"id": "q", "role": "user", "content": "Name three rivers"},
                {"id": "r", "parent": "q", "role": "assistant", "content": "Nile, Ama", "state": "streaming"},
            ]
        },
    }
    [(copy, _)] = do_import(alice, check_import(upload(to_json(data)))).conversations
    copy.refresh_from_db()
    reply = Message.objects.get(conversation=copy, role="assistant")
    assert reply.state == "interrupted" and copy.current_leaf_id == reply.pk
    assert copy.title == "Name three rivers" and copy.mode == "chat" and copy.folder is None


def test_import_writes_in_bulk_not_per_message(alice):
    messages = [{"id": 0, "role": "user", "content": "m0"}]
    messages += [
        {"id": n, "parent": n - 1, "role": "assistant" if n % 2 else "user", "content": f"m{n}"}
        for n in range(1, 400)
    ]
    data = {"format": "novaweb", "version": 1, "conversation": {"title": "Long", "messages": messages}}
    plan = check_import(upload(to_json(data)))
    with CaptureQueriesContext(connection) as queries:
        do_import(alice, plan)
    assert len(queries) < 12, [q["sql"][:80] for q in queries]
    conversation = Conversation.objects.get(title="Long")
    assert Message.objects.get(pk=conversation.current_leaf_id).content == "m399"


def test_the_page_shows_what_was_imported(client, alice, bob, chat):
    client.force_login(bob)
    page = client.get(reverse("transfer:data"))
    assert page.status_code == 200 and b"Export all conversations (zip)" in page.content
    assert b'aria-current="page">Import &amp; export' in page.content
    response = client.post(reverse("transfer:import"), {"file": upload(exported(chat))}, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200 and "Imported 1 conversation</strong> with 5 messages" in html
    copy = Conversation.objects.exclude(pk=chat.pk).get()
    assert f'href="{reverse("chat:conversation", args=[copy.pk])}"' in html and "<html" not in html
    # The imported conversation opens, with the version switch of the retried reply.
    opened = client.get(reverse("chat:conversation", args=[copy.pk])).content.decode()
    assert "Day one" in opened and "2 / 2" in opened and "Vatican first." in opened


def test_the_form_without_a_file_asks_for_one(client, alice):
    client.force_login(alice)
    response = client.post(reverse("transfer:import"), {}, headers=HX)
    assert response.status_code == 200 and "Choose a file to import." in response.content.decode()
    response = client.post(reverse("transfer:import"), {"file": upload(b"", "empty.json")})
    assert response.status_code == 400 and "The file is empty." in response.content.decode()
    assert not Conversation.objects.exists()


def test_the_same_export_imported_again_is_skipped(alice, bob, chat):
    """Bob imports alice's conversation twice (the JSON, then the zip it is in): the second time nothing is
    written and the summary names his copy. A copy he deleted no longer counts."""
    first = do_import(bob, check_import(upload(exported(chat))))
    [(copy_, _)] = first.conversations
    assert copy_.imported_from.startswith(f"novaweb:{chat.pk}:")
    buffer = io.BytesIO()
    write_archive(alice, buffer)
    for data, name in ((exported(chat), "export.json"), (buffer.getvalue(), "novaweb-export.zip")):
        plan = check_import(upload(data, name))
        with CaptureQueriesContext(connection) as queries:
            again = do_import(bob, plan)
        assert (again.conversations, again.messages) == ([], 0)
        assert [(i.title, have) for i, have in again.skipped] == [(chat.title, copy_)]
        assert len(queries) <= 4, [q["sql"][:80] for q in queries]  # the lock and one look-up
    assert Conversation.objects.filter(owner=bob).count() == 1
    Conversation.objects.filter(pk=copy_.pk).update(deleted_at=timezone.now())
    assert len(do_import(bob, check_import(upload(exported(chat)))).conversations) == 1


def test_an_export_of_your_own_conversations_skips_those_you_still_have(alice, chat):
    """Alice imports her own "Export all": she has every conversation already, except the one she deleted;
    a conversation of the file that was imported into her account before counts by its own source too."""
    gone = Conversation.objects.create(owner=alice, title="Gone")
    Message.objects.create(conversation=gone, role="user", content="bye")
    buffer = io.BytesIO()
    write_archive(alice, buffer)
    Conversation.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    summary = do_import(alice, check_import(upload(buffer.getvalue(), "novaweb-export.zip")))
    assert [c.title for c, _ in summary.conversations] == ["Gone"]
    assert [(i.title, have) for i, have in summary.skipped] == [(chat.title, chat)]
    # The file's id and start time are both needed: the same id from elsewhere is another conversation.
    data = json.loads(exported(chat))
    data["conversation"]["created_at"] = "2020-01-01T00:00:00+00:00"
    assert len(do_import(alice, check_import(upload(to_json(data)))).conversations) == 1


def test_the_page_says_what_was_skipped_and_counts_the_export_again(client, alice, bob, chat):
    client.force_login(bob)
    page = client.get(reverse("transfer:data")).content.decode()
    assert '<span class="muted" id="export-count">0 conversations</span>' in page
    html = client.post(
        reverse("transfer:import"), {"file": upload(exported(chat))}, headers=HX
    ).content.decode()
    assert '<span class="muted" id="export-count" hx-swap-oob="true">1 conversation</span>' in html
    html = client.post(
        reverse("transfer:import"), {"file": upload(exported(chat))}, headers=HX
    ).content.decode()
    text = " ".join(html.split())
    assert "Nothing new to import:</strong> you already have the conversation in this file" in text
    copy_ = Conversation.objects.get(owner=bob)
    assert f'href="{reverse("chat:conversation", args=[copy_.pk])}">{chat.title}</a>' in html
    assert "export-count" not in html  # nothing changed
    # Without JavaScript the whole page comes back, with the count as it is now.
    page = client.post(reverse("transfer:import"), {"file": upload(exported(chat))}).content.decode()
    assert '<span class="muted" id="export-count">1 conversation</span>' in page
    assert "Nothing new to import" in page and "hx-swap-oob" not in page
