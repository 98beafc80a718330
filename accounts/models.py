from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """A NovaWeb user. The first person to sign up becomes the admin (see actions.do_sign_up).

    A `pending` person has signed up where the workspace asks for approval; they can do nothing until an
    admin makes them a member. Deactivating (`is_active=False`) shuts someone out whatever their role.
    """

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        PENDING = "pending", "Pending approval"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # When this person last loaded a page (kept to within a few minutes by accounts.middleware.LastSeen).
    last_seen_at = models.DateTimeField(null=True, blank=True)

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def is_pending(self) -> bool:
        return self.role == self.Role.PENDING


class Workspace(models.Model):
    """The one row of settings the admin controls for the whole installation (pk is always 1)."""

    class SignupPolicy(models.TextChoices):
        OPEN = "open", "Open: anyone can sign up"
        APPROVAL = "approval", "Approval: new people wait until an admin approves them"
        INVITE = "invite", "Invite only: sign-up needs an invite link"

    signup_policy = models.CharField(max_length=16, choices=SignupPolicy.choices, default=SignupPolicy.OPEN)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "workspace settings"

    @classmethod
    def current(cls) -> "Workspace":
        return cls.objects.get_or_create(pk=1)[0]


class Team(models.Model):
    """A group of people an admin can grant shared keys to."""

    name = models.CharField(max_length=80, unique=True)
    members = models.ManyToManyField(User, related_name="teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InviteQuerySet(models.QuerySet):
    def usable(self, now=None):
        """Invites that can still make an account: not used, not revoked, not expired."""
        return self.filter(
            used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now or timezone.now()
        )


class Invite(models.Model):
    """A sign-up link. Only a hash of its token is stored; the link is shown once, when it is made."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"
        USED = "used", "Used"

    token_hash = models.CharField(max_length=64, unique=True)
    role = models.CharField(max_length=16, choices=User.Role.choices, default=User.Role.MEMBER)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    used_at = models.DateTimeField(null=True, blank=True)

    objects = InviteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invite {self.pk}"

    @property
    def status(self) -> str:
        """Used and revoked are final; an unused, unrevoked invite is active until it expires."""
        if self.used_at is not None:
            return self.Status.USED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.ACTIVE

    @property
    def status_label(self) -> str:
        return self.Status(self.status).label


class AuditEvent(models.Model):
    """Who did what to a key, a grant or a person's role, and when. Never holds a secret.

    `actor_name` and `target_label` are copies, so the log still reads after the actor or target is deleted.
    """

    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)
    target_type = models.CharField(max_length=40)
    target_id = models.BigIntegerField(null=True, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.target_type} {self.target_label}"
