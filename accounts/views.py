from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, resolve_url
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.actions import do_sign_up
from accounts.forms import SignInForm, SignUpForm


@login_not_required
@require_http_methods(["GET", "POST"])
def sign_up(request):
    if request.user.is_authenticated:
        return redirect("chat:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = do_sign_up(form.cleaned_data["username"], form.cleaned_data["password1"])
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("chat:home")
    return TemplateResponse(request, "accounts/sign_up.html", {"form": form})


sign_in = login_not_required(
    auth_views.LoginView.as_view(
        template_name="accounts/sign_in.html",
        authentication_form=SignInForm,
        redirect_authenticated_user=True,
    )
)


@require_POST
def sign_out(request):
    logout(request)
    if request.htmx:
        return HttpResponseClientRedirect(resolve_url("accounts:sign_in"))
    return redirect("accounts:sign_in")
