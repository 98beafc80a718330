from dataclasses import dataclass

import pytest

from chat.actions import do_create_conversation
from tests.conftest import session_cookie_for


@dataclass
class ChatSetup:
    conversation: object
    key: object
    cookie: bytes


@pytest.fixture
def chat_setup(alice, make_key):
    """Alice, a conversation, a key on the fake provider, and her browser's session cookie."""
    return ChatSetup(do_create_conversation(alice), make_key(alice), session_cookie_for(alice))
