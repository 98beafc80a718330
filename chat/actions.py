"""State changes for conversations and messages (check_* validates, do_* writes and notifies).

Views, consumers and relays call these; they never save chat models themselves.
"""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from chat import billing
from chat.broadcast import (
    conversation_group,
    reply_control_group,
    send_to_group_on_commit,
    sidebar_changed_on_commit,
)
from chat.history import ReplyContext, history_path, request_context
from chat.models import Conversation, Message
from chat.text import clean_text, title_from
from keys import ledger
from keys.access import access_usable_credential
from keys.models import MAX_INSTRUCTIONS_CHARS, ChatDefaults, Credential
from keys.parameters_panel import params_from_form
from providers.models import is_vision_model
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
    # The person's saved defaults first; without them, whatever their latest chat used.
    defaults = ChatDefaults.objects.filter(user=user).select_related("credential").first()
    if defaults is not None and defaults.credential_id is not None:
        return Conversation.objects.create(
            owner=user,
            credential=defaults.credential,
            model=defaults.model,
            params=defaults.params,
            instructions=defaults.instructions,
        )
    last = Conversation.objects.for_user(user).exclude(credential=None).order_by("-updated_at").first()
    if last is None:
        return Conversation.objects.create(owner=user)
    return Conversation.objects.create(
        owner=user, credential=last.credential, model=last.model, params=last.params, mode=last.mode
    )


def check_send(user, *, text: str, credential_id, model: str, max_chars: int):
    text = clean_text(text).strip()
    if not text:
        raise ActionError("Type a message first.")
    if len(text) > max_chars:
        raise ActionError(f"This message is too long ({len(text):,} characters; the limit is {max_chars:,}).")
    if not credential_id:
        raise ActionError("Pick a key first — add one under Settings → Keys.")
    credential = _usable_credential(user, credential_id)
    model = clean_text(model).strip()[:200]
    preset = PRESETS.get(credential.preset)
    if not model and (preset is None or not preset.default_model):
        raise ActionError("Type the model to use, e.g. llama-3.3-70b-versatile.")
    return text, credential, model


def _usable_credential(user, credential_id) -> Credential:
    try:
        return access_usable_credential(user, credential_id)
    except Http404:
        raise ActionError(ledger.NOT_AVAILABLE) from None


def _reserve(user, reply: Message, prefix: str = "") -> None:
    """Reserve the reply's usage against its key's grant and budget, inside the caller's transaction: a
    refusal rolls everything back, so nothing is stored and nothing goes upstream."""
    try:
        billing.reserve_reply(user, reply, prefix=prefix)
    except ledger.Refused as refusal:
        raise ActionError(str(refusal)) from None


MAX_IMAGES = 4  # NovaKit: "up to 4" image URLs per message
_IMAGE_URL_CHARS = 2000


def check_images(credential: Credential, model: str, raw) -> list[str]:
    """The image URLs for a message: https only (the browser loads them; the server never fetches them), at most
    four, and only for a provider and model that take images."""
    if isinstance(raw, str):
        raw = raw.split()
    urls = [clean_text(url).strip() for url in raw if isinstance(url, str)] if isinstance(raw, list) else []
    urls = [url for url in urls if url]
    if not urls:
        return []
    preset = PRESETS.get(credential.preset)
    if preset is None or "images" not in preset.message_fields:
        raise ActionError(f"{credential.preset_name} does not take images with a message.")
    if len(urls) > MAX_IMAGES:
        raise ActionError(f"At most {MAX_IMAGES} images per message.")
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or len(url) > _IMAGE_URL_CHARS:
            raise ActionError("Image links must be https:// addresses of images.")
    model = model or preset.default_model or ""
    if not takes_images(credential, model):
        raise ActionError(
            f"{model} does not take images — pick a vision model such as openai/gpt-4o, or remove the images."
        )
    return urls


def takes_images(credential: Credential, model: str) -> bool:
    """Whether `model` accepts images: as the key's model list says, else by its family."""
    for listed in credential.models_cache or ():
        if isinstance(listed, dict) and listed.get("id") == model:
            return bool(listed.get("vision"))
    return is_vision_model(model)


