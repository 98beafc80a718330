"""Encryption at rest for provider secrets: MultiFernet over NOVAWEB_ENCRYPTION_KEYS (newest first).

The key list is separate from SECRET_KEY, so rotating one never makes the other's data unreadable.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """The stored ciphertext cannot be decrypted with any configured key (tampered, or keys changed)."""


@cache
def _fernet() -> MultiFernet:
    keys = settings.NOVAWEB_ENCRYPTION_KEYS
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "NOVAWEB_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes each)."
        ) from exc


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError, UnicodeError):
        raise SecretUnreadable from None


def reset_cache() -> None:
    """Forget the cached key list (tests that change settings call this)."""
    _fernet.cache_clear()
