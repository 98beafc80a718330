"""Every route, as every kind of person: anonymous, pending, a member, another member, an admin.

The routes come from the URL resolver and from chat/routing.py, so a new route without a line in the table
below fails `test_every_route_is_in_the_table`, saying which to add.

To add a route, write one line in ROUTES, keyed by its name ("namespace:name"):

    "chat:thing": [get(OWNED, thing_id="conversation"), post(OWNED, {"title": "x"}, thing_id="conversation")],

- `get`/`post` are the requests to make (POSTs go through the test client, CSRF included).
- The rule says what each person gets: PUBLIC, SIGNED_IN, PENDING_TOO, SIGN_OUT, OWNED (the member owns the object;
  anyone else gets 404), ADMIN (admins only; others 403), ADMIN_SITE (the Django admin); or write a Rule().
- URL kwargs name objects of the world built by `world` below: "conversation", "message" (in the conversation),
  "credential" (the member's),
  "person" (the member, as an admin manages them), "team", "invite", "token" (an invite link's token).
Websocket routes go in WS_ROUTES, keyed by their route string, the same way.

Outcomes: OK (2xx, or a redirect that is not to the sign-in or waiting page), LOGIN (to the sign-in page),
WAITING (to the "Waiting for approval" page), ADMIN_LOGIN (the Django admin's sign-in), 403, 404. A refused
request must also leave the database as it was.
"""

import re
from dataclasses import dataclass, field

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.actions import do_create_invite
from accounts.models import AuditEvent, Invite, Team, User
from chat.models import Conversation, Folder, Message
from chat.routing import websocket_urlpatterns
from keys.actions import do_add_credential
from keys.models import Credential
from keys.shared_actions import do_add_shared_key, do_grant
from tests.conftest import ORIGIN, session_cookie_for

OK, LOGIN, WAITING, ADMIN_LOGIN, FORBIDDEN, NOT_FOUND = "ok", "login", "waiting", "admin login", 403, 404
ROLES = ("anonymous", "pending", "member", "other", "admin")


@dataclass(frozen=True)
class Rule:
    anonymous: object
    pending: object
    member: object
    other: object
    admin: object


PUBLIC = Rule(anonymous=OK, pending=WAITING, member=OK, other=OK, admin=OK)
SIGNED_IN = Rule(anonymous=LOGIN, pending=WAITING, member=OK, other=OK, admin=OK)
PENDING_TOO = Rule(anonymous=LOGIN, pending=OK, member=OK, other=OK, admin=OK)
OWNED = Rule(anonymous=LOGIN, pending=WAITING, member=OK, other=NOT_FOUND, admin=NOT_FOUND)
ADMIN = Rule(anonymous=LOGIN, pending=WAITING, member=FORBIDDEN, other=FORBIDDEN, admin=OK)
# An admin-only form posted with data it refuses: admins reach it and get the form back with errors (400).
ADMIN_FORM_ERROR = Rule(anonymous=LOGIN, pending=WAITING, member=FORBIDDEN, other=FORBIDDEN, admin=400)
SIGNED_IN_FORM_ERROR = Rule(anonymous=LOGIN, pending=WAITING, member=400, other=400, admin=400)
# Signing out ends on the sign-in page for everyone (for the signed-in, after signing them out).
SIGN_OUT = Rule(anonymous=LOGIN, pending=LOGIN, member=LOGIN, other=LOGIN, admin=LOGIN)
ADMIN_SITE = Rule(anonymous=LOGIN, pending=WAITING, member=ADMIN_LOGIN, other=ADMIN_LOGIN, admin=OK)
# The Django admin's index is public to Django (it signs people in itself), so anonymous get its sign-in.
ADMIN_SITE_INDEX = Rule(
    anonymous=ADMIN_LOGIN, pending=WAITING, member=ADMIN_LOGIN, other=ADMIN_LOGIN, admin=OK
)


@dataclass(frozen=True)
class Check:
    method: str
    rule: Rule
    data: dict = field(default_factory=dict)
    kwargs: dict = field(default_factory=dict)
    query: str = ""


def get(rule, query="", **kwargs):
    return Check("get", rule, kwargs=kwargs, query=query)


def post(rule, data=None, **kwargs):
    return Check("post", rule, data=data or {}, kwargs=kwargs)


CONVERSATION = {"conversation_id": "conversation"}
CREDENTIAL = {"credential_id": "credential"}
PERSON = {"user_id": "person"}
TEAM = {"team_id": "team"}
FOLDER = {"folder_id": "folder"}
SHARED = {"credential_id": "shared_key"}
GRANT = {**SHARED, "grant_id": "grant"}

