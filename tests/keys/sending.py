"""Sending and finishing replies through the real actions, for the ledger tests (no relay, no provider)."""

import uuid
from decimal import Decimal

from chat.actions import ReplyOutcome, do_create_conversation, do_finish_reply, do_send_message
from chat.models import Conversation, Message
from keys.models import UsageEntry


def send(user, key, text="hello there", *, model="fake-model", conversation=None, **params):
    """Send `text` on `key` in a new chat (or `conversation`); params as the panel's fields, e.g.
    max_tokens=100. Returns the streaming reply; ActionError when refused."""
    conversation = conversation or Conversation.objects.create(owner=user)
    options = {f"p_{name}": str(value) for name, value in params.items()}
    result = do_send_message(
        user,
        conversation,
        text=text,
        client_id=uuid.uuid4(),
        credential_id=key.pk,
        model=model,
        options=options,
        max_chars=100_000,
    )
    return result.reply


def new_chat(user):
    return do_create_conversation(user)


def entry_of(reply) -> UsageEntry:
    """The reply's latest ledger row."""
    return UsageEntry.objects.filter(message_id=reply.pk).latest("id")


def finish(reply, state=Message.State.DONE, text="", **usage) -> UsageEntry:
    """End `reply` as the relay would, and return its ledger row. usage: prompt_tokens, completion_tokens,
    credits, usage_reported."""
    if "credits" in usage and usage["credits"] is not None:
        usage["credits"] = Decimal(str(usage["credits"]))
    do_finish_reply(reply.pk, ReplyOutcome(state=state, text=text, **usage))
    return entry_of(reply)


def done(reply, prompt=10, completion=20, **more) -> UsageEntry:
    """A reply that ended normally with usage the provider reported."""
    return finish(
        reply,
        text="x" * completion,
        prompt_tokens=prompt,
        completion_tokens=completion,
        usage_reported=True,
        **more,
    )
