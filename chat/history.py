"""Reading a conversation's tree: the path on screen, and the history sent to the provider."""

import uuid
from dataclasses import dataclass, fields

from django.utils.crypto import salted_hmac

from chat.models import Conversation, Message
from chat.window import MessageTree
from providers.types import ChatRequest, Endpoint, TextRequest


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    """A message of a request's history: what a request is built from (request_context) and what plan_send
    checks. A send reads its whole history before its call can go out, so these are plain rows, not model
    instances: for 60 messages that is 0.9 ms instead of 1.4 (a model instance sets up all of its fields,
    and the others, its search vector above all, would cost more to load than the rest of the request)."""

    pk: int
    role: str
    content: str
    state: str
    images: list
    client_id: uuid.UUID | None

    @property
    def is_streaming(self) -> bool:
        return self.state == Message.State.STREAMING


_HISTORY_FIELDS = [field.name for field in fields(HistoryMessage)]


def history_path(conversation_id: int, leaf_id: int | None) -> list[HistoryMessage]:
    """Messages from the root to `leaf_id`, oldest first ([] for none).

    The walk reads ids and parents only; rows are loaded for the path, not for every branch.
    """
    ids = MessageTree(conversation_id).path(leaf_id)
    rows = Message.objects.filter(pk__in=ids).values_list(*_HISTORY_FIELDS)
    by_id = {row[0]: HistoryMessage(*row) for row in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


def with_versions(messages: list[Message]) -> list[Message]:
    """Give each message its versions (its siblings' ids, itself included), in one query."""
    if messages:
        parents = {m.parent_id for m in messages}
        siblings = Message.objects.filter(
            conversation_id=messages[0].conversation_id, parent_id__in=parents - {None}
        )
        versions: dict[int | None, list[int]] = {}
        for pk, parent in siblings.values_list("pk", "parent_id"):
            versions.setdefault(parent, []).append(pk)
        for m in messages:
            m.versions = sorted(versions.get(m.parent_id, [m.pk]))
    return messages


# Replies that produced usable text go back to the provider as context; failed or empty ones do not.
_CONTEXT_STATES = {Message.State.DONE, Message.State.STOPPED, Message.State.INTERRUPTED}


@dataclass(frozen=True)
class ReplyContext:
    """Everything a relay needs to stream one reply. The secret stays encrypted until the call."""

    message_id: int | None  # None while its send is still committing (the call may already be under way)
    conversation_id: int
    credential_id: int
    endpoint: Endpoint
    ciphertext: str
    request: ChatRequest | TextRequest
    prefix: str = ""  # the reply's text so far when it is being continued; the stream appends to it
    shared: bool = (
        False  # a shared key: an admin manages it, and its user sees nothing of the provider's words
    )


class ReplyNotPossible(Exception):
    """The reply cannot be requested; the message is a sentence for the user."""


def provider_user_id(user_id: int) -> str:
    """A stable id for a person that the provider can count by but cannot trace back: an HMAC of our user id
    under SECRET_KEY, never a name or an e-mail."""
    return "nw-" + salted_hmac("novaweb.provider-user", str(user_id)).hexdigest()[:32]


def reply_context(message_id: int) -> ReplyContext:
    reply = Message.objects.select_related("conversation", "credential").get(pk=message_id)
    credential = reply.credential
    if credential is None:
        raise ReplyNotPossible("The key chosen for this chat was deleted — pick another key and send again.")
    conversation = reply.conversation
    return request_context(
        credential,
        conversation,
        history_path(conversation.pk, reply.parent_id),
        mode=conversation.mode,
        model=reply.model,
        params=reply.params,
        instructions=conversation.instructions,
        prefix=reply.content,  # non-empty only when continuing: the model carries on from it
        message_id=reply.id,
    )


def request_context(
    credential,
    conversation: Conversation,
    path: list[HistoryMessage | Message],
    *,
    mode: str,
    model: str,
    params: dict,
    instructions: str = "",
    prefix: str = "",
    message_id: int | None = None,
) -> ReplyContext:
    """The request for a reply that follows `path` (root first), and what its relay needs to make it.
    `message_id` is None for a send that has not committed yet (chat.actions.plan_send). The conversation's
    instructions go first, as a system message; a text completion has no place for them."""
    usable = [
        m for m in path if m.content and (m.role != Message.Role.ASSISTANT or m.state in _CONTEXT_STATES)
    ]
    user = provider_user_id(conversation.owner_id)
    if mode == Conversation.Mode.TEXT:
        # Text completion continues one document: every prompt and continuation so far, in order.
        prompt = "".join(m.content for m in usable) + prefix
        request = TextRequest(model=model, prompt=prompt, params=dict(params), user=user)
    else:
        history = [{"role": "system", "content": instructions}] if instructions else []
        for m in usable:
            item = {"role": m.role, "content": m.content}
            if m.images:
                item["images"] = list(m.images)
            history.append(item)
        if prefix:
            history.append({"role": "assistant", "content": prefix})
        request = ChatRequest(model=model, messages=history, params=dict(params), user=user)
    return ReplyContext(
        message_id=message_id,
        conversation_id=conversation.pk,
        credential_id=credential.id,
        endpoint=Endpoint(
            preset=credential.preset,
            base_url=credential.base_url,
            auth_style=credential.auth_style,
            auth_header=credential.auth_header,
        ),
        ciphertext=credential.ciphertext,
        request=request,
        prefix=prefix,
        shared=credential.is_shared,
    )
