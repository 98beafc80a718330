from django.urls import path

from chat import views

app_name = "chat"
urlpatterns = [
    path("", views.home, name="home"),
    path("c/", views.conversation_list, name="list"),
    path("c/new/", views.new_conversation, name="new"),
    path("c/<int:conversation_id>/", views.conversation, name="conversation"),
    path("c/<int:conversation_id>/options/", views.conversation_options, name="options"),
    path("c/<int:conversation_id>/messages/", views.conversation_messages, name="messages"),
]
