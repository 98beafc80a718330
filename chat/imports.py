"""Importing conversations: `check_import` reads and validates a whole upload without writing anything;
`do_import` then writes all of it in one transaction. A file that fails any check imports nothing.

Accepted: a NovaWeb export (one conversation's JSON, a JSON with several, or the zip of "Export all"),
ChatGPT's `conversations.json`, and a ChatGPT export zip containing it.
"""

import codecs
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from chat.import_chatgpt import is_chatgpt, read_chatgpt
from chat.import_novaweb import is_novaweb, read_novaweb
from chat.import_tree import (
    MAX_CONVERSATIONS,
    MAX_MESSAGES,
    ImportedConversation,
    ImportRejected,
    kind,
)
from chat.models import Conversation, Folder, Message
from chat.text import title_from

MAX_ZIP_ENTRIES = 20_000
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20


def max_bytes() -> int:
    """The largest upload, and the most its JSON may expand to once unzipped (NOVAWEB_IMPORT_MAX_MB)."""
    return settings.NOVAWEB_IMPORT_MAX_MB * 1024 * 1024


@dataclass
class ImportPlan:
    """What a valid file holds, ready to write."""

    source: str  # "a NovaWeb export", "a ChatGPT export"
    conversations: list[ImportedConversation]
    left_out: int = 0  # messages not imported because ChatGPT did not show them (tool calls, hidden, system)


@dataclass
class ImportSummary:
    source: str
    conversations: list[tuple[Conversation, int]] = field(default_factory=list)  # with message counts
    messages: int = 0
    left_out: int = 0


def check_import(upload) -> ImportPlan:
    """Read and validate an uploaded file (a Django UploadedFile or any binary file object with `size`)."""
    limit = max_bytes()
    size = getattr(upload, "size", None)
    if size is None or size > limit:
        raise ImportRejected(
            f"The file is {_megabytes(size)}; the limit is {settings.NOVAWEB_IMPORT_MAX_MB} MB."
        )
    if size == 0:
        raise ImportRejected("The file is empty.")
    upload.seek(0)
    head = upload.read(4)
    upload.seek(0)
    if head == _ZIP_MAGIC:
        plan = _read_zip(upload, limit)
    else:
        plan = _read_document(parse_json(upload.read(), "The file"), "")
    plan.conversations = [c for c in plan.conversations if c.messages]  # an empty chat is not worth a row
    if not plan.conversations:
        raise ImportRejected("The file holds no conversation with a message to import.")
    if len(plan.conversations) > MAX_CONVERSATIONS:
        raise ImportRejected(
            f"The file holds {len(plan.conversations):,} conversations; at most {MAX_CONVERSATIONS:,}."
        )
    total = sum(len(c.messages) for c in plan.conversations)
    if total > MAX_MESSAGES:
        raise ImportRejected(f"The file holds {total:,} messages; at most {MAX_MESSAGES:,} at once.")
    return plan


