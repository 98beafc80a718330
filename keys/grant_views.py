"""Grants of a shared key (admins only): grant to a person or a team, change the limits, revoke.

Each answers htmx with the key page's grants section (errors beside the fields, always 2xx), and a plain
form post with a redirect and a message.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.permissions import admin_required
from keys.access import access_grant, access_shared_credential
from keys.grant_rows import limits_form
from keys.shared_actions import GrantExists, do_change_grant, do_grant, do_revoke_grant
from keys.team_forms import NewGrantForm
from keys.team_views import KEY_PAGE, key_context


def _answer(request, credential, done="", *, grant=None, failed=False, **forms):
    """`grant`: the grant made or changed. Its row says `done` and takes the focus (htmx), or the page
    opens at it (a plain post), so the outcome shows where the person is rather than atop the section."""
    if request.htmx:
        context = key_context(credential, done=done, done_grant=grant and grant.pk, **forms)
        return TemplateResponse(request, f"{KEY_PAGE}#grants", context)
    if failed:
        return TemplateResponse(request, KEY_PAGE, key_context(credential, **forms), status=400)
    if done:
        messages.success(request, done)
    page = reverse("team_keys:key", args=[credential.pk])
    return redirect(f"{page}#grant-{grant.pk}" if grant is not None else page)


@require_POST
@admin_required
def grant_create(request, credential_id):
    credential = access_shared_credential(request.user, credential_id)
    form = NewGrantForm(request.POST, credential=credential, auto_id="id_new_%s")
    if form.is_valid():
        grantee = form.cleaned_data["grantee"]
        try:
            grant = do_grant(request.user, credential, **form.grantee_kwargs(), **form.limits())
        except GrantExists as exists:
            form.add_error("grantee", str(exists))
        else:
            who = getattr(grantee, "username", None) or f"the team {grantee.name}"
            return _answer(request, credential, f"Granted “{credential.label}” to {who}.", grant=grant)
    return _answer(request, credential, failed=True, new_grant_form=form)


@require_POST
@admin_required
def grant_change(request, credential_id, grant_id):
    credential = access_shared_credential(request.user, credential_id)
    grant = access_grant(request.user, credential, grant_id)
    if grant.revoked_at is not None:
        return _answer(request, credential, "That grant was revoked; grant the key again instead.")
    form = limits_form(credential, grant, request.POST)
    if not form.is_valid():
        return _answer(request, credential, failed=True, edit_forms={grant.pk: form})
    changed = do_change_grant(request.user, grant, **form.limits())
    who = grant.user.username if grant.user_id else f"the team {grant.team.name}"
    done = (
        f"Limits of {who} changed; the next request meets them." if changed else f"Nothing changed for {who}."
    )
    return _answer(request, credential, done, grant=grant)


@require_POST
@admin_required
def grant_revoke(request, credential_id, grant_id):
    credential = access_shared_credential(request.user, credential_id)
    grant = access_grant(request.user, credential, grant_id)
    do_revoke_grant(request.user, grant)
    who = grant.user.username if grant.user_id else f"the team {grant.team.name}"
    return _answer(
        request,
        credential,
        f"Revoked the grant to {who}: their next request on “{credential.label}” is refused.",
    )