NEW_KEY = {
    "provider": "openai",
    "label": "Another key",
    "base_url": "http://127.0.0.1:9/v1",
    "auth_style": "bearer",
    "api_key": "sk-test-another-0123456789",
}

ROUTES = {
    # accounts
    "accounts:sign_up": [get(PUBLIC)],
    "accounts:sign_in": [get(PUBLIC)],
    "accounts:open_invite": [get(PUBLIC), post(PUBLIC, {"token": "not-a-token"})],
    "accounts:invite": [get(PUBLIC, token="token")],
    "accounts:sign_out": [get(PENDING_TOO), post(SIGN_OUT)],
    "accounts:waiting": [get(PENDING_TOO)],
    # chat
    "chat:home": [get(SIGNED_IN)],
    "chat:list": [get(SIGNED_IN)],
    "chat:lists": [get(SIGNED_IN)],
    "chat:new": [post(SIGNED_IN)],
    "chat:conversation": [get(OWNED, **CONVERSATION)],
    "chat:messages": [get(OWNED, query="before=999999999", **CONVERSATION)],
    "chat:message_text": [get(OWNED, message_id="message", **CONVERSATION)],
    "transfer:export": [
        get(OWNED, conversation_id="conversation", export_format="markdown"),
        get(OWNED, conversation_id="conversation", export_format="json"),
    ],
    "transfer:data": [get(SIGNED_IN)],
    "transfer:export-all": [get(SIGNED_IN)],
    # No file: the form comes back with its error (400) to anyone who may import.
    "transfer:import": [post(SIGNED_IN_FORM_ERROR)],
    "chat:row": [get(OWNED, **CONVERSATION)],
    "chat:rename": [get(OWNED, **CONVERSATION), post(OWNED, {"title": "Renamed"}, **CONVERSATION)],
    "chat:pin": [post(OWNED, {"pinned": "1"}, **CONVERSATION)],
    "chat:archive": [post(OWNED, {"archived": "1"}, **CONVERSATION)],
    "chat:move": [get(OWNED, **CONVERSATION), post(OWNED, {"folder": ""}, **CONVERSATION)],
    "chat:delete": [post(OWNED, **CONVERSATION)],
    "chat:restore": [post(OWNED, conversation_id="deleted_conversation")],
    "chat:archived": [get(SIGNED_IN)],
    "chat:search": [get(SIGNED_IN, query="q=hello"), get(SIGNED_IN, query="q=%25_%5C%27%22%3C%3E&model=x")],
    "chat:search_filters": [get(SIGNED_IN)],
    "chat:new_folder": [get(SIGNED_IN), post(SIGNED_IN, {"name": "New folder"})],
    "chat:folder": [get(OWNED, **FOLDER)],
    "chat:rename_folder": [get(OWNED, **FOLDER), post(OWNED, {"name": "Renamed folder"}, **FOLDER)],
    "chat:toggle_folder": [post(OWNED, {"collapsed": "1"}, **FOLDER)],
    "chat:delete_folder": [get(OWNED, **FOLDER), post(OWNED, **FOLDER)],
    "chat:folder_more": [get(OWNED, **FOLDER)],
    "chat:options": [get(OWNED, **CONVERSATION), post(OWNED, {"temperature": "1"}, **CONVERSATION)],
    # settings
    "keys:settings": [get(SIGNED_IN)],
    "keys:list": [get(SIGNED_IN), post(SIGNED_IN, NEW_KEY)],
    "keys:rename": [post(OWNED, {"label": "Renamed"}, **CREDENTIAL)],
    "keys:delete": [post(OWNED, **CREDENTIAL)],
    "keys:check": [post(OWNED, **CREDENTIAL)],
    "keys:replace-secret": [post(OWNED, {"api_key": "sk-short"}, **CREDENTIAL)],
    "keys:defaults": [get(SIGNED_IN), post(SIGNED_IN, {"model": "m"})],
    "keys:usage": [get(SIGNED_IN), get(SIGNED_IN, query="period=custom&start=garbage")],
    "keys:usage-csv": [get(SIGNED_IN)],
    # team administration
    "team:home": [get(ADMIN)],
    "team:people": [get(ADMIN), get(ADMIN, query="show=pending&q=al")],
    "team:person": [get(ADMIN, **PERSON), get(ADMIN, query="confirm=deactivate", **PERSON)],
    "team:person-role": [post(ADMIN, {"role": "admin"}, **PERSON)],
    "team:person-approve": [post(ADMIN, **PERSON)],
    "team:person-active": [post(ADMIN, {"active": "0", "confirmed": "yes"}, **PERSON)],
    "team:teams": [get(ADMIN), post(ADMIN, {"name": "Design"})],
    "team:team": [get(ADMIN, **TEAM)],
    "team:team-rename": [post(ADMIN, {"name": "Research & Development"}, **TEAM)],
    "team:team-delete": [post(ADMIN, {"confirmed": "yes"}, **TEAM)],
    "team:team-add-member": [post(ADMIN, {"username": "bob"}, **TEAM)],
    "team:team-remove-member": [post(ADMIN, **TEAM, **PERSON)],
    "team:invites": [get(ADMIN), post(ADMIN, {"role": "member", "days": "7"})],
    "team:invite-revoke": [post(ADMIN, invite_id="invite")],
    "team:signup": [get(ADMIN), post(ADMIN, {"signup_policy": "approval"})],
    "team:audit": [get(ADMIN), get(ADMIN, query="kind=keys&person=abc")],
    "team_keys:usage": [get(ADMIN), get(ADMIN, query="group=person&measure=credits")],
    "team_keys:usage-csv": [get(ADMIN)],
    "team_keys:list": [get(ADMIN), post(ADMIN, {**NEW_KEY, "label": "Another team key"})],
    "team_keys:key": [get(ADMIN, **SHARED)],
    "team_keys:check": [post(ADMIN, **SHARED)],
    "team_keys:rename": [post(ADMIN, {"label": "Renamed team key"}, **SHARED)],
    "team_keys:replace-secret": [post(ADMIN, {"api_key": "sk-short"}, **SHARED)],
    "team_keys:delete": [post(ADMIN, **SHARED)],
    "team_keys:grant": [post(ADMIN_FORM_ERROR, {"grantee": "x"}, **SHARED)],
    "team_keys:grant-change": [post(ADMIN, {"models_scope": "all", "budget_period": "day"}, **GRANT)],
    "team_keys:grant-revoke": [post(ADMIN, **GRANT)],
    # The Django admin: its index and the lists of our models; every other admin page is guarded the same
    # way by AdminSite.admin_view.
    "admin:*": [
        Check("get", ADMIN_SITE_INDEX, kwargs={"_name": "admin:index"}),
        *(
            Check("get", ADMIN_SITE, kwargs={"_name": name})
            for name in (
                "admin:accounts_user_changelist",
                "admin:accounts_team_changelist",
                "admin:accounts_invite_changelist",
                "admin:accounts_workspace_changelist",
                "admin:accounts_auditevent_changelist",
                "admin:keys_credential_changelist",
            )
        ),
    ],
}

