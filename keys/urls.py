from django.urls import path

from keys import usage_views, views

app_name = "keys"
urlpatterns = [
    path("", views.settings_home, name="settings"),
    path("keys/", views.key_list, name="list"),
    path("keys/<int:credential_id>/rename/", views.key_rename, name="rename"),
    path("keys/<int:credential_id>/delete/", views.key_delete, name="delete"),
    path("keys/<int:credential_id>/check/", views.key_check, name="check"),
    path("keys/<int:credential_id>/secret/", views.key_replace_secret, name="replace-secret"),
    path("defaults/", views.chat_defaults, name="defaults"),
    path("usage/", usage_views.my_usage, name="usage"),
    path("usage.csv", usage_views.my_usage_csv, name="usage-csv"),
]
