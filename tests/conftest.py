"""Shared fixtures: people, keys, the fake provider, broadcast capture, websocket clients."""

import uuid
from contextlib import contextmanager

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from accounts.actions import do_sign_up
from keys.actions import do_add_credential

PASSWORD = "correct horse battery staple"
ORIGIN = b"http://127.0.0.1:8000"


@pytest.fixture(scope="session", autouse=True)
def _close_stray_connections(django_db_setup, django_db_blocker):
    """Threads that ran ORM calls for async code keep their connections; end them before the test
    database is dropped."""
    yield
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Django's PBKDF2 costs ~0.4 s per password here and most tests make two people; how a password is
    hashed is Django's to test. The browser tests' daphne uses the same hasher (tests/e2e/settings.py), so
    people made here can sign in there."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def fake_provider():
    from tests.fakeprovider import FakeProvider

    provider = FakeProvider()
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def fake(fake_provider):
    fake_provider.reset()
    return fake_provider


@pytest.fixture
def make_user(db):
    def make(username=None):
        return do_sign_up(username or f"user-{uuid.uuid4().hex[:8]}", PASSWORD)

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def make_key(fake_provider):
    def make(
        owner,
        *,
        preset="openai",
        dialect="openai",
        secret="sk-test-CANARY-0123456789",
        label=None,
        auth_style="bearer",
        auth_header="",
    ):
        return do_add_credential(
            owner,
            preset=preset,
            label=label or f"{preset} key {uuid.uuid4().hex[:4]}",
            base_url=fake_provider.base_url(dialect),
            auth_style=auth_style,
            auth_header=auth_header,
            secret=secret,
        )

    return make


SHARED_SECRET = "sk-shared-CANARY-7f3aQzXw"


@pytest.fixture
def make_shared_key(fake_provider):
    """A shared key (owned by no one) on the fake provider, added by `admin`."""
    from keys.shared_actions import do_add_shared_key

    def make(admin, *, preset="openai", dialect=None, secret=SHARED_SECRET, label=None):
        return do_add_shared_key(
            admin,
            preset=preset,
            label=label or f"Team {preset} {uuid.uuid4().hex[:4]}",
            base_url=fake_provider.base_url(dialect or preset),
            auth_style="bearer",
            auth_header="",
            secret=secret,
        )

    return make


@pytest.fixture
def make_grant():
    """Grant a shared key to a person or a team: make_grant(admin, key, user=bob, budget_tokens=500)."""
    from keys.shared_actions import do_grant

    def make(admin, credential, *, user=None, team=None, **limits):
        return do_grant(admin, credential, user=user, team=team, **limits)

    return make


@pytest.fixture
def make_team(db):
    from accounts.models import Team

    def make(name, *members):
        team = Team.objects.create(name=name)
        team.members.add(*members)
        return team

    return make


def session_cookie_for(user) -> bytes:
    """A real session for `user`, as the browser would send it."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}".encode()


@pytest_asyncio.fixture
async def ws_connect():
    """Open the conversation websocket through the real ASGI app, as `user`, from `origin`. Afterwards the
    test loop's provider client is closed, unless a reply is still streaming through it."""
    from chat import relay
    from novaweb.asgi import application
    from providers import aclose_shared_client

    opened = []

    async def connect(user, conversation_id, origin=ORIGIN):
        headers = [(b"origin", origin)] if origin else []
        if user is not None:
            headers.append((b"cookie", await sync_to_async(session_cookie_for)(user)))
        communicator = WebsocketCommunicator(
            application, f"/ws/conversations/{conversation_id}/", headers=headers
        )
        connected, _ = await communicator.connect()
        opened.append(communicator)
        return communicator, connected

    yield connect
    if not relay.running_reply_ids():
        await aclose_shared_client()


@contextmanager
def captured_broadcasts():
    """Record every group send made through chat.broadcast: (group, event) pairs."""
    from unittest import mock

    from chat import broadcast

    sent = []
    original = broadcast.send_to_group

    def record(group, event):
        sent.append((group, event))
        original(group, event)

    with mock.patch.object(broadcast, "send_to_group", record):
        yield sent


@pytest.fixture
def broadcasts():
    with captured_broadcasts() as sent:
        yield sent
