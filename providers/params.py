"""Request parameters: what each provider documents, and cleaning raw user input against it.

Cleaning never raises: a value that cannot be made valid is dropped, so a stale or hand-edited parameter set can
never stop a reply from being sent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from providers.presets import Preset

PARAM_KINDS = ("float", "int", "bool", "stop", "bias")

# Sanity bounds for values the docs leave open-ended, so a typo cannot send a 40-digit integer upstream.
_INT_LIMIT = 2**31 - 1
_STOP_ITEMS = 4  # every provider here documents "up to 4" stop sequences
_STOP_LIMIT = 64
_BIAS_ITEMS = 300  # OpenAI's documented limit for logit_bias entries; Novita documents none
_BIAS_LIMIT = 100.0  # a bias is "from -100 to 100"

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class ParamSpec:
    """One documented parameter. `min`/`max` are inclusive; None means the docs give no bound."""

    name: str
    kind: str
    min: float | None = None
    max: float | None = None

    @property
    def label(self) -> str:
        return PARAM_LABELS.get(self.name, self.name.replace("_", " ").capitalize())

    @property
    def help(self) -> str:
        return PARAM_HELP.get(self.name, "")

    @property
    def step(self) -> str:
        return "1" if self.kind == "int" else "0.01"


# What the parameters panel calls each parameter, and one line on what it does.
PARAM_LABELS = {
    "temperature": "Temperature",
    "top_p": "Top P",
    "max_tokens": "Max tokens",
    "stop": "Stop sequences",
    "frequency_penalty": "Frequency penalty",
    "presence_penalty": "Presence penalty",
    "web_search": "Web search",
    "top_k": "Top K",
    "min_p": "Min P",
    "repetition_penalty": "Repetition penalty",
    "n": "Alternatives (n)",
    "logit_bias": "Logit bias",
}
PARAM_HELP = {
    "temperature": "Higher is more varied, lower more focused.",
    "top_p": "Sample only from the most likely tokens adding up to this share.",
    "max_tokens": "The longest reply, in tokens.",
    "stop": "Up to 4, one per line: the reply ends before any of them.",
    "frequency_penalty": "Positive values discourage repeating the same words.",
    "presence_penalty": "Positive values encourage new topics.",
    "web_search": "Let the provider search the web for current information.",
    "top_k": "Sample only from this many most likely tokens (-1: all).",
    "min_p": "Drop tokens less likely than this share of the most likely one.",
    "repetition_penalty": "Above 1 discourages repetition; 1 is neutral.",
    "n": "Write several replies at once and keep the one you like (each is billed).",
    "logit_bias": "One per line, token id: bias (-100 to 100), e.g. 50256: -100.",
}


def clean_params(preset: Preset, raw: Any) -> dict:
    """Return only the preset's parameters from `raw`, coerced to their kind and clamped to their range.

    Unknown names, None, and values that cannot be coerced are dropped. Never raises, whatever `raw` holds.
    """
    if not isinstance(raw, dict):
        return {}
    cleaned: dict = {}
    for spec in preset.params:
        if spec.name not in raw:
            continue
        try:
            value = _clean_value(spec, raw[spec.name])
        except (TypeError, ValueError, OverflowError):
            value = None
        if value is not None:
            cleaned[spec.name] = value
    return cleaned


def _clean_value(spec: ParamSpec, value: Any) -> Any:
    if spec.kind == "float":
        return _clamp(spec, _to_float(value))
    if spec.kind == "int":
        number = _to_float(value)
        if number is None:
            return None
        clamped = _clamp(spec, float(round(number)))
        return None if clamped is None else int(max(-_INT_LIMIT, min(_INT_LIMIT, clamped)))
    if spec.kind == "bool":
        return _to_bool(value)
    if spec.kind == "stop":
        return _to_stop(value)
    if spec.kind == "bias":
        return _to_bias(value)
    return None


def _to_float(value: Any) -> float | None:
    # bool is an int subclass: `True` as a temperature is a mistake, not 1.0.
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value or len(value) > 40:
            return None
    number = float(value)
    return number if math.isfinite(number) else None


def _clamp(spec: ParamSpec, number: float | None) -> float | None:
    if number is None:
        return None
    if spec.min is not None:
        number = max(spec.min, number)
    if spec.max is not None:
        number = min(spec.max, number)
    return number


def _to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return None


def _to_stop(value: Any) -> str | list[str] | None:
    if isinstance(value, str):
        # Not stripped: a stop sequence may legitimately be "\n" or end in a space.
        return _storable(value)[:_STOP_LIMIT] or None
    if isinstance(value, list | tuple):
        items = [_storable(item)[:_STOP_LIMIT] for item in value if isinstance(item, str)]
        return [item for item in items if item][:_STOP_ITEMS] or None
    return None


def _to_bias(value: Any) -> dict[str, float] | None:
    """A token-id → bias map: from a dict, or from text with one `id: bias` per line. Ids are non-negative
    integers (sent as strings, the JSON object keys providers expect); biases are clamped to ±100."""
    if isinstance(value, str):
        pairs = [line.split(":", 1) for line in value.splitlines() if ":" in line]
    elif isinstance(value, dict):
        pairs = list(value.items())
    else:
        return None
    cleaned: dict[str, float] = {}
    for token, bias in pairs[: _BIAS_ITEMS * 2]:
        token = str(token).strip()
        number = _to_float(bias)
        if not token.isascii() or not token.isdigit() or len(token) > 9 or number is None:
            continue
        number = max(-_BIAS_LIMIT, min(_BIAS_LIMIT, number))
        cleaned[str(int(token))] = int(number) if number.is_integer() else number
        if len(cleaned) >= _BIAS_ITEMS:
            break
    return cleaned or None


def _storable(text: str) -> str:
    """Without NUL bytes and lone surrogates, which neither JSON consumers nor PostgreSQL accept."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
