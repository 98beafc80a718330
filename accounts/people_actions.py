"""State changes an admin makes to a person: role, approval, deactivation.

Each takes effect at once: HTTP requests read the role and active flag on every request, and after
commit the person's open sockets hear it on their `user.<id>` group; losing chat access (deactivated or
pending) also stops their running replies, through the same Stop as the button's, so the text is kept.
"""

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.utils import timezone

from accounts.actions import ActionError
from accounts.audit import record_event
from accounts.models import User
from chat.actions import do_stop_replies_of
from chat.broadcast import send_to_group_on_commit, user_group

# Role and activation changes take this lock for their transaction, so "is someone else still an active
# admin?" cannot race (two admins demoting each other at once would otherwise leave none).
_ADMINS_LOCK = 0x4E4F5642

RANK = {User.Role.PENDING: 0, User.Role.MEMBER: 1, User.Role.ADMIN: 2}


def lowers_access(old_role: str, new_role: str) -> bool:
    return RANK.get(new_role, 0) < RANK.get(old_role, 0)


def can_chat(person: User) -> bool:
    return person.is_active and not person.is_pending


def _lock_admins() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADMINS_LOCK])


def check_keeps_an_admin(actor: User, person: User) -> None:
    """Refuse a change that would leave NovaWeb without an active admin (call under _lock_admins)."""
    others = User.objects.filter(role=User.Role.ADMIN, is_active=True).exclude(pk=person.pk)
    if person.is_admin and person.is_active and not others.exists():
        if person.pk == actor.pk:
            raise ActionError(
                "You are the only active admin — make someone else an admin first, so NovaWeb keeps one."
            )
        raise ActionError(f"{person.username} is the only active admin — make someone else an admin first.")


def do_set_role(actor: User, person: User, role: str) -> User:
    """Make `person` an admin, a member or pending. Admins also get the Django admin (staff, superuser)."""
    if role not in User.Role.values:
        raise ActionError("Pick a role: admin, member or pending approval.")
    with transaction.atomic():
        _lock_admins()
        person = User.objects.select_for_update().get(pk=person.pk)
        old = person.role
        if old == role:
            return person
        if old == User.Role.ADMIN:
            check_keeps_an_admin(actor, person)
        person.role = role
        person.is_staff = person.is_superuser = role == User.Role.ADMIN
        person.save(update_fields=["role", "is_staff", "is_superuser"])
        action = (
            "person.approved" if old == User.Role.PENDING and role == User.Role.MEMBER else "role.changed"
        )
        record_event(actor, action, person, **{"from": old, "to": role})
        _tell_open_sockets(person)
    return person


def do_approve(actor: User, person: User) -> User:
    """Let a person waiting for approval in, as a member."""
    if not person.is_pending:
        raise ActionError(f"{person.username} is not waiting for approval.")
    return do_set_role(actor, person, User.Role.MEMBER)


def do_set_active(actor: User, person: User, active: bool) -> User:
    """Deactivate (signed out everywhere, at once) or reactivate a person. Nothing of theirs is deleted."""
    with transaction.atomic():
        _lock_admins()
        person = User.objects.select_for_update().get(pk=person.pk)
        if person.is_active == active:
            return person
        if not active:
            check_keeps_an_admin(actor, person)
        person.is_active = active
        person.save(update_fields=["is_active"])
        record_event(
            actor, "person.reactivated" if active else "person.deactivated", person, role=person.role
        )
        if not active:
            _end_sessions(person)
        _tell_open_sockets(person)
    return person


def _tell_open_sockets(person: User) -> None:
    """After commit: every open socket of `person` hears their new access; without chat access, their
    running replies are stopped too (a reply streams on the server even with no page open)."""
    send_to_group_on_commit(
        user_group(person.pk),
        {"type": "access.changed", "role": person.role, "active": person.is_active},
    )
    if not can_chat(person):
        do_stop_replies_of(person.pk)


def _end_sessions(person: User) -> None:
    """Delete `person`'s sessions. Django already refuses an inactive user's session; deleting them means
    reactivating someone does not revive sessions from before (they sign in again).

    Sessions do not say whose they are without decoding, so this reads the unexpired ones: an admin's
    occasional action, not a request path.
    """
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return
    theirs = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500)
        if session.get_decoded().get(SESSION_KEY) == str(person.pk)
    ]
    Session.objects.filter(session_key__in=theirs).delete()
