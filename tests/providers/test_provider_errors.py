"""Error dialects, classification, messages, redaction, and Retry-After parsing (no network)."""

from __future__ import annotations

import json
import pickle
import time
from email.utils import formatdate

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers import KINDS, PRESETS, ProviderError, RetryPolicy
from providers.errors import (
    error_from_payload,
    error_from_response,
    how_long,
    parse_error_body,
    parse_error_payload,
    redact,
)
from providers.http import KeyAuth
from providers.retry import parse_retry_after
from providers.types import Endpoint

from .helpers import KEY

NOVISURF, NOVAKIT, NOVITA, OPENAI = (PRESETS[s] for s in ("novisurf", "novakit", "novita", "openai"))


def body(payload) -> bytes:
    return json.dumps(payload).encode()


def test_three_dialects_parse():
    openai = parse_error_payload(
        {"error": {"message": "Bad key", "type": "invalid_request_error", "code": "invalid_api_key"}}
    )
    assert (openai.known, openai.code, openai.message) == (True, "invalid_api_key", "Bad key")
    typed = parse_error_payload({"error": {"message": "m", "type": "server_error", "code": None}})
    assert typed.code == "server_error"
    novakit = parse_error_payload(
        {"error": "Quota exceeded for chat_tokens", "code": "quota_exceeded", "remaining": 0}
    )
    assert (novakit.code, novakit.message) == ("quota_exceeded", "Quota exceeded for chat_tokens")
    novita = parse_error_payload({"code": 404, "reason": "MODEL_NOT_FOUND", "message": "not found"})
    assert (novita.code, novita.message, novita.status_hint) == ("model_not_found", "not found", 404)
    assert parse_error_payload({"choices": []}) is None
    assert parse_error_payload(["error"]) is None


@pytest.mark.parametrize(
    ("preset", "status", "payload", "kind", "fragment"),
    [
        (NOVISURF, 401, {"error": {"message": "no", "type": "x", "code": "invalid_api_key"}}, "auth",
         "Novisurf: the key was rejected — check the key and its auth header style."),
        (NOVISURF, 402, {"error": {"message": "pay", "type": "x", "code": "insufficient_credits"}}, "credits",
         "Novisurf: out of credits — top up your account."),
        (NOVAKIT, 401, {"error": "Invalid or missing API key", "code": "unauthorized"}, "auth", "NovaKit: the key was rejected — check the key."),
        (NOVAKIT, 402, {"error": "Quota exceeded", "code": "quota_exceeded", "remaining": 0}, "credits", "NovaKit: out of credits"),
        (NOVAKIT, 403, {"error": "API key missing chat scope", "code": "forbidden"}, "forbidden", "NovaKit: your key lacks the chat scope"),
        (NOVAKIT, 400, {"error": "messages is required", "code": "invalid_request"}, "bad_request",
         "NovaKit: the request was rejected (messages is required) — check the model and parameters."),
        (NOVAKIT, 429, {"error": "Too many requests", "code": "rate_limited", "remaining": 0}, "rate_limited", "NovaKit: rate-limited"),
        (NOVAKIT, 500, {"error": "Internal error", "code": "server_error"}, "unavailable", "NovaKit: Provider error (HTTP 500)"),
        (NOVITA, 401, {"code": 401, "reason": "INVALID_API_KEY", "message": "bad"}, "auth", "Novita AI: the key was rejected"),
        (NOVITA, 403, {"code": 403, "reason": "NOT_ENOUGH_BALANCE", "message": "poor"}, "credits", "Novita AI: out of credits"),
        (NOVITA, 404, {"code": 404, "reason": "MODEL_NOT_FOUND", "message": "?"}, "model_not_found",
         "Novita AI: this model does not exist — check the model name or refresh the model list."),
        (NOVITA, 429, {"code": 429, "reason": "RATE_LIMIT_EXCEEDED", "message": "slow"}, "rate_limited", "Novita AI: rate-limited"),
        (NOVITA, 500, {"code": 500, "reason": "MODEL_NOT_AVAILABLE", "message": "down"}, "unavailable",
         "Novita AI: this model is not available right now"),
        (OPENAI, 429, {"error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}}, "credits",
         "OpenAI-compatible: out of credits"),
        (OPENAI, 404, {"error": {"message": "The model `x` does not exist", "type": "invalid_request_error", "code": None}},
         "model_not_found", "this model does not exist"),
        (OPENAI, 403, {"error": {"message": "nope", "type": "permission_error", "code": None}}, "forbidden",
         "OpenAI-compatible: the key is not allowed to do this"),
    ],
)  # fmt: skip
def test_status_and_dialect_map_to_kind_and_message(preset, status, payload, kind, fragment):
    err = error_from_response(preset, status, body(payload), "application/json")
    assert (err.kind, err.status) == (kind, status)
    assert fragment in err.message and err.message.startswith(preset.name + ": ")
    assert err.retryable == (kind in ("rate_limited", "unavailable"))
    assert err.detail  # the provider's own words are kept


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"<html><body><h1>502 Bad Gateway</h1><hr>cloudflare</body></html>", "text/html"),
        (b"upstream connect error", "text/plain"),
        (b"", ""),
        (b"x" * 2_000_000, "text/plain"),
        (b'{"unexpected": true}', "application/json"),
        (b'{"error": ', "application/json"),
        (b"\xff\xfe\x00garbage", "application/octet-stream"),
    ],
)
def test_unknown_shapes_give_provider_error_with_status(raw, content_type):
    err = error_from_response(NOVISURF, 502, raw, content_type)
    assert err.kind == "unavailable" and err.retryable
    assert err.message == (
        "Novisurf: the provider (or a proxy in front of it) is unavailable (HTTP 502) — try again in a moment."
    )
    assert len(err.detail) <= 300 and "<" not in err.detail


