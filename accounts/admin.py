from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import User


@admin.register(User)
class NovaUserAdmin(UserAdmin):
    list_display = ("username", "role", "is_active", "date_joined", "last_login")
    fieldsets = (*UserAdmin.fieldsets, ("NovaWeb", {"fields": ("role",)}))
