"""State changes for conversations and messages (check_* validates, do_* writes and notifies).

Views, consumers and relays call these; they never save chat models themselves.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.broadcast import conversation_group, send_to_group_on_commit
from chat.models import Conversation, Message
from chat.text import clean_text, title_from
from keys.access import access_credential
from keys.models import Credential
from providers.presets import PRESETS, clean_params


class ActionError(Exception):
    """A request the user can fix; the message is shown to them as it is."""


@dataclass(frozen=True)
class SendResult:
    user_message: Message
    reply: Message
    created: bool  # False when this send was a repeat of an earlier one (same client id)


def do_create_conversation(user) -> Conversation:
    """A fresh conversation; an untouched empty one of the user's is reused instead of piling up."""
    empty = (
        Conversation.objects.for_user(user).filter(current_leaf__isnull=True, messages__isnull=True).first()
    )
    if empty is not None:
        return empty
    last = Conversation.objects.for_user(user).exclude(credential=None).order_by("-updated_at").first()
    return Conversation.objects.create(
        owner=user, credential=last.credential if last else None, model=last.model if last else ""
    )


def check_send(user, *, text: str, credential_id, model: str, max_chars: int):
    text = clean_text(text).strip()
    if not text:
        raise ActionError("Type a message first.")
    if len(text) > max_chars:
        raise ActionError(f"This message is too long ({len(text):,} characters; the limit is {max_chars:,}).")
    if not credential_id:
        raise ActionError("Pick a key first — add one under Settings → Keys.")
    try:
        credential = access_credential(user, credential_id)
    except Exception:
        raise ActionError("That key is not available — pick another.") from None
    model = clean_text(model).strip()[:200]
    preset = PRESETS.get(credential.preset)
    if not model and (preset is None or not preset.default_model):
        raise ActionError("Type the model to use, e.g. llama-3.3-70b-versatile.")
    return text, credential, model


def do_send_message(
    user,
    conversation: Conversation,
    *,
    text: str,
    client_id: uuid.UUID,
    credential_id,
    model: str,
    params: dict | None = None,
    max_chars: int,
) -> SendResult:
    """Save the user's message and an empty streaming reply, in one transaction, then tell the page.

    A repeated send with the same client id returns the first result. Only one reply per conversation
    streams at a time.
    """
    text, credential, model = check_send(
        user, text=text, credential_id=credential_id, model=model, max_chars=max_chars
    )
    cleaned_params = (
        clean_params(PRESETS[credential.preset], params or {}) if credential.preset in PRESETS else {}
    )
    try:
        with transaction.atomic():
            locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
            earlier = Message.objects.filter(conversation=locked, client_id=client_id).first()
            if earlier is not None:
                reply = Message.objects.filter(parent=earlier, role=Message.Role.ASSISTANT).first()
                return SendResult(earlier, reply, created=False)
            if locked.messages.filter(state=Message.State.STREAMING).exists():
                raise ActionError("A reply is still being written — stop it or wait for it to finish.")
            user_message = Message.objects.create(
                conversation=locked,
                parent_id=locked.current_leaf_id,
                role=Message.Role.USER,
                content=text,
                client_id=client_id,
            )
            reply = Message.objects.create(
                conversation=locked,
                parent=user_message,
                role=Message.Role.ASSISTANT,
                state=Message.State.STREAMING,
                model=model,
                credential=credential,
                params=cleaned_params,
            )
            locked.current_leaf = reply
            locked.credential = credential
            locked.model = model
            title_changed = not locked.title
            if title_changed:
                locked.title = title_from(text)
            locked.save(update_fields=["current_leaf", "credential", "model", "title", "updated_at"])
            send_to_group_on_commit(
                conversation_group(locked.pk),
                {
                    "type": "message.created",
                    "message_ids": [user_message.id, reply.id],
                    "title_changed": title_changed,
                },
            )
    except IntegrityError:
        # Two sends with one client id raced past the lookup; the other one won.
        earlier = Message.objects.get(conversation=conversation, client_id=client_id)
        reply = Message.objects.filter(parent=earlier, role=Message.Role.ASSISTANT).first()
        return SendResult(earlier, reply, created=False)
    return SendResult(user_message, reply, created=True)


def do_save_reply_progress(message_id: int, text: str) -> bool:
    """Store the text so far of a streaming reply (also a heartbeat). False if it is no longer streaming."""
    updated = Message.objects.filter(pk=message_id, state=Message.State.STREAMING).update(
        content=text, updated_at=timezone.now()
    )
    return bool(updated)


@dataclass(frozen=True)
class ReplyOutcome:
    state: str
    text: str
    finish_reason: str = ""
    error: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    credits: Decimal | None = None
    usage_reported: bool = False


def do_finish_reply(message_id: int, outcome: ReplyOutcome) -> bool:
    """Store a reply's final text, state and usage in one transaction and tell the page.

    Only a reply still streaming is finished (a reaper may have marked it interrupted meanwhile,
    in which case the fuller text here still wins). Returns False if the message is gone.
    """
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            return False
        if message.state != Message.State.STREAMING and len(outcome.text) <= len(message.content):
            return True
        message.content = outcome.text
        message.state = outcome.state
        message.finish_reason = outcome.finish_reason[:32]
        message.error = outcome.error[:1000]
        message.prompt_tokens = outcome.prompt_tokens
        message.completion_tokens = outcome.completion_tokens
        message.credits = outcome.credits
        message.usage_reported = outcome.usage_reported
        message.save()
        now = timezone.now()
        Conversation.objects.filter(pk=message.conversation_id).update(updated_at=now)
        if message.credential_id is not None:
            # The key's "last used" and "last error" (plain words, never a secret) for the settings page.
            failed = outcome.state == Message.State.FAILED
            Credential.objects.filter(pk=message.credential_id).update(
                last_used_at=now, last_error=outcome.error[:500] if failed else ""
            )
        send_to_group_on_commit(
            conversation_group(message.conversation_id), {"type": "message.updated", "message_id": message.id}
        )
    return True


INTERRUPTED_BY_RESTART = "The server restarted while this reply was being written; what arrived is kept."


def do_interrupt_stale_replies(*, stale_after: timedelta, keep_ids=(), conversation_id=None) -> int:
    """Mark streaming replies whose relay has written nothing for `stale_after` as interrupted.

    `keep_ids` are replies this process is relaying right now (alive, whatever their timestamps say).
    """
    cutoff = timezone.now() - stale_after
    stale = Message.objects.filter(state=Message.State.STREAMING, updated_at__lt=cutoff).exclude(
        pk__in=list(keep_ids)
    )
    if conversation_id is not None:
        stale = stale.filter(conversation_id=conversation_id)
    with transaction.atomic():
        rows = list(stale.select_for_update(skip_locked=True).values_list("pk", "conversation_id"))
        if not rows:
            return 0
        Message.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            state=Message.State.INTERRUPTED, error=INTERRUPTED_BY_RESTART, updated_at=timezone.now()
        )
        for pk, conv_id in rows:
            send_to_group_on_commit(
                conversation_group(conv_id), {"type": "message.updated", "message_id": pk}
            )
    return len(rows)
