"""Per-request faults and timing, chosen by directives appended to the model name: `fake-model~ttft=200~cut=5`.

Every value is bounded so a typo cannot make the fake hang a test run (only `silent` waits indefinitely, and it
ends when the client disconnects). Unknown directives are ignored. See README.md for the list.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR_STATUSES = (400, 401, 402, 403, 404, 429, 500, 502, 503)
BODY_SHAPES = ("dialect", "html", "text", "empty", "huge", "json")

# name: (min, max) for integer directives
_INT_BOUNDS = {
    "tokens": (0, 20_000),
    "interval": (0, 10_000),
    "ttft": (0, 60_000),
    "silent": (0, 1),
    "cut": (0, 20_000),
    "error_after": (0, 20_000),
    "ping": (0, 1),
    "split_utf8": (0, 1),
    "no_done": (0, 1),
    "fail_first": (0, 1_000),
    "nonstream": (0, 1),
    "redirect": (0, 1),
    "n": (1, 8),
}


@dataclass(frozen=True)
class Directives:
    base: str
    tokens: int | None = None
    interval: int = 0
    ttft: int = 0
    silent: int = 0
    cut: int | None = None
    error_after: int | None = None
    ping: int = 0
    split_utf8: int = 0
    no_done: int = 0
    status: int | None = None
    retry_after: str | None = None
    fail_first: int = 0
    finish: str = "stop"
    nonstream: int = 0
    redirect: int = 0
    n: int = 1
    body: str = "dialect"


def parse(model: str) -> Directives:
    """Split `model` at `~`: the first part is the base model name, the rest `key=value` directives."""
    base, *items = (model or "").split("~")
    values: dict = {}
    for item in items[:32]:
        key, _, raw = item.partition("=")
        key = key.strip().lower()
        raw = raw.strip()
        if key in _INT_BOUNDS:
            low, high = _INT_BOUNDS[key]
            try:
                values[key] = max(low, min(high, int(raw or "1")))
            except ValueError:
                continue
        elif key == "status":
            try:
                code = int(raw)
            except ValueError:
                continue
            values["status"] = code if code in ERROR_STATUSES else 500
        elif key == "retry_after":
            # Seconds, decimals allowed (the client tolerates them), capped: tests must not wait long.
            try:
                values["retry_after"] = f"{max(0.0, min(float(raw), 30.0)):g}"
            except ValueError:
                continue
        elif key == "finish" and raw in ("stop", "length", "content_filter", "none"):
            values["finish"] = raw
        elif key == "body" and raw in BODY_SHAPES:
            values["body"] = raw
    return Directives(base=base, **values)
