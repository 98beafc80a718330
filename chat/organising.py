"""Organising conversations in the sidebar: rename, pin, archive, folders, move, delete with undo.

`check_*` validates what a person typed and raises ActionError with a sentence for them; `do_*` writes.
None of these touch `updated_at`: organising a conversation is not activity in it, so it never jumps to the
top of the list (writes go through `QuerySet.update`, which leaves `auto_now` alone).

A deletion has two steps. `do_delete_conversation` sets `deleted_at`: from then on the conversation is gone
for every page, socket, send and search (`Conversation.objects.for_user` leaves it out), and its streaming
reply is stopped. For UNDO_SECONDS the sidebar offers Undo (`do_restore_conversation`). `do_purge_deleted`
then removes it for good, called when that person next loads the sidebar or organises something, and for
everyone when the server starts, so no scheduler is needed.
"""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from chat.actions import ActionError
from chat.broadcast import (
    conversation_group,
    reply_control_group,
    send_to_group_on_commit,
    sidebar_changed_on_commit,
)
from chat.models import Conversation, Folder, Message
from chat.text import clean_text

UNDO_SECONDS = 8
# A click on Undo in its last moment still finds the conversation: the purge waits a little longer.
PURGE_AFTER = timedelta(seconds=UNDO_SECONDS + 4)
TITLE_CHARS = Conversation._meta.get_field("title").max_length
FOLDER_NAME_CHARS = Folder._meta.get_field("name").max_length
MAX_FOLDERS = 100


def _one_line(text) -> str:
    """What was typed, on one line: no control characters, runs of spaces collapsed, trimmed."""
    return " ".join(clean_text(text).split())


def check_title(text) -> str:
    title = _one_line(text)
    if not title:
        raise ActionError("A title can't be empty — type one, or press Escape to keep the old one.")
    if len(title) > TITLE_CHARS:
        raise ActionError(f"A title can be at most {TITLE_CHARS} characters (this one has {len(title)}).")
    return title


def do_rename_conversation(conversation: Conversation, text) -> Conversation:
    """Give the conversation the title typed; every open page of it shows the new one."""
    conversation.title = check_title(text)
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(title=conversation.title)
        send_to_group_on_commit(conversation_group(conversation.pk), {"type": "conversation.renamed"})
        sidebar_changed_on_commit(conversation.owner_id)
    return conversation


def do_set_pinned(conversation: Conversation, pinned: bool) -> Conversation:
    if pinned and conversation.archived_at is not None:
        raise ActionError("An archived conversation can't be pinned — unarchive it first.")
    if pinned != (conversation.pinned_at is not None):
        conversation.pinned_at = timezone.now() if pinned else None
        Conversation.objects.filter(pk=conversation.pk).update(pinned_at=conversation.pinned_at)
        sidebar_changed_on_commit(conversation.owner_id)
    return conversation


def do_set_archived(conversation: Conversation, archived: bool) -> Conversation:
    """Archive (out of the lists, shown under Archived; also unpinned) or bring back. It keeps its folder."""
    if archived != (conversation.archived_at is not None):
        conversation.archived_at = timezone.now() if archived else None
        if archived:
            conversation.pinned_at = None
        Conversation.objects.filter(pk=conversation.pk).update(
            archived_at=conversation.archived_at, pinned_at=conversation.pinned_at
        )
        sidebar_changed_on_commit(conversation.owner_id)
    return conversation


def check_folder_name(user, text, *, renaming: Folder | None = None) -> str:
    name = _one_line(text)
    if not name:
        raise ActionError("Type a name for the folder.")
    if len(name) > FOLDER_NAME_CHARS:
        raise ActionError(f"A folder name can be at most {FOLDER_NAME_CHARS} characters.")
    # One person's folders differ by more than letter case ("Work" and "work" would look like one).
    same = Folder.objects.filter(owner=user).annotate(lower=Lower("name")).filter(lower=name.lower())
    if renaming is not None:
        same = same.exclude(pk=renaming.pk)
    taken = same.first()
    if taken is not None:
        raise ActionError(f"You already have a folder called “{taken.name}”.")
    if renaming is None and Folder.objects.filter(owner=user).count() >= MAX_FOLDERS:
        raise ActionError(f"You have {MAX_FOLDERS} folders, the most there can be — delete one first.")
    return name


def do_create_folder(user, text) -> Folder:
    name = check_folder_name(user, text)
    try:
        with transaction.atomic():
            folder = Folder.objects.create(owner=user, name=name)
            sidebar_changed_on_commit(user.pk)
            return folder
    except IntegrityError:  # the same name, created a moment ago in another tab
        raise ActionError(f"You already have a folder called “{name}”.") from None


