"""Streaming against the fake provider: each preset's request and reply, and every fault it can inject."""

from __future__ import annotations

import asyncio
import time

import pytest

from providers import (
    NO_RETRY,
    ChatRequest,
    Endpoint,
    Retrying,
    TextDelta,
    TextRequest,
    Timeouts,
    Usage,
    complete_text,
    stream_chat,
)
from tests.fakeprovider.replies import CANNED_REPLY, PIECE_CHARS, UTF8_REPLY

from .helpers import (
    KEY,
    chat,
    chat_error,
    closed_port,
    collect,
    collect_until_error,
    end_of,
    endpoint,
    text_of,
)


@pytest.mark.asyncio
@pytest.mark.parametrize("preset", ["novisurf", "novita", "openai"])
async def test_canned_markdown_reply(fp, preset):
    # 2 ms apart: a read returns every event that has arrived by then, so a burst could come as one piece.
    events = await chat(fp, "fake-model~interval=2", preset=preset, params={"temperature": 9, "bogus": 1})
    assert text_of(events) == CANNED_REPLY
    assert all(isinstance(e, TextDelta) for e in events[:-1]) and len(events) > 10  # streamed in pieces
    end = end_of(events)
    assert end.finish_reason == "stop" and end.model == "fake-model"
    chunks = -(-len(CANNED_REPLY) // PIECE_CHARS)  # the fake counts one token per chunk it sent
    assert end.usage == Usage(prompt_tokens=1, completion_tokens=chunks, credits=None, reported=True)
    sent = fp.requests[0]["json"]
    assert sent["stream"] is True and sent["temperature"] == 2.0 and "bogus" not in sent
    assert ("stream_options" in sent) == (preset == "openai")


@pytest.mark.asyncio
async def test_echo_and_model_directives_stay_out_of_the_reported_model(fp):
    events = await chat(fp, "fake-model~interval=1", "please echo:Hello, *world*!")
    assert text_of(events) == "Hello, *world*!" and end_of(events).model == "fake-model"
    events = await chat(fp, "fake-model~tokens=5")
    assert text_of(events) == "tok1 tok2 tok3 tok4 tok5 " and end_of(events).usage.completion_tokens == 5


@pytest.mark.asyncio
async def test_novakit_body_default_model_and_extras(fp):
    messages = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": "what is this?",
            "images": [f"https://img/{i}.png" for i in range(6)],
            "name": "ann",
        },
        {"role": "tool", "content": "42", "secret_field": "x"},
    ]
    params = {"web_search": "true", "user": "forged", "frequency_penalty": 3, "top_k": 5}
    request = ChatRequest("", messages, params, user="user-7")
    events = await collect(stream_chat(endpoint(fp, "novakit"), KEY, request))
    sent = fp.requests[0]["json"]
    assert "model" not in sent  # omitted: NovaKit uses its default
    assert sent["messages"][1] == {"role": "user", "content": "what is this?", "name": "ann",
                                   "images": [f"https://img/{i}.png" for i in range(4)]}  # fmt: skip
    assert sent["messages"][2] == {"role": "tool", "content": "42"}
    assert (sent["web_search"], sent["user"], sent["frequency_penalty"]) == (True, "user-7", 2.0)
    assert "top_k" not in sent and "stream_options" not in sent
    end = end_of(events)
    assert end.model == "openai/gpt-4o-mini" and end.extra["model_tier"] == "basic"
    assert end.usage.reported and end.usage.credits is not None and end.usage.credits > 0
    assert set(end.extra) == {"model_tier", "credits_breakdown", "tokens_remaining_estimate"}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("dialect", "path"), [("novita", "/novita/v3/openai"), ("novita-openai", "/novita/openai")]
)
async def test_novita_both_bases(fp, dialect, path):
    events = await chat(fp, "deepseek/deepseek-r1", "echo:ok", preset="novita", dialect=dialect)
    assert text_of(events) == "ok"
    assert fp.requests[0]["path"] == path + "/chat/completions"


