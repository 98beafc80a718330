"""Production refuses to start without its secrets; development makes safe ones."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.servers import ROOT

GOOD = {
    "NOVAWEB_ENV": "production",
    "SECRET_KEY": "x" * 50,
    "NOVAWEB_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    "ALLOWED_HOSTS": "chat.example.com",
}


def load_settings(**env):
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("NOVAWEB_", "DATABASE_URL", "SECRET_KEY"))
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='novaweb.settings'; django.setup()",
        ],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_starts_with_everything_set():
    assert load_settings(**GOOD).returncode == 0


@pytest.mark.parametrize(
    ("missing", "words"),
    [
        ("SECRET_KEY", "SECRET_KEY"),
        ("NOVAWEB_ENCRYPTION_KEYS", "NOVAWEB_ENCRYPTION_KEYS"),
        ("DATABASE_URL", "DATABASE_URL"),
        ("ALLOWED_HOSTS", "ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_without(missing, words):
    env = {k: v for k, v in GOOD.items() if k != missing}
    result = load_settings(**env)
    assert result.returncode != 0
    assert words in result.stderr


def test_production_refuses_a_wildcard_host():
    result = load_settings(**{**GOOD, "ALLOWED_HOSTS": "*"})
    assert result.returncode != 0 and "ALLOWED_HOSTS" in result.stderr


def test_malformed_encryption_keys_are_reported_on_first_use(settings):
    from django.core.exceptions import ImproperlyConfigured

    from keys import crypto

    settings.NOVAWEB_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    crypto.reset_cache()
    try:
        with pytest.raises(ImproperlyConfigured, match="Fernet"):
            crypto.encrypt("x")
    finally:
        crypto.reset_cache()
