"""Settings → Chat defaults: what new chats start with."""

from django.urls import reverse
from django.utils import timezone

from chat.actions import do_create_conversation
from keys.models import ChatDefaults, Credential


def test_defaults_are_cleaned_saved_and_used_by_new_chats(client, alice, make_key):
    key = make_key(alice, preset="novakit", dialect="novakit")
    client.force_login(alice)
    page = client.get(reverse("keys:defaults"))
    assert page.status_code == 200 and "Chat defaults" in page.content.decode()
    response = client.post(
        reverse("keys:defaults"),
        {"credential": key.pk, "model": " openai/gpt-4o ", "p_temperature": "9", "p_web_search": "true", "p_top_k": "3"},
    )  # fmt: skip
    assert response.status_code == 302
    defaults = ChatDefaults.objects.get(user=alice)
    assert defaults.model == "openai/gpt-4o"
    assert defaults.params == {"temperature": 2.0, "web_search": True}
    conversation = do_create_conversation(alice)
    assert (conversation.credential_id, conversation.model, conversation.params) == (
        key.pk, "openai/gpt-4o", {"temperature": 2.0, "web_search": True},
    )  # fmt: skip
    shown = client.get(reverse("keys:defaults")).content.decode()
    assert 'name="p_temperature" value="2"' in shown and 'name="p_web_search" value="true" checked' in shown


def test_the_key_picker_swaps_in_that_providers_parameters(client, alice, make_key):
    novita = make_key(alice, preset="novita", dialect="novita")
    client.force_login(alice)
    html = client.get(reverse("keys:defaults"), {"credential": novita.pk}, headers={"HX-Request": "true"})
    html = html.content.decode()
    assert html.lstrip().startswith('<div id="defaults-params">')
    assert "p_repetition_penalty" in html and "p_web_search" not in html


def test_defaults_never_use_or_show_another_persons_key(client, alice, bob, make_key):
    bobs = make_key(bob, preset="novisurf", dialect="novisurf", label="Bob's secret key")
    client.force_login(alice)
    assert "Bob&#x27;s secret key" not in client.get(reverse("keys:defaults")).content.decode()
    response = client.post(reverse("keys:defaults"), {"credential": bobs.pk, "model": "m"})
    assert response.status_code == 400
    assert not ChatDefaults.objects.filter(user=alice).exists()
    for junk in ({"credential": "x"}, {"credential": "", "model": "a" * 500}, {}):
        assert client.post(reverse("keys:defaults"), junk).status_code in (302, 400)
    assert (
        client.get(
            reverse("keys:defaults"), {"credential": "junk"}, headers={"HX-Request": "true"}
        ).status_code
        == 200
    )


def test_a_shared_keys_model_list_offers_only_what_the_persons_grant_allows(
    client, alice, bob, make_shared_key, make_grant
):
    shared = make_shared_key(alice, label="Team GPT")
    shared.models_cache = [{"id": "small", "tier": "free"}, {"id": "large"}, {"id": "huge"}]
    shared.save(update_fields=["models_cache"])
    make_grant(alice, shared, user=bob, allowed_models=["small", "large"])
    client.force_login(bob)
    html = client.get(reverse("keys:defaults"), {"credential": shared.pk}, headers={"HX-Request": "true"})
    html = html.content.decode()
    assert '<option value="small" label="free tier">' in html and '<option value="large">' in html
    assert "huge" not in html


def test_a_first_chat_starts_on_a_key_that_works_not_the_first_by_name(client, alice, make_key):
    """No defaults, no earlier chat: not "Alpha" because it sorts first, when its last check failed."""
    broken = make_key(alice, label="Alpha")
    Credential.objects.filter(pk=broken.pk).update(last_error="OpenAI-compatible: the key was rejected.")
    working = make_key(alice, label="Beta")
    newer = make_key(alice, label="Gamma")
    client.force_login(alice)
    conversation = do_create_conversation(alice)
    page = client.get(reverse("chat:conversation", args=[conversation.pk]))
    assert page.context["selected_credential"] == newer.pk  # none used yet: the newest that works
    Credential.objects.filter(pk=working.pk).update(last_used_at=timezone.now())
    page = client.get(reverse("chat:conversation", args=[conversation.pk]))
    assert page.context["selected_credential"] == working.pk  # the one in use