@pytest.mark.asyncio
@pytest.mark.parametrize("model", ["meta-llama/llama-3.1-8b-instruct", "m~nonstream=1", "m~n=3"])
async def test_novita_legacy_text_completions(fp, model):
    request = TextRequest(model, "USER: echo:pasta al dente\nASSISTANT:", {"max_tokens": 0, "n": 1})
    events = await collect(complete_text(endpoint(fp, "novita", dialect="novita-openai"), KEY, request))
    assert text_of(events) == "pasta al dente\nASSISTANT:"
    assert end_of(events).finish_reason == "stop"
    sent = fp.requests[0]
    assert sent["path"] == "/novita/openai/completions" and sent["json"]["max_tokens"] == 1
    assert sent["json"]["prompt"].startswith("USER:") and "messages" not in sent["json"]


@pytest.mark.asyncio
@pytest.mark.parametrize("model", ["fake-model~n=3", "fake-model~n=3~nonstream=1"])
async def test_novita_n_choices_stream_the_first_and_gather_the_others(fp, model):
    events = await chat(fp, model, preset="novita", params={"n": 3})
    assert text_of(events) == CANNED_REPLY and "[choice" not in text_of(events)
    assert end_of(events).alternatives == (f"[choice 1] {CANNED_REPLY}", f"[choice 2] {CANNED_REPLY}")


@pytest.mark.asyncio
async def test_openai_usage_from_the_separate_usage_chunk(fp):
    events = await chat(fp, "fake-model~tokens=4", preset="openai")
    assert end_of(events).usage.completion_tokens == 4


@pytest.mark.asyncio
@pytest.mark.parametrize("preset", ["novisurf", "novakit", "novita"])
async def test_cut_mid_stream_is_stream_cut_with_partial_text(fp, preset):
    events, err = await chat_error(fp, "openai/gpt-4o-mini~tokens=10~cut=4", preset=preset)
    assert text_of(events) == "tok1 tok2 tok3 tok4 "
    assert err.kind == "stream_cut" and not err.retryable and "the reply was cut off" in err.message


@pytest.mark.asyncio
@pytest.mark.parametrize(("preset", "message"), [
    ("novisurf", "Novisurf: the provider reported an error — try again in a moment."),
    ("novakit", "NovaKit: the provider reported an error — try again in a moment."),
    ("novita", "Novita AI: this model is not available right now — try again later or pick another model."),
])  # fmt: skip
async def test_error_object_inside_a_200_stream(fp, preset, message):
    events, err = await chat_error(fp, "openai/gpt-4o-mini~tokens=6~error_after=3", preset=preset)
    assert text_of(events) == "tok1 tok2 tok3 " and not any(type(e).__name__ == "StreamEnd" for e in events)
    assert err.kind == "unavailable" and err.message == message and err.detail


@pytest.mark.asyncio
async def test_end_without_done_and_finish_is_cut_but_done_without_finish_is_fine(fp):
    events, err = await chat_error(fp, "fake-model~tokens=3~no_done=1")
    assert text_of(events) == "tok1 tok2 tok3 " and err.kind == "stream_cut"
    events = await chat(fp, "fake-model~tokens=3~finish=none")
    assert text_of(events) == "tok1 tok2 tok3 " and end_of(events).finish_reason is None


@pytest.mark.asyncio
async def test_finish_length_and_nonstream_reply(fp):
    assert end_of(await chat(fp, "fake-model~tokens=2~finish=length")).finish_reason == "length"
    events = await chat(fp, "fake-model~nonstream=1", "echo:whole reply")
    assert [type(e).__name__ for e in events] == ["TextDelta", "StreamEnd"]
    assert text_of(events) == "whole reply" and end_of(events).usage.completion_tokens == 4


