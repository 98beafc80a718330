from django.contrib import admin

from keys.models import Credential


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Shows the masked key only; the ciphertext is not a field here at all."""

    list_display = ("label", "owner", "preset", "base_url", "masked", "last_used_at")
    fields = (
        "owner",
        "preset",
        "label",
        "base_url",
        "auth_style",
        "auth_header",
        "masked",
        "last_used_at",
        "last_error",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False
