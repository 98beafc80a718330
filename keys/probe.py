"""Asking a provider about a key: "does it work?" and "which models does it offer?" — one GET /models call.

Listing models is free on every provider here and needs the same key, host and auth header a chat does, so it
is the cheapest honest test of a key.
"""

from dataclasses import dataclass

from asgiref.sync import async_to_sync

from keys import crypto
from keys.models import Credential
from providers import client as provider_client
from providers.errors import ProviderError
from providers.http import new_client
from providers.types import Endpoint, ModelInfo


@dataclass(frozen=True)
class Probe:
    ok: bool
    # Words for the person: "Works — 212 models.", or the provider layer's sentence, which already says what
    # failed and what to do ("Novisurf: the key was rejected — check the key.").
    summary: str
    models: list[ModelInfo] | None = None  # None when the provider did not give a list
    error: str = ""  # the provider layer's sentence when it failed


def endpoint_of(credential: Credential) -> Endpoint:
    return Endpoint(
        preset=credential.preset,
        base_url=credential.base_url,
        auth_style=credential.auth_style,
        auth_header=credential.auth_header,
    )


async def _list_models(endpoint: Endpoint, secret: str) -> list:
    # A client of its own, closed at once: outside a server's loop (a test, a command) async_to_sync runs
    # each call on a new loop, which would leave a loop's shared client behind unclosed.
    async with new_client() as client:
        return await provider_client.list_models(endpoint, secret, client=client)


def probe_credential(credential: Credential) -> Probe:
    """List the key's models. Never raises for a provider or key problem: the outcome is in words."""
    try:
        secret = crypto.decrypt(credential.ciphertext)
    except crypto.SecretUnreadable:
        error = "The saved key can't be read any more — replace the secret."
        return Probe(False, error, error=error)
    try:
        models = async_to_sync(_list_models)(endpoint_of(credential), secret)
    except ProviderError as exc:
        if exc.status == 404 and exc.kind in ("upstream", "model_not_found"):
            # Some OpenAI-compatible servers have no /models: the host answered, the key is checked on first use.
            return Probe(
                True,
                "Reachable — this server lists no models, so type the model name; the key is checked "
                "on your first message.",
            )
        return Probe(False, exc.message, error=exc.message)
    count = len(models)
    noun = "model" if count == 1 else "models"
    return Probe(
        True,
        f"Works — {count} {noun}." if count else "Works — it lists no models; type the model name.",
        models,
    )
