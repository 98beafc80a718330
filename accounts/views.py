from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import redirect, resolve_url
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from accounts.actions import ActionError, check_sign_up, do_sign_up, hash_token, policy_sentence
from accounts.forms import SignInForm, SignUpForm
from accounts.middleware import pending_allowed
from accounts.models import Workspace

# The invite an anonymous visitor arrived with, kept in their session as its token's hash (the session table
# holds no usable link): the token leaves the address bar and the browser history at once, and the sign-up
# form never carries it.
INVITE_SESSION_KEY = "signup_invite"
_TOKEN_CHARS = 100


def _sign_up_context(request, form, terms=None, problem=""):
    """What the sign-up page shows: the policy in words, the invite's terms, or why there is no form."""
    policy = Workspace.current().signup_policy
    return {
        "form": form,
        "terms": terms,
        "problem": problem,
        "policy_sentence": policy_sentence(policy),
        "invite_only": policy == Workspace.SignupPolicy.INVITE,
    }


def _terms(request):
    """The sign-up terms for this visitor and why their invite (if any) no longer works: (terms, problem).
    `terms` is None when no account can be made at all."""
    invite_hash = request.session.get(INVITE_SESSION_KEY)
    problem = ""
    if invite_hash:
        try:
            return check_sign_up(invite_hash), ""
        except ActionError as exc:
            problem = str(exc)  # e.g. used meanwhile: say so, and fall back to the policy
            del request.session[INVITE_SESSION_KEY]
    try:
        return check_sign_up(), problem
    except ActionError as exc:
        return None, problem or str(exc)


@login_not_required
@require_http_methods(["GET", "POST"])
def sign_up(request):
    if request.user.is_authenticated:
        return redirect("chat:home")
    terms, problem = _terms(request)
    if terms is None:
        return TemplateResponse(
            request, "accounts/sign_up.html", _sign_up_context(request, None, problem=problem)
        )
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        invite_hash = request.session.get(INVITE_SESSION_KEY)
        try:
            user = do_sign_up(
                form.cleaned_data["username"], form.cleaned_data["password1"], invite_hash=invite_hash
            )
        except ActionError as exc:
            form.add_error(None, str(exc))
        else:
            request.session.pop(INVITE_SESSION_KEY, None)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("chat:home")  # a pending person is sent on to the waiting page
    context = _sign_up_context(request, form, terms, problem)
    return TemplateResponse(request, "accounts/sign_up.html", context)


def invite_link(request, token: str) -> str:
    """The link an admin hands out. The token follows "#": browsers never send that part, so it reaches no
    access log or proxy; the page's script posts it (open_invite)."""
    return request.build_absolute_uri(reverse("accounts:open_invite")) + "#" + token


def _keep_invite(request, token: str):
    """The invite goes into the visitor's session (its hash), then the sign-up page, which shows what it
    gives (or why it cannot be used any more)."""
    request.session[INVITE_SESSION_KEY] = hash_token(token[:_TOKEN_CHARS])
    return redirect("accounts:sign_up")


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def open_invite(request):
    """An invite link (`invite_link`): the page's script takes the token from after "#" and posts it. Without
    JavaScript the same form takes it pasted."""
    if request.user.is_authenticated:
        return redirect("chat:home")
    if request.method == "POST":
        token = request.POST.get("token", "").strip()
        if token:
            return _keep_invite(request, token)
    return TemplateResponse(request, "accounts/open_invite.html", {})


@login_not_required
@never_cache
@require_GET
def invite(request, token):
    """An invite link of the first kind, with the token in the path (which the access log records): links
    already handed out keep working."""
    if request.user.is_authenticated:
        return redirect("chat:home")
    return _keep_invite(request, token)


@pending_allowed
@require_GET
def waiting(request):
    """Where a person waiting for approval stays. The page asks again every few seconds; once they are
    let in (htmx), it moves on by itself."""
    if not request.user.is_pending:
        if request.htmx:
            return HttpResponseClientRedirect(resolve_url("chat:home"))
        return redirect("chat:home")
    if request.htmx:
        return HttpResponse(status=204)  # still waiting: nothing to swap
    return TemplateResponse(request, "accounts/waiting.html", {})


sign_in = login_not_required(
    auth_views.LoginView.as_view(
        template_name="accounts/sign_in.html",
        authentication_form=SignInForm,
        redirect_authenticated_user=True,
    )
)


@pending_allowed
@require_http_methods(["GET", "POST"])
def sign_out(request):
    if request.method == "GET":
        # The header's link posts through htmx; followed before htmx has loaded (or without JavaScript), it
        # arrives as a GET. Signing out stays a POST (a link elsewhere must not sign anyone out): ask.
        return TemplateResponse(request, "accounts/sign_out.html")
    logout(request)
    if request.htmx:
        return HttpResponseClientRedirect(resolve_url("accounts:sign_in"))
    return redirect("accounts:sign_in")
