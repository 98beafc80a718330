from django.urls import path

from chat import folder_views, organising_views, search_views, views

app_name = "chat"
urlpatterns = [
    path("", views.home, name="home"),
    path("c/", views.conversation_list, name="list"),
    path("c/lists/", organising_views.sidebar_lists, name="lists"),
    path("c/new/", views.new_conversation, name="new"),
    path("c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("c/<int:conversation_id>/options/", views.conversation_options, name="options"),
    path("c/<int:conversation_id>/messages/", views.conversation_messages, name="messages"),
    path("c/<int:conversation_id>/messages/<int:message_id>/text", views.message_text, name="message_text"),
    # Organising, from the sidebar's menus
    path("c/<int:conversation_id>/row/", organising_views.conversation_row, name="row"),
    path("c/<int:conversation_id>/rename/", organising_views.rename_conversation, name="rename"),
    path("c/<int:conversation_id>/pin/", organising_views.pin_conversation, name="pin"),
    path("c/<int:conversation_id>/archive/", organising_views.archive_conversation, name="archive"),
    path("c/<int:conversation_id>/move/", organising_views.move_conversation, name="move"),
    path("c/<int:conversation_id>/delete/", organising_views.delete_conversation, name="delete"),
    path("c/<int:conversation_id>/restore/", organising_views.restore_conversation, name="restore"),
    path("archived/", organising_views.archived, name="archived"),
    path("folders/new/", folder_views.new_folder, name="new_folder"),
    path("folders/<int:folder_id>/", folder_views.folder, name="folder"),
    path("folders/<int:folder_id>/rename/", folder_views.rename_folder, name="rename_folder"),
    path("folders/<int:folder_id>/toggle/", folder_views.toggle_folder, name="toggle_folder"),
    path("folders/<int:folder_id>/delete/", folder_views.delete_folder, name="delete_folder"),
    path("folders/<int:folder_id>/more/", folder_views.folder_more, name="folder_more"),
    path("search/", search_views.search_results, name="search"),
    path("search/filters/", search_views.search_filters, name="search_filters"),
]
