"""Exporting a conversation as Markdown or NovaWeb JSON, and everything as a zip."""

import io
import json
import warnings
import zipfile
from urllib.parse import unquote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from chat.export_archive import write_archive
from chat.models import Conversation, Message
from keys.models import Credential
from tests.chat.transfer_data import at, rich_conversation

SECRET = "sk-test-CANARY-0123456789"


@pytest.fixture
def chat(alice, make_key):
    return rich_conversation(alice, make_key(alice, preset="novakit", label="Team NovaKit", secret=SECRET))


def export(client, conversation, fmt):
    return client.get(reverse("transfer:export", args=[conversation.pk, fmt]))


def assert_no_secret(text: str, key: Credential) -> None:
    assert SECRET not in text and key.ciphertext not in text and "ciphertext" not in text


def test_json_export_keeps_the_whole_tree(client, alice, chat):
    client.force_login(alice)
    response = export(client, chat, "json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert (data["format"], data["version"]) == ("novaweb", 1)
    c = data["conversation"]
    m = chat.test_messages
    assert c["title"] == chat.title and c["model"] == "novakit/large" and c["mode"] == "chat"
    assert c["params"] == {"temperature": 0.4, "max_tokens": 800}
    assert (c["folder"], c["pinned"], c["archived"]) == ("Travel", True, True)
    assert c["key"] == {"label": "Team NovaKit", "provider": "NovaKit"}
    assert c["current_leaf"] == m["reply"].pk
    assert c["created_at"] == at(0).isoformat() and c["updated_at"] == at(6).isoformat()
    by_id = {message["id"]: message for message in c["messages"]}
    assert len(by_id) == 5  # both versions of the first reply, not only the one on screen
    assert by_id[m["first"].pk]["parent"] == by_id[m["second"].pk]["parent"] == m["question"].pk
    assert (
        by_id[m["first"].pk]["state"] == "failed"
        and by_id[m["first"].pk]["error"] == "Rate limited — try again."
    )
    second = by_id[m["second"].pk]
    assert second["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 40,
        "credits": "0.001250",
        "reported": True,
        "extra": {"model_tier": "pro", "credits_breakdown": {"input": "0.0005", "output": "0.00075"}},
    }
    assert second["finish_reason"] == "stop" and second["params"] == {"temperature": 0.4}
    assert second["key"] == {"label": "Team NovaKit", "provider": "NovaKit"}
    assert second["created_at"] == at(3).isoformat() and second["updated_at"] == at(4).isoformat()
    assert by_id[m["question"].pk]["images"] == ["https://example.com/colosseum.jpg"]
    assert by_id[m["reply"].pk]["choices"] == ["Vatican first.", "Trastevere first."]
    assert by_id[m["reply"].pk]["state"] == "stopped"
    assert_no_secret(response.content.decode(), chat.credential)


def test_markdown_export_reads_like_the_conversation_on_screen(client, alice, chat):
    client.force_login(alice)
    response = export(client, chat, "markdown")
    assert response.status_code == 200 and response["Content-Type"] == "text/markdown; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("# Rome trip · “plans”/ideas\n")
    assert "Model: novakit/large · Key: Team NovaKit (NovaKit)" in text and "archived" in text
    assert (
        "**Instructions to the model:**\n\n> Suggest places a short walk apart.\n> Prices in euros.\n" in text
    )
    assert (
        "## You · 2025-03-14 09:27 UTC" in text and "What should I see in **Rome**?\nTwo days only." in text
    )
    assert "- <https://example.com/colosseum.jpg>" in text
    assert (
        "## Assistant (novakit/large) · 2025-03-14 09:29 UTC" in text
        and "```python\nprint('ciao')\n```" in text
    )
    assert "12 + 40 tokens · 0.00125 credits" in text
    assert "Start at the Colosseum." not in text  # the other version is not on the path on screen
    assert "### Alternative 2\n\nTrastevere first." in text and "*Stopped" in text
    assert text.index("Day one") < text.index("And day two?") < text.index("Vatican first.")
    assert_no_secret(text, chat.credential)


def test_markdown_export_says_why_a_reply_ended_early(client, alice, chat):
    client.force_login(alice)
    leaf = Message.objects.get(pk=chat.current_leaf_id)
    for reason, note in (("length", "cut at the token limit"), ("content_filter", "content filter")):
        Message.objects.filter(pk=leaf.pk).update(finish_reason=reason)
        assert note in export(client, chat, "markdown").content.decode()


def test_file_names_come_from_the_title_safely(client, alice, chat):
    client.force_login(alice)
    disposition = export(client, chat, "json")["Content-Disposition"]
    ascii_part, utf8_part = disposition.split("; filename*=UTF-8''")
    assert ascii_part == 'attachment; filename="rome-trip-plansideas.json"'
    assert unquote(utf8_part) == "Rome-trip-·-“plans”-ideas.json"
    Conversation.objects.filter(pk=chat.pk).update(title='../"\r\nX-Evil: 1')
    chat.refresh_from_db()
    disposition = export(client, chat, "markdown")["Content-Disposition"]
    assert (
        "\r" not in disposition and "\n" not in disposition and "/" not in unquote(disposition.split("''")[1])
    )
    Conversation.objects.filter(pk=chat.pk).update(title="")
    assert f'filename="conversation-{chat.pk}.md"' in export(client, chat, "markdown")["Content-Disposition"]


def test_exports_are_only_for_the_owner_and_never_of_a_deleted_conversation(client, alice, bob, chat):
    client.force_login(bob)
    for fmt in ("json", "markdown"):
        response = export(client, chat, fmt)
        assert response.status_code == 404 and b"Rome" not in response.content
    client.force_login(alice)
    assert client.get(reverse("transfer:export", args=[chat.pk, "html"])).status_code == 404
    Conversation.objects.filter(pk=chat.pk).update(deleted_at=timezone.now())
    assert export(client, chat, "json").status_code == 404


def read_zip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_export_all_is_a_zip_of_every_conversation_with_an_index(client, alice, bob, chat, make_key):
    plain = Conversation.objects.create(owner=alice, title="Second chat")
    Message.objects.create(conversation=plain, role="user", content="hello")
    deleted = Conversation.objects.create(owner=alice, title="Gone soon", deleted_at=timezone.now())
    Message.objects.create(conversation=deleted, role="user", content="bye")
    Conversation.objects.create(owner=alice, title="Never used")  # no messages: nothing to export
    theirs = Conversation.objects.create(owner=bob, title="Bob's")
    Message.objects.create(conversation=theirs, role="user", content="bob's secret plans")
    client.force_login(alice)
    response = client.get(reverse("transfer:export-all"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="novaweb-export-')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the test client reads the asynchronous body synchronously
        data = b"".join(response)
    assert int(response["Content-Length"]) == len(data)
    files = read_zip(data)
    index = json.loads(files["index.json"])
    assert index["format"] == "novaweb-index"
    assert [item["title"] for item in index["conversations"]] == ["Rome trip · “plans”/ideas", "Second chat"]
    rome = index["conversations"][0]
    assert rome["archived"] is True and rome["messages"] == 5
    named = {name for item in index["conversations"] for name in (item["json"], item["markdown"])}
    assert set(files) == {"index.json", "index.md", *named}
    assert rome["json"] == "conversations/0001-rome-trip-plansideas.json"
    assert json.loads(files[rome["json"]])["conversation"]["messages"][0]["content"].startswith(
        "What should I see"
    )
    assert files[rome["markdown"]].decode().startswith("# Rome trip")
    assert "[Second chat]" in files["index.md"].decode()
    everything = b"".join(files.values()).decode()
    assert (
        "Gone soon" not in everything and "bob's secret" not in everything and "Never used" not in everything
    )
    assert_no_secret(everything, chat.credential)


def test_export_all_reads_in_chunks_not_a_query_per_conversation(alice):
    def conversations(n):
        for i in range(n):
            c = Conversation.objects.create(owner=alice, title=f"chat {i}")
            user = Message.objects.create(conversation=c, role="user", content=f"question {i}")
            Message.objects.create(conversation=c, parent=user, role="assistant", content=f"answer {i}")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            write_archive(alice, io.BytesIO())
        return len(captured)

    conversations(2)
    few = queries()
    conversations(30)
    assert queries() == few
