"""The organising actions (chat/organising.py): what each writes, refuses and leaves alone."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.http import Http404
from django.utils import timezone

from chat import organising
from chat.access import access_conversation, access_deleted_conversation, access_message
from chat.actions import ActionError, do_send_message
from chat.broadcast import conversation_group, reply_control_group, user_group
from chat.models import Conversation, Folder, Message
from keys.models import UsageEntry
from tests.chat.chats import make_chat

pytestmark = pytest.mark.django_db


def fresh(conversation) -> Conversation:
    return Conversation.objects.get(pk=conversation.pk)


# --- Rename -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Trip   plans \n for May ", "Trip plans for May"),
        ("Nul\x00 byte", "Nul byte"),
        ("Tab\tand\u00a0spaces", "Tab and spaces"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # stored as typed; escaped when shown
        ("x" * 200, "x" * 200),
    ],
)
def test_rename_stores_the_title_on_one_line(alice, typed, stored):
    chat = make_chat(alice, "Before")
    organising.do_rename_conversation(chat, typed)
    assert fresh(chat).title == stored


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "can't be empty"),
        ("   \n\t", "can't be empty"),
        ("\x00", "can't be empty"),
        ("y" * 201, "at most 200"),
    ],
)
def test_rename_refuses_what_is_no_title(alice, typed, says):
    chat = make_chat(alice, "Before")
    with pytest.raises(ActionError, match=says):
        organising.do_rename_conversation(chat, typed)
    assert fresh(chat).title == "Before"


def test_organising_never_moves_a_conversation_up_the_list(alice):
    """Only activity in a conversation (a message, a reply) changes `updated_at`, its place in the list."""
    chat = make_chat(alice, "Quiet", updated_at=timezone.now() - timedelta(days=3))
    before = fresh(chat).updated_at
    organising.do_rename_conversation(chat, "Renamed")
    organising.do_set_pinned(fresh(chat), True)
    organising.do_set_archived(fresh(chat), True)
    organising.do_set_archived(fresh(chat), False)
    organising.do_move_conversation(fresh(chat), Folder.objects.create(owner=alice, name="F"))
    organising.do_delete_conversation(fresh(chat))
    organising.do_restore_conversation(Conversation.objects.get(pk=chat.pk))
    assert fresh(chat).updated_at == before


def test_rename_tells_the_open_pages_after_commit(alice, django_capture_on_commit_callbacks, broadcasts):
    chat = make_chat(alice, "Before")
    with django_capture_on_commit_callbacks(execute=True):
        organising.do_rename_conversation(chat, "After")
    assert (conversation_group(chat.pk), {"type": "conversation.renamed"}) in broadcasts


# --- Pin and archive ------------------------------------------------------------------------------------
def test_pin_and_unpin(alice):
    chat = make_chat(alice, "Pin me")
    organising.do_set_pinned(chat, True)
    pinned_at = fresh(chat).pinned_at
    assert pinned_at is not None
    organising.do_set_pinned(fresh(chat), True)  # pinning again keeps its first time
    assert fresh(chat).pinned_at == pinned_at
    organising.do_set_pinned(fresh(chat), False)
    assert fresh(chat).pinned_at is None


def test_archive_unpins_and_keeps_the_folder_for_later(alice):
    folder = Folder.objects.create(owner=alice, name="Work")
    chat = make_chat(alice, "Done with", folder=folder, pinned_at=timezone.now())
    organising.do_set_archived(fresh(chat), True)
    archived = fresh(chat)
    assert archived.archived_at is not None and archived.pinned_at is None and archived.folder_id == folder.pk
    with pytest.raises(ActionError, match="unarchive it first"):
        organising.do_set_pinned(archived, True)
    organising.do_set_archived(archived, False)
    assert fresh(chat).archived_at is None and fresh(chat).folder_id == folder.pk


# --- Folders --------------------------------------------------------------------------------------------
def test_create_folder_trims_and_refuses_duplicates_whatever_the_case(alice, bob):
    folder = organising.do_create_folder(alice, "  Client   work ")
    assert folder.name == "Client work" and folder.owner == alice and not folder.collapsed
    with pytest.raises(ActionError, match=re.escape("You already have a folder called “Client work”.")):
        organising.do_create_folder(alice, "client WORK")
    assert organising.do_create_folder(bob, "Client work").owner == bob  # names are per person


@pytest.mark.parametrize(
    ("typed", "says"), [("", "Type a name"), (" \x00 ", "Type a name"), ("n" * 81, "at most 80")]
)
def test_create_folder_refuses_empty_and_overlong_names(alice, typed, says):
    with pytest.raises(ActionError, match=says):
        organising.do_create_folder(alice, typed)
    assert not Folder.objects.exists()


def test_a_person_has_at_most_max_folders(alice, monkeypatch):
    monkeypatch.setattr(organising, "MAX_FOLDERS", 2)
    organising.do_create_folder(alice, "One")
    organising.do_create_folder(alice, "Two")
    with pytest.raises(ActionError, match="the most there can be"):
        organising.do_create_folder(alice, "Three")


def test_rename_folder(alice):
    work = organising.do_create_folder(alice, "Work")
    organising.do_create_folder(alice, "Home")
    organising.do_rename_folder(work, "work")  # its own name in another case is fine
    assert Folder.objects.get(pk=work.pk).name == "work"
    with pytest.raises(ActionError, match="“Home”"):
        organising.do_rename_folder(work, "HOME")
    with pytest.raises(ActionError, match="Type a name"):
        organising.do_rename_folder(work, "  ")
    assert Folder.objects.get(pk=work.pk).name == "work"


def test_deleting_a_folder_keeps_its_conversations(alice):
    folder = organising.do_create_folder(alice, "Doomed")
    inside = make_chat(alice, "Inside", folder=folder)
    archived_inside = make_chat(alice, "Archived inside", folder=folder, archived_at=timezone.now())
    organising.do_delete_folder(folder)
    assert not Folder.objects.exists()
    assert fresh(inside).folder_id is None and fresh(archived_inside).folder_id is None


def test_fold_and_unfold(alice):
    folder = organising.do_create_folder(alice, "F")
    organising.do_set_folder_collapsed(folder, True)
    assert Folder.objects.get(pk=folder.pk).collapsed
    organising.do_set_folder_collapsed(folder, False)
    assert not Folder.objects.get(pk=folder.pk).collapsed


def test_move_in_and_out_of_a_folder(alice, bob):
    folder = organising.do_create_folder(alice, "Work")
    chat = make_chat(alice, "Movable")
    organising.do_move_conversation(chat, folder)
    assert fresh(chat).folder_id == folder.pk
    organising.do_move_conversation(fresh(chat), None)
    assert fresh(chat).folder_id is None
    with pytest.raises(ActionError):
        organising.do_move_conversation(fresh(chat), organising.do_create_folder(bob, "Bob's"))
    assert fresh(chat).folder_id is None


@pytest.mark.django_db(transaction=True)  # each action commits, as in the app
def test_moving_into_a_folded_folder_opens_it(alice, broadcasts):
    folder = organising.do_create_folder(alice, "Shut")
    organising.do_set_folder_collapsed(folder, True)
    chat = make_chat(alice, "In")
    broadcasts.clear()
    organising.do_move_conversation(chat, Folder.objects.get(pk=folder.pk))
    assert not Folder.objects.get(pk=folder.pk).collapsed  # so the person sees where it went
    # One change, told once: each tell makes every open page fetch its lists again.
    assert broadcasts == [(user_group(alice.pk), {"type": "sidebar.changed"})]


@pytest.mark.django_db(transaction=True)
def test_moving_to_a_new_folder_tells_the_pages_once(alice, broadcasts):
    chat = make_chat(alice, "Movable")
    broadcasts.clear()
    organising.do_move_to_new_folder(alice, chat, "Fresh")
    assert broadcasts == [(user_group(alice.pk), {"type": "sidebar.changed"})]


def test_move_to_a_new_folder_makes_both_or_neither(alice):
    chat = make_chat(alice, "Movable")
    folder = organising.do_move_to_new_folder(alice, chat, " Fresh ")
    assert folder.name == "Fresh" and fresh(chat).folder_id == folder.pk
    other = make_chat(alice, "Other")
    with pytest.raises(ActionError, match="already have"):
        organising.do_move_to_new_folder(alice, other, "fresh")
    assert fresh(other).folder_id is None and Folder.objects.count() == 1


# --- Delete, undo, purge --------------------------------------------------------------------------------
def test_a_deleted_conversation_is_gone_for_every_reader_until_undone(alice):
    chat = make_chat(alice, "Oops")
    message = Message.objects.get(conversation=chat)
    organising.do_delete_conversation(chat)
    assert not Conversation.objects.for_user(alice).filter(pk=chat.pk).exists()
    with pytest.raises(Http404):
        access_conversation(alice, chat.pk)
    with pytest.raises(Http404):
        access_message(alice, chat.pk, message.pk)
    restored = organising.do_restore_conversation(access_deleted_conversation(alice, chat.pk))
    assert restored.deleted_at is None and access_conversation(alice, chat.pk) == chat
    with pytest.raises(Http404):  # Undo only applies to a deleted one
        access_deleted_conversation(alice, chat.pk)


def test_deleting_stops_a_streaming_reply_like_the_stop_button(
    alice, django_capture_on_commit_callbacks, broadcasts
):
    chat = make_chat(alice, "Busy")
    reply = Message.objects.create(conversation=chat, role="assistant", state=Message.State.STREAMING)
    with django_capture_on_commit_callbacks(execute=True):
        organising.do_delete_conversation(chat)
    assert (reply_control_group(reply.pk), {"type": "relay.stop", "message_id": reply.pk}) in broadcasts


def test_deleting_twice_keeps_the_first_time(alice):
    chat = make_chat(alice, "Twice")
    organising.do_delete_conversation(chat)
    first = Conversation.objects.get(pk=chat.pk).deleted_at
    organising.do_delete_conversation(Conversation.objects.get(pk=chat.pk))
    assert Conversation.objects.get(pk=chat.pk).deleted_at == first


def test_undo_time_left(alice):
    chat = make_chat(alice, "Gone", deleted_at=timezone.now())
    assert 7000 < organising.undo_ms_left(fresh(chat)) <= 8000
    later = timezone.now() + timedelta(seconds=9)
    assert organising.undo_ms_left(fresh(chat), later) == 0


def test_purge_removes_only_deletions_past_their_time_and_only_the_persons(alice, bob):
    long_ago = timezone.now() - organising.PURGE_AFTER - timedelta(seconds=1)
    expired = make_chat(alice, "Expired", deleted_at=long_ago)
    usage = UsageEntry.objects.create(user=alice, message=Message.objects.get(conversation=expired))
    recent = make_chat(alice, "Recent", deleted_at=timezone.now())
    kept = make_chat(alice, "Kept")
    bobs = make_chat(bob, "Bob's expired", deleted_at=long_ago)
    assert organising.do_purge_deleted(user=alice) == 1
    assert not Conversation.objects.filter(pk=expired.pk).exists()
    assert not Message.objects.filter(conversation_id=expired.pk).exists()
    usage.refresh_from_db()
    assert usage.message_id is None  # the ledger keeps the row: usage is history
    assert set(Conversation.objects.values_list("title", flat=True)) == {"Recent", "Kept", "Bob's expired"}
    assert recent and kept and bobs
    out = StringIO()
    call_command("purge_deleted_conversations", stdout=out)  # at start-up: everyone's
    assert "Deleted 1 conversation for good." in out.getvalue()
    assert not Conversation.objects.filter(pk=bobs.pk).exists()


def test_a_send_into_a_deleted_conversation_is_refused(alice, make_key):
    key = make_key(alice)
    chat = make_chat(alice, "Deleted meanwhile")
    organising.do_delete_conversation(chat)
    with pytest.raises(ActionError, match=re.escape("This conversation was deleted.")):
        do_send_message(
            alice, chat, text="hello", client_id="3f1b5c36-1c1a-4c7f-9a52-1b7e9e3a1c10",
            credential_id=key.pk, model="m", max_chars=1000,
        )  # fmt: skip
    Conversation.objects.filter(pk=chat.pk).delete()  # purged meanwhile: the same words, no crash
    with pytest.raises(ActionError, match=re.escape("This conversation was deleted.")):
        do_send_message(
            alice, chat, text="hello", client_id="3f1b5c36-1c1a-4c7f-9a52-1b7e9e3a1c11",
            credential_id=key.pk, model="m", max_chars=1000,
        )  # fmt: skip
