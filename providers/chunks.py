"""Reading completion payloads (stream chunks or one JSON reply) into text, finish reason, usage and extras.

Choice 0 is the reply and streams live. With n > 1 (Novita) the other choices are gathered beside it and come
out at the end as `StreamEnd.alternatives`, so they never interleave into the reply's text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from providers.types import StreamEnd, Usage

# NovaKit adds these at the top level of a reply or inside its usage; they are passed on in StreamEnd.extra.
_TOP_EXTRAS = ("model_tier",)
_USAGE_EXTRAS = ("credits_breakdown", "tokens_remaining_estimate")
MAX_CHOICES = 16  # well above any n a preset allows; an index past it is ignored


@dataclass
class ReplyState:
    """What has been learnt from a reply so far. `mode` is "chat" (delta.content) or "text" (choice.text)."""

    mode: str
    finish_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None
    extra: dict = field(default_factory=dict)
    others: dict[int, list[str]] = field(default_factory=dict)  # choices past 0: their text so far

    def feed_chunk(self, payload: dict) -> str:
        """Take in one stream chunk; return its text for choice 0 (possibly "")."""
        return self._feed(payload, "delta")

    def feed_whole(self, payload: dict) -> str:
        """Take in a complete, non-streamed reply; return its whole text for choice 0."""
        return self._feed(payload, "message")

    def _feed(self, payload: dict, part: str) -> str:
        self._note_common(payload)
        choices = payload.get("choices")
        reply = ""
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, dict):
                continue
            index = choice.get("index", 0)
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < MAX_CHOICES:
                continue
            text = self._text(choice, part)
            if index == 0:
                reply += text
                self._note_finish(choice)
            elif text:
                self.others.setdefault(index, []).append(text)
        return reply

    def _text(self, choice: dict, part: str) -> str:
        if self.mode == "chat":
            holder = choice.get(part)
            if not isinstance(holder, dict):  # some servers stream whole `message` objects
                holder = choice.get("message") if isinstance(choice.get("message"), dict) else {}
            text = holder.get("content")
        else:
            text = choice.get("text")
        return text if isinstance(text, str) else ""

    def end(self) -> StreamEnd:
        alternatives = tuple("".join(self.others[i]) for i in sorted(self.others))
        return StreamEnd(self.finish_reason, self.usage, self.model, dict(self.extra), alternatives)

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
