"""Malformed and hostile files: each is refused with a sentence naming what is wrong and where, and nothing at
all is written."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape
from django.utils.text import capfirst

from accounts.models import User
from chat import imports
from chat.models import Conversation, Folder, Message
from tests.chat.transfer_data import chatgpt_conversation, to_json, zip_bytes

HX = {"HX-Request": "true"}


def novaweb(*conversations, version=1) -> dict:
    return {"format": "novaweb", "version": version, "conversations": list(conversations)}


def chat(*messages, **fields) -> dict:
    return {"title": "Hostile", **fields, "messages": list(messages)}


def msg(key, parent=None, **fields) -> dict:
    return {"id": key, "parent": parent, "role": "user", "content": "hello", **fields}


GOOD = chat(msg("a"), msg("b", "a", role="assistant"), folder="Should not appear")


def deep(levels: int):
    value = {}
    for _ in range(levels):
        value = {"x": value}
    return value


def bomb(megabytes: int) -> bytes:
    """A zip whose one small entry expands to `megabytes` MB of spaces."""
    return zip_bytes({"conversations.json": b"[" + b" " * (megabytes * 1024 * 1024) + b"]"})


CASES = {
    "invalid JSON": (b'{"format": "novaweb", "version": 1,,}', "The file is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 36)."),
    "wrong top-level type": (b'"just a string"', "The file holds text that is neither a NovaWeb export"),
    "a list of numbers": (b"[1, 2, 3]", "The file holds a list that is neither a NovaWeb export"),
    "NaN": (b'{"format": "novaweb", "version": NaN}', "The file is not valid JSON: NaN is not a number JSON allows."),
    "non-UTF-8": ("{\"title\": \"café\"}".encode("latin-1"), "The file is not UTF-8 text (byte 14 cannot be read)."),
    "deeply nested": (b"[" * 100_000 + b"]" * 100_000, "The file is nested too deeply to be a conversation export."),
    "deep parameters": (to_json(novaweb(chat(msg("a", params=deep(40))))), "conversation 1 (“Hostile”), message 'a': params is nested more than 10 levels deep."),
    "cycle": (to_json(novaweb(GOOD, chat(msg("a", "c"), msg("b", "a"), msg("c", "b"), title="Loop"))), "conversation 2 (“Loop”), message 'a': its parents lead back to itself (a cycle)."),
    "dangling parent": (to_json(novaweb(GOOD, chat(msg("abc", "xyz")))), "conversation 2 (“Hostile”), message 'abc': parent 'xyz' does not exist."),
    "duplicate ids": (to_json(novaweb(chat(msg("a"), msg("a")))), "conversation 1 (“Hostile”): two messages have the id 'a'."),
    "unknown role": (to_json(novaweb(chat(msg("a", role="wizard")))), "message 'a': role 'wizard' is not one of user, assistant, system."),
    "unknown state": (to_json(novaweb(chat(msg("a", state="exploded")))), "message 'a': state 'exploded' is not one NovaWeb knows."),
    "over-long title": (to_json(novaweb(chat(msg("a"), title="t" * 201))), "title is 201 characters long; the limit is 200."),
    "over-long content": (to_json(novaweb(chat(msg("a", content="x" * 1_000_001)))), "message 'a': content is 1,000,001 characters long; the limit is 1,000,000."),
    "invalid time": (to_json(novaweb(chat(msg("a", created_at="yesterday")))), "message 'a': created_at 'yesterday' is not a time (ISO 8601 expected)."),
    "implausible time": (to_json(novaweb(chat(msg("a", created_at="9999-01-01T00:00:00Z")))), "message 'a': created_at '9999-01-01T00:00:00Z' is not a plausible time."),
    "NUL byte": (to_json(novaweb(chat(msg("a", content="a\u0000b")))), "message 'a': content holds a NUL character, which cannot be stored."),
    "lone surrogate": (b'{"format": "novaweb", "version": 1, "conversation": {"messages": [{"id": "a", "role": "user", "content": "\\ud800"}]}}', "conversation 1, message 'a': content holds a broken character (a lone UTF-16 surrogate)."),
    "NUL in parameters": (to_json(novaweb(chat(msg("a", params={"stop": ["\u0000"]})))), "message 'a': params holds a NUL character"),
    "script image link": (to_json(novaweb(chat(msg("a", images=["javascript:alert(1)"])))), "message 'a': image link 'javascript:alert(1)' is not an https:// address."),
    "negative tokens": (to_json(novaweb(chat(msg("a", usage={"prompt_tokens": -5})))), "usage.prompt_tokens should be a whole number from 0, not '-5'."),
    "credits not a number": (to_json(novaweb(chat(msg("a", usage={"credits": "lots"})))), "usage.credits 'lots' is not an amount of credits."),
    "messages not a list": (to_json(novaweb(chat(title="Odd") | {"messages": {"a": 1}})), "conversation 1 (“Odd”): “messages” should be a list, not an object."),
    "a newer version": (to_json(novaweb(GOOD, version=2)), "The file: version '2' of the NovaWeb format; this NovaWeb reads 1."),
    "no messages at all": (to_json(novaweb(chat())), "The file holds no conversation with a message to import."),
    "zip bomb": (bomb(3), "conversations.json expands to more than 1 MB; that is over the limit."),
    "path traversal in zip": (zip_bytes({"../../etc/cron.d/evil.json": to_json(novaweb(GOOD))}), "The zip holds a file with an unsafe name: '../../etc/cron.d/evil.json'."),
    "absolute path in zip": (zip_bytes({"/tmp/x.json": b"{}"}), "unsafe name: '/tmp/x.json'."),
    "damaged zip": (b"PK\x03\x04" + b"\x00" * 200, "The file is not a readable zip archive."),
    "zip of other things": (zip_bytes({"notes.txt": "hi"}), "The zip holds neither a conversations.json (a ChatGPT export) nor NovaWeb conversation files."),
    "non-NovaWeb JSON in our zip": (zip_bytes({"conversations/0001-a.json": to_json(novaweb(GOOD)), "conversations/0002-b.json": b"[]"}), "conversations/0002-b.json: not a NovaWeb conversation file."),
    "broken file in our zip": (zip_bytes({"conversations/0001-a.json": to_json(novaweb(GOOD)), "conversations/0002-b.json": to_json(novaweb(chat(msg("x", "y"))))}), "conversations/0002-b.json: conversation 1 (“Hostile”), message 'x': parent 'y' does not exist."),
    "ChatGPT node without a message object": (to_json([chatgpt_conversation() | {"mapping": {"n": {"message": "hi", "parent": None}}, "current_node": None}]), "conversation 1 (“Boiling eggs”), node 'n': its message should be an object, not text."),
}  # fmt: skip


@pytest.fixture
def before(alice):
    Folder.objects.create(owner=alice, name="Existing")
    return Conversation.objects.count(), Message.objects.count(), Folder.objects.count()


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_file_is_refused_whole_with_its_reason(client, settings, alice, before, case):
    settings.NOVAWEB_IMPORT_MAX_MB = 1
    data, expected = CASES[case]
    client.force_login(alice)
    name = "upload.zip" if data.startswith(b"PK") else "upload.json"
    response = client.post(reverse("transfer:import"), {"file": SimpleUploadedFile(name, data)}, headers=HX)
    html = response.content.decode()
    assert response.status_code == 200 and "<strong>Nothing was imported.</strong>" in html
    # The page starts the sentence with a capital: "Conversation 2 …".
    assert escape(expected) in html or escape(capfirst(expected)) in html, html
    assert (Conversation.objects.count(), Message.objects.count(), Folder.objects.count()) == before


def test_millions_of_tiny_values_are_refused_before_parsing(alice, before, monkeypatch):
    monkeypatch.setattr("chat.import_files.MAX_JSON_CONTAINERS", 1000)
    with pytest.raises(imports.ImportRejected, match="holds millions of tiny values"):
        imports.check_import(SimpleUploadedFile("x.json", b"[" + b"[]," * 1000 + b"[]]"))
    monkeypatch.setattr("chat.import_files.MAX_JSON_STRINGS", 1000)
    with pytest.raises(imports.ImportRejected, match="holds millions of tiny values"):
        imports.check_import(SimpleUploadedFile("x.json", b"[" + b'"",' * 1000 + b'""]'))


def test_a_file_over_the_size_limit_is_refused_unread(client, settings, alice, before):
    settings.NOVAWEB_IMPORT_MAX_MB = 1
    client.force_login(alice)
    data = to_json(novaweb(GOOD)) + b" " * (3 * 1024 * 1024 // 2)
    response = client.post(reverse("transfer:import"), {"file": SimpleUploadedFile("big.json", data)})
    assert response.status_code == 400
    assert "The file is 1.5 MB; the limit is 1 MB." in response.content.decode()
    assert (Conversation.objects.count(), Message.objects.count(), Folder.objects.count()) == before


def test_a_zip_that_lies_about_its_sizes_is_stopped_at_the_limit(settings, alice, before):
    settings.NOVAWEB_IMPORT_MAX_MB = 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("conversations.json", b"[" + b" " * (2 * 1024 * 1024) + b"]")
    data = bytearray(buffer.getvalue())
    # Claim 10 bytes in the central directory (the reader trusts it to size its read, and stops there).
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    with pytest.raises(imports.ImportRejected) as refused:
        imports.check_import(SimpleUploadedFile("liar.zip", bytes(data)))
    assert "cannot be read" in str(refused.value) or "over the limit" in str(refused.value)
    assert (Conversation.objects.count(), Message.objects.count(), Folder.objects.count()) == before


def test_a_failure_while_writing_leaves_nothing_behind(alice, before, monkeypatch):
    plan = imports.check_import(SimpleUploadedFile("ok.json", to_json(novaweb(GOOD, GOOD))))

    def broken(*args):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(imports, "_restore_times", broken)
    with pytest.raises(RuntimeError):
        imports.do_import(alice, plan)
    assert (Conversation.objects.count(), Message.objects.count(), Folder.objects.count()) == before


def test_imported_conversations_belong_to_the_importer_only(client, alice, bob):
    client.force_login(bob)
    data = to_json(novaweb(chat(msg("a", content="bob's own words"))))
    client.post(reverse("transfer:import"), {"file": SimpleUploadedFile("x.json", data)}, headers=HX)
    conversation = Conversation.objects.get()
    assert conversation.owner == bob and not Conversation.objects.for_user(alice).exists()
    client.force_login(alice)
    assert client.get(reverse("chat:conversation", args=[conversation.pk])).status_code == 404
    assert User.objects.get(pk=bob.pk).conversations.count() == 1
