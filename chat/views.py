import uuid

from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from chat.access import access_conversation
from chat.actions import do_create_conversation
from chat.history import message_path
from chat.sidebar import sidebar_page
from keys.models import Credential


@require_GET
def home(request):
    context = {
        "sidebar": sidebar_page(request.user),
        "has_keys": Credential.objects.for_user(request.user).exists(),
    }
    return TemplateResponse(request, "chat/home.html", context)


@require_GET
def conversation_list(request):
    """More of the sidebar, loaded as the user scrolls."""
    context = {"sidebar": sidebar_page(request.user, request.GET.get("page", 1))}
    return TemplateResponse(request, "chat/_sidebar.html#sidebar-items", context)


@require_POST
def new_conversation(request):
    conversation = do_create_conversation(request.user)
    return redirect("chat:conversation", conversation_id=conversation.pk)


@require_GET
def conversation(request, conversation_id):
    conversation = access_conversation(request.user, conversation_id)
    credentials = list(Credential.objects.for_user(request.user))
    context = {
        "conversation": conversation,
        "path": message_path(conversation),
        "credentials": credentials,
        "selected_credential": conversation.credential_id or (credentials[0].pk if credentials else None),
        "client_id": uuid.uuid4(),
        "sidebar": sidebar_page(request.user),
    }
    return TemplateResponse(request, "chat/conversation.html", context)
