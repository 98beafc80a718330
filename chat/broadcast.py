"""Group names and the one way events reach websocket consumers and relays.

Group names are built from ids only, never from user text.
"""

import time
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels import layers
from channels.layers import get_channel_layer
from django.db import transaction


def conversation_group(conversation_id: int) -> str:
    """Every open page of one conversation listens here."""
    return f"conversation.{int(conversation_id)}"


def reply_control_group(message_id: int) -> str:
    """The relay streaming reply `message_id` listens here for stop and sync requests."""
    return f"reply.{int(message_id)}"


def user_group(user_id: int) -> str:
    """Every open socket of one person listens here, so a change to their access reaches them at once."""
    return f"user.{int(user_id)}"


def sidebar_changed_on_commit(user_id: int) -> None:
    """Once the change commits, every open conversation page of this person redraws its sidebar lists (as
    deep as that page has them): a chat started, renamed or moved in one tab shows in the others."""
    send_to_group_on_commit(user_group(user_id), {"type": "sidebar.changed"})


def keys_changed_on_commit(user_ids) -> None:
    """Once the change commits, every open chat of these people redraws its key picker: a key granted,
    changed, revoked, renamed or deleted shows there at once, with what is left of its budget."""
    for user_id in set(user_ids):
        send_to_group_on_commit(user_group(user_id), {"type": "keys.changed"})


def send_to_group(group: str, event: dict) -> None:
    """Send now, from synchronous code."""
    async_to_sync(get_channel_layer().group_send)(group, event)


@dataclass
class _QueuedSend:
    group: str
    event: dict

    def __call__(self) -> None:
        send_to_group(self.group, self.event)


def send_to_group_on_commit(group: str, event: dict) -> None:
    """Send once the current transaction commits, so listeners never see rows that may roll back.

    An action made of others (move into a folded folder, which opens it) queues the same send more than
    once; it goes out once per commit. A send queued in a savepoint that rolled back is no longer queued
    (Django drops it from `run_on_commit`, the connection's queue, whose shape tests/chat/test_broadcast.py
    pins), so the next one is."""
    send = _QueuedSend(group, event)
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(queued == send for _, queued, _ in connection.run_on_commit):
        return
    transaction.on_commit(send)


class InMemoryChannelLayer(layers.InMemoryChannelLayer):
    """channels' in-memory layer, expiring at most once a second. The stock one scans every channel and
    every group member on each send and receive: O(open sockets) per delta frame, for messages that expire
    after a minute and memberships after a day, where a second late changes nothing."""

    _cleaned = 0.0

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._cleaned >= 1.0:
            self._cleaned = now
            super()._clean_expired()
