"""When a person was last seen, for the People page: noted on their pages and on their chat's websocket (a
person chatting all afternoon loads no page)."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User

# Kept to within this much, so an active person costs one UPDATE every few minutes at most.
LAST_SEEN_GRANULARITY = timedelta(minutes=5)


def note_seen(user: User) -> None:
    """Note that `user` is here now, unless their `last_seen_at` already says so closely enough."""
    now = timezone.now()
    if user.last_seen_at is None or now - user.last_seen_at >= LAST_SEEN_GRANULARITY:
        # An UPDATE of one column, not save(): this copy of the user may be stale.
        User.objects.filter(pk=user.pk).update(last_seen_at=now)
        user.last_seen_at = now
