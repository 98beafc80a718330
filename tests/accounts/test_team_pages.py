"""The team pages: what they list, their htmx changes in place, their confirmations, and garbage."""

import re

import pytest
from django.urls import reverse

from accounts.actions import do_create_invite, hash_token
from accounts.models import AuditEvent, Invite, Team, User, Workspace
from accounts.team_actions import do_add_member, do_create_team

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def person(username, role=User.Role.MEMBER, **fields):
    user = User(username=username, role=role, **fields)
    user.set_unusable_password()
    user.save()
    return user


@pytest.fixture
def admin(client):
    root = person("root", User.Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(root)
    return root


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- overview ---------------------------------------------------------------------------------------------
def test_the_overview_counts_people_waiting_teams_and_invites(client, admin):
    person("alice")
    person("pat", User.Role.PENDING)
    person("gone", is_active=False)
    do_create_team(admin, "Research")
    do_create_invite(admin, role="member", team=None, days=7)
    page = text(client.get(reverse("team:home")))
    assert '<span class="stat-number">2</span><span class="stat-label">people active</span>' in page
    assert "1 deactivated" in page
    assert f'href="{reverse("team:people")}?show=pending"><span class="stat-number">1</span>' in page
    assert '<span class="stat-number">1</span><span class="stat-label">team</span>' in page
    assert '<span class="stat-number">1</span><span class="stat-label">open invite</span>' in page
    assert 'Open</span><span class="stat-label">sign-up' in page


# --- people -----------------------------------------------------------------------------------------------
def test_people_awaiting_approval_come_first_with_their_teams(client, admin):
    alice, pat = person("alice"), person("pat", User.Role.PENDING)
    team = do_create_team(admin, "Research")
    do_add_member(admin, team, alice)
    page = text(client.get(reverse("team:people")))
    names = re.findall(r'id="person-\d+" aria-label="([^"]+)"', page)
    assert names == ["pat", "alice", "root"]
    assert "Teams: Research" in page and "Awaiting approval" in page
    pending_only = text(client.get(reverse("team:people") + "?show=pending"))
    assert re.findall(r'id="person-\d+" aria-label="([^"]+)"', pending_only) == ["pat"]
    assert f'id="person-{pat.pk}"' in pending_only


def test_people_are_searched_as_you_type_and_paginated(client, admin):
    for n in range(30):
        person(f"user{n:02d}")
    found = client.get(reverse("team:people") + "?q=USER1", HTTP_HX_TARGET="people-results", **HX)
    names = re.findall(r'aria-label="(user\d+)"', text(found))
    assert names == [f"user1{n}" for n in range(10)]
    assert b"<h1>" not in found.content  # only the results
    first = text(client.get(reverse("team:people")))
    assert "Page 1 of 2" in first and 'href="?show=all&amp;page=2"' in first
    second = text(client.get(reverse("team:people") + "?page=2"))
    assert len(re.findall(r'class="person-row', second)) == 31 - 25
    assert (
        text(client.get(reverse("team:people") + "?page=zzz&show=nonsense")).count('class="person-row') == 25
    )


def test_the_people_list_costs_the_same_queries_for_many_people(client, admin, django_assert_max_num_queries):
    team = do_create_team(admin, "Research")
    for n in range(5):
        do_add_member(admin, team, person(f"few{n}"))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("team:people"))
    for n in range(20):
        do_add_member(admin, team, person(f"many{n}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("team:people"))


def test_approving_in_place_updates_the_row_and_the_waiting_count(client, admin):
    pat = person("pat", User.Role.PENDING)
    response = client.post(reverse("team:person-approve", args=[pat.pk]), **HX)
    page = text(response)
    assert page.lstrip().startswith(f'<li class="person-row" id="person-{pat.pk}"')
    assert "Approved: pat can use NovaWeb now." in page
    assert '<span id="pending-count" class="count" hx-swap-oob="true">0</span>' in page
    pat.refresh_from_db()
    assert pat.role == User.Role.MEMBER


def test_lowering_a_role_asks_first_and_changes_nothing_until_confirmed(client, admin):
    alice = person("alice", User.Role.ADMIN, is_staff=True, is_superuser=True)
    url = reverse("team:person-role", args=[alice.pk])
    asking = text(client.post(url, {"role": "member"}, **HX))
    assert "Make alice a member? They lose the Team pages at once" in asking
    assert 'name="confirmed" value="yes"' in asking
    alice.refresh_from_db()
    assert alice.is_admin
    done = text(client.post(url, {"role": "member", "confirmed": "yes"}, **HX))
    assert "alice is now a member." in done
    alice.refresh_from_db()
    assert alice.role == User.Role.MEMBER
    # Raising needs no confirmation.
    assert "alice is now an admin." in text(client.post(url, {"role": "admin"}, **HX))


def test_deactivating_asks_first_then_signs_them_out(client, admin):
    alice = person("alice")
    confirm = text(client.get(reverse("team:person", args=[alice.pk]) + "?confirm=deactivate", **HX))
    assert "Deactivate alice? They are signed out at once" in confirm
    url = reverse("team:person-active", args=[alice.pk])
    assert "Deactivate alice?" in text(client.post(url, {"active": "0"}, **HX))
    alice.refresh_from_db()
    assert alice.is_active
    done = text(client.post(url, {"active": "0", "confirmed": "yes"}, **HX))
    assert "Deactivated: alice is signed out everywhere." in done and "Reactivate" in done
    assert "Reactivated: alice can sign in again." in text(client.post(url, {"active": "1"}, **HX))
    cancel = text(client.get(reverse("team:person", args=[alice.pk]), **HX))
    assert "Deactivate…" in cancel and "Deactivate alice?" not in cancel


def test_the_last_admin_is_told_why_in_place(client, admin):
    response = client.post(
        reverse("team:person-active", args=[admin.pk]), {"active": "0", "confirmed": "yes"}, **HX
    )
    assert response.status_code == 200
    assert "You are the only active admin" in text(response)
    admin.refresh_from_db()
    assert admin.is_active


def test_an_admin_stepping_down_leaves_the_team_pages(client, admin):
    person("alice", User.Role.ADMIN)
    response = client.post(
        reverse("team:person-role", args=[admin.pk]), {"role": "member", "confirmed": "yes"}, **HX
    )
    assert response.headers["HX-Redirect"] == reverse("chat:home")
    assert client.get(reverse("team:people")).status_code == 403


def test_without_htmx_changes_come_back_as_a_flash_on_the_people_page(client, admin):
    pat = person("pat", User.Role.PENDING)
    response = client.post(reverse("team:person-approve", args=[pat.pk]), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("team:people"))
    assert "Approved: pat can use NovaWeb now." in text(response)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("team:person-role", {"role": "emperor"}),
        ("team:person-role", {"role": ["admin", "member"]}),
        ("team:person-role", {}),
        ("team:person-active", {"active": "maybe", "confirmed": "yes"}),
        ("team:person-approve", {"role": "admin"}),
    ],
)
def test_garbage_changes_nothing_and_never_fails(client, admin, name, data):
    alice = person("alice")
    response = client.post(reverse(name, args=[alice.pk]), data, **HX)
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.role == User.Role.MEMBER and alice.is_active
    assert not AuditEvent.objects.filter(target_id=alice.pk, target_type="user").exists()


