"""The key form refuses, at save time and without DNS, base URLs the egress policy forbids outright."""

import socket

import pytest

from keys.forms import CredentialForm
from providers import egress

CANARY = "sk-CANARY-5f3e1d2c9b8a7f6e"


def form_for(base_url, owner):
    data = {
        "provider": "openai",
        "label": "Local",
        "base_url": base_url,
        "auth_style": "bearer",
        "api_key": CANARY,
    }
    return CredentialForm(data=data, owner=owner)


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the form must not resolve names")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def production_policy(settings):
    settings.NOVAWEB_ALLOW_PRIVATE_ENDPOINTS = False


@pytest.mark.usefixtures("production_policy")
@pytest.mark.parametrize(
    ("base_url", "error"),
    [
        ("http://api.example.com/v1", "api.example.com is addressed over plain http://, which this server"),
        (
            "https://10.0.0.5/v1",
            "10.0.0.5 is a private address, which this server does not allow — use a public",
        ),
        ("https://localhost:11434/v1", "localhost resolves to a loopback address (127.0.0.1), which"),
        ("https://[::1]:8000/v1", "::1 is a loopback address"),
        ("https://[::ffff:10.1.2.3]/v1", "::ffff:10.1.2.3 is a private address"),
        ("https://169.254.169.254/v1", "the cloud metadata address, which is never contacted"),
    ],
)
def test_forbidden_urls_get_a_clear_error(alice, base_url, error):
    form = form_for(base_url, alice)
    assert not form.is_valid()
    (message,) = form.errors["base_url"]
    assert error in message
    assert CANARY not in repr(form.errors)


@pytest.mark.usefixtures("production_policy")
@pytest.mark.parametrize("base_url", ["http://2130706433/v1", "https://0x7f.1/v1", "https://0.0.0.0/v1"])
def test_numeric_spellings_of_local_addresses_are_refused(alice, base_url):
    assert "base_url" in form_for(base_url, alice).errors


@pytest.mark.usefixtures("production_policy")
def test_names_are_left_to_the_connection(alice):
    # No lookup at save time: a name is judged when a request is made, on the address actually used.
    assert form_for("https://models.internal.example/v1", alice).is_valid()


def test_private_and_http_endpoints_pass_when_allowed(alice, settings):
    settings.NOVAWEB_ALLOW_PRIVATE_ENDPOINTS = True
    assert form_for("http://127.0.0.1:11434/v1", alice).is_valid()
    assert form_for("https://localhost:8000/v1", alice).is_valid()
    assert "never contacted" in form_for("https://169.254.169.254/v1", alice).errors["base_url"][0]


def test_the_setting_reaches_the_provider_layer(settings):
    settings.NOVAWEB_ALLOW_PRIVATE_ENDPOINTS = False
    assert egress.current_policy() == egress.EgressPolicy(allow_private=False, allow_http=False)
    settings.NOVAWEB_ALLOW_PRIVATE_ENDPOINTS = True
    assert egress.current_policy() == egress.EgressPolicy(allow_private=True, allow_http=True)
