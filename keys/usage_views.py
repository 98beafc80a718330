"""Usage pages: a person's own (/settings/usage/) and the whole team's (/team/usage/, admins only), each with a
CSV download of the same filters. A filter change asks htmx for the report region only."""

from urllib.parse import urlencode

from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from accounts.permissions import admin_required
from keys.usage_chart import build_chart
from keys.usage_csv import csv_chunks, disposition
from keys.usage_filters import DIMENSIONS, MEMBER_DIMENSIONS, METRICS, PERIODS, TEAM_DIMENSIONS, read_filters
from keys.usage_report import build_report, ledger_for

# The per-group table shows this many groups; the CSV has every row.
MAX_GROUP_ROWS = 100


@require_GET
def my_usage(request):
    return _usage_page(request, everyone=False)


@require_GET
@admin_required
def team_usage(request):
    return _usage_page(request, everyone=True)


@require_GET
def my_usage_csv(request):
    return _usage_csv(request, everyone=False)


@require_GET
@admin_required
def team_usage_csv(request):
    return _usage_csv(request, everyone=True)


def _urls(everyone: bool) -> tuple[str, str]:
    if everyone:
        return reverse("team_keys:usage"), reverse("team_keys:usage-csv")
    return reverse("keys:usage"), reverse("keys:usage-csv")


def _usage_page(request, *, everyone: bool):
    dimensions = TEAM_DIMENSIONS if everyone else MEMBER_DIMENSIONS
    filters = read_filters(request.GET, dimensions=dimensions)
    entries = ledger_for(request.user, everyone=everyone)
    report = build_report(
        entries, filters.period, dimension=filters.by, metric=filters.metric, owners=everyone
    )
    page_url, csv_url = _urls(everyone)
    context = {
        "everyone": everyone,
        "filters": filters,
        "report": report,
        "chart": build_chart(report),
        "groups": report.groups[:MAX_GROUP_ROWS],
        "groups_more": max(0, len(report.groups) - MAX_GROUP_ROWS),
        "dimension_name": DIMENSIONS[filters.by],
        "periods": PERIODS.items(),
        "dimensions": [(d, DIMENSIONS[d]) for d in dimensions],
        "metrics": METRICS.items(),
        "page_url": page_url,
        "csv_url": f"{csv_url}?{urlencode(filters.query())}",
        # What the date fields show: what was typed when it could not be used, else the period shown.
        "from_value": request.GET.get("from", "")
        if filters.dates_rejected
        else filters.period.first_day.isoformat(),
        "to_value": request.GET.get("to", "")
        if filters.dates_rejected
        else filters.period.last_day.isoformat(),
    }
    if request.htmx and not request.htmx.history_restore_request:
        template = "keys/usage_report.html#usage-report"
    else:
        template = "team/usage.html" if everyone else "keys/usage.html"
    response = TemplateResponse(request, template, context)
    patch_vary_headers(response, ["HX-Request"])  # the same address answers with a page or a fragment
    return response


def _usage_csv(request, *, everyone: bool):
    """Garbage filters do not fail the download: it covers what the page would show for them."""
    filters = read_filters(request.GET, dimensions=TEAM_DIMENSIONS if everyone else MEMBER_DIMENSIONS)
    entries = ledger_for(request.user, everyone=everyone)
    response = StreamingHttpResponse(
        csv_chunks(entries, filters.period), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = disposition(filters.period, team=everyone)
    response["Cache-Control"] = "private, no-store"
    return response
