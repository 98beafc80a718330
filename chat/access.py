"""Fetching conversations and messages always goes through here, and here always checks who is asking."""

from django.http import Http404

from chat.models import Conversation, Folder, Message


def access_conversation(user, conversation_id) -> Conversation:
    """`user`'s conversation `conversation_id`, or 404 (also for someone else's: never reveal it exists)."""
    try:
        return Conversation.objects.for_user(user).get(pk=int(conversation_id))
    except (Conversation.DoesNotExist, TypeError, ValueError):
        raise Http404("No such conversation") from None


def access_message(user, conversation_id, message_id) -> Message:
    """Message `message_id` if it belongs to `user`'s conversation `conversation_id`; 404 otherwise."""
    try:
        return Message.objects.get(
            pk=int(message_id),
            conversation_id=int(conversation_id),
            conversation__owner=user,
            conversation__deleted_at__isnull=True,
        )
    except (Message.DoesNotExist, TypeError, ValueError):
        raise Http404("No such message") from None


def access_deleted_conversation(user, conversation_id) -> Conversation:
    """`user`'s conversation `conversation_id` that was deleted and not yet purged (for Undo), or 404."""
    try:
        return Conversation.objects.deleted_for_user(user).get(pk=int(conversation_id))
    except (Conversation.DoesNotExist, TypeError, ValueError):
        raise Http404("No such conversation") from None


def access_folder(user, folder_id) -> Folder:
    """`user`'s folder `folder_id`, or 404 (also for someone else's)."""
    try:
        return Folder.objects.get(owner=user, pk=int(folder_id))
    except (Folder.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such folder") from None
