"""Request bodies, built from the preset: only fields the provider documents leave the process."""

from __future__ import annotations

import json
from typing import Any

from providers.errors import ProviderError
from providers.params import clean_params
from providers.presets import Preset
from providers.types import ChatRequest, TextRequest

_NAME_LIMIT = 64
_IMAGES_LIMIT = 4  # NovaKit: "up to 4" image URLs per message


def clean_messages(preset: Preset, messages: Any) -> list[dict]:
    """Role and content of each message, plus the preset's documented extra fields (`name`, NovaKit
    `images`). Anything else a caller left on a message is not sent."""
    cleaned = []
    for message in messages if isinstance(messages, list | tuple) else ():
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            continue
        content = message.get("content")
        # A list is OpenAI's multi-part content; providers that do not accept it say so with a 400.
        out: dict = {"role": message["role"], "content": content if isinstance(content, str | list) else ""}
        if "name" in preset.message_fields and isinstance(message.get("name"), str) and message["name"]:
            out["name"] = message["name"][:_NAME_LIMIT]
        if "images" in preset.message_fields and isinstance(message.get("images"), list | tuple):
            images = [url for url in message["images"] if isinstance(url, str) and url][:_IMAGES_LIMIT]
            if images:
                out["images"] = images
        cleaned.append(out)
    return cleaned


def _model(preset: Preset, model: str) -> str | None:
    model = (model or "").strip()
    if model:
        return model
    if preset.model_optional:
        return None  # omitted: the provider uses its own default
    raise ProviderError("bad_request", f"{preset.name}: no model is selected — pick a model first.")


def chat_body(preset: Preset, request: ChatRequest) -> dict:
    body: dict = {}
    model = _model(preset, request.model)
    if model is not None:
        body["model"] = model
    body["messages"] = clean_messages(preset, request.messages)
    body["stream"] = True
    if preset.stream_usage_option:
        body["stream_options"] = {"include_usage": True}
    body.update(clean_params(preset, request.params))
    if preset.sends_user and request.user:
        body["user"] = request.user[:_NAME_LIMIT]
    return body


def text_body(preset: Preset, request: TextRequest) -> dict:
    if not preset.supports_text_completions:
        raise ProviderError("bad_request", f"{preset.name}: text completions are not offered — use chat.")
    body: dict = {}
    model = _model(preset, request.model)
    if model is not None:
        body["model"] = model
    body["prompt"] = request.prompt if isinstance(request.prompt, str) else ""
    body["stream"] = True
    if preset.stream_usage_option:
        body["stream_options"] = {"include_usage": True}
    body.update(clean_params(preset, request.params))
    return body


def encode_body(preset: Preset, body: dict) -> bytes:
    """The body as UTF-8 JSON. Never fails on text: a lone surrogate (which UTF-8 cannot carry, and which
    pasted or model-made text can contain) becomes U+FFFD. Non-finite numbers are refused as a bad request."""
    try:
        dumped = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise ProviderError(
            "bad_request", f"{preset.name}: the request could not be encoded — check the parameters."
        ) from None
    try:
        return dumped.encode("utf-8")
    except UnicodeEncodeError:
        return dumped.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")
