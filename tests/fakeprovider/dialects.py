"""What differs between the providers: which auth header each accepts, and how each words an error.

Key rules (all dialects): no key -> 401; a key containing "invalid" -> 401 (the OpenAI-dialect body echoes the
key back, as OpenAI does, so redaction gets tested); "broke" -> out of credits (Novisurf 402, NovaKit 402
quota_exceeded, Novita 403 NOT_ENOUGH_BALANCE); NovaKit "noscope" -> 403 forbidden (key lacks the chat scope).
"""

from __future__ import annotations

import re

# Dialect slug -> error family
FAMILY = {
    "novisurf": "openai",
    "openai": "openai",
    "novakit": "novakit",
    "novita": "novita",
    "novita-openai": "novita",
}

# The openai dialect's custom-header rule: `X-...-Key` (e.g. X-Custom-Key, X-Api-Key) or Azure's `api-key`.
_CUSTOM_KEY_HEADER = re.compile(r"^(x-[a-z0-9-]*key|api-key)$")


class AuthProblem(Exception):
    def __init__(self, status: int, key: str = "", note: str = "") -> None:
        super().__init__(note)
        self.status = status
        self.key = key
        self.note = note


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else ""


def credentials(dialect: str, headers: dict[str, str]) -> list[str]:
    """Every credential the request carries in a header this dialect reads."""
    found = []
    bearer = _bearer(headers)
    if bearer is not None:
        found.append(bearer)
    if dialect == "novisurf" and "x-api-key" in headers:
        found.append(headers["x-api-key"])
    if dialect == "openai":
        found += [value for name, value in headers.items() if _CUSTOM_KEY_HEADER.match(name)]
    return found


def check_key(dialect: str, headers: dict[str, str]) -> str:
    """The request's key if it may chat; AuthProblem otherwise."""
    found = credentials(dialect, headers)
    if len(found) > 1:
        # Stricter than the real services on purpose: a client must send exactly one credential header.
        raise AuthProblem(400, note="more than one auth header was sent")
    key = found[0] if found else ""
    if not key:
        raise AuthProblem(401, note="missing")
    if "invalid" in key:
        raise AuthProblem(401, key)
    if "broke" in key:
        raise AuthProblem({"novita": 403}.get(FAMILY[dialect], 402), key)
    if dialect == "novakit" and "noscope" in key:
        raise AuthProblem(403, key)
    return key


_OPENAI = {
    400: ("invalid_request_error", "invalid_request", "Invalid request: {note}"),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: {key}."),
    402: ("insufficient_credits", "insufficient_credits", "Insufficient credits: please top up."),
    403: ("permission_error", "permission_denied", "This key may not use this endpoint."),
    404: ("invalid_request_error", "model_not_found", "The model `{model}` does not exist."),
    429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit exceeded, slow down."),
    500: ("server_error", "server_error", "Internal server error."),
    502: ("server_error", "bad_gateway", "Bad gateway."),
    503: ("server_error", "service_unavailable", "The service is temporarily unavailable."),
}
_NOVAKIT = {
    400: ("invalid_request", "Malformed request body: {note}"),
    401: ("unauthorized", "Invalid or missing API key"),
    402: ("quota_exceeded", "Quota exceeded for chat_tokens"),
    403: ("forbidden", "API key missing chat scope"),
    404: ("model_not_found", "Model not found: {model}"),
    429: ("rate_limited", "Too many requests"),
    500: ("server_error", "Internal error"),
    502: ("server_error", "Bad gateway"),
    503: ("server_error", "Service unavailable"),
}
_NOVITA = {
    400: ("INVALID_REQUEST_BODY", "The request body is invalid: {note}"),
    401: ("INVALID_API_KEY", "The API key is invalid."),
    402: ("NOT_ENOUGH_BALANCE", "Your credit is not enough."),
    403: ("NOT_ENOUGH_BALANCE", "Your credit is not enough."),
    404: ("MODEL_NOT_FOUND", "The requested model is not found: {model}"),
    429: ("RATE_LIMIT_EXCEEDED", "You have exceeded the rate limit."),
    500: ("MODEL_NOT_AVAILABLE", "The requested model is not available now."),
    502: ("BAD_GATEWAY", "Bad gateway."),
    503: ("SERVICE_UNAVAILABLE", "The service is temporarily unavailable."),
}


def error_body(dialect: str, status: int, *, key: str = "", model: str = "", note: str = "") -> dict:
    """The JSON body this dialect sends with `status`."""
    fill = {"key": key or "(none)", "model": model, "note": note or "see the docs"}
    family = FAMILY[dialect]
    if family == "novakit":
        code, message = _NOVAKIT.get(status, _NOVAKIT[500])
        body: dict = {"error": message.format(**fill), "code": code}
        if status in (402, 429):
            body["remaining"] = 0
        return body
    if family == "novita":
        reason, message = _NOVITA.get(status, _NOVITA[500])
        return {"code": status, "reason": reason, "message": message.format(**fill)}
    kind, code, message = _OPENAI.get(status, _OPENAI[500])
    return {"error": {"message": message.format(**fill), "type": kind, "code": code}}


def stream_error(dialect: str) -> dict:
    """The error object this dialect puts inside a 200 stream when generation fails midway."""
    family = FAMILY[dialect]
    if family == "novakit":
        return {"error": "Upstream model error", "code": "server_error"}
    if family == "novita":
        return {"code": 500, "reason": "MODEL_NOT_AVAILABLE", "message": "The model failed while generating."}
    return {
        "error": {
            "message": "The server had an error while generating.",
            "type": "server_error",
            "code": None,
        }
    }


def odd_body(shape: str, status: int) -> tuple[bytes, str]:
    """Bodies in no dialect at all, as proxies and load balancers send them."""
    if shape == "html":
        page = f"<html><head><title>{status}</title></head><body><h1>{status} Bad Gateway</h1>cloudflare</body></html>"
        return page.encode(), "text/html; charset=utf-8"
    if shape == "text":
        return b"upstream connect error or disconnect/reset before headers", "text/plain"
    if shape == "huge":
        return b"x" * (1024 * 1024), "text/plain"
    if shape == "json":
        return b'{"unexpected": true}', "application/json"
    return b"", "text/plain"