def test_people_that_do_not_exist_are_404(client, admin):
    assert client.get("/team/people/999999/", **HX).status_code == 404
    assert client.post("/team/people/99999999999999999999/role/", {"role": "admin"}).status_code == 404


def test_names_are_shown_as_text(client, admin):
    person("<script>alert(1)</script>")
    page = client.get(reverse("team:people")).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- teams ------------------------------------------------------------------------------------------------
def test_a_team_is_made_filled_renamed_and_deleted_in_place(client, admin):
    alice = person("alice")
    made = text(client.post(reverse("team:teams"), {"name": "Research"}, **HX))
    assert "Team “Research” created." in made and 'id="teams-area"' in made
    team = Team.objects.get()
    card = text(client.post(reverse("team:team-add-member", args=[team.pk]), {"username": "ALICE"}, **HX))
    assert "Added alice to Research." in card and 'aria-label="Remove alice from Research"' in card
    assert list(team.members.all()) == [alice]
    card = text(client.post(reverse("team:team-rename", args=[team.pk]), {"name": "R&D"}, **HX))
    assert "Renamed “Research” to “R&amp;D”." in card
    card = text(client.post(reverse("team:team-remove-member", args=[team.pk, alice.pk]), **HX))
    assert "Removed alice from R&amp;D." in card and "Nobody yet." in card
    asking = text(client.post(reverse("team:team-delete", args=[team.pk]), **HX))
    assert "Delete the team R&amp;D?" in asking and Team.objects.exists()
    gone = text(client.post(reverse("team:team-delete", args=[team.pk]), {"confirmed": "yes"}, **HX))
    assert "Team “R&amp;D” deleted." in gone and not Team.objects.exists()


