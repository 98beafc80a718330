"""Shared keys under /team/keys/ (admins only): list and add, and each key's page (test, rename, replace
the secret, delete). Its grants are handled in keys/grant_views.py. The secret is write-only here too: only
its last four characters are shown, to admins."""

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import admin_required
from keys.access import access_shared_credential
from keys.actions import do_record_probe
from keys.forms import RenameCredentialForm, ReplaceSecretForm
from keys.grant_rows import grant_rows, revoked_grants
from keys.models import Credential
from keys.probe import Probe, probe_credential
from keys.shared_actions import (
    do_add_shared_key,
    do_delete_shared_key,
    do_rename_shared_key,
    do_replace_shared_secret,
)
from keys.team_forms import NewGrantForm, SharedKeyForm
from providers.presets import PRESETS

KEYS_PAGE = "keys/team_keys.html"
KEY_PAGE = "keys/team_key.html"


def _keys_page(request, form, status=200):
    keys = (
        Credential.objects.shared()
        .defer("models_cache", "ciphertext")
        .annotate(live_grants=Count("grants", filter=Q(grants__revoked_at__isnull=True)))
    )
    context = {"form": form, "keys": keys, "presets": PRESETS}
    return TemplateResponse(request, KEYS_PAGE, context, status=status)


@require_http_methods(["GET", "POST"])
@admin_required
def shared_key_list(request):
    if request.method == "POST":
        form = SharedKeyForm(request.POST)
        if not form.is_valid():
            return _keys_page(request, form, status=400)
        data = form.cleaned_data
        credential = do_add_shared_key(
            request.user, preset=data["provider"], label=data["label"], **form.endpoint_fields()
        )
        messages.success(
            request,
            f"Saved “{credential.label}”. The key is stored encrypted and will not be shown again; "
            "grant it to people or teams below.",
        )
        return redirect("team_keys:key", credential_id=credential.pk)
    return _keys_page(request, SharedKeyForm())


def key_context(
    credential,
    *,
    check=None,
    secret_form=None,
    new_grant_form=None,
    edit_forms=None,
    done="",
    done_grant=None,
):
    """Everything the key's page shows. `done` is the outcome line of the last grant change (htmx), shown
    in the row of `done_grant` (the grant made or changed: where the person is) or atop the grants."""
    return {
        "credential": credential,
        "check": check,
        "secret_form": secret_form or ReplaceSecretForm(credential=credential),
        "rows": grant_rows(credential, edit_forms),
        "revoked": revoked_grants(credential),
        "new_grant_form": new_grant_form or NewGrantForm(credential=credential, auto_id="id_new_%s"),
        "done": done,
        "done_grant": done_grant,
    }


@require_GET
@admin_required
def shared_key_page(request, credential_id):
    credential = access_shared_credential(request.user, credential_id)
    return TemplateResponse(request, KEY_PAGE, key_context(credential))


def _key_card(request, credential, **parts):
    """The key's card again (htmx), or back to its page with the outcome as a message."""
    if request.htmx:
        context = {"credential": credential, **parts}
        context.setdefault("secret_form", ReplaceSecretForm(credential=credential))
        return TemplateResponse(request, f"{KEY_PAGE}#key-card", context)
    check = parts.get("check")
    if check is not None:
        (messages.success if check.ok else messages.error)(request, f"{credential.label}: {check.summary}")
    return redirect("team_keys:key", credential_id=credential.pk)


@require_POST
@admin_required
def shared_key_check(request, credential_id):
    """Test connection and Refresh models: one model-list call, the outcome in words on the key's card."""
    credential = access_shared_credential(request.user, credential_id)
    probe = probe_credential(credential)
    do_record_probe(credential, probe)
    return _key_card(request, credential, check=probe)


@require_POST
@admin_required
def shared_key_rename(request, credential_id):
    credential = access_shared_credential(request.user, credential_id)
    form = RenameCredentialForm(request.POST)
    label = form.cleaned_data["label"].strip() if form.is_valid() else ""
    taken = Credential.objects.shared().filter(label=label).exclude(pk=credential.pk).exists()
    if not label or taken:
        messages.error(request, "A label has 1 to 80 characters and is not used by another shared key.")
    elif label != credential.label:
        do_rename_shared_key(request.user, credential, label)
        messages.success(request, f"Renamed to “{label}”.")
    return redirect("team_keys:key", credential_id=credential.pk)


@require_POST
@admin_required
def shared_key_replace_secret(request, credential_id):
    """A new secret for everyone with a grant: their next request uses it, their chats are untouched."""
    credential = access_shared_credential(request.user, credential_id)
    form = ReplaceSecretForm(request.POST, credential=credential)
    if not form.is_valid():
        if request.htmx:  # the card again, with the errors beside the fields (htmx swaps only 2xx answers)
            return _key_card(request, credential, secret_form=form)
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("team_keys:key", credential_id=credential.pk)
    do_replace_shared_secret(request.user, credential, **form.endpoint_fields())
    done = Probe(
        True, "Secret replaced. Every grant uses it from the next request; it will not be shown again."
    )
    return _key_card(request, credential, check=done)


@require_POST
@admin_required
def shared_key_delete(request, credential_id):
    credential = access_shared_credential(request.user, credential_id)
    label = credential.label
    do_delete_shared_key(request.user, credential)
    messages.success(request, f"Deleted “{label}” and its grants. Its usage stays in the ledger.")
    return redirect("team_keys:list")
