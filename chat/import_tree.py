"""What an import has read, before anything is written: conversations as plain data, and the checks every
file format shares (text, times, small JSON values, the shape of the tree).

Readers turn a file into `ImportedConversation`s or raise `ImportRejected` with a sentence that says what is
wrong and where ("conversation 3 (“Trip”), message 'abc': parent 'xyz' does not exist"). Ids in a file only
link messages to their parents; they never become database ids.
"""

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.utils.dateparse import parse_datetime

MAX_CONVERSATIONS = 10_000
MAX_MESSAGES_PER_CONVERSATION = 20_000
MAX_MESSAGES = 200_000
MAX_CONTENT_CHARS = 1_000_000  # a reply can be far longer than a message a person may send
MAX_ID_CHARS = 200
MAX_JSON_CHARS = 20_000  # parameters and provider extras of one message
MAX_JSON_DEPTH = 10
# Times outside these bounds are mistakes or attacks, not conversations.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class ImportRejected(Exception):
    """The file cannot be imported; the message tells the person what is wrong and where."""


@dataclass
class ImportedMessage:
    key: str  # its id in the file
    parent: str | None
    role: str
    content: str
    created_at: datetime
    updated_at: datetime
    state: str = "done"
    model: str = ""
    params: dict = field(default_factory=dict)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    credits: Decimal | None = None
    usage_reported: bool = False
    usage_extra: dict = field(default_factory=dict)
    finish_reason: str = ""
    error: str = ""
    images: list[str] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)


@dataclass
class ImportedConversation:
    where: str  # how error messages name it, e.g. "conversation 3 (“Trip”)"
    title: str
    created_at: datetime
    updated_at: datetime
    messages: list[ImportedMessage]
    current_leaf: str | None = None
    model: str = ""
    params: dict = field(default_factory=dict)
    mode: str = "chat"
    instructions: str = ""
    folder: str = ""
    pinned: bool = False
    archived: bool = False
    # What identifies it where it came from ("novaweb:12:2025-03-14T09:26:53+00:00", "chatgpt:<id>"), kept
    # on the imported conversation so the same file imported again is skipped; "" when the file does not say.
    source: str = ""
    exported_id: int | None = None  # a NovaWeb export's conversation id: maybe one of the importer's own
    left_out: int = 0  # its messages ChatGPT did not show


def source_id(value) -> str | None:
    """A conversation's id in the file, when it is one we can keep (text or a whole number, short, storable);
    None otherwise. Never a reason to refuse a file: the id only lets a second import skip the conversation."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        text = check_text(str(value), "", "id", max_chars=MAX_ID_CHARS).strip()
    except ImportRejected:
        return None
    return text or None


def conversation_where(prefix: str, number: int, title) -> str:
    """'conversation 3 (“Trip to Rome”)', after `prefix` (a file in a zip) when there is one."""
    name = f"conversation {number}"
    if isinstance(title, str) and title.strip():
        short = " ".join(title.split())
        name += f" (“{short[:40]}{'…' if len(short) > 40 else ''}”)"
    return f"{prefix}: {name}" if prefix else name


def quoted(value) -> str:
    """A value from the file, shortened, for an error message."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return repr(text[:60] + "…" if len(text) > 60 else text)


def kind(value) -> str:
    """JSON's name for the type of `value`, for error messages."""
    for python_type, name in ((bool, "true/false"), (str, "text"), (dict, "an object"), (list, "a list")):
        if isinstance(value, python_type):
            return name
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__


