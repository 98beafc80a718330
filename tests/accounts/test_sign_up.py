import threading

import pytest
from django.db import connection
from django.urls import reverse

from accounts.actions import do_sign_up
from accounts.models import User
from tests.conftest import PASSWORD


def sign_up(client, username, password=PASSWORD, confirm=None):
    return client.post(
        reverse("accounts:sign_up"),
        {"username": username, "password1": password, "password2": confirm or password},
    )


@pytest.mark.django_db
def test_first_person_to_sign_up_is_admin_and_later_ones_are_members(client):
    response = sign_up(client, "first")
    assert response.status_code == 302
    client.post(reverse("accounts:sign_out"))
    sign_up(client, "second")
    roles = dict(User.objects.values_list("username", "role"))
    assert roles == {"first": "admin", "second": "member"}
    assert User.objects.get(username="first").is_superuser
    assert not User.objects.get(username="second").is_staff


@pytest.mark.django_db(transaction=True)
@pytest.mark.server_pg
def test_simultaneous_first_sign_ups_make_exactly_one_admin():
    barrier = threading.Barrier(8)
    errors = []

    def worker(n):
        try:
            barrier.wait()
            do_sign_up(f"racer{n}", PASSWORD)
        except Exception as exc:  # pragma: no cover — reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert User.objects.count() == 8
    assert User.objects.filter(role=User.Role.ADMIN).count() == 1


@pytest.mark.django_db
def test_sign_up_form_explains_mistakes_and_never_fails(client):
    response = sign_up(client, "x", password="abc", confirm="abd")
    assert response.status_code == 200
    assert b"didn" in response.content or b"match" in response.content
    assert not User.objects.exists()
    for garbage in ({}, {"username": "\x00" * 5}, {"username": ["a", "b"], "password1": "x" * 10_000}):
        assert client.post(reverse("accounts:sign_up"), garbage).status_code == 200


@pytest.mark.django_db
def test_sign_in_and_sign_out(client, alice):
    assert client.get(reverse("chat:home")).status_code == 302  # anonymous: to the sign-in page
    response = client.post(reverse("accounts:sign_in"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("chat:home")).status_code == 200
    response = client.post(reverse("accounts:sign_out"), HTTP_HX_REQUEST="true")
    assert response.headers["HX-Redirect"] == reverse("accounts:sign_in")
    assert client.get(reverse("chat:home")).status_code == 302


@pytest.mark.django_db
def test_wrong_password_is_refused_with_a_message(client, alice):
    response = client.post(reverse("accounts:sign_in"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content


@pytest.mark.django_db
def test_following_the_sign_out_link_without_htmx_asks_and_signs_out_only_on_post(client, alice):
    client.force_login(alice)
    page = client.get(reverse("accounts:sign_out"))
    assert page.status_code == 200 and b"Sign out?" in page.content
    assert client.get(reverse("chat:home")).status_code == 200  # still signed in
    client.post(reverse("accounts:sign_out"))
    assert client.get(reverse("chat:home")).status_code == 302


@pytest.mark.django_db
def test_a_short_password_that_does_not_match_hears_of_both_at_once(client):
    response = sign_up(client, "newcomer", password="abc", confirm="abd")
    assert response.status_code == 200 and not User.objects.exists()
    errors = response.context["form"].errors
    assert "match" in " ".join(errors["password2"])
    assert "too short" in " ".join(errors["password1"])
