"""Team → Audit log: admins only, newest first, in words, filtered, paginated, escaped, never a secret."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.audit import record_event
from accounts.models import AuditEvent
from keys.actions import do_add_credential, do_delete_credential, do_rename_credential, do_replace_secret

CANARY = "sk-CANARY-audit-7f3e9d1c2b4a"


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    """These tests sign people in with force_login: a slow password hash buys nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(make_user):
    made = make_user("admin"), make_user("alice"), make_user("bob")  # the first is the admin
    AuditEvent.objects.all().delete()  # their sign-ups are logged; each test writes the events it reads
    return made


def audit(client, user, **params):
    client.force_login(user)
    return client.get(reverse("team:audit"), params)


def text_of(html: str) -> str:
    """The page's words without tags, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def event(actor, action, target=None, *, label="", minutes_ago=0, **detail):
    made = record_event(actor, action, target, label=label, **detail)
    AuditEvent.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return made


def test_only_admins_open_the_audit_log(client, people):
    admin, alice, _ = people
    assert audit(client, alice).status_code == 403
    response = audit(client, admin)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-current="page">Audit log</a>' in html and "Nothing recorded yet." in html


def test_events_read_as_sentences_newest_first(client, people):
    admin, alice, bob = people
    event(admin, "key.created", None, label="Team GPT", minutes_ago=30, preset="openai")
    event(alice, "key.secret_replaced", None, label="Team GPT", minutes_ago=20, last4="9f3a")
    event(admin, "role.changed", bob, label="bob", minutes_ago=10, **{"from": "member", "to": "admin"})
    event(admin, "grant.budget_changed", None, label="Team GPT → Research", budget_tokens=200000)
    event(None, "key.weird_new_thing", None, label="X")
    page = text_of(audit(client, admin).content.decode())
    order = [
        "system key.weird_new_thing “X”",
        "admin changed the budget of “Team GPT → Research” ",
        "admin changed the role of bob from member to admin ",
        "alice replaced the secret of key “Team GPT” ",
        "admin added the key “Team GPT” ",
    ]
    positions = [page.find(sentence) for sentence in order]
    assert -1 not in positions, page
    assert positions == sorted(positions)
    assert "token budget 200,000" in page and "ending 9f3a" in page and "provider OpenAI-compatible" in page
    assert "10 minutes ago" in page and "UTC" in page


def test_filter_by_kind_and_by_person(client, people):
    admin, alice, bob = people
    event(admin, "key.created", None, label="K1")
    event(alice, "key.deleted", None, label="K2")
    event(admin, "grant.created", None, label="G1")
    event(admin, "role.changed", bob, label="bob", **{"from": "member", "to": "admin"})
    event(bob, "person.approved", alice, label="alice")

    def shown(**params):
        return [line.event.target_label for line in audit(client, admin, **params).context["lines"]]

    assert shown(kind="keys") == ["K2", "K1"]
    assert shown(kind="grants") == ["G1"]
    assert shown(kind="people") == ["alice", "bob"]
    # A person: what they did, and what was done to them.
    assert shown(person=bob.pk) == ["alice", "bob"]
    assert shown(person=alice.pk) == ["alice", "K2"]
    assert shown(person=alice.pk, kind="keys") == ["K2"]


def test_pages_of_fifty_newest_first_and_garbage_page_numbers(client, people):
    admin, _, _ = people
    for n in range(120):
        event(admin, "key.created", None, label=f"key {n:03}", minutes_ago=120 - n)
    first = audit(client, admin).context
    assert [line.event.target_label for line in first["lines"]][:2] == ["key 119", "key 118"]
    assert len(first["lines"]) == 50
    last = audit(client, admin, page=3).context
    assert len(last["lines"]) == 20 and last["lines"][-1].event.target_label == "key 000"
    assert "Page 3 of 3 · 120 events" in audit(client, admin, page=3).content.decode()
    assert audit(client, admin, page="abc").context["page"].number == 1
    assert audit(client, admin, page="999").context["page"].number == 3
    # Filters travel with the page links.
    html = audit(client, admin, kind="keys").content.decode()
    assert 'href="?kind=keys&amp;page=2"' in html


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "<script>"},
        {"person": "abc"},
        {"person": "999999"},
        {"person": "1 OR 1=1", "kind": ["x", "y"]},
    ],
)
def test_garbage_filters_show_everything_and_say_so(client, people, params):
    admin, _, _ = people
    event(admin, "key.created", None, label="K1")
    response = audit(client, admin, **params)
    assert response.status_code == 200
    assert response.context["problems"] and len(response.context["lines"]) == 1
    assert "<script>" not in response.content.decode()


def test_a_filter_change_over_htmx_redraws_only_the_events(client, people):
    admin, _, _ = people
    event(admin, "key.created", None, label="K1")
    client.force_login(admin)
    response = client.get(reverse("team:audit"), {"kind": "keys"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="audit-log"') and "<html" not in html and "K1" in html
    assert "HX-Request" in response["Vary"]


def test_whatever_an_event_holds_is_shown_as_text(client, people):
    admin, _, _ = people
    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    AuditEvent.objects.create(
        actor_name=evil,
        action="<b>key.x</b>",
        target_type="credential",
        target_label=evil,
        detail={evil: evil},
    )
    html = audit(client, admin).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html and "&lt;b&gt;key.x&lt;/b&gt;" in html


def test_a_secret_planted_in_an_event_is_not_shown(client, people):
    """Our writers never store a secret (next test); should one ever slip in, the page still hides it."""
    admin, _, _ = people
    event(admin, "key.created", None, label="K", api_key=CANARY, secret=CANARY, new_secret=CANARY, preset="x")
    event(admin, "key.secret_replaced", None, label="K", **{"from": CANARY, "to": CANARY + "2"}, old=CANARY)
    event(admin, "key.updated", None, label="K", Authorization=f"Bearer {CANARY}", password=CANARY)
    html = audit(client, admin).content.decode()
    assert CANARY not in html and CANARY[3:12] not in html
    assert html.count("(hidden)") == 8


def test_key_actions_never_write_a_secret_to_the_audit_log(people):
    """Every key change goes through keys.actions; whatever they record must not hold the secret."""
    admin, _, _ = people
    for owner in (admin, None):  # a personal key and a shared one
        credential = do_add_credential(
            owner,
            preset="openai",
            label="Team GPT",
            base_url="https://api.example.com/v1",
            auth_style="bearer",
            auth_header="",
            secret=CANARY,
        )
        do_replace_secret(
            credential,
            secret=CANARY + "-new",
            base_url="https://api.example.com/v1",
            auth_style="bearer",
            auth_header="",
        )
        do_rename_credential(credential, "Renamed")
        do_delete_credential(credential)
    stored = repr(list(AuditEvent.objects.values()))
    assert CANARY not in stored and CANARY[-12:] not in stored


def test_the_page_costs_the_same_queries_for_five_events_or_fifty(client, people):
    admin, _, bob = people
    for n in range(5):
        event(admin, "role.changed", bob, label="bob", **{"from": "member", "to": f"r{n}"})
    client.force_login(admin)
    client.get(reverse("team:audit"))  # the first request also records when the admin was last seen
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("team:audit"))
    for n in range(60):
        event(admin, "key.created", None, label=f"k{n}")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("team:audit"))
    assert len(many) == len(few)


def test_what_admins_do_reads_in_plain_words(client, people):
    """The facts an event holds read as the pages that set them say them: no raw [] or null, providers by
    name, an invite by its note or by whom it is for, a team by its name, no internal ids."""
    from accounts.actions import do_create_invite, do_revoke_invite
    from accounts.team_actions import do_add_member, do_create_team
    from keys.shared_actions import do_add_shared_key, do_change_grant, do_grant

    admin, alice, bob = people
    design = do_create_team(admin, "Design")
    do_add_member(admin, design, alice)
    do_create_invite(admin, role="member", team=None, days=7, note="for carol")
    invite, _ = do_create_invite(admin, role="admin", team=design, days=1)
    do_revoke_invite(admin, invite)
    key = do_add_shared_key(
        admin,
        preset="openai",
        label="Team GPT",
        base_url="https://api.example.com/v1",
        auth_style="bearer",
        auth_header="",
        secret=CANARY,
    )
    grant = do_grant(admin, key, user=bob, budget_tokens=60000, budget_period="day", max_concurrent=1)
    do_change_grant(admin, grant, budget_tokens=None, allowed_models=["gpt-4o", "o3"])
    html = audit(client, admin).content.decode()
    page = text_of(html)

    assert "admin added alice to the team “Design”" in page
    assert "admin created an invite “for carol” " in page and "valid for 7 days" in page
    assert "admin created an invite for a new admin of the team Design " in page
    assert "admin revoked an invite for a new admin of the team Design " in page
    assert "admin added the key “Team GPT” " in page and "provider OpenAI-compatible" in page
    assert "admin granted “Team GPT → bob” " in page
    assert "models any model" in page and "token budget 60,000" in page and "budget period per day" in page
    assert "replies at once 1" in page
    assert "token budget from 60,000 to none" in page and "models from any model to gpt-4o, o3" in page
    for raw in ("[]", "null", "None", "person id", "invite 1", "invite 2", "preset openai"):
        assert raw not in page, raw
    assert "<dd></dd>" not in html  # an invite without a team says nothing of one
    assert CANARY not in page
