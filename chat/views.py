import uuid

from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chat.access import access_conversation
from chat.actions import do_create_conversation, do_set_chat_options
from chat.history import message_path
from chat.models import Conversation
from chat.organising_views import viewing
from chat.sidebar import Key, chats_page, deleted_rows, sidebar_context
from keys.access import access_credential
from keys.models import Credential
from keys.parameters_panel import param_rows
from providers.params import clean_params
from providers.presets import PRESETS


@require_GET
def home(request):
    context = {
        **sidebar_context(request.user),
        "has_keys": Credential.objects.for_user(request.user).exists(),
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
    # The picker needs labels only; the selected key's model list is read on its own (one key's, not all).
    credentials = list(Credential.objects.for_user(request.user).defer("models_cache"))
    selected = next((c for c in credentials if c.pk == conversation.credential_id), None)
    selected = selected or (credentials[0] if credentials else None)
    context = {
        "conversation": conversation,
        "path": message_path(conversation),
        "credentials": credentials,
        "selected_credential": selected.pk if selected else None,
        "client_id": uuid.uuid4(),
        **sidebar_context(request.user, current_id=conversation.pk),
        **composer_options(conversation, selected),
    }
    return TemplateResponse(request, "chat/conversation.html", context)


def composer_options(conversation: Conversation, credential: Credential | None) -> dict:
    """What the composer offers for `credential`'s provider: its models, its parameters (showing the
    conversation's values that it supports), web search and images on NovaKit, text completion on Novita."""
    preset = PRESETS.get(credential.preset) if credential else None
    params = clean_params(preset, conversation.params) if preset else {}
    text_mode = bool(preset and preset.supports_text_completions)
    return {
        "preset": preset,
        "param_rows": param_rows(preset, params),
        "models": credential.models_cache if credential else [],
        "takes_images": bool(preset and "images" in preset.message_fields),
        "offers_text_mode": text_mode,
        "mode": conversation.mode if text_mode else Conversation.Mode.CHAT,
    }


@require_http_methods(["GET", "POST"])
def conversation_options(request, conversation_id):
    """The composer's options: GET when the key picker changes, POST when a parameter changes (saved at
    once, cleaned and clamped, and shown back as stored)."""
    conversation = access_conversation(request.user, conversation_id)
    data = request.POST if request.method == "POST" else request.GET
    try:
        credential = access_credential(request.user, data.get("credential"))
    except Http404:
        # Not a key of this person's: the chat's own key decides what the panel offers and keeps.
        credential = conversation.credential
    if request.method == "POST" and credential is not None:
        do_set_chat_options(conversation, credential, data)
    context = {"conversation": conversation, **composer_options(conversation, credential)}
    return TemplateResponse(request, "chat/conversation.html#composer-options", context)
