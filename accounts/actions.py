"""State changes for people: sign-up."""

from django.db import connection, transaction

from accounts.models import User

# Serialises "is this the first user?" with the insert itself, so two simultaneous first sign-ups
# cannot both become admin (a check before the transaction would be a race).
_FIRST_USER_LOCK = 0x4E4F5641  # "NOVA"


def do_sign_up(username: str, password: str) -> User:
    """Create a user; the very first one becomes the admin. The caller has validated the form."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FIRST_USER_LOCK])
        first = not User.objects.exists()
        user = User(username=username, role=User.Role.ADMIN if first else User.Role.MEMBER)
        if first:
            user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
    return user
