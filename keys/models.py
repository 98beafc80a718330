from django.conf import settings
from django.db import models

from providers.presets import PRESETS

PRESET_CHOICES = [(slug, preset.name) for slug, preset in PRESETS.items()]


class CredentialQuerySet(models.QuerySet):
    def for_user(self, user):
        """The credentials `user` may use to chat: for now, their own personal keys."""
        return self.filter(owner=user)


class Credential(models.Model):
    """A provider key. Only the ciphertext and the last four characters are stored, never the secret."""

    class AuthStyle(models.TextChoices):
        BEARER = "bearer", "Authorization: Bearer"
        X_API_KEY = "x-api-key", "X-API-Key header"
        HEADER = "header", "Custom header"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credentials")
    preset = models.CharField(max_length=32, choices=PRESET_CHOICES)
    label = models.CharField(max_length=80)
    base_url = models.URLField(max_length=500)
    auth_style = models.CharField(max_length=16, choices=AuthStyle.choices, default=AuthStyle.BEARER)
    auth_header = models.CharField(max_length=64, blank=True)
    ciphertext = models.TextField()
    last4 = models.CharField(max_length=4)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # The provider's model list from the last "Refresh models": [{"id", "tier", "vision"}], in its order.
    models_cache = models.JSONField(default=list, blank=True)
    models_fetched_at = models.DateTimeField(null=True, blank=True)

    objects = CredentialQuerySet.as_manager()

    class Meta:
        ordering = ["label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "label"], name="credential_label_unique_per_owner")
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.preset_name})"

    @property
    def preset_name(self) -> str:
        preset = PRESETS.get(self.preset)
        return preset.name if preset else self.preset

    @property
    def masked(self) -> str:
        return f"••••{self.last4}"


class ChatDefaults(models.Model):
    """What a user's new chats start with: key, model and parameters (cleaned against the key's preset)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_defaults"
    )
    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model = models.CharField(max_length=200, blank=True)
    params = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"chat defaults of user {self.user_id}"
