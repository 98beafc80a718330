from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("sign-up/", views.sign_up, name="sign_up"),
    path("invite/", views.open_invite, name="open_invite"),
    path("invite/<str:token>/", views.invite, name="invite"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("waiting/", views.waiting, name="waiting"),
]
