"""Fetching people, teams and invites for the team pages always goes through here, and here checks who asks.

Only admins manage people; anyone else is refused before anything is looked up.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import Invite, Team, User


def _require_admin(user) -> None:
    if not getattr(user, "is_admin", False) or not user.is_active:
        raise PermissionDenied("Only an admin can manage people.")


def _by_pk(queryset, pk):
    try:
        return queryset.get(pk=int(pk))
    except (queryset.model.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("Not found") from None


def access_person(user, person_id) -> User:
    """Person `person_id`, for an admin to manage; 404 if there is none."""
    _require_admin(user)
    return _by_pk(User.objects.all(), person_id)


def access_person_by_name(user, username) -> User:
    """The person called `username` (as typed in a picker, any case); 404 if there is none."""
    _require_admin(user)
    if not isinstance(username, str) or not username.strip():
        raise Http404("Not found")
    username = username.strip()[:150]
    person = User.objects.filter(username=username).first()
    if person is None:  # typed in another case: only when that names one person
        matches = list(User.objects.filter(username__iexact=username)[:2])
        if len(matches) != 1:
            raise Http404("Not found")
        person = matches[0]
    return person


def access_team(user, team_id) -> Team:
    _require_admin(user)
    return _by_pk(Team.objects.all(), team_id)


def access_invite(user, invite_id) -> Invite:
    _require_admin(user)
    return _by_pk(Invite.objects.select_related("team", "created_by", "used_by"), invite_id)
