from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from keys.access import access_credential
from keys.actions import do_add_credential, do_delete_credential, do_rename_credential
from keys.forms import CredentialForm, RenameCredentialForm
from keys.models import Credential
from providers.presets import PRESETS


@require_GET
def settings_home(request):
    return redirect("keys:list")


def _keys_page(request, form, status=200):
    context = {
        "form": form,
        "credentials": Credential.objects.for_user(request.user),
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
                request.user,
                preset=data["provider"],
                label=data["label"],
                base_url=data["base_url"],
                auth_style=data["auth_style"],
                auth_header=data["auth_header"],
                secret=data["api_key"],
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
    credential = access_credential(request.user, credential_id)
    form = RenameCredentialForm(request.POST)
    if form.is_valid():
        label = form.cleaned_data["label"].strip()
        taken = Credential.objects.for_user(request.user).filter(label=label).exclude(pk=credential.pk)
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
    credential = access_credential(request.user, credential_id)
    label = credential.label
    do_delete_credential(credential)
    messages.success(request, f"Deleted “{label}”.")
    return redirect("keys:list")
