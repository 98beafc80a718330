"""Export everything: a zip with one JSON file (the whole tree) and one Markdown file (the path on screen)
per conversation, plus an index of them in both forms.

Conversations are read in chunks of a bounded number of messages (a query for the chunk's conversations and
one for their messages, never one per conversation), and the zip is written to a file object the caller
provides, so memory stays bounded by one chunk however much a person has.
"""

import json
import zipfile

from django.db.models import Count, Prefetch
from django.utils import timezone

from chat.exports import conversation_data, conversation_markdown, document, file_stem, key_names, path_of
from chat.models import Conversation, Message

CHUNK_MESSAGES = 5_000
INDEX_FORMAT = "novaweb-index"


def exportable(user):
    """`user`'s conversations an export includes: those with messages, archived ones too, never one
    deleted and waiting out its undo window."""
    return (
        Conversation.objects.for_user(user)
        .filter(deleted_at__isnull=True)
        .annotate(message_count=Count("messages"))
        .filter(message_count__gt=0)
    )


def _chunks(rows: list[tuple[int, int]]):
    """Conversation ids in groups of at most CHUNK_MESSAGES messages (a bigger conversation goes alone)."""
    chunk, size = [], 0
    for pk, count in rows:
        if chunk and size + count > CHUNK_MESSAGES:
            yield chunk
            chunk, size = [], 0
        chunk.append(pk)
        size += count
    if chunk:
        yield chunk


def write_archive(user, out) -> int:
    """Write the zip of all `user`'s conversations into the binary file object `out`; returns how many."""
    rows = list(exportable(user).order_by("created_at", "id").values_list("id", "message_count"))
    index = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for chunk in _chunks(rows):
            conversations = list(
                Conversation.objects.for_user(user)
                .filter(pk__in=chunk)
                .select_related("folder")
                .prefetch_related(Prefetch("messages", queryset=Message.objects.order_by("created_at", "id")))
                .order_by("created_at", "id")
            )
            keys = key_names(
                {c.credential_id for c in conversations}
                | {m.credential_id for c in conversations for m in c.messages.all()}
            )
            for conversation in conversations:
                messages = list(conversation.messages.all())
                _, ascii_stem = file_stem(conversation.title, "conversation", max_chars=60)
                name = f"conversations/{len(index) + 1:04d}-{ascii_stem}"
                data = conversation_data(conversation, messages, keys)
                archive.writestr(f"{name}.json", json.dumps(document(data), ensure_ascii=False, indent=1))
                path = path_of(messages, conversation.current_leaf_id)
                archive.writestr(f"{name}.md", conversation_markdown(conversation, path, keys))
                index.append(
                    {
                        "id": conversation.pk,
                        "title": conversation.display_title,
                        "json": f"{name}.json",
                        "markdown": f"{name}.md",
                        "messages": len(messages),
                        "folder": data["folder"],
                        "pinned": data["pinned"],
                        "archived": data["archived"],
                        "created_at": data["created_at"],
                        "updated_at": data["updated_at"],
                    }
                )
        exported_at = timezone.now()
        archive.writestr(
            "index.json",
            json.dumps(
                {
                    "format": INDEX_FORMAT,
                    "version": 1,
                    "exported_at": exported_at.isoformat(),
                    "conversations": index,
                },
                ensure_ascii=False,
                indent=1,
            ),
        )
        archive.writestr("index.md", _index_markdown(index, exported_at))
    return len(index)


def _index_markdown(index: list[dict], exported_at) -> str:
    lines = [
        "# NovaWeb export",
        "",
        f"{len(index)} conversations, exported {exported_at:%Y-%m-%d %H:%M} UTC. Each has a Markdown file (the "
        "conversation as shown) and a JSON file (everything, every version; NovaWeb can import it again).",
        "",
        "| conversation | messages | last active | |",
        "| --- | ---: | --- | --- |",
    ]
    for item in index:
        title = " ".join(item["title"].split()).replace("|", "\\|").replace("]", "\\]").replace("[", "\\[")
        flags = ", ".join(
            f for f in ("archived" if item["archived"] else "", "pinned" if item["pinned"] else "") if f
        )
        lines.append(
            f"| [{title}](<{item['markdown']}>) | {item['messages']} | {item['updated_at'][:10]} | {flags} |"
        )
    return "\n".join(lines) + "\n"
