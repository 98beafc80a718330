import pytest
from django.db import connection
from django.urls import reverse

from keys import crypto
from keys.models import Credential

CANARY = "sk-CANARY-5f3e1d2c9b8a7f6e"


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def add_key(client, **overrides):
    data = {
        "provider": "novisurf",
        "label": "Team Novisurf",
        "base_url": "",
        "auth_style": "x-api-key",
        "auth_header": "",
        "api_key": CANARY,
    }
    data.update(overrides)
    return client.post(reverse("keys:list"), data)


def test_a_saved_key_is_encrypted_and_never_shown_again(signed_in, alice):
    response = add_key(signed_in)
    assert response.status_code == 302
    credential = Credential.objects.get(owner=alice)
    assert credential.base_url == "https://api2.novisurf.top/v1"  # the preset's default
    assert credential.auth_style == "x-api-key"
    assert credential.last4 == CANARY[-4:]
    assert credential.ciphertext.startswith("gAAAAA")
    assert crypto.decrypt(credential.ciphertext) == CANARY
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM keys_credential")
        raw = repr(cursor.fetchall())
    assert CANARY not in raw
    page = signed_in.get(reverse("keys:list")).content.decode()
    assert "Team Novisurf" in page and "••••" + CANARY[-4:] in page
    assert CANARY not in page and CANARY[:12] not in page


def test_a_rejected_form_does_not_echo_the_secret(signed_in):
    response = add_key(signed_in, label="")
    assert response.status_code == 400
    assert CANARY not in response.content.decode()
    assert not Credential.objects.exists()


def test_openai_compatible_needs_a_base_url_and_a_valid_custom_header(signed_in):
    response = add_key(signed_in, provider="openai", base_url="", auth_style="bearer")
    assert response.status_code == 400 and b"needs a base URL" in response.content
    response = add_key(
        signed_in,
        provider="openai",
        base_url="http://127.0.0.1:9/v1",
        auth_style="header",
        auth_header="Content-Type",
    )
    assert response.status_code == 400
    response = add_key(
        signed_in,
        provider="openai",
        base_url="http://127.0.0.1:9/v1",
        auth_style="header",
        auth_header="X-Api-Token",
    )
    assert response.status_code == 302
    assert Credential.objects.get().auth_header == "X-Api-Token"


def test_auth_style_not_offered_by_a_provider_falls_back_to_its_own(signed_in):
    add_key(signed_in, provider="novakit", auth_style="x-api-key")
    assert Credential.objects.get().auth_style == "bearer"


@pytest.mark.parametrize(
    "garbage",
    [
        {},
        {"provider": "nope"},
        {"api_key": "with space inside"},
        {"api_key": "x" * 5000},
        {"base_url": "javascript:alert(1)"},
        {"label": "x" * 500},
        {"api_key": "short"},
    ],
)
def test_garbage_gets_a_clear_400_never_a_500(signed_in, garbage):
    response = add_key(signed_in, **garbage) if garbage else signed_in.post(reverse("keys:list"), {})
    assert response.status_code == 400
    assert not Credential.objects.exists()


def test_private_endpoints_refused_when_not_allowed(signed_in, settings):
    settings.NOVAWEB_ALLOW_PRIVATE_ENDPOINTS = False
    response = add_key(signed_in, provider="openai", base_url="http://127.0.0.1:9/v1", auth_style="bearer")
    assert response.status_code == 400 and b"https://" in response.content


def test_rename_and_delete(signed_in, alice):
    add_key(signed_in)
    credential = Credential.objects.get()
    signed_in.post(reverse("keys:rename", args=[credential.pk]), {"label": "Renamed"})
    credential.refresh_from_db()
    assert credential.label == "Renamed"
    signed_in.post(reverse("keys:delete", args=[credential.pk]))
    assert not Credential.objects.exists()


def test_someone_elses_key_is_a_404(client, alice, bob, make_key):
    key = make_key(alice)
    client.force_login(bob)
    assert client.post(reverse("keys:rename", args=[key.pk]), {"label": "mine"}).status_code == 404
    assert client.post(reverse("keys:delete", args=[key.pk])).status_code == 404
    assert Credential.objects.filter(pk=key.pk, label=key.label).exists()
    assert key.label not in client.get(reverse("keys:list")).content.decode()


def test_tampered_ciphertext_is_reported_not_crashed():
    token = crypto.encrypt("secret-value")
    broken = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(broken)


def test_rotation_old_keys_still_decrypt(settings):
    from cryptography.fernet import Fernet

    old = settings.NOVAWEB_ENCRYPTION_KEYS
    token = crypto.encrypt("rotate-me")
    settings.NOVAWEB_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old]
    crypto.reset_cache()
    try:
        assert crypto.decrypt(token) == "rotate-me"
    finally:
        settings.NOVAWEB_ENCRYPTION_KEYS = old
        crypto.reset_cache()
