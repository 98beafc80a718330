"""Proof under concurrency: 20 sends released at once against a budget with room for 5 admit exactly 5.

Each send runs in its own thread with its own database connection, through the real action
(chat.actions.do_send_message), so the lock, the sum and the insert are the ones production uses.
"""

import threading

import pytest
from django.db import connection

from chat.actions import ActionError
from chat.models import Conversation
from keys import ledger
from keys.models import UsageEntry
from tests.keys.sending import send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.server_pg]

SENDS = 20
ROOM_FOR = 5
WORST_CASE = 100  # "hello there" is 7 tokens, and each asks for 93 more


def release_together(senders):
    """Run each (user, key, conversation) send in its own thread, all released by one barrier; returns the
    outcomes: "admitted" or the refusal's words."""
    barrier = threading.Barrier(len(senders))
    outcomes = [None] * len(senders)

    def run(index, user, key, conversation):
        try:
            barrier.wait(timeout=30)
            send(user, key, conversation=conversation, max_tokens=WORST_CASE - 7)
            outcomes[index] = "admitted"
        except ActionError as refusal:
            outcomes[index] = str(refusal)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, *sender)) for i, sender in enumerate(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def check(outcomes, grant):
    admitted = [o for o in outcomes if o == "admitted"]
    refused = [o for o in outcomes if o != "admitted"]
    assert len(admitted) == ROOM_FOR, outcomes  # never more; and no false refusal while there was room
    assert all("budget" in o and "is used up; it resets" in o for o in refused), refused
    rows = UsageEntry.objects.filter(grant=grant)
    assert rows.count() == ROOM_FOR
    assert ledger.usage_of(grant).tokens == ROOM_FOR * WORST_CASE <= grant.budget_tokens


def test_a_person_grant_admits_no_more_than_its_budget(alice, bob, make_shared_key, make_grant, fake):
    key = make_shared_key(alice)
    grant = make_grant(alice, key, user=bob, budget_tokens=ROOM_FOR * WORST_CASE, budget_period="day")
    conversations = [Conversation.objects.create(owner=bob) for _ in range(SENDS)]
    outcomes = release_together([(bob, key, conversation) for conversation in conversations])
    check(outcomes, grant)
    assert fake.requests == []  # refused or not, nothing here calls the provider


def test_a_team_grant_admits_no_more_than_its_pool(alice, make_user, make_shared_key, make_grant, make_team):
    members = [make_user(f"member{i}") for i in range(4)]
    team = make_team("Engineering", *members)
    key = make_shared_key(alice)
    grant = make_grant(alice, key, team=team, budget_tokens=ROOM_FOR * WORST_CASE, budget_period="month")
    senders = []
    for i in range(SENDS):
        member = members[i % len(members)]
        senders.append((member, key, Conversation.objects.create(owner=member)))
    outcomes = release_together(senders)
    check(outcomes, grant)
    assert UsageEntry.objects.filter(grant=grant).values("user").distinct().count() >= 1


def test_a_concurrency_limit_holds_under_the_same_race(alice, bob, make_shared_key, make_grant):
    key = make_shared_key(alice)
    grant = make_grant(alice, key, user=bob, max_concurrent=3)
    outcomes = release_together([(bob, key, Conversation.objects.create(owner=bob)) for _ in range(SENDS)])
    assert outcomes.count("admitted") == 3
    assert outcomes.count("This key allows 3 replies at once; wait for one to finish.") == SENDS - 3
    assert ledger.usage_of(grant).open == 3
