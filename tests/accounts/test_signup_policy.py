"""Sign-up under each policy, and invite links: what they give, and that each makes one account only."""

import threading
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.actions import (
    ActionError,
    check_sign_up,
    do_create_invite,
    do_revoke_invite,
    do_set_signup_policy,
    do_sign_up,
    hash_token,
)
from accounts.models import AuditEvent, Invite, Team, User, Workspace
from accounts.views import invite_link
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_user):
    return make_user("root")  # the first person: the admin


def set_policy(admin, policy):
    do_set_signup_policy(admin, policy)


def sign_up(client, username, password=PASSWORD):
    return client.post(
        reverse("accounts:sign_up"), {"username": username, "password1": password, "password2": password}
    )


def test_the_first_person_is_the_admin_whatever_the_policy():
    Workspace.objects.create(pk=1, signup_policy=Workspace.SignupPolicy.INVITE)
    user = do_sign_up("first", PASSWORD)
    assert user.role == User.Role.ADMIN and user.is_staff and user.is_superuser
    with pytest.raises(ActionError, match="invite-only"):
        do_sign_up("second", PASSWORD)
    assert User.objects.count() == 1


def test_open_policy_makes_members(admin):
    assert do_sign_up("m", PASSWORD).role == User.Role.MEMBER


def test_approval_policy_makes_pending_people_who_land_on_the_waiting_page(client, admin):
    set_policy(admin, Workspace.SignupPolicy.APPROVAL)
    page = client.get(reverse("accounts:sign_up"))
    assert "Sign-ups need an admin&#x27;s approval." in page.content.decode()
    response = sign_up(client, "newcomer")
    assert User.objects.get(username="newcomer").role == User.Role.PENDING
    assert response.headers["Location"] == reverse("chat:home")
    response = client.get(reverse("chat:home"))
    assert response.headers["Location"] == reverse("accounts:waiting")
    page = client.get(reverse("accounts:waiting"))
    assert b"Waiting for approval" in page.content and b"Sign out" in page.content


def test_a_pending_person_signing_in_lands_on_the_waiting_page(client, admin):
    set_policy(admin, Workspace.SignupPolicy.APPROVAL)
    do_sign_up("newcomer", PASSWORD)
    response = client.post(
        reverse("accounts:sign_in"), {"username": "newcomer", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("accounts:waiting")
    assert b"Waiting for approval" in response.content


def test_invite_only_without_an_invite_shows_no_form_and_refuses_a_post(client, admin):
    set_policy(admin, Workspace.SignupPolicy.INVITE)
    page = client.get(reverse("accounts:sign_up"))
    assert b"You need an invite." in page.content
    assert b'name="password1"' not in page.content
    response = sign_up(client, "gatecrasher")
    assert response.status_code == 200
    assert not User.objects.filter(username="gatecrasher").exists()


def test_an_invite_link_applies_its_role_and_team_and_is_used_up(client, admin):
    set_policy(admin, Workspace.SignupPolicy.INVITE)
    team = Team.objects.create(name="Research")
    invite, token = do_create_invite(admin, role="admin", team=team, days=7, note="for Dana")
    response = client.post(reverse("accounts:open_invite"), {"token": token})  # what the link's page posts
    assert response.headers["Location"] == reverse("accounts:sign_up")
    page = client.get(reverse("accounts:sign_up")).content.decode()
    assert "invite to join as an admin of the team <strong>Research</strong>" in page
    assert token not in page  # the form never carries it
    for session in Session.objects.all():  # nor does the session table: only the hash
        assert token not in str(session.get_decoded())
    assert sign_up(client, "dana").status_code == 302
    dana = User.objects.get(username="dana")
    assert dana.role == User.Role.ADMIN and dana.is_staff
    assert list(dana.teams.all()) == [team]
    invite.refresh_from_db()
    assert invite.used_by == dana and invite.status == Invite.Status.USED
    joined = AuditEvent.objects.get(action="person.joined", target_id=dana.pk)
    assert joined.detail == {"role": "admin", "via": "invite"}

    # The same link again, in another browser.
    client.post(reverse("accounts:sign_out"))
    client.post(reverse("accounts:open_invite"), {"token": token})
    page = client.get(reverse("accounts:sign_up")).content.decode()
    assert "already been used" in page
    assert 'name="password1"' not in page  # invite-only: no invite, no form
    assert User.objects.count() == 2


def test_an_invite_works_under_the_approval_policy_without_waiting(admin):
    set_policy(admin, Workspace.SignupPolicy.APPROVAL)
    _, token = do_create_invite(admin, role="member", team=None, days=1)
    assert do_sign_up("invited", PASSWORD, invite_hash=hash_token(token)).role == User.Role.MEMBER


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (lambda invite: Invite.objects.filter(pk=invite.pk).update(expires_at=timezone.now()), "expired"),
        (lambda invite: do_revoke_invite(invite.created_by, invite), "revoked"),
        (
            lambda invite: do_sign_up("earlier", PASSWORD, invite_hash=hash_token(invite.token)),
            "already been used",
        ),
        (lambda invite: Invite.objects.filter(pk=invite.pk).update(token_hash=hash_token("x")), "not valid"),
    ],
    ids=["expired", "revoked", "used", "unknown"],
)
def test_an_unusable_invite_says_why(client, admin, spoil, words):
    set_policy(admin, Workspace.SignupPolicy.INVITE)
    invite, token = do_create_invite(admin, role="member", team=None, days=7)
    invite.token = token
    spoil(invite)
    with pytest.raises(ActionError, match=words):
        do_sign_up("late", PASSWORD, invite_hash=hash_token(token))
    client.get(reverse("accounts:invite", args=[token]))
    page = client.get(reverse("accounts:sign_up"))
    assert words in page.content.decode()
    assert not User.objects.filter(username="late").exists()


