"""Exporting conversations: NovaWeb's JSON format (the whole tree) and Markdown (the path on screen).

Plain functions over rows already loaded. The JSON format is versioned and described in
docs/export-format.md; `chat.import_novaweb` reads it back. A key appears only by its label and provider:
nothing of a credential's secret is ever read here.
"""

import re
import unicodedata
from datetime import UTC
from urllib.parse import quote

from django.utils import timezone
from django.utils.text import slugify

from chat.import_novaweb import FORMAT, VERSION
from chat.models import Conversation, Message
from keys.models import Credential
from providers.presets import PRESETS


def export_messages(conversation: Conversation) -> list[Message]:
    """Every message of `conversation`, every branch, oldest first."""
    return list(Message.objects.filter(conversation=conversation).order_by("created_at", "id"))


def key_names(credential_ids) -> dict[int, dict]:
    """{id: {"label", "provider"}} for these keys: labels only (the query reads no secret column)."""
    ids = {pk for pk in credential_ids if pk is not None}
    rows = Credential.objects.filter(pk__in=ids).values("pk", "label", "preset") if ids else []
    return {row["pk"]: {"label": row["label"], "provider": _provider(row["preset"])} for row in rows}


def _provider(preset: str) -> str:
    return PRESETS[preset].name if preset in PRESETS else preset


def document(conversation_data: dict) -> dict:
    """A NovaWeb export file holding one conversation."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _time(timezone.now()),
        "conversation": conversation_data,
    }


def conversation_data(conversation: Conversation, messages: list[Message], keys: dict[int, dict]) -> dict:
    """One conversation as NovaWeb's JSON: its settings and every message of its tree."""
    return {
        "id": conversation.pk,
        "title": conversation.title,
        "model": conversation.model,
        "params": conversation.params,
        "mode": conversation.mode,
        "instructions": conversation.instructions,
        "key": keys.get(conversation.credential_id),
        "folder": conversation.folder.name if conversation.folder_id else None,
        "pinned": conversation.pinned_at is not None,
        "archived": conversation.archived_at is not None,
        "created_at": _time(conversation.created_at),
        "updated_at": _time(conversation.updated_at),
        "current_leaf": conversation.current_leaf_id,
        "messages": [_message_data(m, keys) for m in messages],
    }


def _message_data(m: Message, keys: dict[int, dict]) -> dict:
    return {
        "id": m.pk,
        "parent": m.parent_id,
        "role": m.role,
        "content": m.content,
        "state": m.state,
        "model": m.model,
        "key": keys.get(m.credential_id),
        "params": m.params,
        "usage": {
            "prompt_tokens": m.prompt_tokens,
            "completion_tokens": m.completion_tokens,
            "credits": str(m.credits) if m.credits is not None else None,  # a string keeps every digit
            "reported": m.usage_reported,
            "extra": m.usage_extra,
        },
        "finish_reason": m.finish_reason,
        "error": m.error,
        "images": m.images,
        "choices": m.choices,
        "created_at": _time(m.created_at),
        "updated_at": _time(m.updated_at),
    }


def _time(value) -> str | None:
    return value.isoformat() if value is not None else None


def path_of(messages: list[Message], leaf_id: int | None) -> list[Message]:
    """The messages from the root to `leaf_id`, out of a conversation's loaded messages."""
    by_id = {m.pk: m for m in messages}
    path, node = [], by_id.get(leaf_id)
    while node is not None and len(path) <= len(by_id):
        path.append(node)
        node = by_id.get(node.parent_id)
    return path[::-1]


def conversation_markdown(conversation: Conversation, path: list[Message], keys: dict[int, dict]) -> str:
    """The conversation as shown (the current branch) as readable Markdown, for people rather than programs."""
    lines = [f"# {_one_line(conversation.display_title)}", ""]
    facts = [
        f"Model: {conversation.model}" if conversation.model else "",
        _key_text(keys.get(conversation.credential_id)),
    ]
    facts += [f"Started {_when(conversation.created_at)}", f"last active {_when(conversation.updated_at)}"]
    if conversation.archived_at is not None:
        facts.append("archived")
    lines += [
        " · ".join(f for f in facts if f),
        "",
        f"*Exported from NovaWeb on {_when(timezone.now())}.*",
        "",
    ]
    if conversation.instructions:
        told = [f"> {line}".rstrip() for line in conversation.instructions.splitlines()]
        lines += ["**Instructions to the model:**", "", *told, ""]
    for m in path:
        lines += ["---", "", f"## {_heading(m)}", ""]
        if len(m.choices) > 1:
            for n, choice in enumerate(m.choices, 1):
                lines += [f"### Alternative {n}", "", choice.strip("\n"), ""]
        elif m.content:
            lines += [m.content.strip("\n"), ""]
        if m.images:
            lines += ["Images:", "", *[f"- <{url}>" for url in m.images], ""]
        if m.error:
            lines += [f"> **Error:** {_one_line(m.error)}", ""]
        notes = _notes(m)
        if notes:
            lines += [f"*{notes}*", ""]
    return "\n".join(lines)


def _heading(m: Message) -> str:
    who = {"user": "You", "system": "System"}.get(m.role) or (
        f"Assistant ({m.model})" if m.model else "Assistant"
    )
    return f"{who} · {_when(m.created_at)}"


def _notes(m: Message) -> str:
    notes = []
    if m.role == "assistant" and m.state != "done":
        notes.append(m.get_state_display())
    if m.finish_reason == "length":
        notes.append("cut at the token limit")
    elif m.finish_reason == "content_filter":
        notes.append("stopped by the provider's content filter")
    if m.completion_tokens is not None:
        usage = f"{m.prompt_tokens or 0} + {m.completion_tokens} tokens"
        if m.credits is not None:
            usage += f" · {m.credits.normalize():f} credits"
        notes.append(usage + ("" if m.usage_reported else " (estimated)"))
    return " · ".join(notes)


def _key_text(key: dict | None) -> str:
    return f"Key: {key['label']} ({key['provider']})" if key else ""


def _when(value) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- file names ------------------------------------------------------------------------------------------
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def file_stem(title: str, fallback: str, max_chars: int = 80) -> tuple[str, str]:
    """(a Unicode file name stem, an ASCII one) from a title; `fallback` when nothing usable is left."""
    text = unicodedata.normalize("NFC", _UNSAFE.sub(" ", title or ""))
    stem = "-".join(text.split())[:max_chars].strip(".-") or fallback
    ascii_stem = slugify(title or "")[:max_chars].strip("-") or fallback
    return stem, ascii_stem


def attachment(stem: str, ascii_stem: str, extension: str) -> str:
    """A Content-Disposition header value: the ASCII name for old clients, the Unicode one (RFC 6266)."""
    return f"attachment; filename=\"{ascii_stem}.{extension}\"; filename*=UTF-8''{quote(f'{stem}.{extension}', safe='')}"
