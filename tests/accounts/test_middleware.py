"""Per-request enforcement: pending people only wait, htmx requests get answers htmx can act on, and last seen."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.people_actions import do_approve
from chat.models import Conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_user):
    return make_user("root")


@pytest.fixture
def pending(make_user, admin):
    person = make_user("pat")
    User.objects.filter(pk=person.pk).update(role=User.Role.PENDING)
    person.refresh_from_db()
    return person


def test_a_pending_persons_htmx_request_is_told_to_go_to_the_waiting_page(client, pending):
    client.force_login(pending)
    response = client.get(reverse("chat:list"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx acts on 2xx only
    assert response.headers["HX-Redirect"] == reverse("accounts:waiting")
    assert response.content == b""


def test_a_pending_person_can_change_nothing(client, pending):
    client.force_login(pending)
    for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.post(reverse("chat:new"), **htmx)
        assert reverse("accounts:waiting") in (
            response.headers.get("Location", "") + response.headers.get("HX-Redirect", "")
        )
    assert not Conversation.objects.exists()


def test_the_waiting_page_moves_on_once_approved(client, admin, pending):
    client.force_login(pending)
    poll = {"HTTP_HX_REQUEST": "true"}
    assert (
        client.get(reverse("accounts:waiting"), **poll).status_code == 204
    )  # still waiting: nothing to swap
    do_approve(admin, pending)
    response = client.get(reverse("accounts:waiting"), **poll)
    assert response.headers["HX-Redirect"] == reverse("chat:home")
    assert client.get(reverse("chat:home")).status_code == 200
    assert client.get(reverse("accounts:waiting")).headers["Location"] == reverse("chat:home")


def test_an_anonymous_htmx_request_signs_in_and_returns_to_the_page_not_the_fragment(client):
    response = client.get(
        reverse("chat:list"), HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/c/5/?x=1"
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == reverse("accounts:sign_in") + "?next=/c/5/%3Fx%3D1"


def test_an_anonymous_plain_request_still_gets_djangos_redirect(client):
    response = client.get(reverse("keys:list"))
    assert response.headers["Location"] == reverse("accounts:sign_in") + "?next=/settings/keys/"


def test_last_seen_is_noted_at_most_every_few_minutes(client, admin):
    client.force_login(admin)
    assert User.objects.get(pk=admin.pk).last_seen_at is None
    client.get(reverse("chat:home"))
    first = User.objects.get(pk=admin.pk).last_seen_at
    assert first is not None and timezone.now() - first < timedelta(seconds=5)
    client.get(reverse("chat:home"))
    assert User.objects.get(pk=admin.pk).last_seen_at == first
    User.objects.filter(pk=admin.pk).update(last_seen_at=first - timedelta(minutes=6))
    client.get(reverse("chat:home"))
    assert User.objects.get(pk=admin.pk).last_seen_at > first
