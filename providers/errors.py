"""One error type for everything that can go wrong upstream, with a sentence a user can act on.

`message` is ours (the provider name, what happened, what to do). `detail` is the provider's own text, kept for
the curious and for logs: it is truncated and has anything secret-looking redacted, because providers echo keys
back in 401 bodies ("Incorrect API key provided: sk-...").
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from providers.presets import Preset

KINDS = frozenset(
    {
        "auth",
        "credits",
        "forbidden",
        "model_not_found",
        "rate_limited",
        "unavailable",
        "bad_request",
        "unreachable",
        "timeout",
        "stream_cut",
        "protocol",
        "redirect",
        "blocked",  # the egress policy refused the address or scheme; never retried
        "upstream",
    }
)

# Worth another attempt, if nothing has been shown yet: the same request may well succeed in a moment.
RETRYABLE_KINDS = frozenset({"rate_limited", "unavailable", "unreachable"})

DETAIL_LIMIT = 300
ERROR_BODY_LIMIT = 64 * 1024  # bytes of an error body read and parsed; the rest is never read

_SECRET_PATTERNS = (
    # Key-shaped tokens: OpenAI/NovaKit "sk-…"/"sk_…", Novisurf "lsk_…", and similar vendor prefixes.
    re.compile(r"\b(?:sk|lsk|pk|rk)[-_][A-Za-z0-9_\-]{4,}", re.IGNORECASE),
    re.compile(r"\b(?:bearer|basic)\s+\S+", re.IGNORECASE),
    # Long hex runs: hashes and hex-encoded tokens.
    re.compile(r"\b[0-9a-fA-F]{32,}\b"),
)
# Long base64/base64url runs are redacted only when they mix upper case, lower case and digits, as random
# tokens do: model ids such as "deepseek-r1-distill-llama-70b" in an error text must stay readable.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+/_\-]{24,}={0,2}")


def _redact_token_run(match: re.Match[str]) -> str:
    run = match.group(0)
    mixed = any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run)
    return "[redacted]" if mixed else run


_TAG = re.compile(r"<[^>]{0,500}>")
_SPACE = re.compile(r"\s+")
_TITLE = re.compile(r"<title[^>]{0,200}>(.{0,2000}?)</title", re.IGNORECASE | re.DOTALL)
# What an error page's title may say that its status already says ("502 Bad Gateway"), and words that say
# nothing beside it ("Error 502 (Server Error)!!1"): a title with nothing else is not quoted.
_STATUS_PHRASES = re.compile(
    "|".join(sorted((re.escape(s.phrase) for s in HTTPStatus if s >= 400), key=len, reverse=True)),
    re.IGNORECASE,
)
_EMPTY_WORDS = re.compile(
    r"\b(?:server error|error|http|gateway time-?out|(?:service )?temporarily unavailable)\b", re.IGNORECASE
)
_SEPARATOR_CHARS = "|:\u00b7\u2013\u2014"  # bar, colon, middle dot, en and em dash
_SEPARATORS = re.compile(rf"\s*([{_SEPARATOR_CHARS}])(?:\s*[{_SEPARATOR_CHARS}])+\s*")


class ProviderError(Exception):
    """An upstream failure. `str()` is the user-facing message; nothing in it, or in `repr()`, holds the key."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retryable: bool | None = None,
        detail: str = "",
        retry_after: float | None = None,
        quoted: bool = False,
        detail_from: str = "provider",
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown ProviderError kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retryable = kind in RETRYABLE_KINDS if retryable is None else retryable
        self.detail = detail
        # Seconds the provider asked us to wait (Retry-After), used as a floor by the retry policy.
        self.retry_after = retry_after
        # The message already quotes the provider's words (a rejected request's reason, an error page's title):
        # `detail` is then not shown again after it.
        self.quoted = quoted
        # Whose words `detail` is: "provider" (its error body) or "connection" (what our side saw: an
        # exception's name, a redirect's target), which must not read as the provider's.
        self.detail_from = detail_from

    @property
    def words(self) -> str:
        """The provider's own words worth showing after the message: `detail`, unless the message has them."""
        return "" if self.quoted else self.detail

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ProviderError(kind={self.kind!r}, status={self.status!r}, message={self.message!r})"

    def __reduce__(self) -> tuple:
        # Keyword-only arguments defeat Exception's default pickling; channel layers may pickle errors.
        state = (
            self.kind,
            self.message,
            self.status,
            self.retryable,
            self.detail,
            self.retry_after,
            self.quoted,
            self.detail_from,
        )
        return (_rebuild, state)


def _rebuild(
    kind, message, status, retryable, detail, retry_after, quoted=False, detail_from="provider"
) -> ProviderError:
    return ProviderError(
        kind,
        message,
        status=status,
        retryable=retryable,
        detail=detail,
        retry_after=retry_after,
        quoted=quoted,
        detail_from=detail_from,
    )


