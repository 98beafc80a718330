from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("chat.urls")),
    path("", include("chat.transfer_urls")),
    path("accounts/", include("accounts.urls")),
    path("settings/", include("keys.urls")),
    path("team/", include("accounts.team_urls")),
    path("team/", include("keys.team_urls")),
    path("admin/", admin.site.urls),
]
