"""Team → People: everyone's role, teams and status, and the admin's changes to them, each in place (htmx).

A change that takes access away (deactivating, lowering a role) asks first: the row shows what will happen
and a confirm button; only the confirmed POST changes anything.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.db.models.functions import Lower
from django.shortcuts import redirect, resolve_url
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.access import access_person
from accounts.actions import ActionError
from accounts.models import User
from accounts.people_actions import do_approve, do_set_active, do_set_role, lowers_access
from accounts.permissions import admin_required
from accounts.team_forms import RoleForm

PER_PAGE = 25
SHOW = {
    "all": Q(),
    "pending": Q(role=User.Role.PENDING, is_active=True),
    "admins": Q(role=User.Role.ADMIN),
    "deactivated": Q(is_active=False),
}


def people_counts() -> dict:
    """Everyone; the active (let in, not deactivated); those awaiting approval; admins; the deactivated: in
    one query."""
    return User.objects.aggregate(
        all=Count("pk"),
        active=Count("pk", filter=Q(is_active=True) & ~Q(role=User.Role.PENDING)),
        pending=Count("pk", filter=Q(role=User.Role.PENDING, is_active=True)),
        admins=Count("pk", filter=Q(role=User.Role.ADMIN, is_active=True)),
        deactivated=Count("pk", filter=Q(is_active=False)),
    )


def _people(show: str, query: str):
    """People to list: those awaiting approval first (they are waiting on someone), then by name."""
    people = User.objects.filter(SHOW.get(show, Q()))
    if query:
        people = people.filter(username__icontains=query)
    waiting_first = Case(
        When(role=User.Role.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return people.prefetch_related("teams").order_by(waiting_first, Lower("username"), "pk")


@require_GET
@admin_required
def people(request):
    show = request.GET.get("show", "all")
    show = show if show in SHOW else "all"
    query = request.GET.get("q", "").strip()[:150]
    page = Paginator(_people(show, query), PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "show": show,
        "query": query,
        "params": urlencode({"show": show, "q": query} if query else {"show": show}),
        "counts": people_counts(),
        "roles": User.Role.choices,
    }
    if request.htmx and request.htmx.target == "people-results":
        return TemplateResponse(request, "team/people.html#people-results", context)
    return TemplateResponse(request, "team/people.html", context)


def _row(request, person, *, notice="", error="", confirm="", role=""):
    """One person's row (htmx), with the pending count beside the filters kept current; or, without htmx,
    the sentence as a flash message on the People page."""
    if not request.htmx:
        if notice or error:
            (messages.error if error else messages.success)(request, error or notice)
        return redirect(reverse("team:people") + f"#person-{person.pk}")
    context = {
        "person": User.objects.prefetch_related("teams").get(pk=person.pk),
        "notice": notice,
        "error": error,
        "confirm": confirm,
        "new_role": role,
        "roles": User.Role.choices,
        "counts": people_counts(),
    }
    return TemplateResponse(request, "team/people.html#person-update", context)


@require_GET
@admin_required
def person(request, user_id):
    """A person's row as it is: after Cancel, or asking to confirm a deactivation (?confirm=deactivate)."""
    person = access_person(request.user, user_id)
    confirm = "deactivate" if request.GET.get("confirm") == "deactivate" and person.is_active else ""
    return _row(request, person, confirm=confirm)


def _signed_out_of_admin(request, sentence):
    """The admin just took away their own admin role (or account): the team pages are not theirs now."""
    messages.info(request, sentence)
    if request.htmx:
        return HttpResponseClientRedirect(resolve_url("chat:home"))
    return redirect("chat:home")


@require_POST
@admin_required
def person_role(request, user_id):
    person = access_person(request.user, user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _row(request, person, error="Pick a role: admin, member or pending approval.")
    role = form.cleaned_data["role"]
    if lowers_access(person.role, role) and request.POST.get("confirmed") != "yes":
        return _row(request, person, confirm="role", role=role)
    try:
        person = do_set_role(request.user, person, role)
    except ActionError as exc:
        return _row(request, person, error=str(exc))
    sentence = f"{person.username} is now {_role_phrase(role)}."
    if person.pk == request.user.pk and role != User.Role.ADMIN:
        return _signed_out_of_admin(request, sentence)
    return _row(request, person, notice=sentence)


@require_POST
@admin_required
def person_approve(request, user_id):
    person = access_person(request.user, user_id)
    try:
        person = do_approve(request.user, person)
    except ActionError as exc:
        return _row(request, person, error=str(exc))
    return _row(request, person, notice=f"Approved: {person.username} can use NovaWeb now.")


@require_POST
@admin_required
def person_active(request, user_id):
    person = access_person(request.user, user_id)
    if request.POST.get("active") not in ("0", "1"):
        return _row(request, person, error="The page asked for something unknown; reload it.")
    active = request.POST["active"] == "1"
    if not active and request.POST.get("confirmed") != "yes":
        return _row(request, person, confirm="deactivate")
    try:
        person = do_set_active(request.user, person, active)
    except ActionError as exc:
        return _row(request, person, error=str(exc))
    if active:
        return _row(request, person, notice=f"Reactivated: {person.username} can sign in again.")
    sentence = f"Deactivated: {person.username} is signed out everywhere."
    if person.pk == request.user.pk:
        return HttpResponseClientRedirect(resolve_url("accounts:sign_in")) if request.htmx else redirect("/")
    return _row(request, person, notice=sentence)


def _role_phrase(role: str) -> str:
    return {
        User.Role.ADMIN: "an admin",
        User.Role.MEMBER: "a member",
        User.Role.PENDING: "waiting for approval",
    }[role]
