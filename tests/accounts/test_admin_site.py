"""The Django admin: registered for people, teams, invites, the workspace and the audit log; never a secret."""

import pytest
from django.urls import reverse

from accounts.actions import do_create_invite, do_sign_up
from accounts.models import AuditEvent, Workspace
from accounts.team_actions import do_add_member, do_create_team
from keys.actions import do_add_credential
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
CANARY = "sk-CANARY-admin-5f0e1d2c3b4a"


@pytest.fixture
def world(client):
    root = do_sign_up("root", PASSWORD)
    alice = do_sign_up("alice", PASSWORD)
    team = do_create_team(root, "Research")
    do_add_member(root, team, alice)
    invite, token = do_create_invite(root, role="member", team=team, days=7, note="for Dana")
    credential = do_add_credential(
        alice,
        preset="openai",
        label="Alice's key",
        base_url="https://api.example.com/v1",
        auth_style="bearer",
        auth_header="",
        secret=CANARY,
    )
    client.force_login(root)
    return {
        "root": root,
        "alice": alice,
        "team": team,
        "invite": invite,
        "token": token,
        "credential": credential,
    }


def pages(world):
    yield reverse("admin:index")
    for model, obj in (
        ("accounts_user", world["alice"]),
        ("accounts_team", world["team"]),
        ("accounts_invite", world["invite"]),
        ("accounts_workspace", Workspace.current()),
        ("accounts_auditevent", AuditEvent.objects.first()),
        ("keys_credential", world["credential"]),
    ):
        yield reverse(f"admin:{model}_changelist")
        yield reverse(f"admin:{model}_change", args=[obj.pk])


def test_no_admin_page_shows_a_secret(client, world):
    secrets = (
        CANARY,
        CANARY[:12],
        world["credential"].ciphertext,
        world["token"],
        world["invite"].token_hash,
    )
    for url in pages(world):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        for secret in secrets:
            assert secret not in page, f"{url} shows a secret"
    # A personal key is listed by label only: not even its last four reach the admin.
    listing = client.get(reverse("admin:keys_credential_changelist")).content.decode()
    assert "Alice&#x27;s key" in listing and "3b4a" not in listing


def test_invites_teams_and_the_audit_log_are_read_only_there(client, world):
    assert client.get(reverse("admin:accounts_invite_add")).status_code == 403
    assert client.get(reverse("admin:accounts_team_add")).status_code == 403
    assert client.get(reverse("admin:accounts_auditevent_add")).status_code == 403
    event = AuditEvent.objects.first()
    assert (
        client.post(reverse("admin:accounts_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_roles_and_activation_are_changed_in_novaweb_not_here(client, world):
    page = client.get(reverse("admin:accounts_user_change", args=[world["alice"].pk])).content.decode()
    assert 'name="role"' not in page and 'name="is_active"' not in page and 'name="is_superuser"' not in page
    assert "Team → People" in page


def test_changing_the_signup_policy_there_is_audited_too(client, world):
    url = reverse("admin:accounts_workspace_change", args=[Workspace.current().pk])
    response = client.post(url, {"signup_policy": "approval"})
    assert response.status_code == 302
    assert Workspace.current().signup_policy == "approval"
    event = AuditEvent.objects.get(action="signup_policy.changed")
    assert event.actor == world["root"] and event.detail == {"from": "open", "to": "approval"}


def test_members_cannot_open_the_admin(client, world):
    client.force_login(world["alice"])
    response = client.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 302 and response.headers["Location"].startswith(reverse("admin:login"))