def test_team_mistakes_are_explained_in_place(client, admin):
    person("gone", is_active=False)
    team = do_create_team(admin, "Research")
    duplicate = client.post(reverse("team:teams"), {"name": "research"}, **HX)
    assert duplicate.status_code == 200 and "There is already a team called “research”." in text(duplicate)
    empty = client.post(reverse("team:teams"), {"name": "   "}, **HX)
    assert empty.status_code == 200 and "This field is required." in text(empty)
    unknown = text(client.post(reverse("team:team-add-member", args=[team.pk]), {"username": "nobody"}, **HX))
    assert "Nobody here has that username" in unknown
    inactive = text(client.post(reverse("team:team-add-member", args=[team.pk]), {"username": "gone"}, **HX))
    assert "gone is deactivated" in inactive
    garbage = client.post(reverse("team:team-rename", args=[team.pk]), {"name": "x" * 500}, **HX)
    assert garbage.status_code == 200 and "1 to 80 characters" in text(garbage)
    assert Team.objects.get().name == "Research" and not Team.objects.get().members.exists()


def test_the_teams_page_offers_active_people_to_add(client, admin):
    person("alice")
    person("gone", is_active=False)
    page = client.get(reverse("team:teams")).content.decode()
    options = re.findall(r'<option value="([^"]+)"></option>', page)
    assert options == ["alice", "root"]


# --- invites ----------------------------------------------------------------------------------------------
def test_an_invite_link_is_shown_once_and_only_its_hash_is_kept(client, admin):
    team = do_create_team(admin, "Research")
    response = client.post(
        reverse("team:invites"), {"role": "member", "team": team.pk, "days": "7", "note": "for Dana"}, **HX
    )
    assert "no-store" in response.headers["Cache-Control"]
    link = re.search(r'id="invite-link" class="mono" value="([^"]+)"', response.content.decode()).group(1)
    token = link.partition("#")[2]
    assert link == f"http://testserver/accounts/invite/#{token}"  # after "#": never sent, never logged
    invite = Invite.objects.get()
    assert invite.token_hash == hash_token(token) and invite.team == team and invite.note == "for Dana"
    assert "Joins as member in Research" in text(response)
    again = client.get(reverse("team:invites")).content.decode()
    assert token not in again and "Invite link ready" not in again and "for Dana" in again


def test_invites_list_their_status_and_can_be_revoked(client, admin):
    active, _ = do_create_invite(admin, role="member", team=None, days=7, note="active one")
    used, _ = do_create_invite(admin, role="admin", team=None, days=1, note="used one")
    Invite.objects.filter(pk=used.pk).update(used_by=admin, used_at=used.created_at)
    page = text(client.get(reverse("team:invites")))
    assert re.search(r"used one <span class=\"badge badge-invite-used\">Used</span>.*Used by root", page)
    assert 'active one <span class="badge badge-invite-active">Active</span>' in page
    assert page.count("Revoke</button>") == 1
    row = text(client.post(reverse("team:invite-revoke", args=[active.pk]), **HX))
    assert "Revoked: this link no longer works." in row and "badge-invite-revoked" in row
    again = text(client.post(reverse("team:invite-revoke", args=[active.pk]), **HX))
    assert "This invite is revoked already." in again


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"role": "pending", "days": "7"},
        {"role": "member", "days": "3"},
        {"role": "member", "days": "7", "team": "x"},
    ],
)
def test_invite_form_garbage_is_explained_not_made(client, admin, data):
    response = client.post(reverse("team:invites"), data, **HX)
    assert response.status_code == 200 and 'class="field-error"' in response.content.decode()
    assert not Invite.objects.exists()


# --- sign-up policy ---------------------------------------------------------------------------------------
def test_the_signup_policy_is_chosen_in_place(client, admin):
    page = text(client.get(reverse("team:signup")))
    assert 'value="open" checked' in page
    response = text(client.post(reverse("team:signup"), {"signup_policy": "invite"}, **HX))
    assert "Saved: only people with an invite link can sign up." in response
    assert 'value="invite" checked' in response
    assert Workspace.current().signup_policy == "invite"
    garbage = client.post(reverse("team:signup"), {"signup_policy": "everyone"}, **HX)
    assert garbage.status_code == 200 and "Pick one of the three policies." in text(garbage)
    assert Workspace.current().signup_policy == "invite"
