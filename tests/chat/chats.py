"""Conversations made directly in the database, shaped as the sidebar sees them."""

from datetime import timedelta

from django.utils import timezone

from chat.models import Conversation, Message


def make_chat(owner, title="", *, updated_at=None, **fields) -> Conversation:
    """A listed conversation of `owner` (it has a message), last active at `updated_at` (default now);
    `fields` set the organising columns (pinned_at, archived_at, folder, deleted_at)."""
    conversation = Conversation.objects.create(owner=owner, title=title)
    message = Message.objects.create(conversation=conversation, role="user", content=f"about {title}")
    Conversation.objects.filter(pk=conversation.pk).update(
        current_leaf=message, updated_at=updated_at or timezone.now(), **fields
    )
    conversation.refresh_from_db()
    return conversation


def make_chats(owner, count, *, start=None, step=timedelta(minutes=1), ties=1, prefix="Chat") -> list:
    """`count` conversations, newest first: "Chat 1" is the most recent; every `ties` in a row share one
    `updated_at` (so only their ids order them)."""
    start = start or timezone.now()
    return [
        make_chat(owner, f"{prefix} {n}", updated_at=start - step * ((n - 1) // ties))
        for n in range(1, count + 1)
    ]


def titles(rows) -> list[str]:
    return [row.title for row in rows]
