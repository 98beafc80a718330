"""Reading NovaWeb's own export format (version 1; described in docs/export-format.md) into plain data."""

from datetime import UTC
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from django.utils import timezone

from chat.import_tree import (
    MAX_CONTENT_CHARS,
    ImportedConversation,
    ImportedMessage,
    ImportRejected,
    check_count,
    check_flag,
    check_json_object,
    check_key,
    check_text,
    check_time_iso,
    check_tree,
    conversation_where,
    default_leaf,
    kind,
    quoted,
    source_id,
)
from keys.models import MAX_INSTRUCTIONS_CHARS

FORMAT = "novaweb"
VERSION = 1
ROLES = {"user", "assistant", "system"}
# A reply cut by the export (it was streaming) is imported as interrupted: nothing streams into it any more.
STATES = {"done": "done", "stopped": "stopped", "failed": "failed", "interrupted": "interrupted"}
STATES["streaming"] = "interrupted"
MODES = {"chat", "text"}
MAX_IMAGES = 4
MAX_CHOICES = 16
_MAX_CREDITS = Decimal("99999999")  # the column holds 14 digits, 6 of them decimals


def is_novaweb(document) -> bool:
    return isinstance(document, dict) and "format" in document


def read_novaweb(document: dict, prefix: str = "", first_number: int = 1) -> list[ImportedConversation]:
    """The conversations of one NovaWeb document: {"format": "novaweb", "version": 1, "conversation": {…}}
    or the same with "conversations": [{…}, …]. `prefix` names the file inside a zip."""
    where = prefix or "The file"
    if document.get("format") != FORMAT:
        raise ImportRejected(f"{where}: its format is {quoted(document.get('format'))}, not “novaweb”.")
    version = document.get("version")
    if version != VERSION:
        raise ImportRejected(
            f"{where}: version {quoted(version)} of the NovaWeb format; this NovaWeb reads 1."
        )
    if "conversations" in document:
        items = document["conversations"]
        if not isinstance(items, list):
            raise ImportRejected(f"{where}: “conversations” should be a list, not {kind(items)}.")
    elif "conversation" in document:
        items = [document["conversation"]]
    else:
        raise ImportRejected(f"{where}: it holds neither “conversation” nor “conversations”.")
    return [_conversation(item, prefix, first_number + n) for n, item in enumerate(items)]


def _conversation(data, prefix: str, number: int) -> ImportedConversation:
    if not isinstance(data, dict):
        raise ImportRejected(
            f"{conversation_where(prefix, number, None)} should be an object, not {kind(data)}."
        )
    where = conversation_where(prefix, number, data.get("title"))
    items = data.get("messages")
    if not isinstance(items, list):
        raise ImportRejected(f"{where}: “messages” should be a list, not {kind(items)}.")
    now = timezone.now()
    file_created = check_time_iso(data.get("created_at"), where, "created_at")
    created = file_created or now
    messages = [_message(item, where, n, created) for n, item in enumerate(items, 1)]
    mode = data.get("mode") or "chat"
    if mode not in MODES:
        raise ImportRejected(f"{where}: mode {quoted(mode)} is not “chat” or “text”.")
    leaf = data.get("current_leaf")
    leaf = check_key(leaf, where, "current_leaf") if leaf is not None else default_leaf(messages)
    check_tree(where, [(m.key, m.parent) for m in messages], leaf)
    return ImportedConversation(
        where=where,
        title=check_text(data.get("title"), where, "title", max_chars=200),
        created_at=created,
        updated_at=check_time_iso(data.get("updated_at"), where, "updated_at") or created,
        messages=messages,
        current_leaf=leaf,
        model=check_text(data.get("model"), where, "model", max_chars=200),
        params=check_json_object(data.get("params"), where, "params"),
        mode=mode,
        instructions=check_text(
            data.get("instructions"), where, "instructions", max_chars=MAX_INSTRUCTIONS_CHARS
        ).strip(),
        folder=check_text(data.get("folder"), where, "folder", max_chars=80).strip(),
        pinned=check_flag(data.get("pinned"), where, "pinned"),
        archived=check_flag(data.get("archived"), where, "archived"),
        **_source(data.get("id"), file_created),
    )


