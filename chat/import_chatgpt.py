"""Reading the `conversations.json` of a ChatGPT data export into plain data.

The file is a list of conversations. Each has `title`, `create_time`/`update_time` (seconds since 1970, as
floats), `current_node` (the end of the branch on screen) and `mapping`: node id → {`parent`, `children`,
`message`}. A message has `author.role` (user, assistant, system, tool), `content` (`content_type` and
`parts`, or `text` for code), `create_time`, `status`, `recipient` and `metadata` (`model_slug`,
`finish_details`, `is_visually_hidden_from_conversation`).

What is kept: what ChatGPT showed — user and assistant text, every branch (regenerated replies and edited
questions become versions), times, models. What is left out: nodes without a message (the root), system and
tool messages, hidden ones, the model's calls to its tools and its hidden reasoning. A kept message whose
parent was left out hangs from the nearest kept ancestor. Parts that are not text (images, audio) leave a
note in the text, as the files themselves are not imported.
"""

from django.utils import timezone

from chat.import_tree import (
    MAX_CONTENT_CHARS,
    MAX_MESSAGES_PER_CONVERSATION,
    ImportedConversation,
    ImportedMessage,
    ImportRejected,
    check_key,
    check_text,
    check_time_epoch,
    check_tree,
    conversation_where,
    default_leaf,
    kind,
    quoted,
    source_id,
)

ROLES = {"user", "assistant", "system", "tool"}
SHOWN_ROLES = {"user", "assistant"}
# The model's working, not its answer: ChatGPT shows none of these as messages.
HIDDEN_CONTENT = {"thoughts", "reasoning_recap", "model_editable_context", "user_editable_context"}
FINISH_REASONS = {"stop": "stop", "max_tokens": "length"}
PART_NAMES = {
    "image_asset_pointer": "Image",
    "audio_asset_pointer": "Audio",
    "real_time_user_audio_video_asset_pointer": "Audio/video",
}


def is_chatgpt(document) -> bool:
    """A list of conversations with message trees (or one such conversation)."""
    first = document[0] if isinstance(document, list) and document else document
    return isinstance(first, dict) and "mapping" in first


def read_chatgpt(document, prefix: str = "") -> tuple[list[ImportedConversation], int]:
    """The conversations of a conversations.json, and how many messages were left out as not shown."""
    items = document if isinstance(document, list) else [document]
    conversations, left_out = [], 0
    for number, item in enumerate(items, 1):
        conversation, skipped = _conversation(item, prefix, number)
        left_out += skipped
        if conversation is not None:
            conversations.append(conversation)
    return conversations, left_out


def _conversation(data, prefix: str, number: int) -> tuple[ImportedConversation | None, int]:
    if not isinstance(data, dict):
        raise ImportRejected(
            f"{conversation_where(prefix, number, None)} should be an object, not {kind(data)}."
        )
    where = conversation_where(prefix, number, data.get("title"))
    mapping = data.get("mapping")
    if not isinstance(mapping, dict):
        raise ImportRejected(f"{where}: “mapping” should be an object of messages, not {kind(mapping)}.")
    if len(mapping) > MAX_MESSAGES_PER_CONVERSATION:
        raise ImportRejected(
            f"{where}: {len(mapping):,} messages; at most {MAX_MESSAGES_PER_CONVERSATION:,} per conversation."
        )
    created = check_time_epoch(data.get("create_time"), where, "create_time") or timezone.now()
    updated = check_time_epoch(data.get("update_time"), where, "update_time") or created
    parents: dict[str, str | None] = {}
    for key, node in mapping.items():
        key = check_key(key, where, "a node id")
        if not isinstance(node, dict):
            raise ImportRejected(f"{where}, node {quoted(key)} should be an object, not {kind(node)}.")
        parent = node.get("parent")
        parents[key] = (
            check_key(parent, f"{where}, node {quoted(key)}", "parent") if parent is not None else None
        )
    current = data.get("current_node")
    current = check_key(current, where, "current_node") if current is not None else None
    check_tree(where, list(parents.items()), current, noun="node")

    kept: dict[str, ImportedMessage] = {}
    for key, node in mapping.items():
        message = _message(key, node.get("message"), f"{where}, node {quoted(key)}", created)
        if message is not None:
            kept[key] = message
    if not kept:
        return None, len(mapping)
    # Messages hang from their nearest shown ancestor (a skipped tool call or hidden node in between goes).
    nearest: dict[str | None, str | None] = {None: None}

    def shown_ancestor_or_self(key: str | None) -> str | None:
        walk = []
        while key not in nearest:
            if key in kept:
                nearest[key] = key
                break
            walk.append(key)
            key = parents[key]
        for passed in walk:
            nearest[passed] = nearest[key]
        return nearest[key]

    for key, message in kept.items():
        message.parent = shown_ancestor_or_self(parents[key])
    messages = list(kept.values())
    leaf = shown_ancestor_or_self(current) if current is not None else None
    leaf = leaf or default_leaf(messages)
    title = check_text(data.get("title"), where, "title", max_chars=10_000)
    model = data.get("default_model_slug")
    model = model if isinstance(model, str) and len(model) <= 200 else kept[leaf].model
    return ImportedConversation(
        where=where,
        title=" ".join(title.split())[:200],
        created_at=created,
        updated_at=updated,
        messages=messages,
        current_leaf=leaf,
        model=check_text(model, where, "default_model_slug", max_chars=200),
        archived=data.get("is_archived") is True,
        source=f"chatgpt:{chatgpt_id}" if (chatgpt_id := _chatgpt_id(data)) else "",
        left_out=len(mapping) - len(kept),
    ), len(mapping) - len(kept)