def redact(text: str, secret: str | None = None, limit: int = DETAIL_LIMIT) -> str:
    """`text` with the known secret and anything key-shaped replaced by "[redacted]", then cut to `limit`.

    Redaction runs before truncation, so a cut can never leave the start of a secret behind.
    """
    if secret and len(secret) >= 4:
        text = text.replace(secret, "[redacted]")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[redacted]", text)
    text = _TOKEN_RUN.sub(_redact_token_run, text)
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class ParsedError:
    """An error body read in whichever dialect it turned out to be; `known` is False for unknown shapes."""

    known: bool
    code: str = ""
    message: str = ""
    status_hint: int | None = None  # Novita puts the HTTP status in its body's "code"
    page: bool = False  # an HTML page (a proxy's or a server's error page): `message` is its title


def parse_error_payload(payload: Any) -> ParsedError | None:
    """Recognise the three dialects; None when `payload` is not an error object at all.

    OpenAI `{"error": {"message", "type", "code"}}`, NovaKit `{"error": "...", "code": "...", "remaining": 0}`,
    Novita `{"code": int, "reason": "...", "message": "..."}`.
    """
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if isinstance(error, dict):
        code = error.get("code") or error.get("type") or ""
        return ParsedError(True, str(code).lower(), _text(error.get("message")))
    if isinstance(error, str):
        return ParsedError(True, str(payload.get("code") or "").lower(), error)
    if "reason" in payload and "choices" not in payload:
        hint = payload.get("code")
        status = hint if isinstance(hint, int) and not isinstance(hint, bool) else None
        return ParsedError(
            True, str(payload.get("reason") or "").lower(), _text(payload.get("message")), status
        )
    return None


def parse_error_body(body: bytes, content_type: str = "") -> ParsedError:
    """Parse a non-2xx body; anything unrecognised (HTML, text, empty, huge) gives an unknown ParsedError.

    Of an HTML page only the title is kept: its body is markup, scripts and a proxy's boilerplate, not words
    a person should read as the provider's."""
    text = body[:ERROR_BODY_LIMIT].decode("utf-8", "replace")
    stripped = text.strip()
    if stripped.startswith("{") and len(body) < ERROR_BODY_LIMIT:
        try:
            parsed = parse_error_payload(json.loads(stripped))
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed
    if "html" in content_type.lower() or stripped.startswith("<"):
        title = _TITLE.search(text)
        text = html.unescape(_TAG.sub(" ", title.group(1))) if title else ""
        return ParsedError(False, message=_SPACE.sub(" ", text).strip(), page=True)
    return ParsedError(False, message=text)


def page_title_words(title: str, status: int | None) -> str:
    """An error page's title without what its status already says: "" for "502 Bad Gateway" or "Error 502
    (Server Error)!!1", "example.com | Connection timed out" for "example.com | 522: Connection timed out"."""
    if status is not None:
        title = re.sub(rf"(?<!\d){status}(?!\d)\s*:?", " ", title)
    title = _STATUS_PHRASES.sub(" ", title)
    if not any(c.isalpha() for c in _EMPTY_WORDS.sub(" ", title)):
        return ""
    return _SPACE.sub(" ", _SEPARATORS.sub(r" \1 ", title)).strip(f" -,;{_SEPARATOR_CHARS}")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else json.dumps(value)[:DETAIL_LIMIT])


_CREDIT_CODES = {"quota_exceeded", "insufficient_quota", "not_enough_balance", "insufficient_credits",
                 "insufficient_balance", "payment_required"}  # fmt: skip
_AUTH_CODES = {"invalid_api_key", "unauthorized", "authentication_error", "invalid_key"}
_FORBIDDEN_CODES = {"forbidden", "permission_denied", "permission_error"}
_RATE_CODES = {"rate_limited", "rate_limit_exceeded", "rate_limit_error", "too_many_requests"}
_UNAVAILABLE_CODES = {"server_error", "model_not_available", "service_unavailable", "overloaded",
                      "overloaded_error", "internal_error", "internal_server_error"}  # fmt: skip
_BAD_REQUEST_CODES = {"invalid_request", "invalid_request_error", "bad_request", "context_length_exceeded"}


def classify(status: int | None, parsed: ParsedError) -> str:
    """The kind for an HTTP status and/or a provider error code. A specific code beats a generic status:
    OpenAI answers "out of credits" as 429 insufficient_quota, Novita as 403 NOT_ENOUGH_BALANCE."""
    code = parsed.code
    if code in _CREDIT_CODES:
        return "credits"
    if code in _AUTH_CODES:
        return "auth"
    if code == "model_not_found":
        return "model_not_found"
    if code in _FORBIDDEN_CODES:
        return "forbidden"
    if code in _RATE_CODES:
        return "rate_limited"
    status = status or parsed.status_hint
    by_status = {401: "auth", 402: "credits", 403: "forbidden", 429: "rate_limited", 408: "unavailable",
                 400: "bad_request", 413: "bad_request", 422: "bad_request"}  # fmt: skip
    if status in by_status:
        return by_status[status]
    if status == 404:
        return "model_not_found" if "model" in parsed.message.lower() else "upstream"
    if status is not None and 500 <= status <= 599:
        return "unavailable"
    if code in _UNAVAILABLE_CODES:
        return "unavailable"
    if code in _BAD_REQUEST_CODES:
        return "bad_request"
    return "upstream"


