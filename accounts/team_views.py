from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from accounts.permissions import admin_required


@require_GET
@admin_required
def team_home(request):
    return TemplateResponse(request, "team/home.html", {})
