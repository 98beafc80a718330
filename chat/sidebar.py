"""The sidebar's list of conversations, newest first, a page at a time."""

from django.core.paginator import Page, Paginator

from chat.models import Conversation

PAGE_SIZE = 30


def sidebar_page(user, number=1) -> Page:
    """Page `number` of `user`'s conversations that have messages (untouched new chats are not listed)."""
    conversations = (
        Conversation.objects.for_user(user)
        .filter(current_leaf__isnull=False)
        .order_by("-updated_at", "-id")
        .only("id", "title", "updated_at")
    )
    return Paginator(conversations, PAGE_SIZE).get_page(number)
