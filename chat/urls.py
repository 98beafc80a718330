from django.urls import path

from chat import search_views, views

app_name = "chat"
urlpatterns = [
    path("", views.home, name="home"),
    path("c/", views.conversation_list, name="list"),
    path("c/new/", views.new_conversation, name="new"),
    path("c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("c/<int:conversation_id>/options/", views.conversation_options, name="options"),
    path("search/", search_views.search_results, name="search"),
    path("search/filters/", search_views.search_filters, name="search_filters"),
]