@pytest.mark.asyncio
async def test_keepalives_and_split_utf8(fp):
    assert text_of(await chat(fp, "fake-model~ping=1~tokens=5")) == "tok1 tok2 tok3 tok4 tok5 "
    assert text_of(await chat(fp, "fake-model~ping=1")) == CANNED_REPLY
    events = await chat(fp, "fake-model~split_utf8=1~ping=1", preset="novakit")
    assert text_of(events) == UTF8_REPLY and "\ufffd" not in text_of(events)


@pytest.mark.asyncio
async def test_silent_upstream_times_out_at_first_token_and_is_closed(fp):
    started = time.monotonic()
    events, err = await chat_error(
        fp, "fake-model~silent=1", timeouts=Timeouts(connect=1, first_token=0.3, idle=5, total=5)
    )
    assert events == [] and err.kind == "timeout" and "no reply within 0.3 s" in err.message
    assert time.monotonic() - started < 2
    assert await fp.wait_for_async(lambda reqs: reqs[0]["disconnected"], timeout=2)


@pytest.mark.asyncio
async def test_slow_first_token_times_out_but_pings_do_not_count_as_tokens(fp):
    timeouts = Timeouts(connect=1, first_token=0.3, idle=5, total=5)
    _, err = await chat_error(fp, "fake-model~ttft=1500~ping=1", timeouts=timeouts)
    assert err.kind == "timeout"
    patient = Timeouts(connect=1, first_token=3, idle=5, total=5)
    events = await chat(fp, "fake-model~ttft=100~ping=1~tokens=2", timeouts=patient)
    assert text_of(events) == "tok1 tok2 "


@pytest.mark.asyncio
async def test_idle_and_total_timeouts_after_the_first_token(fp):
    events, err = await chat_error(
        fp, "m~tokens=5~interval=1500", timeouts=Timeouts(connect=1, first_token=2, idle=0.3, total=5)
    )
    assert text_of(events) == "tok1 " and err.kind == "timeout" and "stopped responding" in err.message
    events, err = await chat_error(
        fp, "m~tokens=50~interval=40", timeouts=Timeouts(connect=1, first_token=2, idle=2, total=0.5)
    )
    assert 0 < len(events) < 50 and err.kind == "timeout" and "longer than the 0.5 s limit" in err.message


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("preset", "status", "kind", "fragment"),
    [
        ("novisurf", 400, "bad_request", "Novisurf: the request was rejected ("),
        ("novisurf", 401, "auth", "Novisurf: the key was rejected — check the key and its auth header style."),
        ("novisurf", 402, "credits", "Novisurf: out of credits — top up your account."),
        ("novisurf", 403, "forbidden", "Novisurf: the key is not allowed"),
        ("novisurf", 404, "model_not_found", "Novisurf: this model does not exist"),
        ("novisurf", 429, "rate_limited", "Novisurf: rate-limited"),
        ("novisurf", 500, "unavailable", "Novisurf: Provider error (HTTP 500)"),
        ("novisurf", 503, "unavailable", "Novisurf: Provider error (HTTP 503)"),
        ("novakit", 401, "auth", "NovaKit: the key was rejected — check the key."),
        ("novakit", 402, "credits", "NovaKit: out of credits"),
        ("novakit", 403, "forbidden", "NovaKit: your key lacks the chat scope"),
        ("novakit", 404, "model_not_found", "NovaKit: this model does not exist"),
        ("novakit", 429, "rate_limited", "NovaKit: rate-limited"),
        ("novakit", 500, "unavailable", "NovaKit: Provider error (HTTP 500)"),
        ("novita", 401, "auth", "Novita AI: the key was rejected"),
        ("novita", 402, "credits", "Novita AI: out of credits"),
        ("novita", 403, "credits", "Novita AI: out of credits"),
        ("novita", 404, "model_not_found", "Novita AI: this model does not exist — check the model name or refresh the model list."),
        ("novita", 429, "rate_limited", "Novita AI: rate-limited"),
        ("novita", 500, "unavailable", "Novita AI: this model is not available right now"),
        ("novita", 503, "unavailable", "Novita AI: Provider error (HTTP 503)"),
        ("openai", 401, "auth", "OpenAI-compatible: the key was rejected"),
        ("openai", 404, "model_not_found", "OpenAI-compatible: this model does not exist"),
    ],
)  # fmt: skip
async def test_status_directive_in_each_dialect(fp, preset, status, kind, fragment):
    events, err = await chat_error(fp, f"openai/gpt-4o-mini~status={status}", preset=preset)
    assert events == [] and (err.kind, err.status) == (kind, status) and err.message.startswith(fragment)
    assert len(fp.requests) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("preset", ["novisurf", "novakit", "novita"])
