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

PARAM_KINDS = ("float", "int", "bool", "str", "stop")

# Sanity bounds for values the docs leave open-ended, so a typo cannot send a 40-digit integer upstream.
_INT_LIMIT = 2**31 - 1
_STR_LIMIT = 256
_STOP_ITEMS = 4  # every provider here documents "up to 4" stop sequences
_STOP_LIMIT = 64

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class ParamSpec:
    """One documented parameter. `min`/`max` are inclusive; None means the docs give no bound."""

    name: str
    kind: str
    min: float | None = None
    max: float | None = None


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
    if spec.kind == "str":
        return _to_str(value, _STR_LIMIT)
    if spec.kind == "stop":
        return _to_stop(value)
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


def _to_str(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()[:limit]
    return value or None


def _to_stop(value: Any) -> str | list[str] | None:
    if isinstance(value, str):
        # Not stripped: a stop sequence may legitimately be "\n" or end in a space.
        return value[:_STOP_LIMIT] or None
    if isinstance(value, list | tuple):
        items = [item[:_STOP_LIMIT] for item in value if isinstance(item, str) and item]
        return items[:_STOP_ITEMS] or None
    return None
