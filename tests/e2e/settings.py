"""The settings daphne runs with in the browser tests: the app's own, with a fast password hasher.

Every test signs up (and some sign in again); the default PBKDF2 hasher costs ~0.3 s per password, which
across the suite is seconds spent on nothing these tests are about.
"""

from novaweb.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
