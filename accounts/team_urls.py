"""The team administration area under /team/ (admins only): people, teams, invites, sign-up, audit."""

from django.urls import path

from accounts import team_views

app_name = "team"
urlpatterns = [
    path("", team_views.team_home, name="home"),
]
