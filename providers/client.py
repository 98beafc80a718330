"""The calls the rest of NovaWeb makes: stream a chat reply, stream a text completion, list models.

Usage, so the upstream connection is closed as soon as the caller stops (Stop button, shutdown, error):

    async with contextlib.aclosing(stream_chat(endpoint, key, request)) as events:
        async for event in events:
            ...

Cancelling the consuming task also closes it. Every failure is a ProviderError; nothing raised here carries
the key, and `api_key` is never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing

import httpx

from providers.bodies import chat_body, text_body
from providers.chunks import ReplyState
from providers.errors import ProviderError, error_from_payload, parse_error_payload, simple_error
from providers.http import DEFAULT_TIMEOUTS, Timeouts, shared_client
from providers.models import parse_models
from providers.presets import PRESETS
from providers.retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy
from providers.sse import EventSplitter, EventTooLarge
from providers.transport import Call, deadline_error, make_call, open_response, read_bounded, transport_error
from providers.types import ChatRequest, Endpoint, ModelInfo, Retrying, StreamEvent, TextDelta, TextRequest

log = logging.getLogger(__name__)

JSON_REPLY_LIMIT = 8 * 1024 * 1024
_STREAM_HEADERS = {
    "Accept": "text/event-stream",
    # Compressed event streams get buffered by proxies and arrive in bursts.
    "Accept-Encoding": "identity",
    "Cache-Control": "no-store",
    "Content-Type": "application/json",
}
_RETRY_REASONS = {
    "rate_limited": "rate-limited",
    "unavailable": "provider unavailable",
    "unreachable": "cannot connect",
}


async def stream_chat(
    endpoint: Endpoint,
    api_key: str,
    request: ChatRequest,
    *,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    retry: RetryPolicy = DEFAULT_RETRY,
    client: httpx.AsyncClient | None = None,
) -> AsyncIterator[StreamEvent]:
    """Stream a chat reply: TextDelta…, then exactly one StreamEnd. Retrying events may come before the first
    TextDelta, never after it. Any failure, including a bad key or request found before sending, is raised
    as ProviderError while iterating.

    `client` defaults to the running loop's shared client (pass one for a custom transport, e.g. in tests).
    """
    body = chat_body(PRESETS[endpoint.preset], request)
    call = make_call(endpoint, api_key, "chat/completions", "chat", body, timeouts, retry, client)
    async with aclosing(_with_retries(call)) as events:
        async for event in events:
            yield event


async def complete_text(
    endpoint: Endpoint,
    api_key: str,
    request: TextRequest,
    *,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    retry: RetryPolicy = DEFAULT_RETRY,
    client: httpx.AsyncClient | None = None,
) -> AsyncIterator[StreamEvent]:
    """Stream a legacy text completion (`POST /completions`, Novita); events as for stream_chat."""
    body = text_body(PRESETS[endpoint.preset], request)
    call = make_call(endpoint, api_key, "completions", "text", body, timeouts, retry, client)
    async with aclosing(_with_retries(call)) as events:
        async for event in events:
            yield event


async def list_models(
    endpoint: Endpoint,
    api_key: str,
    *,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    client: httpx.AsyncClient | None = None,
) -> list[ModelInfo]:
    """GET {base}/models, in the provider's order, with NovaKit's tiers. One attempt, no retries."""
    preset = PRESETS[endpoint.preset]
    call = make_call(endpoint, api_key, "models", "models", None, timeouts, NO_RETRY, client)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(timeouts.total, timeouts.first_token)
    http = client or shared_client()
    request = http.build_request(
        "GET", endpoint.url("models"), headers={"Accept": "application/json"}, timeout=timeouts.for_httpx()
    )
    response = await open_response(call, http, request, deadline, deadline)
    try:
        body = await read_bounded(call, response, JSON_REPLY_LIMIT, deadline)
    finally:
        await response.aclose()
    try:
        return parse_models(json.loads(body))
    except ValueError:
        raise simple_error(
            preset, "protocol", "the model list could not be read — check the base URL."
        ) from None


async def _with_retries(call: Call) -> AsyncIterator[StreamEvent]:
    """Run attempts until one succeeds, retrying only retryable failures that came before any text."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    total_deadline = started + call.timeouts.total
    retry_deadline = started + min(call.retry.deadline, call.timeouts.total)
    attempt = 1
    shown = False
    while True:
        try:
            async with aclosing(_attempt(call, total_deadline)) as events:
                async for event in events:
                    shown = shown or isinstance(event, TextDelta)
                    yield event
            return
        except ProviderError as err:
            if shown or not err.retryable or attempt >= call.retry.max_attempts:
                raise
            failure = err
        delay = call.retry.delay(attempt, failure.retry_after)
        if loop.time() + delay > retry_deadline:
            raise failure
        attempt += 1
        log.info(
            "%s: %s (HTTP %s); retry %d/%d in %.2fs",
            call.preset.slug, failure.kind, failure.status, attempt, call.retry.max_attempts, delay,
        )  # fmt: skip
        yield Retrying(
            attempt, call.retry.max_attempts, delay, _RETRY_REASONS.get(failure.kind, failure.kind)
        )
        await asyncio.sleep(delay)


