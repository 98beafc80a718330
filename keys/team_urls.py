"""Shared keys, their grants and the team's usage, under /team/ (admins only)."""

from django.urls import path

from keys import usage_views

app_name = "team_keys"
urlpatterns = [
    path("usage/", usage_views.team_usage, name="usage"),
    path("usage.csv", usage_views.team_usage_csv, name="usage-csv"),
]
