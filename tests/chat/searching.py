"""Helpers for the search tests: conversations made straight in the database, and what a search found."""

import datetime as dt

from django.utils import timezone

from chat import search
from chat.models import Conversation, Message


def chat(owner, title, *texts, model="gpt-4o", archived=False, folder=None, days_ago=0) -> Conversation:
    """A conversation of `owner`'s whose messages alternate between the person and the model."""
    conversation = Conversation.objects.create(owner=owner, title=title, model=model, folder=folder)
    parent = None
    for i, text in enumerate(texts):
        parent = Message.objects.create(
            conversation=conversation,
            parent=parent,
            role=Message.Role.USER if i % 2 == 0 else Message.Role.ASSISTANT,
            content=text,
            model="" if i % 2 == 0 else model,
        )
    when = timezone.now() - dt.timedelta(days=days_ago)
    Message.objects.filter(conversation=conversation).update(created_at=when, updated_at=when)
    Conversation.objects.filter(pk=conversation.pk).update(
        current_leaf=parent, updated_at=when, archived_at=when if archived else None
    )
    conversation.refresh_from_db()
    return conversation


def found(user, text, **filters) -> list[int]:
    """The ids of the conversations `user`'s search for `text` lists on its first page, in order."""
    return [hit.conversation.pk for hit in search.search(user, text, search.Filters(**filters)).hits]


def marked(segments) -> list[str]:
    """The highlighted pieces of a title or passage."""
    return [text for text, is_mark in segments if is_mark]


def passage_text(passage) -> str:
    return "".join(text for text, _ in passage.segments)
