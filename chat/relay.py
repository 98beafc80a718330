"""The relay: owns one reply while it streams, on the server's event loop, independent of any socket.

It streams from the provider, batches deltas into frames for the conversation's group, writes the text
so far to the database at most once per flush interval (never per token), answers stop and sync
requests on the reply's control group, and stores the outcome once at the end.

Text offsets are in characters. Every delta carries the offset it starts at, so a consumer can drop
what it already has and notice a gap (then it asks for a snapshot).
"""

import asyncio
import dataclasses
import functools
import logging
import time
from contextlib import aclosing
from decimal import Decimal, InvalidOperation

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from chat import actions
from chat.broadcast import conversation_group, reply_control_group
from chat.history import ReplyContext, ReplyNotPossible, reply_context
from chat.models import Message
from chat.text import clean_text
from keys import crypto
from providers import client as provider_client
from providers.errors import ProviderError
from providers.types import Retrying, StreamEnd, TextDelta, TextRequest

log = logging.getLogger(__name__)

# This process's relays by reply id. Holding the task here keeps it alive after the socket that
# started it has gone.
_running: dict[int, "Relay"] = {}
# Relays whose send has not committed yet (start_early); held for the same reason.
_early: set["Relay"] = set()

HEARTBEAT_SECONDS = 10.0
# A read that took longer than this waited for the network; one served from httpx's buffer takes ~50 µs.
_WAITED = 0.001
SHUTDOWN_GRACE_SECONDS = 5.0


def running_reply_ids() -> set[int]:
    return set(_running)


# The relay's database work (load, flush, finish) touches only its own reply, so it runs on the general
# thread pool rather than queueing on the one thread that serves views and consumers.
_db = functools.partial(database_sync_to_async, thread_sensitive=False)


def load_context(message_id: int) -> ReplyContext | None:
    """What a relay needs, for callers already on a database thread; None if it cannot be had (the relay
    then loads it itself and fails the reply in words)."""
    try:
        return reply_context(message_id)
    except (Message.DoesNotExist, ReplyNotPossible):
        return None


def start_early(context: ReplyContext) -> "Relay":
    """Start the provider call of a send that is still committing (`context` from chat.actions.plan_send).
    What arrives is held until `attach` names the reply; `abandon` ends the call with nothing stored or
    shown. The send's database work then runs while the provider thinks instead of before it."""
    relay = Relay(None, context)
    _early.add(relay)
    relay.task = asyncio.get_running_loop().create_task(relay.run(), name="relay-early")
    relay.task.add_done_callback(lambda _task: _early.discard(relay))
    return relay


def start_relay(message_id: int, context: ReplyContext | None = None) -> "Relay":
    """Start streaming reply `message_id` on the running loop (no-op if this process already does)."""
    relay = _running.get(message_id)
    if relay is None:
        relay = Relay(message_id, context)
        _running[message_id] = relay
        relay.task = asyncio.get_running_loop().create_task(relay.run(), name=f"relay-{message_id}")
        relay.task.add_done_callback(lambda _task: _running.pop(message_id, None))
    return relay


async def stop_all_relays() -> None:
    """Server shutdown: end every reply here as interrupted, keeping its text."""
    relays = list(_running.values())
    for relay in relays:
        relay.shutdown()
    tasks = [r.task for r in relays if r.task]
    if tasks:
        # Storing the outcome is one short transaction each; never hold shutdown for long.
        await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)


