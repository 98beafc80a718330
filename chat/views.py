import uuid

from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat.access import access_conversation, access_message
from chat.actions import do_create_conversation, do_set_chat_options
from chat.key_picker import key_picker
from chat.models import Conversation
from chat.organising_views import viewing
from chat.sidebar import Key, chats_page, deleted_rows, sidebar_context
from chat.window import path_window
from keys.access import access_usable_credential
from keys.granted import granted_keys, offered_models
from keys.models import MAX_INSTRUCTIONS_CHARS, Credential
from keys.parameters_panel import param_rows
from providers.params import clean_params
from providers.presets import PRESETS


@require_GET
def home(request):
    context = {
        **sidebar_context(request.user),
        "has_keys": Credential.objects.usable_by(request.user).exists(),
    }
    return TemplateResponse(request, "chat/home.html", context)


@require_GET
def conversation_list(request):
    """More of the sidebar's main list, loaded as the user scrolls (`after`: the last row they have)."""
    after = Key.decode(request.GET.get("after"))
    page = chats_page(request.user, after, deleted=deleted_rows(request.user, purge=False))
    context = {"sidebar": page, "current_id": viewing(request)}
    return TemplateResponse(request, "chat/_sidebar.html#sidebar-more", context)


@require_POST
def new_conversation(request):
    conversation = do_create_conversation(request.user)
    return redirect("chat:conversation", conversation_id=conversation.pk)


@require_GET
def conversation(request, conversation_id):
    conversation = access_conversation(request.user, conversation_id)
    picker, selected, granted = key_picker(request.user, conversation.credential_id)
    context = {
        "conversation": conversation,
        # A window of the path, not all of it: long conversations open as fast as short ones.
        "window": path_window(conversation, at=request.GET.get("at")),
        **picker,
        "client_id": uuid.uuid4(),
        **sidebar_context(request.user, current_id=conversation.pk),
        **composer_options(conversation, selected, granted.get(selected.pk) if selected else None),
    }
    return TemplateResponse(request, "chat/conversation.html", context)


@require_GET
def message_text(request, conversation_id, message_id):
    """A message's text as written (a reply's Markdown), for its Copy button: the page shows it rendered."""
    message = access_message(request.user, conversation_id, message_id)
    response = HttpResponse(message.content, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def conversation_messages(request, conversation_id):
    """The window of messages before (`?before=<id>`) or after (`?after=<id>`) the ones a page shows."""
    conversation = access_conversation(request.user, conversation_id)
    before, after = request.GET.get("before"), request.GET.get("after")
    if before is None and after is None:
        raise Http404("Say which messages: before or after which one")
    context = {
        "conversation": conversation,
        "window": path_window(conversation, before=before, after=after),
        "direction": "before" if before is not None else "after",
    }
    return TemplateResponse(request, "chat/conversation.html#window-page", context)


def composer_options(
    conversation: Conversation, credential: Credential | None, granted=None, typed=None
) -> dict:
    """What the composer offers for `credential`'s provider: its models (on a shared key, only those the
    person's grant allows), its parameters (showing the conversation's values that it supports), web search
    and images on NovaKit, text completion on Novita. `typed`: the form just saved, whose numbers stored
    otherwise than typed say so."""
    preset = PRESETS.get(credential.preset) if credential else None
    params = clean_params(preset, conversation.params) if preset else {}
    text_mode = bool(preset and preset.supports_text_completions)
    models = offered_models(credential, granted)
    return {
        "preset": preset,
        "param_rows": param_rows(preset, params, typed),
        "models": models,
        "takes_images": bool(preset and "images" in preset.message_fields),
        "offers_text_mode": text_mode,
        "mode": conversation.mode if text_mode else Conversation.Mode.CHAT,
        "max_instructions": MAX_INSTRUCTIONS_CHARS,
    }


@require_http_methods(["GET", "POST"])
def conversation_options(request, conversation_id):
    """The composer's options: GET when the key picker changes, POST when a parameter changes (saved at
    once, cleaned and clamped, and shown back as stored)."""
    conversation = access_conversation(request.user, conversation_id)
    data = request.POST if request.method == "POST" else request.GET
    try:
        credential = access_usable_credential(request.user, data.get("credential"))
    except Http404:
        # Not a key this person may use: the chat's own key decides what the panel offers and keeps.
        credential = conversation.credential
    saved = request.method == "POST" and credential is not None
    if saved:
        do_set_chat_options(conversation, credential, data)
    granted = granted_keys(request.user, [credential.pk]).get(credential.pk) if credential else None
    typed = data if saved else None
    context = {"conversation": conversation, **composer_options(conversation, credential, granted, typed)}
    return TemplateResponse(request, "chat/conversation.html#composer-options", context)