def test_a_failed_sign_up_leaves_the_invite_usable(admin):
    _, token = do_create_invite(admin, role="member", team=None, days=7)
    with pytest.raises(ActionError, match="already exists"):
        do_sign_up("root", PASSWORD, invite_hash=hash_token(token))  # the name is taken
    check_sign_up(hash_token(token))  # still fine
    assert do_sign_up("someone", PASSWORD, invite_hash=hash_token(token)).username == "someone"


def test_only_the_hash_of_an_invite_token_is_stored_or_logged(admin):
    invite, token = do_create_invite(admin, role="member", team=None, days=7, note="for Eve")
    assert invite.token_hash == hash_token(token) and token not in invite.token_hash
    for event in AuditEvent.objects.all():
        assert token not in str(event.detail) and invite.token_hash not in str(event.detail)


def test_an_invite_cannot_make_pending_people_or_last_odd_times(admin):
    with pytest.raises(ActionError):
        do_create_invite(admin, role="pending", team=None, days=7)
    with pytest.raises(ActionError):
        do_create_invite(admin, role="member", team=None, days=3)


def test_revoking_twice_says_it_is_revoked_already(admin):
    invite, _ = do_create_invite(admin, role="member", team=None, days=7)
    do_revoke_invite(admin, invite)
    with pytest.raises(ActionError, match="revoked already"):
        do_revoke_invite(admin, invite)
    assert AuditEvent.objects.filter(action="invite.revoked").count() == 1


def test_policy_changes_are_audited(admin):
    do_set_signup_policy(admin, Workspace.SignupPolicy.APPROVAL)
    do_set_signup_policy(admin, Workspace.SignupPolicy.APPROVAL)  # no change, no event
    event = AuditEvent.objects.get(action="signup_policy.changed")
    assert (event.actor, event.detail) == (admin, {"from": "open", "to": "approval"})
    with pytest.raises(ActionError):
        do_set_signup_policy(admin, "everyone")


@pytest.mark.django_db(transaction=True)
@pytest.mark.server_pg
def test_one_invite_link_used_at_once_by_many_makes_one_account():
    admin = do_sign_up("root", PASSWORD)
    do_set_signup_policy(admin, Workspace.SignupPolicy.INVITE)
    _, token = do_create_invite(admin, role="member", team=None, days=7)
    barrier = threading.Barrier(6)
    made, refused = [], []

    def worker(n):
        try:
            barrier.wait()
            made.append(do_sign_up(f"racer{n}", PASSWORD, invite_hash=hash_token(token)))
        except ActionError as exc:
            refused.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and len(refused) == 5
    assert all("already been used" in reason for reason in refused)
    assert User.objects.count() == 2
    assert Invite.objects.get().used_by == made[0]


def test_invite_tokens_of_any_shape_never_fail(client, admin):
    for token in ("x", "a" * 500, "%00", "..", "ünïcode", "\x00", " spaced "):
        response = client.post(reverse("accounts:open_invite"), {"token": token}, follow=True)
        assert response.status_code == 200, token
        assert b"not valid" in response.content
    for token in ("x", "a" * 500, "%00", "..", "ünïcode"):  # links of the first kind, token in the path
        response = client.get(f"/accounts/invite/{token}/", follow=True)
        assert response.status_code == 200, token
        assert b"not valid" in response.content
    for data in ({}, {"token": ""}, {"token": "   "}):  # nothing to open: the page again, asking for it
        response = client.post(reverse("accounts:open_invite"), data)
        assert response.status_code == 200 and b'name="token"' in response.content


def test_an_invite_link_keeps_its_token_out_of_every_request_line(client, admin):
    """The link puts the token after "#", which browsers never send: the address the server sees (and its
    access log records) is the page's alone, and the page posts the token in the request's body."""
    set_policy(admin, Workspace.SignupPolicy.INVITE)
    _, token = do_create_invite(admin, role="member", team=None, days=7)
    link = invite_link(RequestFactory().get("/"), token)
    address, _, fragment = link.partition("#")
    assert fragment == token and token not in address
    page = client.get(address)
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    html = page.content.decode()
    assert 'id="invite-form"' in html and "js/invite.js" in html
    client.post(address, {"token": token})
    assert (
        "You have an invite to join as a member." in client.get(reverse("accounts:sign_up")).content.decode()
    )


def test_a_link_of_the_first_kind_still_opens_its_invite(client, admin):
    set_policy(admin, Workspace.SignupPolicy.INVITE)
    _, token = do_create_invite(admin, role="member", team=None, days=7)
    response = client.get(reverse("accounts:invite", args=[token]))
    assert response.headers["Location"] == reverse("accounts:sign_up")  # the token leaves the address bar
    assert (
        "You have an invite to join as a member." in client.get(reverse("accounts:sign_up")).content.decode()
    )


def test_a_signed_in_person_opening_an_invite_goes_home_and_leaves_it_unused(client, admin, alice):
    invite, token = do_create_invite(admin, role="member", team=None, days=7)
    client.force_login(alice)
    response = client.post(reverse("accounts:open_invite"), {"token": token})
    assert response.headers["Location"] == reverse("chat:home")
    invite.refresh_from_db()
    assert invite.status == Invite.Status.ACTIVE


def test_an_invite_expires_after_its_days(admin):
    before = timezone.now()
    invite, _ = do_create_invite(admin, role="member", team=None, days=30)
    assert timedelta(days=30) <= invite.expires_at - before < timedelta(days=30, seconds=5)
