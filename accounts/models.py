from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A NovaWeb user. The first person to sign up becomes the admin (see actions.do_sign_up)."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN
