"""The parameters panel: the fields a preset supports, and reading them back from a submitted form.

The same panel serves a conversation (chat page) and a person's defaults (settings). Values come back as raw
strings and go through `providers.params.clean_params`, which coerces and clamps them: the browser's `min` and
`max` are a convenience, never the check.
"""

from dataclasses import dataclass

from providers.params import ParamSpec, clean_params
from providers.presets import Preset

FIELD_PREFIX = "p_"


@dataclass(frozen=True)
class ParamRow:
    spec: ParamSpec
    value: object  # what the input shows: "" when unset
    note: str = ""  # when the value stored is not what was typed: what became of it

    @property
    def field_name(self) -> str:
        return FIELD_PREFIX + self.spec.name

    @property
    def range_text(self) -> str:
        low, high = self.spec.min, self.spec.max
        if low is None and high is None:
            return ""
        if high is None:
            return f"≥ {_number(low)}"
        return f"{_number(low)} to {_number(high)}"


def _number(value: float | None) -> str:
    return f"{value:g}" if value is not None else ""


def param_rows(preset: Preset | None, values: dict, typed=None) -> list[ParamRow]:
    """One row per parameter the preset documents, showing `values` (already cleaned). With `typed`, the
    form they were cleaned from, a number stored otherwise than typed says so (clamped, rounded, or not a
    number), so a change is never silent."""
    if preset is None:
        return []
    rows = []
    for spec in preset.params:
        value = values.get(spec.name, "")
        if spec.kind == "stop" and isinstance(value, list):
            value = "\n".join(value)
        elif spec.kind == "bias" and isinstance(value, dict):
            value = "\n".join(f"{token}: {bias}" for token, bias in value.items())
        elif spec.kind == "float" and isinstance(value, float) and value.is_integer():
            value = int(value)  # a clamped 7 shows back as "2", not "2.0"
        note = _note(spec, typed.get(FIELD_PREFIX + spec.name), value) if typed is not None else ""
        rows.append(ParamRow(spec, value, note))
    return rows


def _note(spec: ParamSpec, typed, value) -> str:
    if spec.kind not in ("int", "float") or not isinstance(typed, str) or not typed.strip():
        return ""
    try:
        number = float(typed)
    except ValueError:
        number = None
    if value == "":
        return f"“{typed.strip()[:20]}” is not a number here: left to the provider's default."
    if number is None or number == float(value):
        return ""
    if spec.max is not None and number > spec.max:
        return f"Set to {value}, the most it takes."
    if spec.min is not None and number < spec.min:
        return f"Set to {value}, the least it takes."
    return f"Set to {value}."


def params_from_form(preset: Preset | None, data) -> dict:
    """The preset's parameters from a submitted form (a QueryDict or a websocket frame's dict), cleaned.

    An empty field means "the provider's default" and is left out; an unchecked box likewise.
    """
    if preset is None:
        return {}
    raw: dict = {}
    for spec in preset.params:
        value = data.get(FIELD_PREFIX + spec.name)
        if isinstance(value, list):  # a frame may carry a list for a repeated field; the last one wins
            value = value[-1] if value else None
        if value is None or value == "":
            continue
        if spec.kind == "stop" and isinstance(value, str):
            lines = [line for line in value.replace("\r\n", "\n").split("\n") if line]
            value = lines[0] if len(lines) == 1 else lines
        raw[spec.name] = value
    return clean_params(preset, raw)