async def test_unknown_model_is_model_not_found(fp, preset):
    _, err = await chat_error(fp, "vendor/missing-model", preset=preset)
    assert err.kind == "model_not_found" and err.status == 404 and "refresh the model list" in err.message


@pytest.mark.asyncio
@pytest.mark.parametrize("shape", ["html", "text", "empty", "huge", "json"])
async def test_error_bodies_in_no_dialect(fp, shape):
    _, err = await chat_error(fp, f"fake-model~status=502~body={shape}")
    assert err.kind == "unavailable" and err.message == (
        "Novisurf: the provider (or a proxy in front of it) is unavailable (HTTP 502) — try again in a moment."
    )
    assert len(err.detail) <= 300
    if shape == "html":  # a proxy's page: its title says only "502", its body is not the provider's words
        assert err.detail == "" and err.words == ""


@pytest.mark.asyncio
async def test_a_rate_limit_says_how_long_the_provider_asked_to_wait(fp):
    _, err = await chat_error(fp, "fake-model~status=429~retry_after=5")
    assert (err.kind, err.retry_after) == ("rate_limited", 5.0)
    assert err.message == "Novisurf: rate-limited — try again in about 5 seconds."
    _, err = await chat_error(fp, "fake-model~status=429")
    assert err.message == "Novisurf: rate-limited — wait a moment and try again."


@pytest.mark.asyncio
async def test_wrong_base_url_gives_a_useful_error(fp):
    bad = Endpoint("openai", fp.url + "/nowhere/v1")
    _, err = await collect_until_error(
        stream_chat(bad, KEY, ChatRequest("m", [{"role": "user", "content": "x"}]))
    )
    assert err.kind == "upstream" and err.status == 404 and "check the base URL" in err.message


@pytest.mark.asyncio
async def test_unreachable_host(fp):
    bad = Endpoint("novisurf", f"http://127.0.0.1:{closed_port()}/v1")
    _, err = await collect_until_error(stream_chat(bad, KEY, ChatRequest("m", []), retry=NO_RETRY))
    assert (
        err.kind == "unreachable"
        and err.retryable
        and err.message.startswith("Novisurf: cannot reach 127.0.0.1")
    )


@pytest.mark.asyncio
async def test_no_retrying_events_without_failures(fp):
    events = await chat(fp, "fake-model~tokens=3")
    assert not any(isinstance(e, Retrying) for e in events)


@pytest.mark.asyncio
async def test_unencodable_text_never_breaks_the_request(fp):
    events = await chat(fp, "fake-model", "echo:a\x00b \ud800 c")
    assert text_of(events) == "a\x00b \ufffd c"
    request = ChatRequest("m", [{"role": "user", "content": [{"type": "text", "text": float("nan")}]}])
    _, err = await collect_until_error(stream_chat(endpoint(fp, "openai"), KEY, request))
    assert err.kind == "bad_request" and "could not be encoded" in err.message


@pytest.mark.asyncio
async def test_concurrent_streams_share_the_loop_client(fp):
    models = [f"fake-model~tokens={n}~interval=5" for n in range(1, 21)]
    results = await asyncio.gather(*(chat(fp, model) for model in models))
    assert [len(text_of(events).split()) for events in results] == list(range(1, 21))
    assert len(fp.requests) == 20