WS_ROUTES = {
    "ws/conversations/<int:conversation_id>/": OWNED,
}
WS_KWARGS = {"ws/conversations/<int:conversation_id>/": CONVERSATION}


def route_names(patterns=None, namespace=""):
    """Every named route of the resolver, as "namespace:name"; the Django admin's as "admin:*"."""
    names = set()
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            if inner == "admin:":
                names.add("admin:*")
                continue
            names |= route_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"route {pattern.pattern} has no name: name it, then add it to ROUTES"
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_route_is_in_the_table():
    routes = route_names()
    missing = sorted(routes - ROUTES.keys())
    assert not missing, (
        f"routes without an entry in tests/test_routes_by_role.py ROUTES — add them: {missing}"
    )
    stale = sorted(ROUTES.keys() - routes)
    assert not stale, f"ROUTES lists routes that no longer exist — remove them: {stale}"
    ws = {str(pattern.pattern) for pattern in websocket_urlpatterns}
    assert ws == WS_ROUTES.keys(), (
        f"websocket routes and WS_ROUTES differ — add or remove entries: {sorted(ws ^ WS_ROUTES.keys())}"
    )


@dataclass
class World:
    users: dict
    objects: dict


def build_world(fake_provider) -> World:
    """Four people (anonymous needs none) and one of each object, owned by the member."""

    def person(username, role):
        user = User(username=username, role=role, is_staff=role == "admin", is_superuser=role == "admin")
        user.set_unusable_password()
        user.save()
        return user

    admin = person("root", User.Role.ADMIN)
    member, other, pending = person("alice", "member"), person("bob", "member"), person("pat", "pending")
    conversation = Conversation.objects.create(owner=member)
    message = Message.objects.create(conversation=conversation, role="user", content="Hello")
    folder = Folder.objects.create(owner=member, name="Projects")
    deleted_conversation = Conversation.objects.create(owner=member, deleted_at=timezone.now())
    credential = do_add_credential(
        member,
        preset="openai",
        label="Alice's key",
        base_url=fake_provider.base_url("openai"),
        auth_style="bearer",
        auth_header="",
        secret="sk-test-matrix-0123456789",
    )
    team = Team.objects.create(name="Research")
    team.members.add(member)
    shared_key = do_add_shared_key(
        admin,
        preset="openai",
        label="Team key",
        base_url=fake_provider.base_url("openai"),
        auth_style="bearer",
        auth_header="",
        secret="sk-test-matrix-shared-0123456789",
    )
    grant = do_grant(admin, shared_key, user=member)
    invite, token = do_create_invite(admin, role="member", team=None, days=7)
    return World(
        users={"anonymous": None, "pending": pending, "member": member, "other": other, "admin": admin},
        objects={
            "conversation": conversation.pk,
            "message": message.pk,
            "credential": credential.pk,
            "person": member.pk,
            "team": team.pk,
            "folder": folder.pk,
            "deleted_conversation": deleted_conversation.pk,
            "shared_key": shared_key.pk,
            "grant": grant.pk,
            "invite": invite.pk,
            "token": token,
        },
    )


