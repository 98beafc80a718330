"""Sends queued for the commit: after it only, and the same send once per commit. These tests commit for real
(transactional), as the app does: inside a test's own transaction nothing would ever commit."""

import pytest
from django.db import transaction

from chat.broadcast import send_to_group_on_commit

pytestmark = pytest.mark.django_db(transaction=True)

CHANGED = {"type": "sidebar.changed"}


def test_the_same_send_queued_twice_in_one_transaction_goes_out_once(broadcasts):
    with transaction.atomic():
        send_to_group_on_commit("user.1", CHANGED)
        send_to_group_on_commit("user.1", dict(CHANGED))
        send_to_group_on_commit("user.2", CHANGED)  # another group: its own send
        send_to_group_on_commit("user.1", {"type": "other"})  # another event: its own send
        assert broadcasts == []  # nothing before the commit
    assert broadcasts == [("user.1", CHANGED), ("user.2", CHANGED), ("user.1", {"type": "other"})]
    with transaction.atomic():  # the next commit tells again
        send_to_group_on_commit("user.1", CHANGED)
    assert broadcasts[-1] == ("user.1", CHANGED) and len(broadcasts) == 4


def test_a_send_whose_savepoint_rolled_back_is_queued_again(broadcasts):
    with transaction.atomic():
        try:
            with transaction.atomic():
                send_to_group_on_commit("user.1", CHANGED)
                raise RuntimeError("refused")
        except RuntimeError:
            pass
        send_to_group_on_commit("user.1", CHANGED)
    assert broadcasts == [("user.1", CHANGED)]


def test_a_rolled_back_transaction_sends_nothing(broadcasts):
    with pytest.raises(RuntimeError), transaction.atomic():
        send_to_group_on_commit("user.1", CHANGED)
        raise RuntimeError("refused")
    assert broadcasts == []


def test_outside_a_transaction_each_send_goes_out_at_once(broadcasts):
    send_to_group_on_commit("user.1", CHANGED)
    send_to_group_on_commit("user.1", CHANGED)
    assert broadcasts == [("user.1", CHANGED), ("user.1", CHANGED)]
