"""The composer's key picker: the person's own keys, then the shared keys granted to them with what is left of
their budgets, and which one a chat shows. Drawn with the page, and again whenever their grants change."""

from datetime import UTC, datetime

from keys.granted import GrantedKey, granted_keys
from keys.models import Credential


def key_picker(user, credential_id: int | None) -> tuple[dict, Credential | None, dict[int, GrantedKey]]:
    """The picker's template context for a chat on `credential_id`, the key it shows (that one if the person
    may still use it, else `first_choice`), and the person's shared keys by id. A fixed number of queries."""
    # Labels only: the selected key's model list is read on its own (one key's, not all).
    credentials = list(Credential.objects.usable_by(user).defer("models_cache"))
    selected = next((c for c in credentials if c.pk == credential_id), None) or first_choice(credentials)
    granted = granted_keys(user)
    picker = {
        "credentials": [c for c in credentials if not c.is_shared],
        # Shared keys by label with what is left of the person's budget; never any part of the secret.
        "shared_keys": [granted[c.pk] for c in credentials if c.pk in granted],
        "selected_credential": selected.pk if selected else None,
    }
    return picker, selected, granted


def first_choice(credentials: list[Credential]) -> Credential | None:
    """The key a chat with none yet starts on (no chat defaults, no earlier chat): one whose last check or
    reply did not fail, the most recently used first, then the newest."""
    never = datetime.min.replace(tzinfo=UTC)
    return min(
        credentials,
        key=lambda c: (bool(c.last_error), -(c.last_used_at or never).timestamp(), -c.created_at.timestamp()),
        default=None,
    )
