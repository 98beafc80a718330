"""Roles, approval and deactivation: what changes, what is audited, and the guard that keeps an admin."""

import threading

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.urls import reverse

from accounts.actions import ActionError, do_sign_up
from accounts.models import AuditEvent, User
from accounts.people_actions import do_approve, do_set_active, do_set_role
from tests.conftest import PASSWORD, captured_broadcasts

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_user):
    return make_user("root")


@pytest.fixture
def member(make_user, admin):
    return make_user("alice")


def test_promoting_and_demoting_changes_role_and_django_admin_access(admin, member):
    do_set_role(admin, member, User.Role.ADMIN)
    member.refresh_from_db()
    assert member.is_admin and member.is_staff and member.is_superuser
    do_set_role(admin, member, User.Role.MEMBER)
    member.refresh_from_db()
    assert member.role == User.Role.MEMBER and not member.is_staff and not member.is_superuser
    events = list(
        AuditEvent.objects.filter(action="role.changed").order_by("id").values_list("detail", flat=True)
    )
    assert events == [{"from": "member", "to": "admin"}, {"from": "admin", "to": "member"}]
    assert all(
        e.actor == admin and e.target_id == member.pk
        for e in AuditEvent.objects.filter(action="role.changed")
    )


def test_setting_the_same_role_changes_nothing(admin, member, django_capture_on_commit_callbacks):
    with captured_broadcasts() as sent, django_capture_on_commit_callbacks(execute=True):
        do_set_role(admin, member, User.Role.MEMBER)
    assert not AuditEvent.objects.filter(action="role.changed").exists()
    assert sent == []


def test_garbage_roles_are_refused(admin, member):
    for role in ("owner", "", None, "ADMIN"):
        with pytest.raises(ActionError):
            do_set_role(admin, member, role)
    member.refresh_from_db()
    assert member.role == User.Role.MEMBER


def test_approving_lets_a_pending_person_in(admin, member):
    User.objects.filter(pk=member.pk).update(role=User.Role.PENDING)
    member.refresh_from_db()
    do_approve(admin, member)
    member.refresh_from_db()
    assert member.role == User.Role.MEMBER
    event = AuditEvent.objects.get(action="person.approved")
    assert event.detail == {"from": "pending", "to": "member"} and event.actor_name == "root"
    with pytest.raises(ActionError, match="not waiting"):
        do_approve(admin, member)


def test_the_last_active_admin_cannot_demote_or_deactivate_themselves(admin, member):
    with pytest.raises(ActionError, match="only active admin"):
        do_set_role(admin, admin, User.Role.MEMBER)
    with pytest.raises(ActionError, match="only active admin"):
        do_set_active(admin, admin, False)
    admin.refresh_from_db()
    assert admin.is_admin and admin.is_active
    # With a second admin, stepping down is fine.
    do_set_role(admin, member, User.Role.ADMIN)
    do_set_role(admin, admin, User.Role.MEMBER)
    admin.refresh_from_db()
    assert admin.role == User.Role.MEMBER


def test_a_deactivated_admin_does_not_count_as_the_other_admin(admin, member):
    do_set_role(admin, member, User.Role.ADMIN)
    do_set_active(admin, member, False)
    with pytest.raises(ActionError, match="only active admin"):
        do_set_role(admin, admin, User.Role.PENDING)


def test_deactivating_signs_the_person_out_everywhere_and_reactivating_needs_a_new_sign_in(
    client, admin, member
):
    other = do_sign_up("bob", PASSWORD)
    client.force_login(member)
    second = type(client)()
    second.force_login(member)
    bystander = type(client)()
    bystander.force_login(other)
    do_set_active(admin, member, False)
    assert client.get(reverse("chat:home")).headers["Location"].startswith(reverse("accounts:sign_in"))
    assert bystander.get(reverse("chat:home")).status_code == 200  # only their sessions went
    assert Session.objects.count() == 1
    # Django refuses an inactive person's password too.
    response = client.post(reverse("accounts:sign_in"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200 and b"correct username and password" in response.content

    do_set_active(admin, member, True)
    assert second.get(reverse("chat:home")).status_code == 302  # the old session did not come back
    response = client.post(reverse("accounts:sign_in"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    actions = list(AuditEvent.objects.filter(target_id=member.pk).values_list("action", flat=True))
    assert "person.deactivated" in actions and "person.reactivated" in actions


def test_access_changes_are_broadcast_to_the_persons_sockets_after_commit(
    admin, member, django_capture_on_commit_callbacks
):
    with captured_broadcasts() as sent:
        with django_capture_on_commit_callbacks(execute=True):
            do_set_role(admin, member, User.Role.ADMIN)
        with django_capture_on_commit_callbacks(execute=True):
            do_set_active(admin, member, True)  # no change: nothing sent
    assert sent == [(f"user.{member.pk}", {"type": "access.changed", "role": "admin", "active": True})]


def test_refused_changes_send_nothing(admin, django_capture_on_commit_callbacks):
    with (
        captured_broadcasts() as sent,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ActionError),
    ):
        do_set_active(admin, admin, False)
    assert callbacks == []
    assert sent == []
    assert not AuditEvent.objects.filter(action="person.deactivated").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.server_pg
def test_two_admins_demoting_each_other_at_once_leave_one_admin():
    first = do_sign_up("root", PASSWORD)
    second = do_sign_up("alice", PASSWORD)
    do_set_role(first, second, User.Role.ADMIN)
    barrier = threading.Barrier(2)
    outcomes = []

    def demote(actor, person):
        try:
            barrier.wait()
            do_set_role(actor, person, User.Role.MEMBER)
            outcomes.append("demoted")
        except ActionError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=pair) for pair in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["demoted", "refused"]
    assert User.objects.filter(role=User.Role.ADMIN, is_active=True).count() == 1
