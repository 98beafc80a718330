"""Shared keys under /team/keys/: admins add, test, rename, replace and delete them, with an audit trail;
members never manage them; nobody manages someone else's personal key."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from keys import crypto
from keys.models import Credential, Grant
from tests.conftest import SHARED_SECRET

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin(client, alice):
    assert alice.is_admin
    client.force_login(alice)
    return client


@pytest.fixture
def member(client, alice, bob):
    assert not bob.is_admin
    client.force_login(bob)
    return client


def add_shared(client, fake_provider, **overrides):
    data = {
        "provider": "openai",
        "label": "Team GPT",
        "base_url": fake_provider.base_url("openai"),
        "auth_style": "bearer",
        "auth_header": "",
        "api_key": SHARED_SECRET,
    }
    data.update(overrides)
    return client.post(reverse("team_keys:list"), data)


def test_an_admin_adds_a_shared_key_owned_by_no_one(admin, alice, fake_provider):
    response = add_shared(admin, fake_provider)
    key = Credential.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("team_keys:key", args=[key.pk])
    assert key.owner is None and key.is_shared and crypto.decrypt(key.ciphertext) == SHARED_SECRET
    event = AuditEvent.objects.filter(action__startswith="key.").get()
    assert (event.actor, event.action, event.target_type, event.target_id, event.target_label) == (
        alice,
        "key.created",
        "credential",
        key.pk,
        "Team GPT",
    )
    assert SHARED_SECRET not in repr(event.detail) and SHARED_SECRET[-4:] not in repr(event.detail)
    page = admin.get(reverse("team_keys:list")).content.decode()
    assert "Team GPT" in page and "••••" + SHARED_SECRET[-4:] in page and "Not granted yet" in page
    assert 'aria-current="page">Shared keys</a>' in page
    key_page = admin.get(reverse("team_keys:key", args=[key.pk])).content.decode()
    assert 'aria-current="page">Shared keys</a>' in key_page
    assert SHARED_SECRET not in page
    # It is the team's, not the admin's: their own Settings → Keys does not list it.
    assert "Team GPT" not in admin.get(reverse("keys:list")).content.decode()


def test_the_add_form_refuses_a_taken_label_and_never_echoes_the_secret(
    admin, alice, make_shared_key, fake_provider
):
    make_shared_key(alice, label="Team GPT")
    response = add_shared(admin, fake_provider)
    assert response.status_code == 400
    page = response.content.decode()
    assert "A shared key already has this label." in page and SHARED_SECRET not in page
    assert Credential.objects.count() == 1


def test_a_personal_key_and_a_shared_key_may_share_a_label(admin, alice, make_key, fake_provider):
    make_key(alice, label="Team GPT")
    assert add_shared(admin, fake_provider).status_code == 302


@pytest.mark.parametrize(
    ("name", "method", "args"),
    [
        ("list", "get", []),
        ("list", "post", []),
        ("key", "get", ["key"]),
        ("check", "post", ["key"]),
        ("rename", "post", ["key"]),
        ("replace-secret", "post", ["key"]),
        ("delete", "post", ["key"]),
        ("grant", "post", ["key"]),
        ("grant-change", "post", ["key", "grant"]),
        ("grant-revoke", "post", ["key", "grant"]),
    ],
)
def test_members_are_refused_every_shared_key_page(
    member, alice, bob, make_shared_key, make_grant, name, method, args
):
    key = make_shared_key(alice)
    grant = make_grant(alice, key, user=bob)
    ids = {"key": key.pk, "grant": grant.pk}
    response = getattr(member, method)(
        reverse(f"team_keys:{name}", args=[ids[a] for a in args]), {"label": "x"}
    )
    assert response.status_code == 403
    key.refresh_from_db()
    assert Credential.objects.filter(pk=key.pk, label=key.label).exists()
    assert Grant.objects.get(pk=grant.pk).revoked_at is None


def test_members_cannot_manage_a_shared_key_from_their_settings(
    member, alice, bob, make_shared_key, make_grant
):
    key = make_shared_key(alice, label="Team GPT")
    make_grant(alice, key, user=bob)
    for name in ("rename", "delete", "check", "replace-secret"):
        response = member.post(
            reverse(f"keys:{name}", args=[key.pk]), {"label": "Mine now", "api_key": "sk-x-12345678"}
        )
        assert response.status_code == 404, name
    key.refresh_from_db()
    assert key.label == "Team GPT" and crypto.decrypt(key.ciphertext) == SHARED_SECRET


def test_an_admin_cannot_reach_a_members_personal_key(admin, alice, bob, make_key):
    personal = make_key(bob, secret="sk-bob-PERSONAL-99aa", label="Bob personal")
    for name in ("key", "check", "rename", "replace-secret", "delete", "grant"):
        method = admin.get if name == "key" else admin.post
        assert method(reverse(f"team_keys:{name}", args=[personal.pk]), {"label": "x"}).status_code == 404
    for name in ("rename", "delete", "check", "replace-secret"):
        assert admin.post(reverse(f"keys:{name}", args=[personal.pk]), {"label": "x"}).status_code == 404
    for url in (reverse("keys:list"), reverse("team_keys:list")):
        page = admin.get(url).content.decode()
        assert "Bob personal" not in page and "99aa" not in page
    personal.refresh_from_db()
    assert personal.label == "Bob personal"


def test_the_django_admin_shows_no_part_of_a_members_personal_key(admin, alice, bob, make_key):
    make_key(bob, secret="sk-bob-PERSONAL-99aa", label="Bob personal")
    page = admin.get(reverse("admin:keys_credential_changelist")).content.decode()
    assert "Bob personal" in page and "99aa" not in page


def test_test_connection_on_a_shared_key_answers_in_its_card(admin, alice, make_shared_key):
    key = make_shared_key(alice, label="Team GPT")
    response = admin.post(reverse("team_keys:check", args=[key.pk]), **HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<section class="card key-card" id="key-card"')
    assert "Works —" in page and SHARED_SECRET not in page
    key.refresh_from_db()
    assert key.models_fetched_at is not None and key.models_cache


def test_rename_replace_and_delete_are_audited_without_the_secret(
    admin, alice, bob, make_shared_key, make_grant
):
    key = make_shared_key(alice, label="Team GPT")
    make_grant(alice, key, user=bob)
    admin.post(reverse("team_keys:rename", args=[key.pk]), {"label": "Team GPT-5"})
    key.refresh_from_db()
    assert key.label == "Team GPT-5"
    new_secret = "sk-rotated-NEWSECRET-4242"
    response = admin.post(
        reverse("team_keys:replace-secret", args=[key.pk]),
        {"base_url": key.base_url, "auth_style": "bearer", "auth_header": "", "api_key": new_secret},
        **HTMX,
    )
    assert response.status_code == 200 and "Secret replaced." in response.content.decode()
    key.refresh_from_db()
    assert crypto.decrypt(key.ciphertext) == new_secret
    assert Grant.objects.filter(credential=key, revoked_at__isnull=True).count() == 1  # grants untouched
    admin.post(reverse("team_keys:delete", args=[key.pk]))
    assert not Credential.objects.filter(pk=key.pk).exists() and not Grant.objects.exists()
    events = list(
        AuditEvent.objects.exclude(action__startswith="person.")
        .order_by("id")
        .values_list("action", "target_label", "detail")
    )
    assert [e[0] for e in events] == [
        "key.created",
        "grant.created",
        "key.renamed",
        "key.secret_replaced",
        "key.deleted",
    ]
    assert events[2][2] == {"from": "Team GPT", "to": "Team GPT-5"}
    assert events[3][2] == {"base_url": key.base_url}
    logged = repr(events)
    for secret in (SHARED_SECRET, new_secret):
        assert secret not in logged and secret[-4:] not in logged


def test_a_bad_replacement_shows_its_errors_in_the_card(admin, alice, make_shared_key):
    key = make_shared_key(alice)
    response = admin.post(
        reverse("team_keys:replace-secret", args=[key.pk]),
        {"base_url": "ftp://nowhere", "auth_style": "nonsense", "api_key": "x"},
        **HTMX,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "too short" in page and 'aria-invalid="true"' in page
    key.refresh_from_db()
    assert crypto.decrypt(key.ciphertext) == SHARED_SECRET


def test_renaming_to_a_taken_label_is_refused(admin, alice, make_shared_key):
    make_shared_key(alice, label="A")
    key = make_shared_key(alice, label="B")
    response = admin.post(reverse("team_keys:rename", args=[key.pk]), {"label": "A"}, follow=True)
    assert "not used by another shared key" in response.content.decode()
    key.refresh_from_db()
    assert key.label == "B"


def test_garbage_ids_are_404_not_500(admin):
    assert admin.get("/team/keys/999999/").status_code == 404
    assert admin.post("/team/keys/999999/grants/1/revoke/").status_code == 404
