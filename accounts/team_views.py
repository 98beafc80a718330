"""The team area's overview, its teams (create, rename, delete, members) and the sign-up policy.

Admins only (admin_required); every team is fetched through access_team. htmx requests get the changed
card back in place; form mistakes come back as 200 with the message, since htmx swaps only 2xx answers.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.db.models.functions import Lower
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import access_person, access_person_by_name, access_team
from accounts.actions import ActionError, do_set_signup_policy
from accounts.models import Invite, Team, User, Workspace
from accounts.people_views import people_counts
from accounts.permissions import admin_required
from accounts.team_actions import (
    do_add_member,
    do_create_team,
    do_delete_team,
    do_remove_member,
    do_rename_team,
)
from accounts.team_forms import POLICY_SAVED, SignupPolicyForm, TeamNameForm, policy_options

TEAMS_PER_PAGE = 20


@require_GET
@admin_required
def team_home(request):
    context = {
        "counts": people_counts(),
        "team_count": Team.objects.count(),
        "invite_count": Invite.objects.usable().count(),
        "policy": Workspace.current().get_signup_policy_display().split(":")[0],
    }
    return TemplateResponse(request, "team/home.html", context)


def _teams():
    members = Prefetch("members", queryset=User.objects.order_by(Lower("username")))
    return Team.objects.prefetch_related(members).order_by(Lower("name"), "pk")


def _teams_context(request, form=None, created=""):
    return {
        "page": Paginator(_teams(), TEAMS_PER_PAGE).get_page(request.GET.get("page")),
        "form": form or TeamNameForm(),
        "created": created,  # not "notice": each card has its own
        # One list of names for every team's "add a person" field.
        "people": User.objects.filter(is_active=True)
        .order_by(Lower("username"))
        .values_list("username", flat=True),
    }


@require_http_methods(["GET", "POST"])
@admin_required
def teams(request):
    form = TeamNameForm(request.POST if request.method == "POST" else None)
    created = ""
    if request.method == "POST" and form.is_valid():
        try:
            team = do_create_team(request.user, form.cleaned_data["name"])
        except ActionError as exc:
            form.add_error("name", str(exc))
        else:
            if not request.htmx:
                messages.success(request, f"Team “{team.name}” created.")
                return redirect("team:teams")
            form, created = TeamNameForm(), f"Team “{team.name}” created. Add people to it below."
    context = _teams_context(request, form, created)
    if request.htmx:
        return TemplateResponse(request, "team/teams.html#teams-area", context)
    return TemplateResponse(request, "team/teams.html", context)


def _card(request, team, *, notice="", error="", confirm=False, rename_error=""):
    """One team's card (htmx) or, without htmx, the Teams page with the sentence as a flash message."""
    if not request.htmx:
        if notice or error or rename_error:
            (messages.error if error or rename_error else messages.success)(
                request, error or rename_error or notice
            )
        return redirect(reverse("team:teams") + f"#team-{team.pk}")
    context = {
        "team": _teams().get(pk=team.pk),
        "notice": notice,
        "error": error,
        "rename_error": rename_error,
        "confirm": confirm,
    }
    return TemplateResponse(request, "team/teams.html#team-card", context)


@require_GET
@admin_required
def team(request, team_id):
    """A team's card as it is: after Cancel, or asking to confirm deleting it (?confirm=delete)."""
    team = access_team(request.user, team_id)
    return _card(request, team, confirm=request.GET.get("confirm") == "delete")


@require_POST
@admin_required
def team_rename(request, team_id):
    team = access_team(request.user, team_id)
    form = TeamNameForm(request.POST)
    if not form.is_valid():
        return _card(request, team, rename_error="A team name has 1 to 80 characters.")
    old = team.name
    try:
        team = do_rename_team(request.user, team, form.cleaned_data["name"])
    except ActionError as exc:
        return _card(request, team, rename_error=str(exc))
    return _card(request, team, notice=f"Renamed “{old}” to “{team.name}”." if old != team.name else "")


@require_POST
@admin_required
def team_delete(request, team_id):
    team = access_team(request.user, team_id)
    if request.POST.get("confirmed") != "yes":
        return _card(request, team, confirm=True)
    name = team.name
    do_delete_team(request.user, team)
    if not request.htmx:
        messages.success(request, f"Team “{name}” deleted.")
        return redirect("team:teams")
    return TemplateResponse(request, "team/teams.html#team-deleted", {"name": name})


@require_POST
@admin_required
def team_add_member(request, team_id):
    team = access_team(request.user, team_id)
    try:
        person = access_person_by_name(request.user, request.POST.get("username"))
    except Http404:
        return _card(request, team, error="Nobody here has that username — pick a name from the list.")
    if not person.is_active:
        return _card(request, team, error=f"{person.username} is deactivated; reactivate them first.")
    if do_add_member(request.user, team, person):
        return _card(request, team, notice=f"Added {person.username} to {team.name}.")
    return _card(request, team, notice=f"{person.username} is already in {team.name}.")


@require_POST
@admin_required
def team_remove_member(request, team_id, user_id):
    team = access_team(request.user, team_id)
    person = access_person(request.user, user_id)
    if do_remove_member(request.user, team, person):
        return _card(request, team, notice=f"Removed {person.username} from {team.name}.")
    return _card(request, team, notice=f"{person.username} was not in {team.name}.")


@require_http_methods(["GET", "POST"])
@admin_required
def signup_policy(request):
    workspace = Workspace.current()
    notice = error = ""
    if request.method == "POST":
        form = SignupPolicyForm(request.POST)
        if form.is_valid():
            workspace = do_set_signup_policy(request.user, form.cleaned_data["signup_policy"])
            notice = POLICY_SAVED[workspace.signup_policy]
        else:
            error = "Pick one of the three policies."
    context = {"policies": policy_options(workspace.signup_policy), "notice": notice, "error": error}
    if request.htmx:
        return TemplateResponse(request, "team/signup.html#signup-form", context)
    return TemplateResponse(request, "team/signup.html", context)
