"""Reading a conversation's tree: the path on screen, and the history sent to the provider."""

from dataclasses import dataclass

from chat.models import Conversation, Message
from providers.types import ChatRequest, Endpoint


def message_path(conversation: Conversation, leaf_id: int | None = None) -> list[Message]:
    """Messages from the root to `leaf_id` (default: the conversation's current leaf), oldest first.

    One query for the whole conversation, then a walk up the parent links in Python.
    """
    leaf_id = leaf_id or conversation.current_leaf_id
    if leaf_id is None:
        return []
    by_id = {m.id: m for m in Message.objects.filter(conversation=conversation)}
    path = []
    node = by_id.get(leaf_id)
    while node is not None:
        path.append(node)
        node = by_id.get(node.parent_id)
    path.reverse()
    return path


# Replies that produced usable text go back to the provider as context; failed or empty ones do not.
_CONTEXT_STATES = {Message.State.DONE, Message.State.STOPPED, Message.State.INTERRUPTED}


@dataclass(frozen=True)
class ReplyContext:
    """Everything a relay needs to stream one reply. The secret stays encrypted until the call."""

    message_id: int
    conversation_id: int
    credential_id: int
    endpoint: Endpoint
    ciphertext: str
    request: ChatRequest


class ReplyNotPossible(Exception):
    """The reply cannot be requested; the message is a sentence for the user."""


def reply_context(message_id: int) -> ReplyContext:
    reply = Message.objects.select_related("conversation", "credential").get(pk=message_id)
    credential = reply.credential
    if credential is None:
        raise ReplyNotPossible("The key chosen for this chat was deleted — pick another key and send again.")
    history = [
        {"role": m.role, "content": m.content}
        for m in message_path(reply.conversation, reply.parent_id)
        if m.content and (m.role != Message.Role.ASSISTANT or m.state in _CONTEXT_STATES)
    ]
    return ReplyContext(
        message_id=reply.id,
        conversation_id=reply.conversation_id,
        credential_id=credential.id,
        endpoint=Endpoint(
            preset=credential.preset,
            base_url=credential.base_url,
            auth_style=credential.auth_style,
            auth_header=credential.auth_header,
        ),
        ciphertext=credential.ciphertext,
        request=ChatRequest(model=reply.model, messages=history, params=dict(reply.params)),
    )
