"""Who may reach which page, decided on every request (after AuthenticationMiddleware and HtmxMiddleware's
request phase, so `request.user` and `request.htmx` are set).

- Anonymous people go to the sign-in page (Django's LoginRequiredMiddleware; deactivated people are
  anonymous, since ModelBackend refuses inactive users' sessions).
- Pending people go to the "Waiting for approval" page, whatever they ask for.
An htmx request gets HX-Redirect instead of a 302: its XHR would follow a redirect and swap a whole page
into the fragment's place.
"""

from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import User
from accounts.presence import note_seen


def pending_allowed(view):
    """Mark a view a person waiting for approval may open (the waiting page itself, sign-out), as
    login_not_required marks public ones."""
    view.pending_allowed = True
    return view


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's, with an htmx-aware answer: sign in, then come back to the page (not the fragment)."""

    def handle_no_permission(self, request, view_func):
        if getattr(request, "htmx", False):
            back = request.htmx.current_url_abs_path or "/"
            login_url = resolve_url(self.get_login_url(view_func))
            target = redirect_to_login(back, login_url, self.get_redirect_field_name(view_func))
            return HttpResponseClientRedirect(target["Location"])
        return super().handle_no_permission(request, view_func)


class PendingApprovalMiddleware:
    """A pending person can only wait and sign out: every other route, page or fragment, HTTP method or
    not, sends them to the waiting page. Enforced here, not by hiding links (a client can call any URL)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.role != User.Role.PENDING:
            return None
        if getattr(view_func, "pending_allowed", False):
            return None  # public pages too send them here: signed in, there is nothing else for them
        waiting = reverse("accounts:waiting")
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(waiting)
        return redirect(waiting)


class LastSeenMiddleware:
    """Notes when a signed-in person last loaded something, for the People page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            note_seen(user)
        return response
