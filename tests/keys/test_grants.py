"""Grants of a shared key: to a person or a team, with models, budgets, rate and concurrency; changed and
revoked by an admin, audited; what they allow is what the chat path enforces."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from chat.actions import ActionError
from keys.models import Credential, Grant
from tests.keys.sending import done, send

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def admin(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def key(alice, make_shared_key):
    key = make_shared_key(alice, label="Team GPT")
    key.models_cache = [{"id": "gpt-small", "tier": None, "vision": False}, {"id": "gpt-large"}]
    key.save()
    return key


def limits(**overrides):
    data = {
        "models_scope": "all",
        "other_models": "",
        "budget_tokens": "",
        "budget_credits": "",
        "budget_period": "month",
        "rate_per_minute": "",
        "max_concurrent": "",
    }
    data.update(overrides)
    return data


def grant_url(key):
    return reverse("team_keys:grant", args=[key.pk])


def test_grant_a_key_to_a_person_with_every_limit(admin, alice, bob, key):
    response = admin.post(
        grant_url(key),
        limits(
            grantee=f"user:{bob.pk}",
            models_scope="list",
            listed_models=["gpt-small"],
            other_models="custom-model\n\n  gpt-small  ",
            budget_tokens="50000",
            budget_credits="12.5",
            budget_period="week",
            rate_per_minute="10",
            max_concurrent="2",
        ),
        **HTMX,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<section class="card" id="grants"')
    assert "Granted “Team GPT” to bob." in page
    grant = Grant.objects.get()
    assert (grant.user, grant.team, grant.created_by) == (bob, None, alice)
    assert grant.allowed_models == ["gpt-small", "custom-model"]
    assert (grant.budget_tokens, grant.budget_credits, grant.budget_period) == (
        50000,
        Decimal("12.5"),
        "week",
    )
    assert (grant.rate_per_minute, grant.max_concurrent) == (10, 2)
    assert "0 of 50,000 tokens used this week" in page and "0 of 12.5 credits used this week" in page
    assert "10 requests a minute · 2 at once" in page
    event = AuditEvent.objects.get(action="grant.created")
    assert event.target_id == grant.pk and event.target_label == "Team GPT → bob"
    assert event.detail["budget_credits"] == "12.5" and event.detail["allowed_models"] == grant.allowed_models


def test_grant_a_key_to_a_team(admin, bob, key, make_team):
    team = make_team("Engineering", bob)
    response = admin.post(grant_url(key), limits(grantee=f"team:{team.pk}", budget_tokens="1000"))
    assert response.status_code == 302
    grant = Grant.objects.get()
    assert (grant.team, grant.user) == (team, None)
    page = admin.get(reverse("team_keys:key", args=[key.pk])).content.decode()
    assert "Engineering" in page and "Team of 1" in page


def test_the_picker_offers_only_people_and_teams_without_the_key(
    admin, alice, bob, key, make_user, make_grant
):
    make_user("carol")
    make_grant(alice, key, user=bob)
    form_html = (
        admin.get(reverse("team_keys:key", args=[key.pk])).content.decode().split('id="new-grant-heading"')[1]
    )
    assert ">carol</option>" in form_html and ">bob</option>" not in form_html
    # A forged choice for someone who already has it is refused, with nothing stored.
    response = admin.post(grant_url(key), limits(grantee=f"user:{bob.pk}"), **HTMX)
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert Grant.objects.count() == 1


@pytest.mark.parametrize(
    "garbage",
    [
        {"grantee": "user:abc"},
        {"grantee": "team:999999"},
        {"grantee": "", "budget_tokens": "-5"},
        {"budget_tokens": "1e400", "grantee": "x"},
        {"budget_credits": "NaN"},
        {"budget_period": "fortnight"},
        {"rate_per_minute": "0"},
        {"max_concurrent": "lots"},
        {"models_scope": "list"},
        {"models_scope": "list", "listed_models": ["not-on-the-list"]},
        {"models_scope": "list", "other_models": "x" * 300},
    ],
)
def test_garbage_never_500s_and_stores_nothing(admin, bob, key, garbage):
    data = limits(grantee=f"user:{bob.pk}")
    data.update(garbage)
    response = admin.post(grant_url(key), data, **HTMX)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode() or 'role="alert"' in response.content.decode()
    assert not Grant.objects.exists()
    assert admin.post(grant_url(key), data).status_code == 400  # without htmx: the page, with the errors


def test_change_limits_records_what_changed(admin, alice, bob, key, make_grant):
    grant = make_grant(alice, key, user=bob, budget_tokens=1000)
    url = reverse("team_keys:grant-change", args=[key.pk, grant.pk])
    response = admin.post(url, limits(budget_tokens="2000", budget_period="day", max_concurrent="3"), **HTMX)
    assert "Limits of bob changed; the next request meets them." in response.content.decode()
    grant.refresh_from_db()
    assert (grant.budget_tokens, grant.budget_period, grant.max_concurrent) == (2000, "day", 3)
    event = AuditEvent.objects.get(action="grant.changed")
    assert event.detail["changed"] == {
        "budget_tokens": [1000, 2000],
        "budget_period": ["month", "day"],
        "max_concurrent": [None, 3],
    }
    again = admin.post(url, limits(budget_tokens="2000", budget_period="day", max_concurrent="3"), **HTMX)
    assert "Nothing changed for bob." in again.content.decode()
    assert AuditEvent.objects.filter(action="grant.changed").count() == 1
    admin.post(url, limits(budget_tokens="3000", budget_period="day", max_concurrent="3"))
    budget = AuditEvent.objects.get(action="grant.budget_changed")  # only the budget: the issue's own event
    assert budget.detail["changed"] == {"budget_tokens": [2000, 3000]}


def test_the_edit_form_shows_the_grant_as_it_is(admin, alice, bob, key, make_grant):
    make_grant(alice, key, user=bob, allowed_models=["gpt-large", "other-one"], budget_credits=Decimal("100"))
    page = admin.get(reverse("team_keys:key", args=[key.pk])).content.decode()
    grant_form = page.split('aria-label="Grant to bob"')[1].split("</li>")[0]
    assert re.search(r'value="gpt-large"[^>]*checked', grant_form)
    assert not re.search(r'value="gpt-small"[^>]*checked', grant_form)
    assert re.search(r'value="list"[^>]*checked', grant_form)
    assert ">other-one</textarea>" in grant_form.replace("\n", "")
    assert 'value="100"' in grant_form  # "100", not "100.000000" or "1E+2"
    assert "gpt-large, other-one" in grant_form


def test_lowering_a_budget_refuses_the_next_request_at_once(admin, alice, bob, key, make_grant):
    grant = make_grant(alice, key, user=bob, budget_tokens=100_000)
    done(send(bob, key), prompt=100, completion=100)
    admin.post(reverse("team_keys:grant-change", args=[key.pk, grant.pk]), limits(budget_tokens="150"))
    with pytest.raises(ActionError, match="used up"):
        send(bob, key)


def test_revoke_takes_the_key_away_and_keeps_the_ledger(admin, alice, bob, key, make_grant):
    grant = make_grant(alice, key, user=bob)
    reply = send(bob, key)
    response = admin.post(reverse("team_keys:grant-revoke", args=[key.pk, grant.pk]), **HTMX)
    page = response.content.decode()
    assert "Revoked the grant to bob: their next request on “Team GPT” is refused." in page
    assert "Revoked grants (1)" in page and "Nobody can use this key yet." in page
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert not Credential.objects.usable_by(bob).filter(pk=key.pk).exists()
    with pytest.raises(ActionError, match="not available"):
        send(bob, key)
    entry = done(reply)  # the reply already streaming finishes and is billed to the revoked grant
    assert entry.grant == grant and entry.state == "settled"
    assert AuditEvent.objects.filter(action="grant.revoked", target_id=grant.pk).count() == 1
    # Revoking twice records nothing new; granting again makes a new grant.
    admin.post(reverse("team_keys:grant-revoke", args=[key.pk, grant.pk]))
    assert AuditEvent.objects.filter(action="grant.revoked").count() == 1
    admin.post(grant_url(key), limits(grantee=f"user:{bob.pk}"))
    assert Grant.objects.filter(credential=key).count() == 2


def test_a_grant_of_another_key_is_404(admin, alice, bob, key, make_shared_key, make_grant):
    other = make_shared_key(alice, label="Other")
    grant = make_grant(alice, other, user=bob)
    assert admin.post(reverse("team_keys:grant-revoke", args=[key.pk, grant.pk])).status_code == 404
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_the_key_page_shows_what_each_grant_used_this_period(admin, alice, bob, key, make_grant, make_team):
    team = make_team("Engineering", bob)
    make_grant(alice, key, user=bob, budget_tokens=1000, budget_period="day", rate_per_minute=5)
    make_grant(alice, key, team=team, budget_credits=Decimal("50"))
    done(send(bob, key), prompt=120, completion=80)
    page = admin.get(reverse("team_keys:key", args=[key.pk])).content.decode()
    bob_row = page.split('aria-label="Grant to bob"')[1].split("</li>")[0]
    assert "200 of 1,000 tokens used today" in bob_row and 'value="200"' in bob_row
    assert "Resets at 00:00 UTC (in" in bob_row and "5 requests a minute" in bob_row
    team_row = page.split('aria-label="Grant to Engineering"')[1].split("</li>")[0]
    assert "0 of 50 credits used this month" in team_row


def test_a_member_sees_their_shared_keys_in_settings_without_any_part_of_the_secret(
    client, alice, bob, key, make_grant, make_team
):
    from tests.conftest import SHARED_SECRET

    make_grant(alice, key, user=bob, budget_tokens=5000, budget_period="day", allowed_models=["gpt-small"])
    client.force_login(bob)
    page = client.get(reverse("keys:list")).content.decode()
    shared = page.split('id="shared-with-you"')[1].split("</section>")[0]
    assert "Team GPT" in shared and "5,000 tokens left today, resets at 00:00 UTC" in shared
    assert "Models: gpt-small" in shared
    assert SHARED_SECRET[-4:] not in page and "••••" not in shared and key.base_url not in page


def test_a_second_live_grant_to_the_same_person_or_team_is_refused(alice, bob, key, make_grant, make_team):
    from keys.shared_actions import GrantExists

    team = make_team("Engineering", bob)
    make_grant(alice, key, user=bob)
    make_grant(alice, key, team=team)
    with pytest.raises(GrantExists, match=r"^bob already has this key — change that grant instead.$"):
        make_grant(alice, key, user=bob)
    with pytest.raises(GrantExists, match=r"^The team Engineering already has this key"):
        make_grant(alice, key, team=team)
    assert Grant.objects.count() == 2 and AuditEvent.objects.filter(action="grant.created").count() == 2


def test_the_outcome_of_a_grant_shows_in_its_row(admin, alice, bob, make_user, key, make_grant):
    """The person is at the form, far below the section's top: the new (or changed) grant's row says what
    happened, is announced and takes the focus; a plain post opens the page at that row."""
    make_grant(alice, key, user=make_user("carol"))
    page = admin.post(grant_url(key), limits(grantee=f"user:{bob.pk}"), **HTMX).content.decode()
    grant = Grant.objects.get(user=bob)
    row = re.search(rf'<li class="grant-row grant-done" id="grant-{grant.pk}"[^>]*>(.*?)</li>', page, re.S)
    assert row is not None and "autofocus" in row.group(0) and 'aria-describedby="grant-done"' in row.group(0)
    assert (
        '<p class="key-check ok grant-done-note" id="grant-done" role="status">Granted “Team GPT” to bob.'
        in (row.group(1))
    )
    assert page.count("Granted “Team GPT” to bob.") == 1 and page.count("autofocus") == 1
    changed = admin.post(
        reverse("team_keys:grant-change", args=[key.pk, grant.pk]), limits(budget_tokens="5"), **HTMX
    ).content.decode()
    assert re.search(rf'id="grant-{grant.pk}"[^>]*autofocus>\s*<p[^>]*>Limits of bob changed', changed)
    grant.delete()
    plain = admin.post(grant_url(key), limits(grantee=f"user:{bob.pk}"))
    assert plain.status_code == 302 and plain["Location"].endswith(f"#grant-{Grant.objects.get(user=bob).pk}")