def clean_instructions(raw) -> str:
    """Instructions as stored: text PostgreSQL can hold, without surrounding blank space, bounded."""
    return clean_text(raw).strip()[:MAX_INSTRUCTIONS_CHARS] if isinstance(raw, str) else ""


@dataclass(frozen=True)
class ChatOptions:
    """What a composer form asks for, cleaned: the parameters (against the key's preset), the mode, and the
    instructions, None when the form had no such field (text mode hides it): those stay as they are."""

    params: dict
    mode: str
    instructions: str | None


def chat_options(credential: Credential | None, form) -> ChatOptions:
    preset = PRESETS.get(credential.preset) if credential else None
    params = params_from_form(preset, form)
    mode = form.get("mode")
    if mode != Conversation.Mode.TEXT or preset is None or not preset.supports_text_completions:
        mode = Conversation.Mode.CHAT
    instructions = clean_instructions(form.get("instructions")) if "instructions" in form else None
    return ChatOptions(params, mode, instructions)


def _apply_options(conversation: Conversation, options: ChatOptions) -> list[str]:
    """Set `options` on `conversation`; the fields to save."""
    conversation.params, conversation.mode = options.params, options.mode
    if options.instructions is None:
        return ["params", "mode"]
    conversation.instructions = options.instructions
    return ["params", "mode", "instructions"]


def do_set_chat_options(conversation: Conversation, credential: Credential, form) -> Conversation:
    """Remember the key, parameters, mode and instructions shown in a conversation's panel (before anything
    is sent)."""
    fields = _apply_options(conversation, chat_options(credential, form))
    conversation.credential = credential
    # Not `save()`: these are preferences and must not move the chat to the top of the sidebar.
    Conversation.objects.filter(pk=conversation.pk).update(
        credential=credential, **{name: getattr(conversation, name) for name in fields}
    )
    return conversation


@dataclass(frozen=True)
class SendPlan:
    """What a send will ask the provider, read before anything is written, so that the call can start while
    the send commits. `leaf_id` is the message the new one will follow; the plan holds only if the committed
    send follows it too."""

    leaf_id: int | None
    context: ReplyContext

    def holds_for(self, result: "SendResult") -> bool:
        return (
            result.created
            and result.user_message.parent_id == self.leaf_id
            and result.reply.credential_id == self.context.credential_id
        )


def plan_send(
    user,
    conversation: Conversation,
    *,
    text: str,
    client_id: uuid.UUID,
    credential_id,
    model: str,
    options=None,
    max_chars: int,
) -> SendPlan | None:
    """The request a send will make, from reads only (ActionError as do_send_message would raise it).

    None when the send must commit before anything goes upstream: on a shared key the budget's reservation
    decides the request (its max_tokens) and must admit it first; a repeated send (same client id) or a
    reply still streaming will not make a new request at all; a deleted conversation gets do_send_message's
    words. Anything that changes between this read and the commit (another tab's send) fails `holds_for`.
    """
    text, credential, model, images, chosen = _cleaned_send(
        user, text=text, credential_id=credential_id, model=model, options=options, max_chars=max_chars
    )
    if credential.is_shared:
        return None
    row = (
        Conversation.objects.filter(pk=conversation.pk, deleted_at__isnull=True)
        .values_list("current_leaf_id", "instructions")
        .first()
    )
    if row is None:
        return None
    leaf, instructions = row
    path = history_path(conversation.pk, leaf)
    if path and (path[-1].is_streaming or any(m.client_id == client_id for m in path)):
        return None
    pending = Message(role=Message.Role.USER, content=text, images=images)
    context = request_context(
        credential,
        conversation,
        [*path, pending],
        mode=chosen.mode,
        model=model,
        params=chosen.params,
        instructions=instructions if chosen.instructions is None else chosen.instructions,
    )
    return SendPlan(leaf, context)