@pytest.fixture
def world(db, fake_provider):
    return build_world(fake_provider)


def fingerprint():
    """What a refused request must not change."""
    return (
        list(User.objects.order_by("pk").values_list("pk", "role", "is_active")),
        Conversation.objects.count(),
        Message.objects.count(),
        list(Credential.objects.order_by("pk").values_list("pk", "label", "last4")),
        list(Team.objects.order_by("pk").values_list("pk", "name")),
        Team.members.through.objects.count(),
        list(Invite.objects.order_by("pk").values_list("pk", "revoked_at", "used_at")),
        AuditEvent.objects.count(),
    )


def outcome(response) -> object:
    location = response.headers.get("Location", "")
    if response.status_code in (301, 302, 303):
        if location.startswith(reverse("accounts:sign_in")):
            return LOGIN
        if location.startswith(reverse("accounts:waiting")):
            return WAITING
        if location.startswith(reverse("admin:login")):
            return ADMIN_LOGIN
        return OK
    if 200 <= response.status_code < 300:
        return OK
    return response.status_code


CASES = [
    pytest.param(name, n, role, id=f"{name}-{check.method}{n}-{role}")
    for name, checks in ROUTES.items()
    for n, check in enumerate(checks)
    for role in ROLES
]


@pytest.mark.parametrize(("name", "n", "role"), CASES)
def test_route_by_role(client, world, name, n, role):
    check = ROUTES[name][n]
    # A kwarg names an object of the world, or is a literal URL part (e.g. an export format).
    kwargs = {key: world.objects.get(value, value) for key, value in check.kwargs.items() if key != "_name"}
    url = reverse(check.kwargs.get("_name", name), kwargs=kwargs) + (f"?{check.query}" if check.query else "")
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    expected = getattr(check.rule, role)
    before = fingerprint()
    response = getattr(client, check.method)(url, check.data)
    assert outcome(response) == expected, (
        f"{check.method.upper()} {url} as {role}: expected {expected}, got {response.status_code} "
        f"{response.headers.get('Location', '')}"
    )
    if expected != OK:
        assert fingerprint() == before, f"{check.method.upper()} {url} as {role} was refused but changed data"


@pytest.fixture
def fresh_channel_layer():
    """Each async test runs on its own event loop; a channel layer's queues must not outlive it."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def ws_path(route: str, kwargs: dict) -> str:
    """`route` with its <converter:name> parts filled in."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), route)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", list(WS_ROUTES))
@pytest.mark.parametrize("role", ROLES)
async def test_websocket_route_by_role(fresh_channel_layer, fake_provider, route, role):
    from novaweb.asgi import application

    world = await sync_to_async(build_world)(fake_provider)
    kwargs = {key: world.objects[value] for key, value in WS_KWARGS[route].items()}
    headers = [(b"origin", ORIGIN)]
    if world.users[role] is not None:
        headers.append((b"cookie", await sync_to_async(session_cookie_for)(world.users[role])))
    communicator = WebsocketCommunicator(application, ws_path(route, kwargs), headers=headers)
    connected, _ = await communicator.connect()
    expected = getattr(WS_ROUTES[route], role)
    assert connected == (expected == OK), f"{route} as {role}: expected {expected}, connected={connected}"
    await communicator.disconnect()
