"""Safe generated defaults for development, kept under var/ so they survive restarts.

Production never reaches this module: settings refuse to start without real values there.
"""

import secrets
from pathlib import Path

from cryptography.fernet import Fernet


def _read_or_create(path: Path, make) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def secret_key(var_dir: Path) -> str:
    return _read_or_create(var_dir / "secret_key", lambda: secrets.token_urlsafe(50))


def encryption_key(var_dir: Path) -> str:
    return _read_or_create(var_dir / "encryption_key", lambda: Fernet.generate_key().decode())