def _cleaned_send(user, *, text, credential_id, model, options, max_chars):
    """A send's message, key, model, images and chat options, checked and cleaned (ActionError if not)."""
    typed = text
    text, credential, model = check_send(
        user, text=text, credential_id=credential_id, model=model, max_chars=max_chars
    )
    options = options if options is not None else {}
    images = check_images(credential, model, options.get("images"))
    chosen = chat_options(credential, options)
    return _as_sent(typed, text, chosen.mode), credential, model, images, chosen


def _as_sent(typed: str, checked: str, mode: str) -> str:
    """A message as stored and sent: `checked` (trimmed) in a chat; in a text completion, exactly as typed,
    since a prompt is continued exactly and its spaces and line breaks matter."""
    return clean_text(typed) if mode == Conversation.Mode.TEXT else checked


def do_send_message(
    user,
    conversation: Conversation,
    *,
    text: str,
    client_id: uuid.UUID,
    credential_id,
    model: str,
    options=None,
    max_chars: int,
) -> SendResult:
    """Save the user's message and an empty streaming reply, in one transaction, then tell the page.

    `options` is the composer's form (parameters panel, mode, instructions, image links); it is cleaned here
    and becomes the conversation's settings too. A repeated send with the same client id returns the first
    result. Only one reply per conversation streams at a time.
    """
    text, credential, model, images, chosen = _cleaned_send(
        user, text=text, credential_id=credential_id, model=model, options=options, max_chars=max_chars
    )
    try:
        with transaction.atomic():
            locked = _lock_conversation(conversation)
            earlier = Message.objects.filter(conversation=locked, client_id=client_id).first()
            if earlier is not None:
                reply = Message.objects.filter(parent=earlier, role=Message.Role.ASSISTANT).first()
                return SendResult(earlier, reply, created=False)
            _refuse_if_streaming(locked)
            user_message = Message.objects.create(
                conversation=locked,
                parent_id=locked.current_leaf_id,
                role=Message.Role.USER,
                content=text,
                client_id=client_id,
                images=images,
            )
            reply = _streaming_reply(
                locked, parent_id=user_message.pk, credential=credential, model=model, params=chosen.params
            )
            # The options go on the conversation before the reservation, which counts the instructions.
            chosen_fields = _apply_options(locked, chosen)
            _reserve(user, reply)
            locked.current_leaf = reply
            locked.credential = credential
            locked.model = model
            title_changed = not locked.title
            if title_changed:
                locked.title = title_from(text)
            locked.save(
                update_fields=["current_leaf", "credential", "model", *chosen_fields, "title", "updated_at"]
            )
            send_to_group_on_commit(
                conversation_group(locked.pk),
                {
                    "type": "message.created",
                    "message_ids": [user_message.id, reply.id],
                    "title_changed": title_changed,
                },
            )
            sidebar_changed_on_commit(locked.owner_id)  # named, or moved to the top, in other tabs too
    except IntegrityError:
        # Two sends with one client id raced past the lookup; the other one won.
        earlier = Message.objects.get(conversation=conversation, client_id=client_id)
        reply = Message.objects.filter(parent=earlier, role=Message.Role.ASSISTANT).first()
        return SendResult(earlier, reply, created=False)
    return SendResult(user_message, reply, created=True)


def _streaming_reply(
    locked: Conversation, *, parent_id, credential: Credential, model: str, params: dict
) -> Message:
    """A new assistant message, empty and streaming: its relay fills it in."""
    return Message.objects.create(
        conversation=locked,
        parent_id=parent_id,
        role=Message.Role.ASSISTANT,
        state=Message.State.STREAMING,
        model=model,
        credential=credential,
        params=params,
    )


def _refuse_if_streaming(locked: Conversation) -> None:
    """One reply per conversation streams at a time (the caller holds the conversation's row lock)."""
    if locked.messages.filter(state=Message.State.STREAMING).exists():
        raise ActionError("A reply is still being written — stop it or wait for it to finish.")


def _lock_conversation(conversation: Conversation) -> Conversation:
    """The conversation's row, locked. A page still open on a conversation deleted meanwhile (in its undo
    window, or already purged) cannot add to it."""
    locked = Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
    if locked is None or locked.deleted_at is not None:
        raise ActionError("This conversation was deleted.")
    return locked