def novaweb_source(exported_id, created_at) -> str:
    """A NovaWeb conversation's identity: its id where it was exported and when it started (ids alone
    repeat across installations)."""
    return f"novaweb:{exported_id}:{created_at.astimezone(UTC).isoformat()}"


def _source(value, created_at) -> dict:
    exported_id = source_id(value)
    if exported_id is None or created_at is None:
        return {}
    own = (
        int(exported_id)
        if exported_id.isascii() and exported_id.isdigit() and len(exported_id) < 19
        else None
    )
    return {"source": novaweb_source(exported_id, created_at), "exported_id": own}


def _message(data, conversation: str, number: int, fallback_time) -> ImportedMessage:
    if not isinstance(data, dict):
        raise ImportRejected(f"{conversation}, message {number} should be an object, not {kind(data)}.")
    key = check_key(data.get("id"), f"{conversation}, message {number}", "id")
    where = f"{conversation}, message {quoted(key)}"
    parent = data.get("parent")
    role = data.get("role")
    if role not in ROLES:
        raise ImportRejected(f"{where}: role {quoted(role)} is not one of user, assistant, system.")
    state = data.get("state") or "done"
    if state not in STATES:
        raise ImportRejected(f"{where}: state {quoted(state)} is not one NovaWeb knows.")
    usage = data.get("usage") or {}
    if not isinstance(usage, dict):
        raise ImportRejected(f"{where}: usage should be an object, not {kind(usage)}.")
    created = check_time_iso(data.get("created_at"), where, "created_at") or fallback_time
    return ImportedMessage(
        key=key,
        parent=check_key(parent, where, "parent") if parent is not None else None,
        role=role,
        content=check_text(data.get("content"), where, "content", max_chars=MAX_CONTENT_CHARS),
        created_at=created,
        updated_at=check_time_iso(data.get("updated_at"), where, "updated_at") or created,
        state=STATES[state],
        model=check_text(data.get("model"), where, "model", max_chars=200),
        params=check_json_object(data.get("params"), where, "params"),
        prompt_tokens=check_count(usage.get("prompt_tokens"), where, "usage.prompt_tokens"),
        completion_tokens=check_count(usage.get("completion_tokens"), where, "usage.completion_tokens"),
        credits=_credits(usage.get("credits"), where),
        usage_reported=check_flag(usage.get("reported"), where, "usage.reported"),
        usage_extra=check_json_object(usage.get("extra"), where, "usage.extra"),
        finish_reason=check_text(data.get("finish_reason"), where, "finish_reason", max_chars=32),
        error=check_text(data.get("error"), where, "error", max_chars=1000),
        images=_images(data.get("images"), where),
        choices=_choices(data.get("choices"), where),
    )


def _credits(value, where: str) -> Decimal | None:
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidOperation
        credits = Decimal(str(value))
        if not credits.is_finite() or not 0 <= credits < _MAX_CREDITS:
            raise InvalidOperation
    except InvalidOperation:
        raise ImportRejected(f"{where}: usage.credits {quoted(value)} is not an amount of credits.") from None
    return credits.quantize(Decimal("0.000001"))


def _images(value, where: str) -> list[str]:
    """Image links, shown by the browser as they are: https addresses only (never javascript: or data:)."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_IMAGES:
        raise ImportRejected(f"{where}: images should be a list of at most {MAX_IMAGES} links.")
    urls = [check_text(url, where, "an image link", max_chars=2000) for url in value]
    for url in urls:
        try:
            parts = urlsplit(url)
            fine = parts.scheme == "https" and bool(parts.hostname)
        except ValueError:
            fine = False
        if not fine:
            raise ImportRejected(f"{where}: image link {quoted(url)} is not an https:// address.")
    return urls


def _choices(value, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_CHOICES:
        raise ImportRejected(f"{where}: choices should be a list of at most {MAX_CHOICES} texts.")
    return [check_text(text, where, "an alternative", max_chars=MAX_CONTENT_CHARS) for text in value]