class Relay:
    def __init__(self, message_id: int | None, context: ReplyContext | None = None):
        self.message_id = message_id
        self._context = context
        self.task: asyncio.Task | None = None
        # Started early: resolves True when the send has committed (attach), False when it has not (abandon).
        self._attached: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._group: str | None = None  # the conversation's group; nothing is sent before the reply exists
        self._parts: list[str] = []  # all text so far
        self._length = 0  # characters so far
        self._sent = 0  # characters already broadcast
        self._unsent: list[str] = []  # text since the last frame (a frame never re-joins the whole reply)
        self._flushed = 0  # characters already in the database
        self._stream_task: asyncio.Task | None = None
        self._end_reason = ""  # "stop" or "shutdown" when ended from outside
        self._status = ""
        self._frame_due = 0.0  # loop time after which a burst sends its next frame

    # --- control from outside ---------------------------------------------------------------------------
    def attach(self, message_id: int) -> None:
        """The send committed: this relay is reply `message_id` from now on."""
        if self._attached.done():
            return
        self.message_id = message_id
        self._context = dataclasses.replace(self._context, message_id=message_id)
        _running[message_id] = self
        self.task.add_done_callback(lambda _task: _running.pop(message_id, None))
        self._attached.set_result(True)

    def abandon(self) -> None:
        """The send did not commit (refused, a repeat, or overtaken by another): end the call silently."""
        if not self._attached.done():
            self._attached.set_result(False)

    def stop(self) -> None:
        self._cancel_stream("stop")

    def shutdown(self) -> None:
        self._cancel_stream("shutdown")

    def _cancel_stream(self, reason: str) -> None:
        self._end_reason = self._end_reason or reason  # also honoured if the stream has not started yet
        if self._stream_task and not self._stream_task.done():
            self._stream_task.cancel()

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    # --- the reply's life -------------------------------------------------------------------------------
    async def run(self) -> None:
        layer = get_channel_layer()
        self._layer = layer
        if self.message_id is None:
            # Started early: the call goes out now; the stream's text is held until the send has committed.
            self._stream_task = asyncio.create_task(self._stream(self._context))
            try:
                attached = await self._attached
            except asyncio.CancelledError:
                attached = False
            if not attached:
                self._stream_task.cancel()
                await asyncio.gather(self._stream_task, return_exceptions=True)
                return
            context = self._context
        else:
            try:
                context = self._context or await _db(reply_context)(self.message_id)
            except (Message.DoesNotExist, ReplyNotPossible) as exc:
                await self._finish(actions.ReplyOutcome(state=Message.State.FAILED, text="", error=str(exc)))
                return
        if context.prefix:  # continuing: the reply so far is already stored and on every page
            self._parts = [context.prefix]
            self._length = self._sent = self._flushed = len(context.prefix)
        self._group = conversation_group(context.conversation_id)
        self._control = await layer.new_channel()
        await layer.group_add(reply_control_group(self.message_id), self._control)
        helpers = [asyncio.create_task(self._listen()), asyncio.create_task(self._flush_loop())]
        try:
            if self._stream_task is None:
                self._stream_task = asyncio.create_task(self._stream(context))
            else:  # what arrived while the send committed goes out now, not with the next token
                if self._status:
                    await self._set_status(self._status)
                await self._send_pending()
            if self._end_reason:
                self._stream_task.cancel()
            try:
                outcome = await asyncio.shield(self._stream_task)
            except asyncio.CancelledError:
                # The relay task itself was cancelled (event loop shutting down): keep the text.
                self._end_reason = self._end_reason or "shutdown"
                self._stream_task.cancel()
                outcome = await self._outcome_after_cancel()
            else:
                outcome = outcome or await self._outcome_after_cancel()
        finally:
            for task in helpers:
                task.cancel()
            await self._send_pending()  # the last frame goes out before the final bubble
            await asyncio.gather(*helpers, return_exceptions=True)
            await layer.group_discard(reply_control_group(self.message_id), self._control)
        await self._finish(outcome)

    async def _outcome_after_cancel(self) -> actions.ReplyOutcome:
        if self._end_reason == "stop":
            return actions.ReplyOutcome(state=Message.State.STOPPED, text=self.text, finish_reason="stopped")
        return actions.ReplyOutcome(
            state=Message.State.INTERRUPTED, text=self.text, error=actions.INTERRUPTED_BY_RESTART
        )

    async def _stream(self, context) -> actions.ReplyOutcome | None:
        """Read the provider's stream; returns the outcome, or None when cancelled by stop/shutdown."""
        loop = asyncio.get_running_loop()
        try:
            call = (
                provider_client.complete_text
                if isinstance(context.request, TextRequest)
                else provider_client.stream_chat
            )
            stream = call(context.endpoint, crypto.decrypt(context.ciphertext), context.request)
            # aclosing: a stop closes the upstream connection now, not whenever the generator is collected.
            async with aclosing(stream) as events:
                asked = loop.time()
                async for event in events:
                    if isinstance(event, TextDelta):
                        waited = loop.time() - asked > _WAITED
                        if self._status:
                            await self._set_status("")  # the retry worked: text is flowing
                        self._append(event.text)
                        await self._pace(loop, waited)
                    elif isinstance(event, Retrying):
                        await self._set_status(
                            f"{event.reason.capitalize()}, retrying ({event.attempt}/{event.max_attempts})…"
                        )
                    elif isinstance(event, StreamEnd):
                        return self._done_outcome(event)
                    asked = loop.time()
            return actions.ReplyOutcome(state=Message.State.DONE, text=self.text)
        except asyncio.CancelledError:
            return None
        except ProviderError as exc:
            state = Message.State.INTERRUPTED if exc.kind == "stream_cut" else Message.State.FAILED
            return actions.ReplyOutcome(state=state, text=self.text, error=_error_sentence(exc, context))
        except crypto.SecretUnreadable:
            error = "Your saved key can't be read any more — add it again under Settings → Keys."
            if context.shared:
                error = "This shared key can't be read any more — ask an admin to replace its secret."
            return actions.ReplyOutcome(state=Message.State.FAILED, text=self.text, error=error)
        except Exception:
            log.exception("relay for reply %s failed", self.message_id)
            return actions.ReplyOutcome(
                state=Message.State.FAILED,
                text=self.text,
                error="Something went wrong on the server while writing this reply; what arrived is kept.",
            )

    def _done_outcome(self, end: StreamEnd) -> actions.ReplyOutcome:
        usage = end.usage
        credits = None
        if usage is not None and usage.credits is not None:
            try:
                credits = Decimal(str(usage.credits))
            except InvalidOperation:
                credits = None
        return actions.ReplyOutcome(
            state=Message.State.DONE,
            text=self.text,
            finish_reason=end.finish_reason or "",
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            credits=credits,
            usage_reported=bool(usage and usage.reported),
            usage_extra=_json_safe(end.extra),
            # n > 1: every alternative, the streamed one first, until the person keeps one.
            choices=[self.text, *(clean_text(text) for text in end.alternatives)] if end.alternatives else [],
        )

    def _append(self, text: str) -> None:
        text = clean_text(text)
        if text:
            self._parts.append(text)
            self._unsent.append(text)
            self._length += len(text)

    async def _pace(self, loop, waited: bool) -> None:
        """Send a frame when the stream went quiet (the read had to wait for the network: what we have is
        all there is, the first delta included) or, in a burst, once a frame interval has passed. After a
        quiet send, pause for a frame interval before reading on: the provider's next events pile up in the
        socket and arrive in one read. Each read through httpx costs ~100 µs of CPU whatever it carries
        (bench/upstream.py), so this is what makes a token cheap; the wait is the frame interval the
        tokens would have waited for anyway."""
        now = loop.time()
        if not (waited or now >= self._frame_due):
            return
        await self._send_pending()
        interval = settings.NOVAWEB_RELAY_FRAME_MS / 1000
        if waited:
            await asyncio.sleep(interval)
        self._frame_due = loop.time() + interval

    async def _set_status(self, status: str) -> None:
        self._status = status
        if self._group is None:
            return  # started early and not attached yet: sent when it is
        await self._layer.group_send(
            self._group, {"type": "reply.status", "message_id": self.message_id, "text": status}
        )

    async def _send_pending(self) -> None:
        if not self._unsent or self._group is None:
            return
        chunk, self._unsent = "".join(self._unsent), []
        offset, self._sent = self._sent, self._sent + len(chunk)
        await self._layer.group_send(
            self._group,
            {"type": "reply.delta", "message_id": self.message_id, "offset": offset, "text": chunk},
        )

    # --- helpers running beside the stream ---------------------------------------------------------------
    async def _flush_loop(self) -> None:
        period = settings.NOVAWEB_RELAY_FLUSH_MS / 1000
        last = time.monotonic()
        while True:
            await asyncio.sleep(period)
            if self._length != self._flushed or time.monotonic() - last >= HEARTBEAT_SECONDS:
                text = self.text
                await _db(actions.do_save_reply_progress)(self.message_id, text)
                self._flushed = len(text)
                last = time.monotonic()

    async def _listen(self) -> None:
        while True:
            event = await self._layer.receive(self._control)
            kind = event.get("type")
            if kind == "relay.stop":
                self.stop()
            elif kind == "relay.sync" and isinstance(event.get("reply_to"), str):
                await self._layer.send(
                    event["reply_to"],
                    {
                        "type": "reply.snapshot",
                        "message_id": self.message_id,
                        "text": self.text,
                        "status": self._status,
                    },
                )

    async def _finish(self, outcome: actions.ReplyOutcome) -> None:
        try:
            await _db(actions.do_finish_reply)(self.message_id, outcome)
        except Exception:
            # The reaper will mark it interrupted with the last flushed text; say what was not saved.
            log.exception(
                "could not store the outcome of reply %s (%d characters)", self.message_id, len(outcome.text)
            )


# Failures that are about the key or its account: on a shared key only an admin can do something about them.
_ADMIN_KINDS = frozenset({"auth", "credits", "forbidden"})


def _error_sentence(exc: ProviderError, context: ReplyContext) -> str:
    """Our sentence, then the provider's own words (truncated, anything key-like redacted) unless the sentence
    quotes them already (a rejected request's reason). On a shared key the provider's words are left out: they
    are about the admin's account, and a masked echo of the key ("sk-…abcd") would show its last characters,
    which its users must never see."""
    if context.shared:
        return exc.message + (" This is a shared key — tell an admin." if exc.kind in _ADMIN_KINDS else "")
    if not exc.words:
        return exc.message
    if exc.detail_from == "connection":
        return f"{exc.message}\nDetails: {exc.words}"
    return f"{exc.message}\nThe provider said: “{exc.words}”"


def _json_safe(extra: dict) -> dict:
    """Provider extras as stored: JSON values only, bounded, so an odd provider cannot bloat a row."""
    safe = {}
    for key, value in list(extra.items())[:20]:
        if isinstance(value, str | int | float | bool | dict | list) and len(repr(value)) <= 2000:
            safe[str(key)[:64]] = value
    return safe
