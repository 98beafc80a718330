"""The sidebar's organising actions on one conversation, and the Archived page.

Each answers htmx with the part of the page that changed: the row (rename, delete, undo), or the sidebar's
lists redrawn as deep as they were scrolled (pin, archive, move), which the request says in `until`.
"""

from urllib.parse import urlsplit

from django.core.exceptions import BadRequest
from django.db.models.functions import Lower
from django.template.response import TemplateResponse
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from chat import organising
from chat.access import access_conversation, access_deleted_conversation, access_folder
from chat.actions import ActionError
from chat.models import Folder
from chat.sidebar import Key, archived_page, deleted_rows, present, sidebar_context

ROW = "chat/_sidebar_row.html#conversation-row"
RENAME_ROW = "chat/_sidebar_row.html#rename-row"
UNDO_ROW = "chat/_sidebar_row.html#undo-row"
LISTS = "chat/_sidebar.html#sidebar-update"
MOVE_DIALOG = "chat/_organise_dialogs.html#move-dialog"


def viewing(request) -> int | None:
    """The conversation shown by the page that sent this htmx request (HX-Current-URL), if any: its row is
    highlighted, its heading follows a rename, and deleting it takes the page elsewhere."""
    path = request.htmx.current_url_abs_path if request.htmx else None
    if not path:
        return None
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return match.kwargs.get("conversation_id") if match.view_name == "chat:conversation" else None


def until_of(request) -> Key | None:
    """How far down the page's main list goes (`until`, the last row it shows); a mangled one is a 400."""
    return Key.decode(request.POST.get("until") or request.GET.get("until"))


def lists_response(request, *, until, error="", close_dialog=False, archived_notice=None) -> TemplateResponse:
    """The sidebar's folders and main list, drawn again after an action (expired deletions purged first);
    with `archived_notice`, the conversation page's line saying whether that chat is archived, too."""
    context = sidebar_context(request.user, current_id=viewing(request), until=until)
    context.update(error=error, close_dialog=close_dialog, archived_notice=archived_notice)
    return TemplateResponse(request, LISTS, context)


@require_GET
def sidebar_lists(request):
    """The lists as they are now, as deep as the page has them: a page fetches them when its socket says
    this person's conversations changed in another tab (static/js/sidebar.js)."""
    return lists_response(request, until=until_of(request))


def _flag(request, name) -> bool:
    value = request.POST.get(name)
    if value not in ("0", "1"):
        raise BadRequest(f"{name} must be 0 or 1")
    return value == "1"


@require_GET
def conversation_row(request, conversation_id):
    """The row as listed (a rename cancelled with Escape)."""
    item = access_conversation(request.user, conversation_id)
    return TemplateResponse(request, ROW, {"item": present([item])[0], "current_id": viewing(request)})


@require_http_methods(["GET", "POST"])
def rename_conversation(request, conversation_id):
    """GET: the row as a text field. POST: save the title typed (the field again, with why, if it can't)."""
    item = access_conversation(request.user, conversation_id)
    context = {"item": item, "current_id": viewing(request), "value": item.title}
    if request.method == "POST":
        typed = request.POST.get("title", "")
        try:
            organising.do_rename_conversation(item, typed)
        except ActionError as exc:
            context.update(value=typed[: organising.TITLE_CHARS * 2], error=str(exc))
        else:
            present([item])
            return TemplateResponse(request, "chat/_sidebar_row.html#renamed", context)
    return TemplateResponse(request, RENAME_ROW, context)


@require_POST
def pin_conversation(request, conversation_id):
    item = access_conversation(request.user, conversation_id)
    until, pinned = until_of(request), _flag(request, "pinned")
    try:
        organising.do_set_pinned(item, pinned)
    except ActionError as exc:
        return lists_response(request, until=until, error=str(exc))
    return lists_response(request, until=until)


@require_POST
def archive_conversation(request, conversation_id):
    """Archive from the sidebar (the lists redrawn without it), or unarchive from the Archived page (a note
    where its row was, and the sidebar redrawn with it back). On the page of that chat, by either way, the
    lists are redrawn and the page's line saying it is archived follows."""
    item = access_conversation(request.user, conversation_id)
    until, archived = until_of(request), _flag(request, "archived")
    organising.do_set_archived(item, archived)
    if viewing(request) == item.pk:
        return lists_response(request, until=until, archived_notice=item)
    if archived:
        return lists_response(request, until=until)
    context = {**sidebar_context(request.user, until=until), "item": item}
    return TemplateResponse(request, "chat/archived.html#unarchived", context)


@require_http_methods(["GET", "POST"])
def move_conversation(request, conversation_id):
    """GET: the "Move to folder" dialog. POST `folder` (an id of the person's, or empty for none), or
    `new_folder` (a name: the folder is made and the conversation put in it)."""
    item = access_conversation(request.user, conversation_id)
    folders = Folder.objects.filter(owner=request.user).order_by(Lower("name"), "id")  # as in the sidebar
    if request.method == "GET":
        return TemplateResponse(request, MOVE_DIALOG, {"item": item, "folders": folders})
    until = until_of(request)
    if "new_folder" in request.POST:
        typed = request.POST["new_folder"]
        try:
            organising.do_move_to_new_folder(request.user, item, typed)
        except ActionError as exc:
            context = {"item": item, "folders": folders, "value": typed[:160], "error": str(exc)}
            response = TemplateResponse(request, MOVE_DIALOG, context)
            return reswap(retarget(response, "#sidebar-dialog"), "innerHTML")
    else:
        raw = request.POST.get("folder", "")
        organising.do_move_conversation(item, access_folder(request.user, raw) if raw else None)
    return lists_response(request, until=until, close_dialog=True)


@require_POST
def delete_conversation(request, conversation_id):
    """Hide it at once; the row becomes "Deleted … Undo" for a few seconds. The page showing it goes home
    (where the sidebar offers the same Undo)."""
    item = access_conversation(request.user, conversation_id)
    organising.do_purge_deleted(user=request.user)  # earlier deletions whose time is up
    organising.do_delete_conversation(item)
    if viewing(request) == item.pk:
        return HttpResponseClientRedirect(reverse("chat:home"))
    item.undo_ms = organising.UNDO_SECONDS * 1000
    return TemplateResponse(request, UNDO_ROW, {"item": item})


@require_POST
def restore_conversation(request, conversation_id):
    """Undo: the row comes back in place (in the sidebar, or on the Archived page for an archived one)."""
    item = access_deleted_conversation(request.user, conversation_id)
    organising.do_restore_conversation(item)
    template = "chat/archived.html#archived-row" if item.archived_at else ROW
    return TemplateResponse(request, template, {"item": present([item])[0], "current_id": viewing(request)})


@require_GET
def archived(request):
    """The Archived page; with htmx and `after`, its next page of rows."""
    deleted = deleted_rows(request.user, purge=True)
    after = Key.decode(request.GET.get("after"))
    page = archived_page(request.user, after, deleted=deleted)
    if request.htmx and after is not None:
        return TemplateResponse(request, "chat/archived.html#archived-items", {"archived": page})
    context = {**sidebar_context(request.user, deleted=deleted), "archived": page, "archived_current": True}
    return TemplateResponse(request, "chat/archived.html", context)
