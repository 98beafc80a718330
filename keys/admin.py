from django.contrib import admin

from keys.models import Credential


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Shows no secret: the ciphertext is not a field here at all, and a personal key not even its last four
    characters (an admin manages shared keys, never a member's own)."""

    list_display = ("label", "owner", "preset", "base_url", "shown_key", "last_used_at")
    fields = (
        "owner",
        "preset",
        "label",
        "base_url",
        "auth_style",
        "auth_header",
        "shown_key",
        "last_used_at",
        "last_error",
    )
    readonly_fields = fields

    @admin.display(description="key")
    def shown_key(self, credential):
        return credential.masked if credential.is_shared else "personal (hidden)"

    def has_add_permission(self, request):
        return False
