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
def _keys() -> tuple[Fernet, ...]:
    try:
        keys = tuple(Fernet(key.encode()) for key in settings.NOVAWEB_ENCRYPTION_KEYS)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ImproperlyConfigured(
            "NOVAWEB_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes each)."
        ) from exc
    if not keys:
        raise ImproperlyConfigured("NOVAWEB_ENCRYPTION_KEYS lists no key.")
    return keys


def _fernet() -> MultiFernet:
    return MultiFernet(list(_keys()))


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError, UnicodeError):
        raise SecretUnreadable from None


def is_current(token: str) -> bool:
    """Whether `token` is encrypted under the newest key. A Fernet token does not name its key, so this is
    whether the newest key alone opens it (its signature checks out)."""
    try:
        _keys()[0].decrypt(token.encode())
    except (InvalidToken, ValueError, UnicodeError):
        return False
    return True


def rotate(token: str) -> str:
    """`token` re-encrypted under the newest key; SecretUnreadable if no configured key opens it."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except (InvalidToken, ValueError, UnicodeError):
        raise SecretUnreadable from None


def reset_cache() -> None:
    """Forget the cached key list (tests that change settings call this)."""
    _keys.cache_clear()
