"""The sidebar's folders: create, rename, open/close, delete, and more of one folder's conversations."""

from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from chat import organising
from chat.access import access_folder
from chat.actions import ActionError
from chat.organising_views import lists_response, until_of, viewing
from chat.sidebar import Key, deleted_rows, folder_page

FOLDER = "chat/_sidebar_folder.html#folder"


def _with_page(request, folder):
    """The folder, with the first page of its conversations when it is open."""
    if not folder.collapsed:
        folder.page = folder_page(request.user, folder, deleted=deleted_rows(request.user, purge=False))
    return folder


def _redrawn(request, until):
    """Saved: the whole lists again (a new or renamed folder takes its place by name), not the form."""
    return reswap(retarget(lists_response(request, until=until), "#sidebar-lists"), "innerHTML")


@require_http_methods(["GET", "POST"])
def new_folder(request):
    """GET: a name field at the top of the folders. POST: make the folder (the field again, with why, if
    the name is empty, too long or taken)."""
    context = {"value": ""}
    if request.method == "POST":
        until, typed = until_of(request), request.POST.get("name", "")
        try:
            organising.do_create_folder(request.user, typed)
        except ActionError as exc:
            context.update(value=typed[:160], error=str(exc))
        else:
            return _redrawn(request, until)
    return TemplateResponse(request, "chat/_sidebar_folder.html#new-folder", context)


@require_GET
def folder(request, folder_id):
    """The folder as listed (a rename cancelled with Escape)."""
    folder = _with_page(request, access_folder(request.user, folder_id))
    return TemplateResponse(request, FOLDER, {"folder": folder, "current_id": viewing(request)})


@require_http_methods(["GET", "POST"])
def rename_folder(request, folder_id):
    folder = access_folder(request.user, folder_id)
    context = {"folder": folder, "value": folder.name}
    if request.method == "POST":
        until, typed = until_of(request), request.POST.get("name", "")
        try:
            organising.do_rename_folder(folder, typed)
        except ActionError as exc:
            context.update(value=typed[:160], error=str(exc))
        else:
            return _redrawn(request, until)
    return TemplateResponse(request, "chat/_sidebar_folder.html#folder-rename", context)


@require_POST
def toggle_folder(request, folder_id):
    """Open or close a folder (`collapsed` 1 or 0); it stays so on every device."""
    folder = access_folder(request.user, folder_id)
    collapsed = request.POST.get("collapsed") == "1"
    organising.do_set_folder_collapsed(folder, collapsed)
    folder = _with_page(request, folder)
    return TemplateResponse(request, FOLDER, {"folder": folder, "current_id": viewing(request)})


@require_http_methods(["GET", "POST"])
def delete_folder(request, folder_id):
    """GET: "Delete the folder?" (its conversations stay). POST: delete it; the lists are drawn again."""
    folder = access_folder(request.user, folder_id)
    if request.method == "GET":
        return TemplateResponse(
            request, "chat/_organise_dialogs.html#delete-folder-dialog", {"folder": folder}
        )
    until = until_of(request)
    organising.do_delete_folder(folder)
    return lists_response(request, until=until, close_dialog=True)


@require_GET
def folder_more(request, folder_id):
    """The next page of one folder's conversations ("Show more")."""
    folder = access_folder(request.user, folder_id)
    after = Key.decode(request.GET.get("after"))
    page = folder_page(request.user, folder, after, deleted=deleted_rows(request.user, purge=False))
    context = {"page": page, "current_id": viewing(request)}
    return TemplateResponse(request, "chat/_sidebar_folder.html#folder-rows", context)