def _lock_idle_conversation(conversation: Conversation) -> Conversation:
    locked = _lock_conversation(conversation)
    _refuse_if_streaming(locked)
    return locked


def _finished_reply(conversation: Conversation, message_id) -> Message:
    reply = Message.objects.filter(
        pk=message_id, conversation=conversation, role=Message.Role.ASSISTANT
    ).first()
    if reply is None:
        raise ActionError("That reply does not exist.")
    return reply


def do_retry_reply(user, conversation: Conversation, *, message_id, credential_id, model: str) -> Message:
    """A new reply to the same message, beside the old one (a sibling: nothing is overwritten), with the key,
    model and parameters the composer shows now. The new reply becomes the one on screen."""
    with transaction.atomic():
        locked = _lock_idle_conversation(conversation)
        old = _finished_reply(locked, message_id)
        credential = _usable_credential(user, credential_id or old.credential_id)
        model = clean_text(model).strip()[:200] or old.model
        return _new_reply_on_screen(user, locked, parent_id=old.parent_id, credential=credential, model=model)


def do_edit_message(
    user,
    conversation: Conversation,
    *,
    message_id,
    text: str,
    credential_id,
    model: str,
    max_chars: int,
    images=None,
) -> Message:
    """Ask again with one of your messages rewritten: the new text goes beside the old one (a sibling, as
    Retry's replies are: nothing is overwritten), and a new reply to it is written with the key and model the
    composer shows now. The new version becomes the one on screen; the old one stays a version away.
    `images` are its image links as edited; None keeps the old message's."""
    with transaction.atomic():
        locked = _lock_idle_conversation(conversation)
        old = Message.objects.filter(pk=message_id, conversation=locked, role=Message.Role.USER).first()
        if old is None:
            raise ActionError("That message does not exist.")
        checked, credential, model = check_send(
            user,
            text=text,
            credential_id=credential_id or locked.credential_id,
            model=model or locked.model,
            max_chars=max_chars,
        )
        edited = Message.objects.create(
            conversation=locked,
            parent_id=old.parent_id,
            role=Message.Role.USER,
            content=_as_sent(text, checked, locked.mode),
            images=check_images(credential, model, old.images if images is None else images),
        )
        return _new_reply_on_screen(user, locked, parent_id=edited.pk, credential=credential, model=model)


def _new_reply_on_screen(
    user, locked: Conversation, *, parent_id, credential: Credential, model: str
) -> Message:
    """A streaming reply to `parent_id`, with the chat's parameters as they are now, that becomes the one on
    screen (Retry, Edit): its usage is reserved and every page is told the path changed. The chat keeps the
    key and model, as a send does, so that it reopens with them."""
    preset = PRESETS.get(credential.preset)
    params = clean_params(preset, locked.params) if preset else {}
    reply = _streaming_reply(locked, parent_id=parent_id, credential=credential, model=model, params=params)
    _reserve(user, reply)
    locked.current_leaf, locked.credential, locked.model = reply, credential, model
    locked.save(update_fields=["current_leaf", "credential", "model", "updated_at"])
    send_to_group_on_commit(conversation_group(locked.pk), {"type": "path.changed"})
    sidebar_changed_on_commit(locked.owner_id)  # to the top of the list
    return reply


def do_continue_reply(conversation: Conversation, *, message_id) -> Message:
    """Carry on a reply that was cut at the token limit, stopped or interrupted: the same message streams
    again from where its text ends (the model sees that text as the start of its answer)."""
    with transaction.atomic():
        locked = _lock_idle_conversation(conversation)
        reply = _finished_reply(locked, message_id)
        if reply.pk != locked.current_leaf_id or not reply.can_continue:
            raise ActionError("Only the last reply can be continued, once it was cut off or stopped.")
        if reply.credential_id is None:
            raise ActionError("The key of this reply was deleted — use Retry with another key.")
        # The key may have been revoked or run out since the reply began: checked again, like a new send.
        reply.credential = _usable_credential(locked.owner, reply.credential_id)
        _reserve(locked.owner, reply, prefix=reply.content)
        reply.state = Message.State.STREAMING
        reply.error = ""
        reply.finish_reason = ""
        reply.choices = []
        reply.save(update_fields=["state", "error", "finish_reason", "choices", "updated_at"])
        send_to_group_on_commit(
            conversation_group(locked.pk), {"type": "message.updated", "message_id": reply.pk}
        )
    return reply


