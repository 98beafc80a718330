"""Importing conversations: `check_import` reads and validates a whole upload without writing anything;
`do_import` then writes all of it in one transaction. A file that fails any check imports nothing.

Accepted: a NovaWeb export (one conversation's JSON, a JSON with several, or the zip of "Export all"),
ChatGPT's `conversations.json`, and a ChatGPT export zip containing it. A conversation the person already has
is skipped: one imported before from the same source (a NovaWeb export's conversation id and start time,
ChatGPT's conversation id, kept in `Conversation.imported_from`), or their own exported from this account.
"""

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from chat.broadcast import sidebar_changed_on_commit
from chat.import_chatgpt import is_chatgpt, read_chatgpt
from chat.import_files import Document, read_upload
from chat.import_novaweb import is_novaweb, novaweb_source, read_novaweb
from chat.import_tree import (
    MAX_CONVERSATIONS,
    MAX_MESSAGES,
    ImportedConversation,
    ImportRejected,
    kind,
)
from chat.models import Conversation, Folder, Message
from chat.text import title_from

_IMPORT_LOCK = 0x4E4F5649  # "NOVI": one person's imports, one at a time


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
    # Conversations of the file the person has already (imported before, or their own): with the copy they
    # have, or None for one the file holds twice.
    skipped: list[tuple[ImportedConversation, Conversation | None]] = field(default_factory=list)


def check_import(upload) -> ImportPlan:
    """Read and validate an uploaded file (a Django UploadedFile or any binary file object with `size`)."""
    plans = [_read_document(document) for document in read_upload(upload)]
    plan = ImportPlan(
        plans[0].source, [c for p in plans for c in p.conversations], sum(p.left_out for p in plans)
    )
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


def _read_document(document: Document) -> ImportPlan:
    data, prefix = document.data, document.name
    if is_novaweb(data):
        return ImportPlan("a NovaWeb export", read_novaweb(data, prefix))
    if is_chatgpt(data) and not document.novaweb_only:
        conversations, left_out = read_chatgpt(data, prefix)
        return ImportPlan("a ChatGPT export", conversations, left_out)
    if document.novaweb_only:
        raise ImportRejected(f"{prefix}: not a NovaWeb conversation file.")
    raise ImportRejected(
        f"{prefix or 'The file'} holds {kind(data)} that is neither a NovaWeb export (an object with "
        "“format”: “novaweb”) nor the conversations.json of a ChatGPT export (a list of conversations with "
        "a “mapping”)."
    )


# --- writing ---------------------------------------------------------------------------------------------
def do_import(user, plan: ImportPlan) -> ImportSummary:
    """Write every conversation of `plan` that `user` does not have yet, in one transaction: all of it or
    nothing.

    Imported conversations belong to `user` alone and have no key (the person picks one to continue). Message
    ids are taken from the database sequence up front, so parents are known before any row is inserted and
    the messages go in with a few bulk inserts, not one query each.
    """
    summary = ImportSummary(plan.source)
    now = timezone.now()
    with transaction.atomic():
        # The same file imported twice at once: the second waits for the first, then skips what it wrote.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_IMPORT_LOCK, user.pk % 2**31])
        fresh = _skip_known(user, plan.conversations, summary)
        summary.left_out = plan.left_out - sum(c.left_out for c, _ in summary.skipped)
        if not fresh:
            return summary
        folders = _folders(user, {c.folder for c in fresh if c.folder})
        ordered = [sorted(c.messages, key=lambda m: m.created_at) for c in fresh]
        # In time order, so versions (siblings, shown oldest first by id) keep their order.
        ids = iter(_allocate_ids(Message, sum(len(m) for m in ordered)))
        conversations, messages, times = [], [], []
        for imported, in_order in zip(fresh, ordered, strict=True):
            db_id = {m.key: next(ids) for m in in_order}
            first_user = next((m.content for m in in_order if m.role == "user"), "")
            conversation = Conversation(
                owner=user,
                title=imported.title or title_from(first_user)[:200],
                model=imported.model,
                params=imported.params,
                mode=imported.mode,
                instructions=imported.instructions,
                folder=folders.get(imported.folder),
                pinned_at=now if imported.pinned else None,
                archived_at=now if imported.archived else None,
                current_leaf_id=db_id.get(imported.current_leaf),
                imported_from=imported.source,
            )
            conversations.append((conversation, imported))
            for m in in_order:
                messages.append(_message_row(m, db_id, conversation))
                times.append((db_id[m.key], m.created_at, m.updated_at))
        Conversation.objects.bulk_create([c for c, _ in conversations], batch_size=500)
        Message.objects.bulk_create(messages, batch_size=1000)  # each takes its conversation's new id
        _restore_times(Message, times)
        _restore_times(Conversation, [(c.pk, i.created_at, i.updated_at) for c, i in conversations])
        sidebar_changed_on_commit(user.pk)
    summary.conversations = [(c, len(i.messages)) for c, i in conversations]
    summary.messages = len(messages)
    return summary


def _skip_known(user, conversations: list[ImportedConversation], summary: ImportSummary) -> list:
    """The conversations to write: not those the person has already — imported from the same source before,
    or their own still here (a NovaWeb export of this account) — nor a second copy of one in the file. A
    conversation deleted (even one waiting out its undo window) no longer counts. One query."""
    sources = {c.source for c in conversations if c.source}
    own_ids = {c.exported_id for c in conversations if c.exported_id is not None}
    have: dict[str, Conversation] = {}
    if sources:
        for copy in (
            Conversation.objects.for_user(user)
            .filter(Q(imported_from__in=sources) | Q(pk__in=own_ids))
            .only("pk", "title", "created_at", "imported_from")
        ):
            if copy.imported_from:
                have.setdefault(copy.imported_from, copy)
            have.setdefault(novaweb_source(copy.pk, copy.created_at), copy)
    fresh, seen = [], set()
    for imported in conversations:
        if imported.source in have or imported.source in seen:
            summary.skipped.append((imported, have.get(imported.source)))
            continue
        if imported.source:
            seen.add(imported.source)
        fresh.append(imported)
    return fresh


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
