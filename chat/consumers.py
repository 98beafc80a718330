"""The conversation websocket: a router between the page, the actions and the relays.

Frames from the page are JSON from the htmx ws extension (`action` is "send", "stop", "resync", or one of
the actions on a message: "retry", "edit", "continue", "version", "keep");
frames to the page are HTML fragments with hx-swap-oob, rendered from the same partials as the views.
"""

import functools
import json
import logging
import time
import uuid
from datetime import timedelta
from functools import cache

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db.models import F
from django.http import Http404
from django.template.loader import get_template
from django.utils.crypto import constant_time_compare
from django.utils.html import format_html

from accounts.presence import note_seen
from chat import actions, relay
from chat.access import access_conversation, access_message
from chat.broadcast import conversation_group, reply_control_group, user_group
from chat.forms import ReplyActionForm, SendForm
from chat.history import with_versions
from chat.key_picker import key_picker
from chat.models import Conversation, Message
from chat.window import path_window
from keys.granted import granted_keys

log = logging.getLogger(__name__)
# Each database call here is self-contained (its own query or transaction), so it may run on any thread of
# the pool instead of queueing on the single thread Django's sync views share.
_db = functools.partial(database_sync_to_async, thread_sensitive=False)
User = get_user_model()

TEMPLATE = "chat/conversation.html"


@cache
def _partial(name: str):
    """The compiled partial `name` of the conversation template (looked up once: deltas are a hot path)."""
    return get_template(f"{TEMPLATE}#{name}")


def render_partial(name: str, context: dict) -> str:
    return _partial(name).render(context)


def delta_fragment(message_id: int, text: str) -> str:
    """The one fragment built outside a template: it is sent once per frame of every streaming reply, and
    format_html (escaping the text) costs a fifth of a template render. Its shape matches the streaming
    bubble's `#msg-ID-stream` in conversation.html."""
    return format_html('<span hx-swap-oob="beforeend:#msg-{}-stream">{}</span>', int(message_id), text)


SIDEBAR_CHANGED = '<span id="sidebar-changed" hidden hx-swap-oob="true"></span>'

# Generous for a 100,000-character message in JSON with escapes; anything bigger is refused unread.
MAX_FRAME_CHARS = 8 * 100_000


class FrameAllowance:
    """A token bucket per socket: a person sends a few frames a second at most; a flood is dropped cheaply,
    before any parsing or database work, with one warning per second."""

    def __init__(self, burst: int = 20, per_second: float = 10.0):
        self.burst, self.per_second = burst, per_second
        self.tokens = float(burst)
        self.updated = time.monotonic()
        self.warned = 0.0

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def should_warn(self) -> bool:
        now = time.monotonic()
        if now - self.warned >= 1.0:
            self.warned = now
            return True
        return False


class ConversationConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message):
        """Channels' dispatch first hops to the database thread to close stale connections, for every event
        (each streamed delta frame included). Every database call here goes through database_sync_to_async,
        which does that itself, so the hop is skipped."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active or user.is_pending:
            await self.close()  # before accept: the handshake is refused
            return
        try:
            self.conversation = await _db(access_conversation)(
                user, self.scope["url_route"]["kwargs"]["conversation_id"]
            )
        except Http404:
            await self.close()
            return
        self.user = user
        self.group = conversation_group(self.conversation.pk)
        # Characters of each streaming reply this page has; None while waiting for a snapshot.
        self.sent: dict[int, int | None] = {}
        self._allowance = FrameAllowance()
        await self.channel_layer.group_add(self.group, self.channel_name)
        # An admin deactivating or demoting this person reaches every socket of theirs here (access_changed).
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        await self.accept()
        await self._sync_streaming_replies()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)
        # The replies this page started go on: relays belong to the server, not to this socket.

    # --- frames from the page ---------------------------------------------------------------------------
    async def receive(self, text_data=None, bytes_data=None):
        if not self._allowance.take():
            if self._allowance.should_warn():
                await self._error("Too many messages at once — wait a moment and try again.")
            return
        if text_data is None or len(text_data) > MAX_FRAME_CHARS:
            await self._error("That message is too large to send.")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self._error("The page sent something unreadable; reload it if this repeats.")
            return
        if not isinstance(content, dict):
            await self._error("The page sent something unreadable; reload it if this repeats.")
            return
        action = content.get("action")
        if action == "send":
            await self._send_message(content)  # re-checks the session in the same trip as the send
            return
        if not await _db(self._session_still_valid)():
            await self._session_ended()
            return
        if action == "stop":
            await self._stop_reply(content)
        elif action == "resync":
            await self._resync()
        elif action in ("retry", "edit", "continue", "version", "keep"):
            await self._reply_action(action, content)
        else:
            await self._error("The page asked for something unknown; reload it if this repeats.")

    async def _session_ended(self):
        await self._error("Your session has ended — sign in again to keep chatting. Your text is still here.")
        await self.close(code=4401)

    def _send_args(self, data, options) -> dict:
        return {
            "text": data["message"],
            "client_id": data["client_id"],
            "credential_id": data["credential"],
            "model": data["model"] or "",
            "options": options,
            "max_chars": settings.NOVAWEB_MAX_MESSAGE_CHARS,
        }

    def _begin_send(self, data, options):
        """A send's first trip to a database thread: the session re-check, then the plan of its request (reads
        only; the provider is called as soon as it returns, and the send commits meanwhile). Where a send must
        commit before anything goes upstream (actions.plan_send says when), the whole send, as
        `_commit_send` returns it. None if the session has ended (nothing is stored)."""
        if not self._session_still_valid():
            return None
        plan = actions.plan_send(self.user, self.conversation, **self._send_args(data, options))
        return plan if plan is not None else self._commit_send(data, options)

    def _commit_send(self, data, options, plan: actions.SendPlan | None = None):
        """The send action; for a new reply that the plan's call does not fit, what its relay needs."""
        result = actions.do_send_message(self.user, self.conversation, **self._send_args(data, options))
        if not result.created or (plan is not None and plan.holds_for(result)):
            return result, None
        return result, relay.load_context(result.reply.id)

    def _session_still_valid(self) -> bool:
        """Re-checked on every frame: signing out, a password change, deactivation or being sent back to
        approval ends this socket too."""
        session_key = self.scope["session"].session_key
        if not session_key:
            return False
        session = SessionStore(session_key=session_key)
        user = User.objects.filter(pk=self.user.pk, is_active=True).exclude(role=User.Role.PENDING).first()
        valid = (
            user is not None
            and session.get(SESSION_KEY) == str(user.pk)
            and constant_time_compare(session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash())
        )
        if valid:
            note_seen(user)
        return valid

    async def _send_message(self, content):
        form = SendForm(content)
        if not form.is_valid():
            if await _db(self._session_still_valid)():
                await self._error("The page sent an incomplete message; reload it and try again.")
            else:
                await self._session_ended()
            return
        data = form.cleaned_data
        try:
            # The rest of the frame is the composer's options (parameters, mode, images): the action cleans it.
            begun = await _db(self._begin_send)(data, content)
            if begun is None:
                await self._session_ended()
                return
            if isinstance(begun, actions.SendPlan):
                result = await self._commit_planned(data, content, begun)
            else:
                result, context = begun
                if result.created:
                    relay.start_relay(result.reply.id, context)
        except actions.ActionError as exc:
            await self._error(str(exc))
            return
        if result.created:
            self.sent[result.reply.id] = 0
        # This page's composer is cleared and gets a fresh id for its next send.
        await self.send(text_data=render_partial("composer-reset", {"client_id": uuid.uuid4()}))

    async def _commit_planned(self, data, content, plan: actions.SendPlan) -> actions.SendResult:
        """Call the provider now and commit the send meanwhile. The call is kept if the committed send is the
        one it was planned for; otherwise (refused, a repeat, overtaken by another tab's send) it is
        abandoned unseen, and a new reply gets a relay of its own."""
        early = relay.start_early(plan.context)
        try:
            result, context = await _db(self._commit_send)(data, content, plan)
        except BaseException:
            early.abandon()
            raise
        if context is None and result.created:
            early.attach(result.reply.id)
        else:
            early.abandon()
            if result.created:
                relay.start_relay(result.reply.id, context)
        return result

    async def _stop_reply(self, content):
        form = ReplyActionForm(content)
        if not form.is_valid():
            await self._error("The page asked to stop something unknown.")
            return
        try:
            message = await _db(access_message)(
                self.user, self.conversation.pk, form.cleaned_data["message_id"]
            )
        except Http404:
            await self._error("That reply does not exist.")
            return
        if message.is_streaming:
            await self.channel_layer.group_send(
                reply_control_group(message.pk), {"type": "relay.stop", "message_id": message.pk}
            )

    def _save_reply_action(self, action, message_id, content):
        """Retry, Edit, Continue, show another version or keep an alternative; for a reply that will now
        stream, what its relay needs."""
        if action == "version":
            actions.do_show_version(self.conversation, message_id=message_id)
            return None, None
        if action == "keep":
            index = content.get("index")
            actions.do_keep_alternative(
                self.conversation, message_id=message_id, index=index if type(index) is int else -1
            )
            return None, None
        model = content.get("model") if isinstance(content.get("model"), str) else ""
        if action == "retry":
            reply = actions.do_retry_reply(
                self.user,
                self.conversation,
                message_id=message_id,
                credential_id=content.get("credential"),
                model=model,
            )
        elif action == "edit":
            reply = actions.do_edit_message(
                self.user,
                self.conversation,
                message_id=message_id,
                text=content.get("message") if isinstance(content.get("message"), str) else "",
                credential_id=content.get("credential"),
                model=model,
                max_chars=settings.NOVAWEB_MAX_MESSAGE_CHARS,
                images=content.get("images"),
            )
        else:
            reply = actions.do_continue_reply(self.conversation, message_id=message_id)
        return reply.pk, relay.load_context(reply.pk)

    async def _reply_action(self, action, content):
        form = ReplyActionForm(content)
        if not form.is_valid():
            await self._error("The page asked for something unknown; reload it if this repeats.")
            return
        try:
            reply_id, context = await _db(self._save_reply_action)(
                action, form.cleaned_data["message_id"], content
            )
        except actions.ActionError as exc:
            await self._error(str(exc))
            return
        if reply_id is not None:
            relay.start_relay(reply_id, context)

    async def _resync(self):
        """After a reconnect: redraw the messages from the database, then catch up live replies."""
        html = await _db(self._render_messages)()
        await self.send(text_data=html)
        await self._sync_streaming_replies()

    def _render_messages(self) -> str:
        conversation = Conversation.objects.get(pk=self.conversation.pk)
        window = path_window(conversation)  # the latest window, as a freshly opened page shows
        return render_partial("messages-oob", {"conversation": conversation, "window": window})

    async def _sync_streaming_replies(self):
        streaming = await _db(self._streaming_reply_ids)()
        for message_id in streaming:
            await self._request_snapshot(message_id)

    def _streaming_reply_ids(self) -> list[int]:
        actions.do_interrupt_stale_replies(
            stale_after=timedelta(seconds=settings.NOVAWEB_STALE_REPLY_SECONDS),
            keep_ids=relay.running_reply_ids(),
            conversation_id=self.conversation.pk,
        )
        return list(
            Message.objects.filter(
                conversation_id=self.conversation.pk, state=Message.State.STREAMING
            ).values_list("pk", flat=True)
        )

    async def _request_snapshot(self, message_id: int):
        self.sent[message_id] = None
        await self.channel_layer.group_send(
            reply_control_group(message_id),
            {"type": "relay.sync", "message_id": message_id, "reply_to": self.channel_name},
        )

    async def _error(self, text: str):
        await self.send(text_data=render_partial("composer-error", {"error": text}))

    # --- events from actions and relays ---------------------------------------------------------------
    async def access_changed(self, event):
        """An admin changed this person's access. Without chat access (deactivated, or back to pending), the
        page is told why and the socket closes (4403: the page does not reconnect); the replies it follows
        are stopped, their text kept (the action stops the rest). Other changes leave chatting as it was."""
        if event.get("active") and event.get("role") != User.Role.PENDING:
            return
        for message_id in list(self.sent):
            await self.channel_layer.group_send(
                reply_control_group(message_id), {"type": "relay.stop", "message_id": message_id}
            )
        if not event.get("active"):
            text = "An admin has deactivated your account, so you are signed out. Your text is still here."
        else:
            text = "An admin has paused your access until they approve your account again."
        await self._error(text)
        await self.close(code=4403)

    async def sidebar_changed(self, event):
        """This person's conversations changed (in any tab): the page fetches its sidebar lists again, as deep
        as it has them, once the person is not in the middle of organising them (static/js/sidebar.js)."""
        await self.send(text_data=SIDEBAR_CHANGED)

    async def message_created(self, event):
        html, streaming = await _db(self._render_created)(
            event["message_ids"], event.get("title_changed", True)
        )
        for message_id in streaming:
            self.sent.setdefault(message_id, 0)
        await self.send(text_data=html)

    def _render_created(self, message_ids, title_changed: bool) -> tuple[str, list[int]]:
        """The new bubbles, plus the title when a first message has just named the chat (the sidebar follows
        on its own: sidebar.changed)."""
        messages = self._messages(message_ids)
        context = {"messages": messages, "title_changed": title_changed}
        if title_changed:
            context["conversation"] = Conversation.objects.only("title").get(pk=self.conversation.pk)
        html = render_partial("messages-append", context)
        return html, [m.pk for m in messages if m.is_streaming]

    async def keys_changed(self, event):
        """A shared key was granted to this person, changed, revoked, renamed or deleted: the key picker is
        drawn again (the page keeps the person's choice where it still can: static/js/novaweb.js)."""
        await self.send(text_data=await _db(self._render_key_picker)())

    def _render_key_picker(self) -> str:
        credential_id = Conversation.objects.filter(pk=self.conversation.pk).values_list(
            "credential_id", flat=True
        )
        picker, _selected, _granted = key_picker(self.user, credential_id.first())
        return render_partial("key-options-oob", picker)

    async def conversation_renamed(self, event):
        """Renamed from a sidebar (this tab's or another's): the heading follows."""
        conversation = await _db(Conversation.objects.only("title").get)(pk=self.conversation.pk)
        await self.send(text_data=render_partial("chat-title", {"conversation": conversation, "oob": True}))

    async def path_changed(self, event):
        """Retry or a version switch changed which messages are on screen: redraw them, follow live ones."""
        html = await _db(self._render_messages)()
        await self.send(text_data=html)
        await self._sync_streaming_replies()

    async def message_updated(self, event):
        rendered = await _db(self._render_updated)(event["message_id"])
        if rendered is None:
            return
        message_id, html = rendered
        self.sent.pop(message_id, None)
        await self.send(text_data=html)

    def _render_updated(self, message_id) -> tuple[int, str] | None:
        """The message's bubble; for a finished reply on a shared key, also the key picker's line for that
        key, whose remaining budget has just changed."""
        messages = self._messages([message_id])
        if not messages:
            return None
        message = messages[0]
        html = render_partial("message-oob", {"message": message})
        if message.is_final and message.credential_id is not None and message.key_owner_id is None:
            key = granted_keys(self.user, [message.credential_id]).get(message.credential_id)
            if key is not None:
                html += render_partial("key-option-oob", {"key": key})
        return message.pk, html

    def _messages(self, ids) -> list[Message]:
        """The messages `ids` of this conversation, with their versions, and whose key each used
        (`key_owner_id`: None for a shared key, whose line in the key picker a finished reply updates)."""
        messages = (
            Message.objects.filter(conversation_id=self.conversation.pk, pk__in=ids)
            .annotate(key_owner_id=F("credential__owner_id"))
            .order_by("id")
        )
        return with_versions(list(messages))

    async def reply_delta(self, event):
        message_id, offset, text = event["message_id"], event["offset"], event["text"]
        have = self.sent.get(message_id, -1)
        if have is None:
            return  # a snapshot is on its way and will include this
        if have < 0 or offset > have:
            await self._request_snapshot(message_id)  # we missed something: ask for the whole text
            return
        tail = text[have - offset :]
        if tail:
            self.sent[message_id] = offset + len(text)
            await self.send(text_data=delta_fragment(message_id, tail))

    async def reply_snapshot(self, event):
        message_id = event["message_id"]
        if message_id not in self.sent:
            return  # finished meanwhile; the final bubble is already here
        self.sent[message_id] = len(event["text"])
        await self.send(text_data=render_partial("snapshot", event))

    async def reply_status(self, event):
        await self.send(text_data=render_partial("status", event))