def do_keep_alternative(conversation: Conversation, *, message_id, index) -> None:
    """Of a reply's n alternatives, keep the one the person chose: it becomes the reply, the rest go."""
    with transaction.atomic():
        reply = (
            Message.objects.select_for_update()
            .filter(pk=message_id, conversation_id=conversation.pk, role=Message.Role.ASSISTANT)
            .first()
        )
        if reply is None or reply.is_streaming:
            raise ActionError("That reply does not exist.")
        if not isinstance(index, int) or not 0 <= index < len(reply.choices):
            raise ActionError("That alternative does not exist any more.")
        reply.content = reply.choices[index]
        reply.choices = []
        reply.save(update_fields=["content", "choices", "updated_at"])
        send_to_group_on_commit(
            conversation_group(conversation.pk), {"type": "message.updated", "message_id": reply.pk}
        )


def do_show_version(conversation: Conversation, *, message_id) -> None:
    """Show another version of a message (a sibling from Retry): the path then follows that version down to
    its newest reply."""
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if not Message.objects.filter(pk=message_id, conversation=locked).exists():
            raise ActionError("That reply does not exist.")
        leaf = message_id
        children: dict[int, list[int]] = {}
        for pk, parent in Message.objects.filter(conversation=locked).values_list("pk", "parent_id"):
            children.setdefault(parent, []).append(pk)
        while children.get(leaf):
            leaf = max(children[leaf])
        locked.current_leaf_id = leaf
        locked.save(update_fields=["current_leaf"])
        send_to_group_on_commit(conversation_group(locked.pk), {"type": "path.changed"})


def do_save_reply_progress(message_id: int, text: str) -> bool:
    """Store the text so far of a streaming reply (also a heartbeat). False if it is no longer streaming."""
    updated = Message.objects.filter(pk=message_id, state=Message.State.STREAMING).update(
        content=text, updated_at=timezone.now()
    )
    return bool(updated)


def do_stop_replies_of(user_id: int) -> list[int]:
    """Stop every reply streaming in `user_id`'s conversations, after the caller's transaction commits (their
    access was just taken away). The same request as the Stop button's, so each reply keeps its text and
    ends `stopped`, in whichever process relays it."""
    streaming = list(
        Message.objects.filter(conversation__owner_id=user_id, state=Message.State.STREAMING).values_list(
            "pk", flat=True
        )
    )
    for message_id in streaming:
        send_to_group_on_commit(
            reply_control_group(message_id), {"type": "relay.stop", "message_id": message_id}
        )
    return streaming


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
    usage_extra: dict = field(default_factory=dict)
    choices: list[str] = field(default_factory=list)


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
        message.usage_extra = outcome.usage_extra
        message.choices = outcome.choices
        message.save()
        billing.settle_reply(message, outcome)
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
    Their usage reservations are settled from the text stored; the sweep over every conversation also
    settles reservations whose reply was deleted while it streamed.
    """
    cutoff = timezone.now() - stale_after
    stale = Message.objects.filter(state=Message.State.STREAMING, updated_at__lt=cutoff).exclude(
        pk__in=list(keep_ids)
    )
    if conversation_id is not None:
        stale = stale.filter(conversation_id=conversation_id)
    with transaction.atomic():
        if conversation_id is None:
            ledger.settle_orphans()
        rows = list(stale.select_for_update(skip_locked=True).values_list("pk", "conversation_id"))
        if not rows:
            return 0
        Message.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            state=Message.State.INTERRUPTED, error=INTERRUPTED_BY_RESTART, updated_at=timezone.now()
        )
        billing.settle_interrupted(pk for pk, _ in rows)
        for pk, conv_id in rows:
            send_to_group_on_commit(
                conversation_group(conv_id), {"type": "message.updated", "message_id": pk}
            )
    return len(rows)