def do_rename_folder(folder: Folder, text) -> Folder:
    name = check_folder_name(folder.owner, text, renaming=folder)
    try:
        with transaction.atomic():
            Folder.objects.filter(pk=folder.pk).update(name=name)
            sidebar_changed_on_commit(folder.owner_id)
    except IntegrityError:
        raise ActionError(f"You already have a folder called “{name}”.") from None
    folder.name = name
    return folder


def do_set_folder_collapsed(folder: Folder, collapsed: bool) -> Folder:
    folder.collapsed = collapsed
    Folder.objects.filter(pk=folder.pk).update(collapsed=collapsed)
    sidebar_changed_on_commit(folder.owner_id)
    return folder


def do_delete_folder(folder: Folder) -> None:
    """Delete the folder, not what is in it: its conversations go back to the main list."""
    with transaction.atomic():
        Conversation.objects.filter(folder=folder).update(folder=None)
        sidebar_changed_on_commit(folder.owner_id)
        folder.delete()


def do_move_conversation(conversation: Conversation, folder: Folder | None) -> Conversation:
    """Put the conversation in `folder` (one of its owner's, checked by the caller's access), or in none."""
    if folder is not None and folder.owner_id != conversation.owner_id:
        raise ActionError("That folder does not exist.")
    conversation.folder = folder
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(folder=folder)
        sidebar_changed_on_commit(conversation.owner_id)
        if folder is not None and folder.collapsed:
            do_set_folder_collapsed(folder, False)  # open where it went, so the person sees it there
    return conversation


def do_move_to_new_folder(user, conversation: Conversation, text) -> Folder:
    """Make a folder of `user`'s named `text` and put their conversation in it: both or neither."""
    with transaction.atomic():
        folder = do_create_folder(user, text)
        do_move_conversation(conversation, folder)
    return folder


def do_delete_conversation(conversation: Conversation) -> Conversation:
    """Hide the conversation at once (Undo can bring it back for UNDO_SECONDS) and stop its streaming reply,
    as the Stop button does: the relay keeps the text so far."""
    now = timezone.now()
    with transaction.atomic():
        # The row lock taken here orders this against a send in flight: a send that committed first has its
        # reply stopped below; one that comes after finds the conversation deleted and is refused.
        updated = Conversation.objects.filter(pk=conversation.pk, deleted_at__isnull=True).update(
            deleted_at=now
        )
        if updated:
            conversation.deleted_at = now
            sidebar_changed_on_commit(conversation.owner_id)
            streaming = Message.objects.filter(
                conversation_id=conversation.pk, state=Message.State.STREAMING
            ).values_list("pk", flat=True)
            for message_id in streaming:
                send_to_group_on_commit(
                    reply_control_group(message_id), {"type": "relay.stop", "message_id": message_id}
                )
    return conversation


def do_restore_conversation(conversation: Conversation) -> Conversation:
    """Undo a deletion: the conversation is back where it was (its sort key never changed)."""
    Conversation.objects.filter(pk=conversation.pk).update(deleted_at=None)
    sidebar_changed_on_commit(conversation.owner_id)
    conversation.deleted_at = None
    return conversation


def do_purge_deleted(*, user=None, ids=None) -> int:
    """Delete for good the conversations (with their messages) deleted more than PURGE_AFTER ago: one
    person's (`user`, optionally only `ids`), or everyone's. Returns how many went."""
    expired = Conversation.objects.filter(deleted_at__lt=timezone.now() - PURGE_AFTER)
    if user is not None:
        expired = expired.filter(owner=user)
    if ids is not None:
        expired = expired.filter(pk__in=list(ids))
    with transaction.atomic():
        # Rows another request is purging right now are left to it (two tabs loading at once).
        doomed = list(expired.select_for_update(skip_locked=True).values_list("pk", flat=True))
        if doomed:
            Conversation.objects.filter(
                pk__in=doomed
            ).delete()  # messages cascade; usage rows keep their ledger
    return len(doomed)


def undo_ms_left(conversation: Conversation, now=None) -> int:
    """Milliseconds left to undo the conversation's deletion (0 when the time is up)."""
    if conversation.deleted_at is None:
        return 0
    left = conversation.deleted_at + timedelta(seconds=UNDO_SECONDS) - (now or timezone.now())
    return max(0, int(left.total_seconds() * 1000))
