"""Reading completion payloads (stream chunks or one JSON reply) into text, finish reason, usage and extras.

Only choice index 0 is followed: with n > 1 (Novita) the other choices would interleave into the same reply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from providers.types import StreamEnd, Usage

# NovaKit adds these at the top level of a reply or inside its usage; they are passed on in StreamEnd.extra.
_TOP_EXTRAS = ("model_tier",)
_USAGE_EXTRAS = ("credits_breakdown", "tokens_remaining_estimate")


@dataclass
class ReplyState:
    """What has been learnt from a reply so far. `mode` is "chat" (delta.content) or "text" (choice.text)."""

    mode: str
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None
    extra: dict = field(default_factory=dict)

    def feed_chunk(self, payload: dict) -> str:
        """Take in one stream chunk; return its text for choice 0 (possibly "")."""
        self._note_common(payload)
        choice = _first_choice(payload)
        if choice is None:
            return ""
        if self.mode == "chat":
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                delta = choice.get("message") if isinstance(choice.get("message"), dict) else {}
            text = delta.get("content")
        else:
            text = choice.get("text")
        self._note_finish(choice)
        return text if isinstance(text, str) else ""

    def feed_whole(self, payload: dict) -> str:
        """Take in a complete, non-streamed reply; return its whole text for choice 0."""
        self._note_common(payload)
        choice = _first_choice(payload)
        if choice is None:
            return ""
        if self.mode == "chat":
            message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
            text = message.get("content")
        else:
            text = choice.get("text")
        self._note_finish(choice)
        return text if isinstance(text, str) else ""

    def end(self) -> StreamEnd:
        return StreamEnd(self.finish_reason, self.usage, self.model, dict(self.extra))

    def _note_common(self, payload: dict) -> None:
        model = payload.get("model")
        if isinstance(model, str) and model:
            self.model = model
        for key in _TOP_EXTRAS:
            if key in payload and payload[key] is not None:
                self.extra[key] = payload[key]
        usage = payload.get("usage")
        if isinstance(usage, dict):
            self.usage = _usage(usage) or self.usage
            for key in _USAGE_EXTRAS:
                if key in usage and usage[key] is not None:
                    self.extra[key] = usage[key]

    def _note_finish(self, choice: dict) -> None:
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            self.finish_reason = reason


def _first_choice(payload: dict) -> dict | None:
    choices = payload.get("choices")
    if not isinstance(choices, list):
        return None
    for choice in choices:
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            return choice
    return None


def _usage(raw: dict) -> Usage | None:
    prompt = _count(raw.get("prompt_tokens"))
    completion = _count(raw.get("completion_tokens"))
    if prompt is None and completion is None:
        return None
    credits = raw.get("credits_used")
    credits = float(credits) if _is_number(credits) else None
    return Usage(prompt or 0, completion or 0, credits, reported=True)


def _count(value: Any) -> int | None:
    return int(value) if _is_number(value) and value >= 0 else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
