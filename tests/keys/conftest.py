import pytest


@pytest.fixture(autouse=True)
def _db(db):
    """Every keys test touches the database."""


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """People are made in almost every test here; how their password is hashed is not what is tested."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
