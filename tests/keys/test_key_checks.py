"""Test connection, refresh models and replace secret, against the fake provider speaking each dialect."""

import pytest
from django.urls import reverse

from keys import crypto
from keys.models import Credential

SECRET = "sk-test-CANARY-0123456789"


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def check(client, credential, htmx=True):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(reverse("keys:check", args=[credential.pk]), headers=headers)


@pytest.mark.parametrize(
    ("preset", "dialect", "auth_style", "expected"),
    [
        ("novakit", "novakit", "bearer", "Works — 2"),  # 200+ models
        ("novisurf", "novisurf", "x-api-key", "Works — "),
        ("novisurf", "novisurf", "bearer", "Works — "),
        ("novita", "novita", "bearer", "Works — "),
        ("novita", "novita-openai", "bearer", "Works — "),
        ("openai", "openai", "bearer", "Works — "),
    ],
)
def test_test_connection_works_for_every_preset_and_caches_the_models(
    signed_in, alice, make_key, fake, preset, dialect, auth_style, expected
):
    credential = make_key(alice, preset=preset, dialect=dialect, auth_style=auth_style)
    response = check(signed_in, credential)
    assert response.status_code == 200
    html = response.content.decode()
    assert expected in html and 'class="key-check ok"' in html
    credential.refresh_from_db()
    assert credential.models_fetched_at is not None and credential.last_used_at is not None
    assert len(credential.models_cache) >= 1 and credential.last_error == ""
    [request] = fake.requests
    assert request["method"] == "GET" and request["path"].endswith("/models")
    # Exactly one header carries the key, in the key's style.
    carriers = [name for name, value in request["headers"].items() if SECRET in value]
    assert carriers == (["x-api-key"] if auth_style == "x-api-key" else ["authorization"])
    assert SECRET not in html


def test_novakit_models_keep_their_tiers(signed_in, alice, make_key):
    credential = make_key(alice, preset="novakit", dialect="novakit")
    check(signed_in, credential)
    credential.refresh_from_db()
    assert len(credential.models_cache) >= 200
    by_id = {m["id"]: m for m in credential.models_cache}
    assert by_id["openai/gpt-4o-mini"] == {"id": "openai/gpt-4o-mini", "tier": "basic", "vision": True}
    assert by_id["meta-llama/llama-3.1-8b"]["vision"] is False


@pytest.mark.parametrize(
    ("preset", "dialect", "secret", "words"),
    [
        ("novisurf", "novisurf", "lsk_invalid_0000000", "Novisurf: the key was rejected — check"),
        ("novisurf", "novisurf", "lsk_broke_00000000", "Novisurf: out of credits — top up your account."),
        ("novakit", "novakit", "sk_broke_000000000", "NovaKit: out of credits — top up your account."),
        ("novakit", "novakit", "sk_noscope_0000000", "NovaKit: your key lacks the chat scope"),
        ("novita", "novita", "nv_broke_000000000", "Novita AI: out of credits — top up your account."),
        ("novita", "novita", "nv_invalid_0000000", "Novita AI: the key was rejected — check the key."),
    ],
)
def test_test_connection_says_what_is_wrong(signed_in, alice, make_key, preset, dialect, secret, words):
    credential = make_key(alice, preset=preset, dialect=dialect, secret=secret)
    html = check(signed_in, credential).content.decode()
    assert words in html and 'class="key-check bad"' in html
    assert secret not in html
    credential.refresh_from_db()
    assert credential.last_error and secret not in credential.last_error
    assert credential.models_fetched_at is None


def test_test_connection_to_a_dead_host_says_cannot_reach(signed_in, alice):
    from keys.actions import do_add_credential

    credential = do_add_credential(
        alice, preset="openai", label="Dead", base_url="http://127.0.0.1:9/v1", auth_style="bearer",
        auth_header="", secret=SECRET,
    )  # fmt: skip
    html = check(signed_in, credential).content.decode()
    assert "OpenAI-compatible: cannot reach 127.0.0.1" in html


def test_a_server_without_a_model_list_is_reachable_but_says_so(signed_in, alice, fake_provider):
    from keys.actions import do_add_credential

    credential = do_add_credential(
        alice, preset="openai", label="No list", base_url=fake_provider.url + "/nowhere/v1",
        auth_style="bearer", auth_header="", secret=SECRET,
    )  # fmt: skip
    html = check(signed_in, credential).content.decode()
    assert "Reachable — this server lists no models" in html


def test_without_htmx_the_outcome_is_a_flash_message(signed_in, alice, make_key):
    credential = make_key(alice, preset="novisurf", dialect="novisurf", auth_style="x-api-key")
    response = check(signed_in, credential, htmx=False)
    assert response.status_code == 302
    page = signed_in.get(reverse("keys:list")).content.decode()
    assert f"{credential.label}: Works — " in page


def test_nobody_tests_or_replaces_another_persons_key(client, alice, bob, make_key):
    credential = make_key(alice)
    client.force_login(bob)
    assert check(client, credential).status_code == 404
    url = reverse("keys:replace-secret", args=[credential.pk])
    assert (
        client.post(
            url, {"api_key": "sk-stolen-000000000", "base_url": "", "auth_style": "bearer"}
        ).status_code
        == 404
    )
    credential.refresh_from_db()
    assert crypto.decrypt(credential.ciphertext) == SECRET


def test_replacing_the_secret_can_move_the_key_and_forgets_the_old_list(
    signed_in, alice, make_key, fake_provider
):
    credential = make_key(alice, preset="novita", dialect="novita")
    check(signed_in, credential)
    new_base = fake_provider.base_url("novita-openai")
    response = signed_in.post(
        reverse("keys:replace-secret", args=[credential.pk]),
        {"api_key": "nv-new-SECRET-9876", "base_url": new_base, "auth_style": "bearer"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and "Secret replaced." in response.content.decode()
    assert "nv-new-SECRET-9876" not in response.content.decode()
    credential.refresh_from_db()
    assert credential.base_url == new_base and credential.last4 == "9876"
    assert crypto.decrypt(credential.ciphertext) == "nv-new-SECRET-9876"
    assert credential.models_cache == [] and credential.models_fetched_at is None


def test_the_address_cannot_change_without_the_secret(signed_in, alice, make_key):
    credential = make_key(alice)
    before = Credential.objects.get(pk=credential.pk)
    response = signed_in.post(
        reverse("keys:replace-secret", args=[credential.pk]),
        {"api_key": "", "base_url": "https://evil.example/v1", "auth_style": "bearer"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "This field is required." in html
    credential.refresh_from_db()
    assert (credential.base_url, credential.ciphertext) == (before.base_url, before.ciphertext)


def test_replace_secret_never_500s_on_garbage(signed_in, alice, make_key):
    credential = make_key(alice, preset="openai")
    url = reverse("keys:replace-secret", args=[credential.pk])
    for data in (
        {},
        {"api_key": "x" * 5000},
        {"api_key": "sk-ok-0000000000", "auth_style": "header", "auth_header": "Host"},
        {"api_key": "sk-ok-0000000000", "base_url": "javascript:alert(1)"},
        {"api_key": "sk-ok-\x00-000000", "base_url": "\x00"},
    ):
        assert signed_in.post(url, data, headers={"HX-Request": "true"}).status_code == 200
    credential.refresh_from_db()
    assert crypto.decrypt(credential.ciphertext) == SECRET
