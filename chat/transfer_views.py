"""Export and import: a conversation as Markdown or JSON, everything as a zip, and importing files back.

Downloads are files, not pages: they return HttpResponse/StreamingHttpResponse with Content-Disposition.
"""

import json
import tempfile

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from chat.access import access_conversation
from chat.export_archive import exportable, write_archive
from chat.exports import (
    attachment,
    conversation_data,
    conversation_markdown,
    document,
    export_messages,
    file_stem,
    key_names,
    path_of,
)
from chat.forms import ImportForm
from chat.import_tree import ImportRejected
from chat.imports import check_import, do_import

FORMATS = {"markdown": ("md", "text/markdown; charset=utf-8"), "json": ("json", "application/json")}
_SPOOL_BYTES = 8 * 1024 * 1024  # an export bigger than this goes to a temporary file, not memory
_READ_BYTES = 256 * 1024


@require_GET
def export_conversation(request, conversation_id, export_format):
    conversation = access_conversation(request.user, conversation_id)
    if conversation.deleted_at is not None or export_format not in FORMATS:
        raise Http404("No such export")
    messages = export_messages(conversation)
    keys = key_names({conversation.credential_id} | {m.credential_id for m in messages})
    if export_format == "json":
        data = conversation_data(conversation, messages, keys)
        body = json.dumps(document(data), ensure_ascii=False, indent=2)
    else:
        body = conversation_markdown(conversation, path_of(messages, conversation.current_leaf_id), keys)
    extension, content_type = FORMATS[export_format]
    response = HttpResponse(body, content_type=content_type)
    stem, ascii_stem = file_stem(conversation.title, f"conversation-{conversation.pk}")
    response["Content-Disposition"] = attachment(stem, ascii_stem, extension)
    return response


@require_GET
def export_all(request):
    """Every conversation as one zip, built in a spooled temporary file and sent in chunks."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 — closed once sent
    try:
        write_archive(request.user, spool)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    response = StreamingHttpResponse(_chunks_of(spool), content_type="application/zip")
    response["Content-Length"] = str(size)
    stem = f"novaweb-export-{timezone.now():%Y-%m-%d}"
    response["Content-Disposition"] = attachment(stem, stem, "zip")
    return response


async def _chunks_of(spool):
    """An asynchronous iterator: daphne sends it chunk by chunk (a synchronous one Django would first read
    whole into memory under ASGI)."""
    read = sync_to_async(spool.read, thread_sensitive=False)
    try:
        while chunk := await read(_READ_BYTES):
            yield chunk
    finally:
        spool.close()


def _data_page(request, form, *, summary=None, error="", status=200):
    context = {
        "form": form,
        "summary": summary,
        "error": error,
        "exportable": exportable(request.user).count(),
        "max_mb": settings.NOVAWEB_IMPORT_MAX_MB,
    }
    # htmx swaps the form; after an import the export's count changes too (out of band).
    template = "chat/transfer.html#import-answer" if request.htmx else "chat/transfer.html"
    return TemplateResponse(request, template, context, status=status)


@require_GET
def data_page(request):
    """Settings → Import & export."""
    return _data_page(request, ImportForm())


@require_POST
def import_conversations(request):
    form = ImportForm(request.POST, request.FILES)
    # htmx swaps only 2xx responses: a refused file is shown in place with 200; a plain form post gets 400.
    refused = 200 if request.htmx else 400
    if not form.is_valid():
        return _data_page(request, form, status=refused)
    try:
        plan = check_import(form.cleaned_data["file"])
    except ImportRejected as exc:
        return _data_page(request, ImportForm(), error=str(exc), status=refused)
    summary = do_import(request.user, plan)
    return _data_page(request, ImportForm(), summary=summary)