def parse_json(data: bytes, where: str):
    """JSON from UTF-8 bytes (a byte-order mark allowed), with errors a person can act on."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportRejected(f"{where} is not UTF-8 text (byte {exc.start:,} cannot be read).") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ImportRejected(f"{where} is nested too deeply to be a conversation export.") from None
    except json.JSONDecodeError as exc:
        raise ImportRejected(
            f"{where} is not valid JSON: {exc.msg} (line {exc.lineno:,}, column {exc.colno:,})."
        ) from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise ImportRejected(f"{where} is not valid JSON: {exc}.") from None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _read_document(document, prefix: str) -> ImportPlan:
    where = prefix or "The file"
    if is_novaweb(document):
        return ImportPlan("a NovaWeb export", read_novaweb(document, prefix))
    if is_chatgpt(document):
        conversations, left_out = read_chatgpt(document, prefix)
        return ImportPlan("a ChatGPT export", conversations, left_out)
    raise ImportRejected(
        f"{where} holds {kind(document)} that is neither a NovaWeb export (an object with "
        "“format”: “novaweb”) nor the conversations.json of a ChatGPT export (a list of conversations with a “mapping”)."
    )


def _read_zip(upload, limit: int) -> ImportPlan:
    try:
        archive = zipfile.ZipFile(upload)
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise ImportRejected("The file is not a readable zip archive.") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise ImportRejected(f"The zip holds {len(entries):,} files; at most {MAX_ZIP_ENTRIES:,}.")
    for entry in entries:
        if not _safe_name(entry.filename):
            raise ImportRejected(f"The zip holds a file with an unsafe name: {entry.filename[:100]!r}.")
    files = [e for e in entries if not e.is_dir()]
    chatgpt = sorted(
        (e for e in files if PurePosixPath(e.filename).name == "conversations.json"),
        key=lambda e: e.filename.count("/"),
    )
    if chatgpt:
        return _read_document(
            parse_json(_read_entry(archive, chatgpt[0], limit), chatgpt[0].filename), chatgpt[0].filename
        )
    ours = [
        e for e in files if e.filename.endswith(".json") and PurePosixPath(e.filename).name != "index.json"
    ]
    if not ours:
        raise ImportRejected(
            "The zip holds neither a conversations.json (a ChatGPT export) nor NovaWeb conversation files."
        )
    conversations, budget = [], limit
    for entry in sorted(ours, key=lambda e: e.filename):
        data = _read_entry(archive, entry, budget)
        budget -= len(data)
        document = parse_json(data, entry.filename)
        if not is_novaweb(document):
            raise ImportRejected(f"{entry.filename}: not a NovaWeb conversation file.")
        conversations += read_novaweb(document, entry.filename, len(conversations) + 1)
    return ImportPlan("a NovaWeb export", conversations)


def _safe_name(name: str) -> bool:
    """No absolute paths, drive letters, parent steps or NUL bytes: this zip is only read, never unpacked,
    but a name like that says the archive was made to attack whatever unpacks it."""
    parts = name.replace("\\", "/").split("/")
    return not (
        name.startswith(("/", "\\")) or "\x00" in name or ".." in parts or (parts and ":" in parts[0])
    )


def _read_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int) -> bytes:
    """One file of the zip, refusing to expand past `budget` bytes (whatever its header claims)."""
    if entry.flag_bits & 0x1:
        raise ImportRejected(f"{entry.filename} is encrypted; export it again without a password.")
    too_big = ImportRejected(
        f"{entry.filename} expands to more than {settings.NOVAWEB_IMPORT_MAX_MB} MB; that is over the limit."
    )
    if entry.file_size > budget:
        raise too_big
    chunks, total = [], 0
    try:
        with archive.open(entry) as stream:
            while chunk := stream.read(_CHUNK):
                total += len(chunk)
                if total > budget:
                    raise too_big
                chunks.append(chunk)
    except (zipfile.BadZipFile, NotImplementedError, zlib.error, EOFError, OSError, ValueError):
        raise ImportRejected(
            f"{entry.filename} in the zip cannot be read (damaged or compressed oddly)."
        ) from None
    return b"".join(chunks)


def _megabytes(size) -> str:
    return f"{size / 1024 / 1024:,.1f} MB" if size is not None else "of unknown size"


# --- writing ---------------------------------------------------------------------------------------------
def do_import(user, plan: ImportPlan) -> ImportSummary:
    """Write every conversation of `plan` for `user`, in one transaction: all of it or nothing.

    Imported conversations belong to `user` alone and have no key (the person picks one to continue). Message
    ids are taken from the database sequence up front, so parents are known before any row is inserted and
    the messages go in with a few bulk inserts, not one query each.
    """
    summary = ImportSummary(plan.source, left_out=plan.left_out)
    now = timezone.now()
    with transaction.atomic():
        folders = _folders(user, {c.folder for c in plan.conversations if c.folder})
        ordered = [sorted(c.messages, key=lambda m: m.created_at) for c in plan.conversations]
        # In time order, so versions (siblings, shown oldest first by id) keep their order.
        ids = iter(_allocate_ids(Message, sum(len(m) for m in ordered)))
        conversations, messages, times = [], [], []
        for imported, in_order in zip(plan.conversations, ordered, strict=True):
            db_id = {m.key: next(ids) for m in in_order}
            first_user = next((m.content for m in in_order if m.role == "user"), "")
            conversation = Conversation(
                owner=user,
                title=imported.title or title_from(first_user)[:200],
                model=imported.model,
                params=imported.params,
                mode=imported.mode,
                folder=folders.get(imported.folder),
                pinned_at=now if imported.pinned else None,
                archived_at=now if imported.archived else None,
                current_leaf_id=db_id.get(imported.current_leaf),
            )
            conversations.append((conversation, imported))
            for m in in_order:
                messages.append(_message_row(m, db_id, conversation))
                times.append((db_id[m.key], m.created_at, m.updated_at))
        Conversation.objects.bulk_create([c for c, _ in conversations], batch_size=500)
        Message.objects.bulk_create(messages, batch_size=1000)  # each takes its conversation's new id
        _restore_times(Message, times)
        _restore_times(Conversation, [(c.pk, i.created_at, i.updated_at) for c, i in conversations])
    summary.conversations = [(c, len(i.messages)) for c, i in conversations]
    summary.messages = len(messages)
    return summary


def _message_row(m, db_id: dict, conversation: Conversation) -> Message:
    return Message(
        pk=db_id[m.key],
        conversation=conversation,
        parent_id=db_id[m.parent] if m.parent is not None else None,
        role=m.role,
        content=m.content,
        state=m.state,
        model=m.model,
        params=m.params,
        prompt_tokens=m.prompt_tokens,
        completion_tokens=m.completion_tokens,
        credits=m.credits,
        usage_reported=m.usage_reported,
        usage_extra=m.usage_extra,
        images=m.images,
        choices=m.choices,
        finish_reason=m.finish_reason,
        error=m.error,
    )


def _folders(user, names: set[str]) -> dict[str, Folder]:
    """The person's folders of these names, made where missing."""
    if names:
        Folder.objects.bulk_create([Folder(owner=user, name=n) for n in names], ignore_conflicts=True)
    return {f.name: f for f in Folder.objects.filter(owner=user, name__in=names)}


def _allocate_ids(model, count: int) -> list[int]:
    """`count` fresh ids from `model`'s id sequence, ascending. Foreign keys are checked at commit
    (PostgreSQL constraints Django makes deferrable), so rows may point at ids inserted later."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _restore_times(model, rows: list[tuple[int, object, object]]) -> None:
    """Set created_at/updated_at to the file's times: the fields fill in "now" on insert, whatever is given."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    ids, created, updated = (list(column) for column in zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            # Only the table name is formatted in, from the model's metadata; the values are parameters.
            f"UPDATE {table} AS t SET created_at = v.created, updated_at = v.updated"  # noqa: S608
            " FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS v(id, created, updated)"
            " WHERE t.id = v.id",
            [ids, created, updated],
        )