def test_a_dialect_5xx_is_still_the_providers_own_error():
    err = error_from_response(NOVAKIT, 500, body({"error": "Internal error", "code": "server_error"}))
    assert err.message == "NovaKit: Provider error (HTTP 500) — try again in a moment."
    assert err.words == "server_error: Internal error"


@pytest.mark.parametrize(
    ("page", "status", "message", "words"),
    [
        # The fake's proxy page, and what nginx, Google and Cloudflare send: the title only repeats the status.
        ("<html><head><title>502</title></head><body><h1>502 Bad Gateway</h1>cloudflare</body></html>", 502,
         "Novisurf: the provider (or a proxy in front of it) is unavailable (HTTP 502) — try again in a moment.", ""),
        ("<html><head><title>504 Gateway Time-out</title></head><body><center>nginx</center></body></html>", 504,
         "Novisurf: the provider (or a proxy in front of it) is unavailable (HTTP 504) — try again in a moment.", ""),
        ("<!DOCTYPE html><title>Error 502 (Server Error)!!1</title><p>That's an error.", 502,
         "Novisurf: the provider (or a proxy in front of it) is unavailable (HTTP 502) — try again in a moment.", ""),
        # A title that says more is quoted once, without the status it repeats, in the sentence itself.
        ("<title>api.example.com | 522: Connection timed out</title>", 522,
         "Novisurf: the provider (or a proxy in front of it) is unavailable (HTTP 522: “api.example.com | Connection"
         " timed out”) — try again in a moment.", ""),
        ("<html><head>\n<title>\n  Access denied &amp; logged | Cloudflare</title></head></html>", 403,
         "Novisurf: the key is not allowed to do this — check the key's permissions.", "Access denied & logged | Cloudflare"),
        ("<html><body>no title at all, sk-abcdefghijklmnop</body></html>", 503,
         "Novisurf: the provider (or a proxy in front of it) is unavailable (HTTP 503) — try again in a moment.", ""),
    ],
)  # fmt: skip
def test_an_html_error_page_is_not_quoted_as_the_providers_words(page, status, message, words):
    err = error_from_response(NOVISURF, status, page.encode(), "text/html; charset=utf-8")
    assert err.message == message and err.words == words
    assert "<" not in err.detail and "sk-" not in err.message + err.detail


