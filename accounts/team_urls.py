"""The team administration area under /team/ (admins only): people, teams, invites, sign-up, audit."""

from django.urls import path

from accounts import audit_views, team_views

app_name = "team"
urlpatterns = [
    path("", team_views.team_home, name="home"),
    path("audit/", audit_views.audit_log, name="audit"),
]
