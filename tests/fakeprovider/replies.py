"""Deterministic reply content and the JSON shapes it is wrapped in (chunks, whole replies, model lists)."""

from __future__ import annotations

from tests.fakeprovider.directives import Directives

CANNED_REPLY = (
    "Here is a short answer from the fake provider. It never changes, so tests can compare it exactly.\n\n"
    "- first point\n"
    "- second point with `inline code`\n"
    "- third point\n\n"
    "```python\n"
    "def greet(name: str) -> str:\n"
    '    return f"Hello, {name}!"\n'
    "```\n"
)
# CJK (3-byte), emoji (4-byte), a skin-tone modifier and a ZWJ family sequence.
UTF8_REPLY = "Unicode check: 你好，世界 😀 👍🏽 👨‍👩‍👧 — 日本語のテキスト。 Done ✅"  # noqa: RUF001
PIECE_CHARS = 3  # characters per streamed piece: "a few characters", like real tokens

NOVAKIT_DEFAULT_MODEL = "openai/gpt-4o-mini"
_NOVAKIT_POPULAR = (
    ("openai/gpt-4o", "standard"),
    ("openai/gpt-4o-mini", "basic"),
    ("openai/gpt-4-turbo", "powerful"),
    ("openai/o1-preview", "powerful"),
    ("openai/o1-mini", "standard"),
    ("anthropic/claude-3.5-sonnet", "standard"),
    ("anthropic/claude-3-opus", "powerful"),
    ("anthropic/claude-3-haiku", "basic"),
    ("google/gemini-1.5-pro", "standard"),
    ("google/gemini-1.5-flash", "basic"),
    ("google/gemini-2.0-flash", "basic"),
    ("meta-llama/llama-3.1-405b", "powerful"),
    ("meta-llama/llama-3.1-70b", "standard"),
    ("meta-llama/llama-3.1-8b", "basic"),
    ("mistralai/mixtral-8x22b", "standard"),
    ("deepseek/deepseek-chat", "standard"),
)
NOVAKIT_MODEL_COUNT = 212
_TIERS = ("basic", "standard", "powerful")
_PLAIN_MODELS = {
    "novisurf": ("llama-3.3-70b-versatile", "llama-3.1-8b-instant", "fake-model"),
    "novita": ("meta-llama/llama-3.1-8b-instruct", "deepseek/deepseek-r1", "qwen/qwen-2.5-72b-instruct"),
    "openai": ("gpt-4o-mini", "gpt-4o", "fake-model"),
}


def last_user_text(body: dict) -> str:
    """The last user message's text (chat), or the prompt (text completions)."""
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and prompt and isinstance(prompt[0], str):
        return prompt[0]
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
            return content if isinstance(content, str) else ""
    return ""


def reply_pieces(directives: Directives, user_text: str) -> list[str]:
    """The reply, already cut into the pieces that are streamed one per chunk."""
    if directives.tokens is not None:
        return [f"tok{i} " for i in range(1, directives.tokens + 1)]
    if "echo:" in user_text:
        text = user_text.split("echo:", 1)[1]
    elif directives.split_utf8:
        text = UTF8_REPLY
    else:
        text = CANNED_REPLY
    return [text[i : i + PIECE_CHARS] for i in range(0, len(text), PIECE_CHARS)]


def choice_pieces(pieces: list[str], index: int) -> list[str]:
    """Choice 0 is the reply; other choices (Novita `n`) are marked so a client mixing them up shows it."""
    return pieces if index == 0 or not pieces else [f"[choice {index}] ", *pieces]


def prompt_tokens(body: dict) -> int:
    words = sum(
        len(str(m.get("content", "")).split()) for m in body.get("messages") or [] if isinstance(m, dict)
    )
    return max(1, words + len(str(body.get("prompt", "")).split()))


def tier_of(model: str) -> str:
    return dict(_NOVAKIT_POPULAR).get(model, "standard")


def usage(dialect: str, body: dict, completion: int, model: str) -> dict:
    prompt = prompt_tokens(body)
    result: dict = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if dialect == "novakit":
        multiplier = {"basic": 1.0, "standard": 1.5, "powerful": 2.5}[tier_of(model)]
        base = max(1, (prompt + completion) // 4)
        result["credits_used"] = base * multiplier
        result["credits_breakdown"] = {"base": base, "tier_multiplier": multiplier}
        result["tokens_remaining_estimate"] = 100_000 - prompt - completion
    return result


def chunk(kind: str, ident: str, model: str, index: int, text: str | None, finish: str | None) -> dict:
    """One stream chunk for choice `index`: chat deltas or legacy text."""
    if kind == "text":
        choice: dict = {"index": index, "text": text or "", "logprobs": None, "finish_reason": finish}
        return {
            "id": ident,
            "object": "text_completion",
            "created": 1745000000,
            "model": model,
            "choices": [choice],
        }
    delta = {} if text is None else {"content": text}
    choice = {"index": index, "delta": delta, "finish_reason": finish}
    return {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": 1745000000,
        "model": model,
        "choices": [choice],
    }


def whole(kind: str, ident: str, model: str, texts: list[str], finish: str | None) -> dict:
    """A complete, non-streamed reply with one choice per text."""
    choices = []
    for index, text in enumerate(texts):
        if kind == "text":
            choices.append({"index": index, "text": text, "logprobs": None, "finish_reason": finish})
        else:
            message = {"role": "assistant", "content": text}
            choices.append({"index": index, "message": message, "finish_reason": finish})
    obj = "text_completion" if kind == "text" else "chat.completion"
    return {"id": ident, "object": obj, "created": 1745000000, "model": model, "choices": choices}


def models(dialect: str) -> dict:
    if dialect == "novakit":
        entries = [(model_id, tier) for model_id, tier in _NOVAKIT_POPULAR]
        for i in range(NOVAKIT_MODEL_COUNT - len(entries)):
            entries.append((f"vendor{i % 12}/model-{i}", _TIERS[i % 3]))
        data = [
            {"id": model_id, "object": "model", "name": model_id, "tier": tier, "context_length": 128_000}
            for model_id, tier in entries
        ]
        return {"object": "list", "data": data}
    names = _PLAIN_MODELS["novita" if dialect.startswith("novita") else dialect]
    data = [{"id": name, "object": "model", "created": 1745000000, "owned_by": "fake"} for name in names]
    return {"object": "list", "data": data}