def test_a_rejected_request_gives_the_providers_reason_once():
    err = error_from_response(
        OPENAI, 400, body({"error": {"message": "Invalid request: see the docs", "code": "invalid_request"}})
    )
    assert err.message == (
        "OpenAI-compatible: the request was rejected (Invalid request: see the docs) — check the model and "
        "parameters."
    )
    assert err.detail == "invalid_request: Invalid request: see the docs" and err.words == ""
    # A reason past the old 120 characters is no longer cut short: the message is the only place it is said.
    long = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 " + (
        "tokens. Please reduce the length of the messages."
    )
    err = error_from_payload(
        NOVISURF, parse_error_payload({"error": {"message": long, "code": "bad_request"}})
    )
    assert long in err.message and err.words == ""
    bare = error_from_response(OPENAI, 400, b"", "")  # nothing to quote: nothing quoted
    assert bare.message.startswith("OpenAI-compatible: the request was rejected — ") and bare.words == ""


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(None, ""), (0, ""), (0.4, ""), (1, "about 1 second"), (4.2, "about 5 seconds"), (5, "about 5 seconds"),
     (12, "about 15 seconds"), (58, "about 1 minute"), (90, "about 2 minutes"), (600, "about 10 minutes"),
     (3599, "about 1 hour"), (5400, "about 2 hours")],
)  # fmt: skip
def test_waits_read_as_a_person_would_say_them(seconds, words):
    assert how_long(seconds) == words


def test_a_rate_limit_with_retry_after_says_how_long():
    novakit = body({"error": "Too many requests", "code": "rate_limited", "remaining": 0})
    err = error_from_response(NOVAKIT, 429, novakit, retry_after=5.0)
    assert err.message == "NovaKit: rate-limited — try again in about 5 seconds."
    err = error_from_response(
        NOVITA, 429, body({"code": 429, "reason": "RATE_LIMIT_EXCEEDED"}), retry_after=120
    )
    assert err.message == "Novita AI: rate-limited — try again in about 2 minutes."
    # An HTTP date, read by the transport into seconds from now.
    now = time.time()
    wait = parse_retry_after(formatdate(now + 30, usegmt=True), now=now)
    assert "try again in about 30 seconds." in error_from_response(OPENAI, 429, b"", retry_after=wait).message
    assert error_from_response(OPENAI, 429, b"", retry_after=0).message == (
        "OpenAI-compatible: rate-limited — wait a moment and try again."
    )


def test_unknown_404_points_at_the_base_url():
    err = error_from_response(OPENAI, 404, b"Not Found", "text/plain")
    assert err.kind == "upstream" and "check the base URL" in err.message


def test_in_stream_errors_in_each_dialect():
    for preset, payload in [
        (NOVISURF, {"error": {"message": "boom", "type": "server_error", "code": None}}),
        (NOVAKIT, {"error": "Upstream model error", "code": "server_error"}),
        (NOVITA, {"code": 500, "reason": "MODEL_NOT_AVAILABLE", "message": "boom"}),
    ]:
        err = error_from_payload(preset, parse_error_payload(payload))
        assert err.kind == "unavailable" and err.message.startswith(preset.name)
    odd = error_from_payload(NOVAKIT, parse_error_payload({"error": "weird", "code": "teapot"}))
    assert (
        odd.kind == "upstream"
        and odd.message == "NovaKit: the provider reported an error — try again in a moment."
    )


@pytest.mark.parametrize(
    "text",
    [
        f"Incorrect API key provided: {KEY}. You can find your key at ...",
        "key lsk_abcdefghijklmnop was rejected",
        "sk_live_0123456789abcdef and sk-proj-ABCDEF0123456789",
        "Authorization: Bearer abc.def.ghi",
        "token 0123456789abcdef0123456789abcdef0123 leaked",
        "aGVsbG8gd29ybGQhIFRoaXMgaXMgYSBzZWNyZXQ0MjQy in base64",
    ],
)
def test_redaction_of_secret_looking_text(text):
    out = redact(text)
    assert "[redacted]" in out
    for secret in (KEY, "lsk_abcdefghijklmnop", "sk_live_0123456789abcdef", "sk-proj-ABCDEF0123456789", "abc.def.ghi",
                   "0123456789abcdef0123456789abcdef0123", "aGVsbG8gd29ybGQhIFRoaXMgaXMgYSBzZWNyZXQ0MjQy"):  # fmt: skip
        assert secret not in out


