"""The Python types the rest of NovaWeb sees: where to call, what to send, and the events a stream yields.

Nothing here holds a secret: the API key is passed separately to each call and never stored on these objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from providers.presets import PRESETS

# RFC 9110 token characters: a custom auth header name must be a valid header name, and is bounded in length.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$")

# Headers a custom auth header may not replace: they frame the request, and overriding them would either
# break it or smuggle the key into a header that proxies log.
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "expect",
        "accept",
        "accept-encoding",
        "user-agent",
        "cookie",
        "proxy-authorization",
    }
)

AUTH_STYLES = ("bearer", "x-api-key", "header")


@dataclass(frozen=True)
class Endpoint:
    """Where to send a request and how to present the key.

    Invariants (checked at construction, ValueError otherwise): `preset` is a known slug, `auth_style` is one
    the preset allows, `base_url` is an absolute http(s) URL, and with `auth_style == "header"` the
    `auth_header` is a valid, non-reserved header name. The base URL is free so tests (and self-hosted
    mirrors) can point a preset elsewhere; SSRF policy on it belongs to the caller that stores it.
    """

    preset: str
    base_url: str
    auth_style: str = "bearer"
    auth_header: str = ""

    def __post_init__(self) -> None:
        preset = PRESETS.get(self.preset)
        if preset is None:
            raise ValueError(f"unknown provider preset {self.preset!r}")
        if self.auth_style not in preset.auth_styles:
            raise ValueError(f"{preset.name} does not accept the auth style {self.auth_style!r}")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the base URL must be an absolute http:// or https:// address")
        if parts.username or parts.password:
            raise ValueError("the base URL must not contain credentials")
        if self.auth_style == "header":
            name = self.auth_header.strip()
            if not _HEADER_NAME.match(name) or name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"{self.auth_header!r} cannot be used as an auth header name")
            object.__setattr__(self, "auth_header", name)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or self.base_url

    def url(self, path: str) -> str:
        """The base URL joined with `path` by plain concatenation (urljoin would drop a base's last segment)."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


@dataclass(frozen=True)
class ChatRequest:
    """A chat completion. `params` is raw user input; it is cleaned against the preset before sending."""

    model: str
    messages: list[dict]
    params: dict = field(default_factory=dict)
    # A stable, non-reversible id of the person asking, sent only where the preset documents `user`.
    user: str | None = None


@dataclass(frozen=True)
class TextRequest:
    """A legacy text completion (`POST /completions` with a `prompt`)."""

    model: str
    prompt: str
    params: dict = field(default_factory=dict)
    user: str | None = None


@dataclass(frozen=True)
class TextDelta:
    """The next piece of reply text, in order. Concatenating all deltas gives the reply."""

    text: str


@dataclass(frozen=True)
class Retrying:
    """Emitted before retry number `attempt` (of `max_attempts`), after waiting `delay` seconds.

    Only ever emitted before the first TextDelta: a stream that has shown text is never retried.
    `reason` is a short phrase for the UI, e.g. "rate-limited".
    """

    attempt: int
    max_attempts: int
    delay: float
    reason: str


@dataclass(frozen=True)
class Usage:
    """Token (and credit) counts. `reported` is False when the caller estimated them."""

    prompt_tokens: int
    completion_tokens: int
    credits: float | None = None
    reported: bool = True


@dataclass(frozen=True)
class StreamEnd:
    """The last event of a successful stream.

    `usage` is None when the provider reported none (the caller estimates). `extra` holds provider extras
    such as NovaKit's `model_tier`, `credits_breakdown` and `tokens_remaining_estimate`. `alternatives` are
    the texts of choices 1, 2, … when more than one was asked for (n > 1).
    """

    finish_reason: str | None
    usage: Usage | None
    model: str | None
    extra: dict = field(default_factory=dict)
    alternatives: tuple[str, ...] = ()


StreamEvent = TextDelta | Retrying | StreamEnd


@dataclass(frozen=True)
class ModelInfo:
    """One listed model. `vision`: whether it accepts images (from the listing, else from its family)."""

    id: str
    tier: str | None = None
    vision: bool = False
