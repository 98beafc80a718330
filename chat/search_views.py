"""The search box's requests: results as you type, more of them, and the filters' choices."""

from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from chat.models import Folder
from chat.search import Filters, search, visible_conversations
from chat.search_forms import SearchForm
from chat.sidebar import sidebar_page

# The filters offer at most this many of the person's models (most used first).
MAX_MODELS = 50


@require_GET
def search_results(request):
    """Results for the search box: the partial as the person types (htmx), the whole page otherwise (a link
    to a search, or a browser without scripts)."""
    form = SearchForm(request.GET, user=request.user)
    results = None
    # Words, or filters that select conversations by themselves (a model, a folder, dates).
    if form.is_valid() and (form.cleaned_data["q"].strip() or form.filters().narrows):
        results = search(request.user, form.cleaned_data["q"], form.filters(), form.page_number)
    context = {"search_form": form, "results": results}
    if request.htmx:
        more = form.is_valid() and form.page_number > 1
        return TemplateResponse(request, f"chat/_search.html#{'more' if more else 'results'}", context)
    context["sidebar"] = sidebar_page(request.user)
    context["filter_choices"] = filter_choices(request.user)
    return TemplateResponse(request, "chat/search.html", context)


@require_GET
def search_filters(request):
    """The filters' fields, loaded when the person first opens them."""
    context = {
        "search_form": SearchForm(request.GET, user=request.user),
        "filter_choices": filter_choices(request.user),
    }
    return TemplateResponse(request, "chat/_search.html#filters", context)


def filter_choices(user) -> dict:
    """What the filters offer: the person's folders and the models of their conversations."""
    models = (
        visible_conversations(user, Filters(include_archived=True))
        .exclude(model="")
        .values_list("model", flat=True)
        .distinct()
        .order_by("model")[:MAX_MODELS]
    )
    return {"models": list(models), "folders": list(Folder.objects.filter(owner=user))}
