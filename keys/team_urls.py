"""Shared keys, their grants and the team's usage, under /team/ (admins only)."""

from django.urls import path

from keys import grant_views, team_views, usage_views

app_name = "team_keys"
urlpatterns = [
    path("usage/", usage_views.team_usage, name="usage"),
    path("usage.csv", usage_views.team_usage_csv, name="usage-csv"),
    path("keys/", team_views.shared_key_list, name="list"),
    path("keys/<int:credential_id>/", team_views.shared_key_page, name="key"),
    path("keys/<int:credential_id>/check/", team_views.shared_key_check, name="check"),
    path("keys/<int:credential_id>/rename/", team_views.shared_key_rename, name="rename"),
    path("keys/<int:credential_id>/secret/", team_views.shared_key_replace_secret, name="replace-secret"),
    path("keys/<int:credential_id>/delete/", team_views.shared_key_delete, name="delete"),
    path("keys/<int:credential_id>/grants/", grant_views.grant_create, name="grant"),
    path("keys/<int:credential_id>/grants/<int:grant_id>/", grant_views.grant_change, name="grant-change"),
    path(
        "keys/<int:credential_id>/grants/<int:grant_id>/revoke/",
        grant_views.grant_revoke,
        name="grant-revoke",
    ),
]