def check_text(value, where: str, name: str, *, max_chars: int, default: str = "") -> str:
    """A string PostgreSQL can store, within `max_chars`; null/missing gives `default`."""
    if value is None:
        return default
    if not isinstance(value, str):
        raise ImportRejected(f"{where}: {name} should be text, not {kind(value)}.")
    if "\x00" in value:
        raise ImportRejected(f"{where}: {name} holds a NUL character, which cannot be stored.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ImportRejected(f"{where}: {name} holds a broken character (a lone UTF-16 surrogate).") from None
    if len(value) > max_chars:
        raise ImportRejected(
            f"{where}: {name} is {len(value):,} characters long; the limit is {max_chars:,}."
        )
    return value


def check_key(value, where: str, name: str) -> str:
    """A message id from the file (text or a whole number), as text."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ImportRejected(f"{where}: {name} should be text or a whole number, not {kind(value)}.")
    key = check_text(str(value), where, name, max_chars=MAX_ID_CHARS)
    if not key:
        raise ImportRejected(f"{where}: {name} is empty.")
    return key


def check_flag(value, where: str, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ImportRejected(f"{where}: {name} should be true or false, not {kind(value)}.")
    return value


def check_count(value, where: str, name: str) -> int | None:
    """A token count: a whole number from 0, or null."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ImportRejected(f"{where}: {name} should be a whole number from 0, not {quoted(value)}.")
    return value


def check_time_iso(value, where: str, name: str) -> datetime | None:
    """An ISO 8601 time (a zone-less one is UTC); None when missing."""
    if value is None:
        return None
    parsed = None
    if isinstance(value, str) and len(value) <= 40:
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    if parsed is None:
        raise ImportRejected(f"{where}: {name} {quoted(value)} is not a time (ISO 8601 expected).")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return _in_bounds(parsed, value, where, name)


def check_time_epoch(value, where: str, name: str) -> datetime | None:
    """Seconds since 1970 (ChatGPT's times); None when missing."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ImportRejected(f"{where}: {name} {quoted(value)} is not a time (seconds since 1970 expected).")
    try:
        parsed = datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ImportRejected(f"{where}: {name} {quoted(value)} is not a valid time.") from None
    return _in_bounds(parsed, value, where, name)


def _in_bounds(parsed: datetime, raw, where: str, name: str) -> datetime:
    if not EARLIEST <= parsed < LATEST:
        raise ImportRejected(f"{where}: {name} {quoted(raw)} is not a plausible time.")
    return parsed


def check_json_object(value, where: str, name: str) -> dict:
    """A small JSON object (parameters, provider extras): bounded in size and depth, storable in jsonb."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ImportRejected(f"{where}: {name} should be an object, not {kind(value)}.")
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ImportRejected(f"{where}: {name} is nested more than {MAX_JSON_DEPTH} levels deep.")
        children = (
            item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        )
        for key, child in children:
            for text in (key, child):
                if isinstance(text, str):
                    check_text(text, where, name, max_chars=MAX_JSON_CHARS)
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    if len(json.dumps(value, ensure_ascii=False)) > MAX_JSON_CHARS:
        raise ImportRejected(f"{where}: {name} is larger than {MAX_JSON_CHARS:,} characters.")
    return value


def check_tree(
    where: str, links: list[tuple[str, str | None]], leaf: str | None, noun: str = "message"
) -> None:
    """Of `links` ((id, parent id) pairs): no id is used twice, every parent exists, no message is its own
    ancestor, and the current one (`leaf`) exists. Linear in the number of messages."""
    parents: dict[str, str | None] = {}
    for key, parent in links:
        if key in parents:
            raise ImportRejected(f"{where}: two {noun}s have the id {quoted(key)}.")
        parents[key] = parent
    for key, parent in links:
        if parent is not None and parent not in parents:
            raise ImportRejected(f"{where}, {noun} {quoted(key)}: parent {quoted(parent)} does not exist.")
    # Walk up from each message; meeting one twice on a walk closes a cycle. Finished walks are remembered.
    settled: set[str] = set()
    for start, _ in links:
        walk: list[str] = []
        on_walk: set[str] = set()
        key: str | None = start
        while key is not None and key not in settled:
            if key in on_walk:
                raise ImportRejected(
                    f"{where}, {noun} {quoted(key)}: its parents lead back to itself (a cycle)."
                )
            walk.append(key)
            on_walk.add(key)
            key = parents[key]
        settled.update(walk)
    if leaf is not None and leaf not in parents:
        raise ImportRejected(f"{where}: the current {noun} {quoted(leaf)} does not exist.")


def default_leaf(messages: list[ImportedMessage]) -> str | None:
    """Without a current message in the file: the newest message that has no replies."""
    parents = {m.parent for m in messages}
    leaves = [m for m in messages if m.key not in parents] or messages
    return max(leaves, key=lambda m: m.created_at).key if leaves else None