async def _attempt(call: Call, total_deadline: float) -> AsyncIterator[StreamEvent]:
    """One request: open it, then read an event stream (or a whole JSON reply) into events."""
    loop = asyncio.get_running_loop()
    first_token_deadline = min(total_deadline, loop.time() + call.timeouts.first_token)
    http = call.client or shared_client()
    request = http.build_request(
        "POST",
        call.endpoint.url(call.path),
        content=call.content,
        headers=_STREAM_HEADERS,
        timeout=call.timeouts.for_httpx(),
    )
    response = await open_response(call, http, request, first_token_deadline, total_deadline)
    try:
        content_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        if content_type == "application/json" or content_type.endswith("+json"):
            events = _read_json_reply(call, response, total_deadline)
        elif content_type == "text/html":
            raise simple_error(
                call.preset,
                "protocol",
                "the address answered with a web page, not a reply — check the base URL.",
            )
        else:
            # Event streams, plus servers that label them text/plain or not at all.
            events = _read_event_stream(call, response, first_token_deadline, total_deadline)
        async with aclosing(events):
            async for event in events:
                yield event
    finally:
        await response.aclose()


async def _read_json_reply(
    call: Call, response: httpx.Response, deadline: float
) -> AsyncIterator[StreamEvent]:
    """A whole completion sent in answer to a stream request: one TextDelta, then the end."""
    body = await read_bounded(call, response, JSON_REPLY_LIMIT + 1, deadline)
    if len(body) > JSON_REPLY_LIMIT:
        raise simple_error(call.preset, "protocol", "the reply was too large to read — try a shorter reply.")
    try:
        payload = json.loads(body)
    except ValueError:
        raise simple_error(call.preset, "protocol", "the reply could not be read — try again.") from None
    parsed = parse_error_payload(payload)
    if parsed is not None:
        raise error_from_payload(call.preset, parsed, secret=call.secret)
    if not isinstance(payload, dict) or not isinstance(payload.get("choices"), list):
        raise simple_error(call.preset, "protocol", "the reply held no answer — try again.")
    state = ReplyState(call.mode)
    text = state.feed_whole(payload)
    if text:
        yield TextDelta(text)
    yield state.end()


async def _read_event_stream(
    call: Call, response: httpx.Response, first_token_deadline: float, total_deadline: float
) -> AsyncIterator[StreamEvent]:
    """One TextDelta per body chunk that brought text (its events joined), then the end."""
    state = ReplyState(call.mode)
    splitter = EventSplitter()
    shown = done = False
    async with aclosing(response.aiter_bytes()) as chunks:
        while not done:
            deadline = total_deadline if shown else first_token_deadline
            try:
                # The deadline wraps only this await, never a yield: a timeout must cancel our read,
                # not whatever the consumer is doing while this generator is suspended.
                async with asyncio.timeout_at(deadline):
                    chunk = await anext(chunks, None)
                items = splitter.feed(chunk) if chunk is not None else splitter.finish()
            except TimeoutError:
                raise deadline_error(call, total=deadline >= total_deadline) from None
            except EventTooLarge:
                raise simple_error(
                    call.preset, "protocol", "the provider sent an invalid stream — try again."
                ) from None
            except (httpx.RemoteProtocolError, httpx.ReadError):
                break  # the connection was cut mid-body; judged below like an early EOF
            except httpx.HTTPError as exc:
                raise transport_error(call, exc, shown=shown) from None
            texts: list[str] = []
            error: ProviderError | None = None
            for data in items:
                if data == "[DONE]":
                    done = True
                    break
                try:
                    text = _feed(call, state, data)
                except ProviderError as exc:
                    error = exc
                    break
                if text:
                    texts.append(text)
            if texts:  # text that came before an error object in the same chunk is still shown
                shown = True
                yield TextDelta("".join(texts))
            if error is not None:
                raise error
            if chunk is None:
                break
    if not done and state.finish_reason is None:
        raise simple_error(call.preset, "stream_cut", "the reply was cut off — retry, or continue from here.")
    yield state.end()


def _feed(call: Call, state: ReplyState, data: str) -> str:
    """The text of one event's data; raises the provider's error object as a ProviderError."""
    payload = _json_or_none(data)
    if not isinstance(payload, dict):
        log.debug("%s: ignored a non-JSON event", call.preset.slug)
        return ""
    parsed = parse_error_payload(payload)
    if parsed is not None:
        raise error_from_payload(call.preset, parsed, secret=call.secret)
    return state.feed_chunk(payload)


def _json_or_none(data: str) -> object:
    try:
        return json.loads(data)
    except ValueError:
        return None