def _message(
    preset: Preset,
    kind: str,
    status: int | None,
    parsed: ParsedError,
    secret: str | None,
    retry_after: float | None = None,
) -> str:
    name = preset.name
    if kind == "auth":
        if len(preset.auth_styles) > 1:
            return f"{name}: the key was rejected — check the key and its auth header style."
        return f"{name}: the key was rejected — check the key."
    if kind == "credits":
        return f"{name}: out of credits — top up your account."
    if kind == "forbidden":
        if preset.slug == "novakit":
            return "NovaKit: your key lacks the chat scope — add the chat scope to the key in NovaKit."
        return f"{name}: the key is not allowed to do this — check the key's permissions."
    if kind == "model_not_found":
        return f"{name}: this model does not exist — check the model name or refresh the model list."
    if kind == "rate_limited":
        wait = how_long(retry_after)
        if wait:
            return f"{name}: rate-limited — try again in {wait}."
        return f"{name}: rate-limited — wait a moment and try again."
    if kind == "bad_request":
        reason = _reason(parsed, secret)
        said = f" ({reason})" if reason else ""
        return f"{name}: the request was rejected{said} — check the model and parameters."
    if kind == "unavailable" and parsed.code == "model_not_available":
        return f"{name}: this model is not available right now — try again later or pick another model."
    if status is None:
        return f"{name}: the provider reported an error — try again in a moment."
    if 500 <= status <= 599 and not parsed.known:
        # No provider's error body: an error page or plain text, most often from a gateway or CDN in front of it.
        title = redact(page_title_words(parsed.message, status), secret, limit=120) if parsed.page else ""
        said = f": “{title}”" if title else ""
        return (
            f"{name}: the provider (or a proxy in front of it) is unavailable (HTTP {status}{said}) — "
            "try again in a moment."
        )
    if status == 404:
        return f"{name}: nothing found at this address (HTTP 404) — check the base URL."
    return f"{name}: Provider error (HTTP {status}) — try again in a moment."


def _reason(parsed: ParsedError, secret: str | None) -> str:
    """A rejected request's reason as the message quotes it: the provider's message, whole (as `detail` would
    show it), so it is said once."""
    return redact(parsed.message, secret) if parsed.known else ""


def _detail(parsed: ParsedError, secret: str | None, status: int | None = None) -> str:
    if parsed.page:
        return redact(page_title_words(parsed.message, status), secret)
    text = f"{parsed.code}: {parsed.message}" if parsed.known and parsed.code else parsed.message
    return redact(text, secret)


def _quoted(kind: str, status: int | None, parsed: ParsedError, secret: str | None) -> bool:
    """Whether `_message` already quotes what `_detail` would show."""
    if kind == "bad_request":
        return bool(_reason(parsed, secret))
    return parsed.page and status is not None and 500 <= status <= 599


def how_long(seconds: float | None) -> str:
    """A provider's wait as a person reads it: "about 5 seconds" (rounded up; to 5 s from 10 s on), "about 2
    minutes", "about 1 hour" (to the nearest); "" for none or under a second (then "a moment" says it)."""
    if seconds is None or not seconds >= 1:
        return ""
    whole = math.ceil(seconds - 1e-9)
    if whole >= 10:
        whole = math.ceil(whole / 5) * 5
    if whole < 60:
        count, unit = whole, "second"
    elif whole < 3570:  # 59.5 minutes and more read as an hour
        count, unit = max(math.floor(seconds / 60 + 0.5), 1), "minute"
    else:
        count, unit = math.floor(seconds / 3600 + 0.5), "hour"
    return f"about {count} {unit}{'' if count == 1 else 's'}"


def error_from_response(
    preset: Preset,
    status: int,
    body: bytes,
    content_type: str = "",
    *,
    secret: str | None = None,
    retry_after: float | None = None,
) -> ProviderError:
    """The ProviderError for a non-2xx reply whose (bounded) body is `body`."""
    parsed = parse_error_body(body, content_type)
    kind = classify(status, parsed)
    return ProviderError(
        kind,
        _message(preset, kind, status, parsed, secret, retry_after),
        status=status,
        detail=_detail(parsed, secret, status),
        retry_after=retry_after,
        quoted=_quoted(kind, status, parsed, secret),
    )


def error_from_payload(preset: Preset, parsed: ParsedError, *, secret: str | None = None) -> ProviderError:
    """The ProviderError for an error object that arrived inside a 200 stream."""
    kind = classify(None, parsed)
    return ProviderError(
        kind,
        _message(preset, kind, None, parsed, secret),
        status=parsed.status_hint,
        detail=_detail(parsed, secret),
        quoted=_quoted(kind, None, parsed, secret),
    )


def simple_error(
    preset: Preset, kind: str, what: str, *, detail: str = "", status: int | None = None
) -> ProviderError:
    """A ProviderError for failures that have no provider body: `what` is the sentence after the name, and
    `detail` what the connection showed."""
    return ProviderError(
        kind, f"{preset.name}: {what}", status=status, detail=redact(detail), detail_from="connection"
    )