def test_redaction_keeps_ordinary_text_and_truncates():
    text = "The model `deepseek/deepseek-r1-distill-llama-70b` is unknown, see https://novita.ai/docs/guides/llm-api"
    assert redact(text) == text
    assert redact("plain-password", secret="plain-password") == "[redacted]"
    long = redact("word " * 500)
    assert len(long) == 300 and long.endswith("…")
    # Redaction runs before truncation: a key straddling the cut is still removed entirely.
    assert "sk-" not in redact("a" * 290 + " sk-abcdefghijklmnopqrstuvwxyz")


def test_error_detail_never_holds_a_plain_key():
    secret = "invalid-but-plain"
    err = error_from_response(
        NOVISURF,
        401,
        body({"error": {"message": f"Incorrect API key provided: {secret}.", "code": "invalid_api_key"}}),
        secret=secret,
    )
    assert secret not in err.detail and "[redacted]" in err.detail


def test_provider_error_str_repr_pickle():
    err = ProviderError(
        "rate_limited", "Novisurf: rate-limited — wait.", status=429, detail="d", retry_after=2.0
    )
    assert str(err) == "Novisurf: rate-limited — wait."
    assert (
        repr(err)
        == "ProviderError(kind='rate_limited', status=429, message='Novisurf: rate-limited — wait.')"
    )
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.kind, copy.message, copy.status, copy.retryable, copy.detail, copy.retry_after) == (
        "rate_limited", err.message, 429, True, "d", 2.0)  # fmt: skip
    assert copy.words == "d"
    quoted = pickle.loads(pickle.dumps(ProviderError("bad_request", "m (d)", detail="d", quoted=True)))
    assert (quoted.detail, quoted.words) == ("d", "")
    ours = pickle.loads(pickle.dumps(ProviderError("unreachable", "m", detail="d", detail_from="connection")))
    assert (ours.detail_from, copy.detail_from) == ("connection", "provider")
    expected_kinds = {"auth", "credits", "forbidden", "model_not_found", "rate_limited", "unavailable", "bad_request",
                      "unreachable", "timeout", "stream_cut", "protocol", "redirect", "blocked", "upstream"}  # fmt: skip
    assert expected_kinds == KINDS
    with pytest.raises(ValueError):
        ProviderError("oops", "x")


def test_key_auth_repr_hides_the_key():
    auth = KeyAuth(Endpoint("novisurf", "https://h/v1", "x-api-key"), KEY)
    assert KEY not in repr(auth) and KEY not in str(auth) and "x-api-key" in repr(auth)


def test_retry_after_parsing():
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    now = time.time()
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1.5)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("99999999") == 24 * 3600.0


@settings(max_examples=200, deadline=None)
@given(attempt=st.integers(1, 10), retry_after=st.none() | st.floats(0, 100))
def test_backoff_is_bounded_and_honours_retry_after(attempt, retry_after):
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    delay = policy.delay(attempt, retry_after)
    if retry_after is None:
        assert 0 <= delay <= min(4.0, 0.5 * 2 ** (attempt - 1))
    else:
        assert retry_after <= delay <= retry_after + 0.5


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=600), status=st.integers(400, 599))
def test_error_parsing_never_raises(raw, status):
    err = error_from_response(NOVITA, status, raw, "application/json")
    assert err.kind in KINDS and err.message.startswith("Novita AI: ") and len(err.detail) <= 300
    assert isinstance(parse_error_body(raw).message, str)


def test_a_call_bundle_never_shows_the_key():
    from providers.http import DEFAULT_TIMEOUTS
    from providers.retry import DEFAULT_RETRY
    from providers.transport import make_call

    call = make_call(Endpoint("novisurf", "https://h/v1"), f"  {KEY} ", "chat/completions", "chat",
                     {"model": "m"}, DEFAULT_TIMEOUTS, DEFAULT_RETRY, None)  # fmt: skip
    assert call.secret == KEY and KEY not in repr(call) and KEY not in str(call)
