from django.conf import settings
from django.db import models

from providers.presets import PRESETS

PRESET_CHOICES = [(slug, preset.name) for slug, preset in PRESETS.items()]


class CredentialQuerySet(models.QuerySet):
    """Two different questions, never to be mixed up: which keys may a person *manage* (their own personal
    keys: Settings → Keys) and which may they *chat with* (those, plus shared keys granted to them or to a
    team they are in). An admin manages shared keys under /team/keys/, and never anyone's personal key."""

    def managed_by(self, user):
        """`user`'s own personal keys: the only ones they may see, rename, replace or delete in Settings."""
        return self.filter(owner=user)

    def usable_by(self, user):
        """The keys `user` may chat with: their personal keys and shared keys with a live grant to them or to
        one of their teams. Whether a grant allows a given model, and has room, is for keys.ledger to say."""
        granted = Grant.objects.live().to_person(user).values("credential")
        return self.filter(models.Q(owner=user) | models.Q(owner__isnull=True, pk__in=granted))

    def shared(self):
        return self.filter(owner__isnull=True)


class Credential(models.Model):
    """A provider key. Only the ciphertext and the last four characters are stored, never the secret.

    A personal key has an `owner`; a shared key has none: it belongs to the team, an admin manages it, and
    people use it only through a `Grant`, never seeing any part of the secret.
    """

    class AuthStyle(models.TextChoices):
        BEARER = "bearer", "Authorization: Bearer"
        X_API_KEY = "x-api-key", "X-API-Key header"
        HEADER = "header", "Custom header"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="credentials",
    )
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
            models.UniqueConstraint(fields=["owner", "label"], name="credential_label_unique_per_owner"),
            models.UniqueConstraint(
                fields=["label"],
                condition=models.Q(owner__isnull=True),
                name="credential_label_unique_among_shared",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.preset_name})"

    @property
    def preset_name(self) -> str:
        preset = PRESETS.get(self.preset)
        return preset.name if preset else self.preset

    @property
    def is_shared(self) -> bool:
        return self.owner_id is None

    @property
    def masked(self) -> str:
        return f"••••{self.last4}"


# A conversation's instructions (its system message) and the defaults new chats start with are both bounded by this.
MAX_INSTRUCTIONS_CHARS = 10_000


class ChatDefaults(models.Model):
    """What a user's new chats start with: key, model, parameters (cleaned against the key's preset) and
    instructions."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_defaults"
    )
    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model = models.CharField(max_length=200, blank=True)
    params = models.JSONField(default=dict, blank=True)
    instructions = models.TextField(blank=True, default="", db_default="")

    def __str__(self) -> str:
        return f"chat defaults of user {self.user_id}"


class GrantQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at__isnull=True)

    def to_person(self, user):
        """Grants to `user` directly or to a team they are a member of."""
        return self.filter(models.Q(user=user) | models.Q(team__members=user))

    def in_resolution_order(self):
        """The order keys.ledger tries a person's grants on one key: their own grant first, then their teams'
        grants oldest first. Deterministic, so the same request always draws on the same budget."""
        return self.order_by(models.F("user").asc(nulls_last=True), "id")


class Grant(models.Model):
    """A shared key lent to one person or one team, with the limits they use it within.

    Exactly one of `user` and `team` is set. A team grant's budget is one pool for the whole team. Empty
    `allowed_models` means every model. A limit left empty is no limit. Revoking sets `revoked_at`; the row stays
    so that the ledger keeps pointing at it.
    """

    class Period(models.TextChoices):
        DAY = "day", "Per day"
        WEEK = "week", "Per week"
        MONTH = "month", "Per month"

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )
    allowed_models = models.JSONField(default=list, blank=True)
    budget_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    budget_credits = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    budget_period = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH)
    rate_per_minute = models.PositiveIntegerField(null=True, blank=True)
    max_concurrent = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        ordering = ["credential", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, team__isnull=True)
                    | models.Q(user__isnull=True, team__isnull=False)
                ),
                name="grant_to_exactly_one_user_or_team",
            ),
            models.UniqueConstraint(
                fields=["credential", "user"],
                condition=models.Q(revoked_at__isnull=True, user__isnull=False),
                name="grant_one_live_per_user",
            ),
            models.UniqueConstraint(
                fields=["credential", "team"],
                condition=models.Q(revoked_at__isnull=True, team__isnull=False),
                name="grant_one_live_per_team",
            ),
        ]

    def __str__(self) -> str:
        return f"grant {self.pk} of credential {self.credential_id}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None

    @property
    def has_budget(self) -> bool:
        return self.budget_tokens is not None or self.budget_credits is not None

    def allows(self, model: str) -> bool:
        """Whether replies from `model` (the model actually requested, after defaults) may use this grant."""
        return not self.allowed_models or model in self.allowed_models


class UsageEntry(models.Model):
    """One row per reply: the usage ledger. Budgets reserve and settle against these rows.

    A reply's row is made `reserved` before anything goes upstream, holding the worst case
    (`reserved_tokens`, `reserved_credits`; `prompt_tokens` holds the prompt estimate meanwhile); when the
    reply ends it becomes `settled` with what was used (`prompt_tokens`, `completion_tokens`, `credits`),
    `estimated` telling whether the provider reported them. A row counts against the budget period it was
    reserved in (`created_at`); `period_start` records that period's start for reports. See keys/ledger.py.
    """

    class State(models.TextChoices):
        RESERVED = "reserved", "Reserved"
        SETTLED = "settled", "Settled"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="usage"
    )
    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="usage"
    )
    credential_label = models.CharField(max_length=80, blank=True)
    shared = models.BooleanField(default=False)
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.SET_NULL, related_name="usage")
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="usage"
    )
    # One row per request upstream: a reply that is continued gets a second row. At most one is open.
    message = models.ForeignKey(
        "chat.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="usage_entries"
    )
    model = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RESERVED)
    period_start = models.DateTimeField(null=True, blank=True)
    reserved_tokens = models.PositiveBigIntegerField(default=0)
    reserved_credits = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    credits = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    estimated = models.BooleanField(default=False)
    # Characters of the reply already there when this request began (Continue): an estimate bills only the rest.
    prefix_chars = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["grant", "period_start"], name="usage_grant_period"),
            models.Index(fields=["user", "created_at"], name="usage_user_created"),
            models.Index(fields=["created_at"], name="usage_created"),
            models.Index(
                fields=["grant", "state"],
                name="usage_grant_open",
                condition=models.Q(state="reserved"),
            ),
            # A grant's usage in its current period, and its requests in the last minute.
            models.Index(fields=["grant", "created_at"], name="usage_grant_created"),
            # The last reported credits per token of a key and model (the worst case of a credit budget).
            models.Index(fields=["credential", "model", "-created_at"], name="usage_credential_model"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["message"],
                condition=models.Q(state="reserved"),
                name="usage_one_open_per_message",
            ),
        ]

    def __str__(self) -> str:
        return f"usage {self.pk} ({self.state})"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
