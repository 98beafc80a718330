"""Team → Audit log (admins only): who did what to keys, grants and people, newest first, 50 to a page."""

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from accounts.audit_log import AuditFilterForm, describe, filtered_events
from accounts.models import User
from accounts.permissions import admin_required

PER_PAGE = 50


@require_GET
@admin_required
def audit_log(request):
    people = list(User.objects.order_by("username").only("pk", "username"))
    form = AuditFilterForm(request.GET, people=people)
    form.is_valid()  # a choice that is not offered is dropped and named in the notice
    kind = form.cleaned_data.get("kind") or ""
    person_id = form.cleaned_data.get("person")
    person = next((p for p in people if p.pk == person_id), None)
    page = Paginator(filtered_events(kind, person), PER_PAGE).get_page(request.GET.get("page"))
    query = {name: value for name, value in (("kind", kind), ("person", person_id or "")) if value}
    context = {
        "form": form,
        "problems": form.problems(),
        "kind": kind,
        "person": person,
        "people": people,
        "page": page,
        "lines": [describe(event) for event in page.object_list],
        "query": urlencode(query),
    }
    if request.htmx and not request.htmx.history_restore_request:
        template = "team/audit.html#audit-log"
    else:
        template = "team/audit.html"
    response = TemplateResponse(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
