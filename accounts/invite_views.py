"""Team → Invites: make sign-up links (shown once, with a copy button), list them with their status, revoke.

The link's token exists only in the response that shows it: the database keeps its hash, so a link lost
is a link to revoke and make again, never one to look up.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import access_invite
from accounts.actions import ActionError, do_create_invite, do_revoke_invite
from accounts.models import Invite
from accounts.permissions import admin_required
from accounts.team_forms import InviteForm
from accounts.views import invite_link

PER_PAGE = 25


def _invites_context(request, form, link=""):
    invites = Invite.objects.select_related("team", "created_by", "used_by").order_by("-created_at", "-pk")
    return {
        "form": form,
        "link": link,
        "page": Paginator(invites, PER_PAGE).get_page(request.GET.get("page")),
    }


@never_cache  # the response to a new invite carries its link: no cache may keep it
@require_http_methods(["GET", "POST"])
@admin_required
def invites(request):
    form = InviteForm(request.POST if request.method == "POST" else None)
    link = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _, token = do_create_invite(
                request.user, role=data["role"], team=data["team"], days=data["days"], note=data["note"]
            )
        except ActionError as exc:
            form.add_error(None, str(exc))
        else:
            link = invite_link(request, token)
            form = InviteForm()
    context = _invites_context(request, form, link)
    if request.htmx:
        return TemplateResponse(request, "team/invites.html#invites-area", context)
    return TemplateResponse(request, "team/invites.html", context)


@require_POST
@admin_required
def invite_revoke(request, invite_id):
    invite = access_invite(request.user, invite_id)
    notice = error = ""
    try:
        invite = do_revoke_invite(request.user, invite)
        notice = "Revoked: this link no longer works."
    except ActionError as exc:
        error = str(exc)
    if not request.htmx:
        (messages.error if error else messages.success)(request, error or notice)
        return redirect("team:invites")
    context = {"invite": access_invite(request.user, invite.pk), "notice": notice, "error": error}
    return TemplateResponse(request, "team/invites.html#invite-row", context)
