"""The fake provider itself, spoken to with plain httpx: routes, auth rules, wire format, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fakeprovider.directives import parse
from tests.fakeprovider.replies import UTF8_REPLY

from .helpers import KEY, closed_port

ROOT = Path(__file__).resolve().parents[2]
CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "echo:hi"}]}


@pytest.fixture
def http(fake_provider):
    fake_provider.reset()
    with httpx.Client(base_url=fake_provider.url, timeout=5) as client:
        yield client


def bearer(key: str = KEY) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_requests_log_and_reset(http, fake_provider):
    http.post("/novisurf/v1/chat/completions?x=1", json=CHAT, headers={"X-API-Key": KEY})
    (record,) = http.get("/_fake/requests").json()
    assert record["method"] == "POST" and record["path"] == "/novisurf/v1/chat/completions"
    assert record["query"] == {"x": "1"} and record["headers"]["x-api-key"] == KEY and record["json"] == CHAT
    assert record["dialect"] == "novisurf" and record["disconnected"] is False
    assert http.post("/_fake/reset").json() == {"ok": True} and fake_provider.requests == []


def test_whole_reply_shape(http):
    reply = http.post("/novisurf/v1/chat/completions", json=CHAT, headers=bearer()).json()
    assert reply["object"] == "chat.completion" and reply["model"] == "fake-model"
    assert reply["choices"][0]["message"] == {"role": "assistant", "content": "hi"}
    assert reply["usage"]["completion_tokens"] == 1


def test_auth_rules(http):
    both = {"X-API-Key": KEY, **bearer()}
    assert http.post("/novisurf/v1/chat/completions", json=CHAT, headers=both).status_code == 400
    assert http.post("/novisurf/v1/chat/completions", json=CHAT).status_code == 401
    assert (
        http.post("/novakit/api/v1/chat/completions", json=CHAT, headers={"X-API-Key": KEY}).status_code
        == 401
    )
    for header in ("X-Custom-Key", "X-Api-Key", "api-key"):
        assert http.post("/openai/v1/chat/completions", json=CHAT, headers={header: KEY}).status_code == 200
    assert http.post("/openai/v1/chat/completions", json=CHAT, headers={"Api-Token": KEY}).status_code == 401
    invalid = http.post("/openai/v1/chat/completions", json=CHAT, headers=bearer("sk-invalid-123"))
    assert (
        invalid.status_code == 401 and "sk-invalid-123" in invalid.json()["error"]["message"]
    )  # echoed, like OpenAI
    assert http.post("/novakit/api/v1/chat/completions", json=CHAT, headers=bearer("sk_noscope")).json() == {
        "error": "API key missing chat scope", "code": "forbidden"}  # fmt: skip
    assert http.post("/novakit/api/v1/chat/completions", json=CHAT, headers=bearer("sk_broke")).json() == {
        "error": "Quota exceeded for chat_tokens", "code": "quota_exceeded", "remaining": 0}  # fmt: skip
    broke = http.post("/novita/v3/openai/chat/completions", json=CHAT, headers=bearer("sk_broke"))
    assert broke.status_code == 403 and broke.json()["reason"] == "NOT_ENOUGH_BALANCE"


def test_routes(http):
    assert http.post("/novita/openai/v1/chat/completions", json=CHAT, headers=bearer()).status_code == 200
    assert http.post("/novita/openai/chat/completions", json=CHAT, headers=bearer()).status_code == 200
    legacy = http.post(
        "/novita/v3/openai/completions", json={"model": "m", "prompt": "echo:x"}, headers=bearer()
    )
    assert legacy.json()["choices"][0]["text"] == "x"
    assert (
        http.post(
            "/novisurf/v1/completions", json={"model": "m", "prompt": "x"}, headers=bearer()
        ).status_code
        == 404
    )
    missing = http.get("/nowhere/v1/models")
    assert missing.status_code == 404 and missing.headers["content-type"] == "text/plain"
    assert len(http.get("/novakit/api/v1/models", headers=bearer()).json()["data"]) >= 200


def test_novakit_query_stream_form_is_chunked_sse(http):
    body = {"messages": [{"role": "user", "content": "echo:abc"}]}  # no model: NovaKit's default
    with http.stream(
        "POST", "/novakit/api/v1/chat/completions?stream=true", json=body, headers=bearer()
    ) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line.startswith("data: {")]
    chunks = [json.loads(line[6:]) for line in lines]
    assert all(c["model_tier"] == "basic" and c["model"] == "openai/gpt-4o-mini" for c in chunks)
    assert "credits_used" in chunks[-1]["usage"]


def test_cut_is_a_truncated_chunked_body(http):
    body = {**CHAT, "model": "m~tokens=5~cut=2", "stream": True}
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", "/openai/v1/chat/completions", json=body, headers=bearer()) as r,
    ):
        r.read()


def test_split_utf8_really_splits_characters_across_writes(http):
    body = {
        **CHAT,
        "model": "m~split_utf8=1",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }
    with http.stream("POST", "/novisurf/v1/chat/completions", json=body, headers=bearer()) as response:
        pieces = list(response.iter_bytes())
    broken = 0
    for piece in pieces:
        try:
            piece.decode("utf-8")
        except UnicodeDecodeError:
            broken += 1
    assert broken >= 10  # most pieces end or start inside a character
    text = "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
        for line in b"".join(pieces).decode().split("\n")
        if line.startswith("data: {")
    )
    assert text == UTF8_REPLY


def test_n_choices_are_indexed(http):
    body = {**CHAT, "model": "m~n=3", "stream": True}
    with http.stream("POST", "/novita/v3/openai/chat/completions", json=body, headers=bearer()) as response:
        lines = [json.loads(x[6:]) for x in response.iter_lines() if x.startswith("data: {")]
    assert {c["choices"][0]["index"] for c in lines} == {0, 1, 2}


def test_directive_parsing_is_bounded():
    d = parse("base~tokens=999999~interval=-5~status=418~n=99~bogus=1~retry_after=1e9~finish=weird")
    assert (d.base, d.tokens, d.interval, d.status, d.n, d.retry_after, d.finish) == (
        "base",
        20000,
        0,
        500,
        8,
        "30",
        "stop",
    )
    assert parse("").base == "" and parse("m~cut").cut == 1 and parse("m~tokens=x").tokens is None


def test_command_line_server_prints_base_urls():
    port = closed_port()
    command = [sys.executable, "-m", "tests.fakeprovider", "--host", "127.0.0.1", "--port", str(port)]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as process:
        try:
            lines = [process.stdout.readline() for _ in range(6)]
            assert f"http://127.0.0.1:{port}" in lines[0]
            assert any(f"http://127.0.0.1:{port}/novita/v3/openai" in line for line in lines)
            models = httpx.get(f"http://127.0.0.1:{port}/novisurf/v1/models", headers=bearer(), timeout=5)
            assert models.status_code == 200
        finally:
            process.terminate()
            process.wait(timeout=5)
