"""Auth headers and secrets, checked at the fake provider's side of the wire (SE-07, SE-09, SE-10, PV-01)."""

from __future__ import annotations

import logging

import pytest

from providers import ChatRequest, list_models, stream_chat

from .helpers import FAST_RETRY, KEY, chat, chat_error, collect_until_error, endpoint, text_of, user

AUTH_CASES = [
    # preset, auth_style, auth_header, the header expected at the fake, its expected value
    ("novisurf", "bearer", "", "authorization", f"Bearer {KEY}"),
    ("novisurf", "x-api-key", "", "x-api-key", KEY),
    ("novakit", "bearer", "", "authorization", f"Bearer {KEY}"),
    ("novita", "bearer", "", "authorization", f"Bearer {KEY}"),
    ("openai", "bearer", "", "authorization", f"Bearer {KEY}"),
    ("openai", "header", "X-Custom-Key", "x-custom-key", KEY),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("preset", "style", "header", "expected_header", "expected_value"), AUTH_CASES)
async def test_exactly_one_auth_header_of_the_configured_style(
    fp, preset, style, header, expected_header, expected_value
):
    model = "" if preset == "novakit" else "fake-model"
    events = await chat(fp, model, preset=preset, auth_style=style, auth_header=header)
    assert text_of(events)
    (request,) = fp.requests
    assert request["headers"][expected_header] == expected_value
    carrying = [name for name, value in request["headers"].items() if KEY in value]
    assert carrying == [expected_header]  # no other header carries the key
    other = {"authorization", "x-api-key", "x-custom-key"} - {expected_header}
    assert not other & set(request["headers"])
    assert (
        KEY not in repr(request["json"]) and KEY not in request["path"] and KEY not in repr(request["query"])
    )


@pytest.mark.asyncio
async def test_models_listing_sends_one_header_too(fp):
    await list_models(endpoint(fp, "novisurf", auth_style="x-api-key"), KEY)
    (request,) = fp.requests
    assert request["headers"]["x-api-key"] == KEY and "authorization" not in request["headers"]


@pytest.mark.asyncio
async def test_wrong_style_maps_to_the_auth_style_hint(fp):
    # The openai dialect reads only Bearer or X-…-Key headers, so "Api-Token" reaches it as no key at all.
    _, err = await chat_error(fp, "fake-model", preset="openai", auth_style="header", auth_header="Api-Token")
    assert err.kind == "auth" and err.status == 401
    assert err.message == "OpenAI-compatible: the key was rejected — check the key and its auth header style."


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("preset", "key", "kind", "status", "message"),
    [
        ("novisurf", "lsk_invalid_0123456789", "auth", 401, "Novisurf: the key was rejected — check the key and its auth header style."),
        ("novakit", "sk_invalid_0123456789", "auth", 401, "NovaKit: the key was rejected — check the key."),
        ("novita", "sk_invalid_0123456789", "auth", 401, "Novita AI: the key was rejected — check the key."),
        ("novisurf", "lsk_broke_0123456789", "credits", 402, "Novisurf: out of credits — top up your account."),
        ("novakit", "sk_broke_0123456789", "credits", 402, "NovaKit: out of credits — top up your account."),
        ("novita", "sk_broke_0123456789", "credits", 403, "Novita AI: out of credits — top up your account."),
        ("novakit", "sk_noscope_0123456789", "forbidden", 403, "NovaKit: your key lacks the chat scope"),
    ],
)  # fmt: skip
async def test_key_rules(fp, preset, key, kind, status, message):
    model = "" if preset == "novakit" else "fake-model"
    _, err = await chat_error(fp, model, preset=preset, key=key)
    assert (err.kind, err.status, err.retryable) == (kind, status, False)
    assert err.message.startswith(message)
    for text in (str(err), repr(err), err.detail):
        assert key not in text
    assert len(fp.requests) == 1  # not retried


@pytest.mark.asyncio
async def test_echoed_key_is_redacted_even_when_it_does_not_look_like_a_key(fp):
    key = "invalid-plain-words"  # no sk-/lsk_ prefix, no long run: only the literal replacement can catch it
    _, err = await chat_error(fp, "fake-model", preset="novisurf", key=key)
    assert err.kind == "auth" and "[redacted]" in err.detail and key not in err.detail


@pytest.mark.asyncio
async def test_unsendable_or_empty_key_is_refused_before_any_request(fp):
    for key in ("", "   ", f"{KEY}\r\nX-Evil: 1", "sk-ünïcode-key"):
        _, err = await collect_until_error(stream_chat(endpoint(fp), key, ChatRequest("m", user("hi"))))
        assert err.kind == "auth" and KEY not in str(err) and "X-Evil" not in repr(err)
    assert fp.requests == []


@pytest.mark.asyncio
async def test_redirect_is_not_followed_and_the_key_goes_nowhere_else(fp):
    _, err = await chat_error(fp, "fake-model~redirect=1", preset="novisurf", auth_style="x-api-key")
    assert err.kind == "redirect" and err.status == 302 and not err.retryable
    assert "redirects are not followed" in err.message and "elsewhere.invalid" in err.detail
    assert len(fp.requests) == 1


@pytest.mark.asyncio
async def test_no_log_record_ever_holds_the_key(fp, caplog):
    caplog.set_level(logging.DEBUG)  # root: providers, httpx, httpcore, asyncio
    await chat(fp, "fake-model~fail_first=1~status=429~retry_after=0", retry=FAST_RETRY)
    await chat_error(fp, "fake-model", key=f"invalid-{KEY}")
    await chat_error(fp, "fake-model~cut=2")
    await list_models(endpoint(fp, "novakit"), KEY)
    assert caplog.records  # httpx/httpcore did log at DEBUG
    for record in caplog.records:
        assert KEY not in record.getMessage() and KEY not in repr(record.args)
