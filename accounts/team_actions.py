"""State changes to teams: create, rename, delete, add and remove members (each recorded in the audit log).

A team matters through the shared keys granted to it: membership is read when a reply is sent, so a change
here applies from the next message.
"""

from django.db import IntegrityError, transaction

from accounts.actions import ActionError
from accounts.audit import record_event
from accounts.models import Team, User
from chat.broadcast import keys_changed_on_commit

NAME_CHARS = 80


def check_team_name(name, *, team: Team | None = None) -> str:
    """A team name with its spaces tidied, unique whatever its case."""
    name = " ".join(str(name or "").split())
    if not name:
        raise ActionError("Give the team a name.")
    if len(name) > NAME_CHARS:
        raise ActionError(f"A team name has at most {NAME_CHARS} characters.")
    clash = Team.objects.filter(name__iexact=name)
    if team is not None:
        clash = clash.exclude(pk=team.pk)
    if clash.exists():
        raise ActionError(f"There is already a team called “{name}”.")
    return name


def do_create_team(actor: User, name: str) -> Team:
    name = check_team_name(name)
    try:
        with transaction.atomic():
            team = Team.objects.create(name=name)
            record_event(actor, "team.created", team)
    except IntegrityError:  # the same name, made a moment ago
        raise ActionError(f"There is already a team called “{name}”.") from None
    return team


def do_rename_team(actor: User, team: Team, name: str) -> Team:
    name = check_team_name(name, team=team)
    if name == team.name:
        return team
    old = team.name
    try:
        with transaction.atomic():
            team.name = name
            team.save(update_fields=["name"])
            record_event(actor, "team.renamed", team, **{"from": old, "to": name})
    except IntegrityError:
        team.name = old
        raise ActionError(f"There is already a team called “{name}”.") from None
    return team


def do_delete_team(actor: User, team: Team) -> None:
    """Delete a team; its members stay, and the shared keys granted to the team are no longer theirs."""
    with transaction.atomic():
        record_event(actor, "team.deleted", team, members=team.members.count())
        team.delete()


def do_add_member(actor: User, team: Team, person: User) -> bool:
    """Put `person` in `team`; False if they already were (nothing changes)."""
    with transaction.atomic():
        if team.members.filter(pk=person.pk).exists():
            return False
        team.members.add(person)
        record_event(actor, "team.member_added", team, person=person.username, person_id=person.pk)
        keys_changed_on_commit([person.pk])  # the team's shared keys are theirs now
    return True


def do_remove_member(actor: User, team: Team, person: User) -> bool:
    """Take `person` out of `team`; False if they were not in it."""
    with transaction.atomic():
        removed, _ = Team.members.through.objects.filter(team=team, user=person).delete()
        if removed:
            record_event(actor, "team.member_removed", team, person=person.username, person_id=person.pk)
            keys_changed_on_commit([person.pk])
    return bool(removed)
