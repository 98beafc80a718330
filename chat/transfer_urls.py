from django.urls import path

from chat import transfer_views

app_name = "transfer"
urlpatterns = [
    path(
        "c/<int:conversation_id>/export/<str:export_format>/",
        transfer_views.export_conversation,
        name="export",
    ),
    path("settings/data/", transfer_views.data_page, name="data"),
    path("settings/data/export/", transfer_views.export_all, name="export-all"),
    path("settings/data/import/", transfer_views.import_conversations, name="import"),
]
