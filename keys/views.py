from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from keys.access import access_own_credential
from keys.actions import (
    do_add_credential,
    do_delete_credential,
    do_record_probe,
    do_rename_credential,
    do_replace_secret,
    do_save_chat_defaults,
)
from keys.forms import ChatDefaultsForm, CredentialForm, RenameCredentialForm, ReplaceSecretForm
from keys.granted import granted_keys, offered_models
from keys.models import MAX_INSTRUCTIONS_CHARS, ChatDefaults, Credential
from keys.parameters_panel import param_rows, params_from_form
from keys.probe import Probe, probe_credential
from providers.presets import PRESETS


@require_GET
def settings_home(request):
    return redirect("keys:list")


def _keys_page(request, form, status=200):
    credentials = Credential.objects.managed_by(request.user).defer("models_cache")
    context = {
        "form": form,
        "rows": [_row(credential) for credential in credentials],
        # Shared keys lent to this person: label, budget and limits only (managed under /team/keys/).
        "granted": list(granted_keys(request.user).values()),
        "presets": PRESETS,
    }
    return TemplateResponse(request, "keys/keys.html", context, status=status)


@require_http_methods(["GET", "POST"])
def key_list(request):
    if request.method == "POST":
        form = CredentialForm(request.POST, owner=request.user)
        if form.is_valid():
            data = form.cleaned_data
            credential = do_add_credential(
                request.user, preset=data["provider"], label=data["label"], **form.endpoint_fields()
            )
            messages.success(
                request,
                f"Saved “{credential.label}”. The key is stored encrypted and will not be shown again.",
            )
            return redirect("keys:list")
        return _keys_page(request, form, status=400)
    return _keys_page(request, CredentialForm(owner=request.user))


@require_POST
def key_rename(request, credential_id):
    credential = access_own_credential(request.user, credential_id)
    form = RenameCredentialForm(request.POST)
    if form.is_valid():
        label = form.cleaned_data["label"].strip()
        taken = Credential.objects.managed_by(request.user).filter(label=label).exclude(pk=credential.pk)
        if label and not taken.exists():
            do_rename_credential(credential, label)
            messages.success(request, f"Renamed to “{label}”.")
        else:
            messages.error(request, "That label is empty or already used by another of your keys.")
    else:
        messages.error(request, "A label has 1 to 80 characters.")
    return redirect("keys:list")


@require_POST
def key_delete(request, credential_id):
    credential = access_own_credential(request.user, credential_id)
    label = credential.label
    do_delete_credential(credential)
    messages.success(request, f"Deleted “{label}”.")
    return redirect("keys:list")


def _row(credential, *, check=None, secret_form=None) -> dict:
    """What one key's row shows: the key, the outcome of a test just run, and its replace-secret form."""
    return {
        "credential": credential,
        "check": check,
        "secret_form": secret_form or ReplaceSecretForm(credential=credential),
    }


def _row_response(request, credential, **row):
    if request.htmx:
        return TemplateResponse(request, "keys/keys.html#key-row", {"row": _row(credential, **row)})
    check = row.get("check")
    if check is not None:
        (messages.success if check.ok else messages.error)(request, f"{credential.label}: {check.summary}")
    return redirect("keys:list")


@require_POST
def key_check(request, credential_id):
    """ "Test connection" and "Refresh models" alike: one model-list call, which both proves the key and
    refreshes the cached list; the outcome in words in the key's row."""
    credential = access_own_credential(request.user, credential_id)
    probe = probe_credential(credential)
    do_record_probe(credential, probe)
    return _row_response(request, credential, check=probe)


@require_POST
def key_replace_secret(request, credential_id):
    credential = access_own_credential(request.user, credential_id)
    form = ReplaceSecretForm(request.POST, credential=credential)
    if not form.is_valid():
        if request.htmx:  # the row again, with the errors beside the fields (htmx swaps only 2xx answers)
            return _row_response(request, credential, secret_form=form)
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("keys:list")
    do_replace_secret(credential, **form.endpoint_fields())
    done = Probe(True, "Secret replaced. It is stored encrypted and will not be shown again.")
    if request.htmx:
        return _row_response(request, credential, check=done)
    messages.success(request, f"{credential.label}: {done.summary}")
    return redirect("keys:list")


def _defaults_context(request, form, credential, params):
    preset = PRESETS.get(credential.preset) if credential else None
    granted = None
    if credential is not None and credential.is_shared:  # only the models the person's grants allow
        granted = granted_keys(request.user, [credential.pk]).get(credential.pk)
    return {
        "form": form,
        "param_rows": param_rows(preset, params),
        "models": offered_models(credential, granted),
        "preset": preset,
        "max_instructions": MAX_INSTRUCTIONS_CHARS,
    }


@require_http_methods(["GET", "POST"])
def chat_defaults(request):
    """What new chats start with. Changing the key re-renders the parameters for that key's provider."""
    # Any key the person may chat with, shared ones included; only one key's model list is shown.
    credentials = list(Credential.objects.usable_by(request.user).defer("models_cache"))
    by_id = {c.pk: c for c in credentials}
    saved = ChatDefaults.objects.filter(user=request.user).first()
    if request.method == "POST":
        form = ChatDefaultsForm(request.POST, credentials=credentials)
        if form.is_valid():
            credential = by_id.get(form.cleaned_data["credential"])
            preset = PRESETS.get(credential.preset) if credential else None
            do_save_chat_defaults(
                request.user,
                credential=credential,
                model=form.cleaned_data["model"],
                params=params_from_form(preset, request.POST),
                instructions=form.cleaned_data["instructions"],
            )
            messages.success(request, "Saved. New chats start with these settings.")
            return redirect("keys:defaults")
        context = _defaults_context(request, form, None, {})
        return TemplateResponse(request, "keys/defaults.html", context, status=400)
    if request.htmx and "credential" in request.GET:
        # The key picker changed: only the model list and the parameters for its provider.
        try:
            credential = by_id.get(int(request.GET["credential"]))
        except ValueError:
            credential = None
        form = ChatDefaultsForm(credentials=credentials)
        context = _defaults_context(request, form, credential, {})
        return TemplateResponse(request, "keys/defaults.html#defaults-params", context)
    initial = (
        {"credential": saved.credential_id, "model": saved.model, "instructions": saved.instructions}
        if saved
        else {}
    )
    form = ChatDefaultsForm(initial=initial, credentials=credentials)
    credential = by_id.get(saved.credential_id) if saved else None
    context = _defaults_context(request, form, credential, saved.params if saved else {})
    return TemplateResponse(request, "keys/defaults.html", context)