def _chatgpt_id(data: dict) -> str | None:
    """ChatGPT's id of the conversation (`id`, or `conversation_id` in some exports)."""
    return source_id(data.get("id")) or source_id(data.get("conversation_id"))


def _message(key: str, data, where: str, fallback_time) -> ImportedMessage | None:
    """The message of one node, or None when ChatGPT does not show it."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ImportRejected(f"{where}: its message should be an object, not {kind(data)}.")
    author = data.get("author")
    role = author.get("role") if isinstance(author, dict) else None
    if role not in ROLES:
        raise ImportRejected(f"{where}: author role {quoted(role)} is not user, assistant, system or tool.")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    content = data.get("content")
    if not isinstance(content, dict):
        raise ImportRejected(f"{where}: its content should be an object, not {kind(content)}.")
    if (
        role not in SHOWN_ROLES
        or metadata.get("is_visually_hidden_from_conversation")
        or data.get("recipient") not in (None, "all")  # the model talking to a tool, not to the person
        or content.get("content_type") in HIDDEN_CONTENT
    ):
        return None
    text = check_text(_text(content), where, "its text", max_chars=MAX_CONTENT_CHARS)
    if not text.strip():
        return None  # an empty placeholder ChatGPT leaves before a tool call or a reply
    created = check_time_epoch(data.get("create_time"), where, "create_time") or fallback_time
    finish = metadata.get("finish_details")
    finish = finish.get("type") if isinstance(finish, dict) else None
    state = "done"
    if finish == "interrupted":
        state = "stopped"
    elif data.get("status") == "in_progress":
        state = "interrupted"
    return ImportedMessage(
        key=key,
        parent=None,  # set once every node is read
        role=role,
        content=text,
        created_at=created,
        updated_at=check_time_epoch(data.get("update_time"), where, "update_time") or created,
        state=state,
        model=check_text(metadata.get("model_slug"), where, "model_slug", max_chars=200)
        if role == "assistant"
        else "",
        finish_reason=FINISH_REASONS.get(finish, "") if role == "assistant" else "",
    )


def _text(content: dict) -> str:
    """The readable text of a message's content; a note in brackets for each part that is not text."""
    content_type = content.get("content_type")
    if content_type == "code" and isinstance(content.get("text"), str):
        language = content.get("language")
        language = language if isinstance(language, str) and language.isalnum() and len(language) < 20 else ""
        return f"```{language}\n{content['text']}\n```"
    parts = content.get("parts")
    if not isinstance(parts, list):
        text = content.get("text")
        if isinstance(text, str):
            return text
        return f"[{_name(content_type, 'Content')} not imported]"
    texts = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict):
            if isinstance(part.get("text"), str):
                texts.append(part["text"])  # e.g. an audio transcription
            else:
                texts.append(f"[{_name(part.get('content_type'), 'Attachment')} not imported]")
    return "\n\n".join(text for text in texts if text)


def _name(content_type, fallback: str) -> str:
    if content_type in PART_NAMES:
        return PART_NAMES[content_type]
    if isinstance(content_type, str) and content_type.replace("_", "").isalnum() and len(content_type) <= 40:
        return f"{fallback} of type {content_type}"
    return fallback
