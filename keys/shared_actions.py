"""State changes an admin makes to shared keys and their grants, each with its audit event.

The audit event is written in the same transaction as the change (accounts.audit.record_event), and names
what changed — never a secret: a replaced secret is recorded as "secret replaced", with whether the address
changed too.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import record_event
from accounts.models import Team
from chat.broadcast import keys_changed_on_commit
from keys.actions import do_add_credential, do_delete_credential, do_rename_credential, do_replace_secret
from keys.models import Credential, Grant

# The limits an admin sets on a grant: what "limits changed" compares.
GRANT_LIMITS = (
    "allowed_models",
    "budget_tokens",
    "budget_credits",
    "budget_period",
    "rate_per_minute",
    "max_concurrent",
)


BUDGET_LIMITS = {"budget_tokens", "budget_credits", "budget_period"}


class GrantExists(Exception):
    """The person or team already has a live grant of this key."""


def do_add_shared_key(actor, **fields) -> Credential:
    """A key owned by no one: the team's. `fields` as keys.actions.do_add_credential takes them."""
    with transaction.atomic():
        credential = do_add_credential(None, **fields)
        record_event(actor, "key.created", credential, label=credential.label, preset=credential.preset)
    return credential


def do_rename_shared_key(actor, credential: Credential, label: str) -> None:
    with transaction.atomic():
        old = credential.label
        do_rename_credential(credential, label)
        record_event(actor, "key.renamed", credential, label=label, **{"from": old, "to": label})
        keys_changed_on_commit(_grantees(credential.grants.live()))


def do_replace_shared_secret(actor, credential: Credential, **fields) -> None:
    """A new secret (and maybe address): every grant keeps working, and the next request uses it."""
    with transaction.atomic():
        do_replace_secret(credential, **fields)
        # The address is no secret, and says whether the key now goes somewhere else.
        record_event(
            actor, "key.secret_replaced", credential, label=credential.label, base_url=credential.base_url
        )


def do_delete_shared_key(actor, credential: Credential) -> None:
    """The key and its grants go; usage rows stay (they keep the label) so past spending still adds up."""
    with transaction.atomic():
        grants = credential.grants.count()
        record_event(actor, "key.deleted", credential, label=credential.label, grants=grants)
        keys_changed_on_commit(_grantees(credential.grants.live()))
        do_delete_credential(credential)


def do_grant(actor, credential: Credential, *, user=None, team=None, **limits) -> Grant:
    """Lend `credential` to one person or one team with `limits` (see GRANT_LIMITS); GrantExists if they
    already have a live grant of it (edit that one instead)."""
    try:
        with transaction.atomic():
            grant = Grant.objects.create(
                credential=credential, user=user, team=team, created_by=actor, **limits
            )
            record_event(
                actor, "grant.created", grant, label=grant_label(grant), key=credential.label, **_facts(grant)
            )
            keys_changed_on_commit(_grantees([grant]))
    except IntegrityError:
        who = user.username if user is not None else f"The team {team.name}"
        raise GrantExists(f"{who} already has this key — change that grant instead.") from None
    return grant


def do_change_grant(actor, grant: Grant, **limits) -> list[str]:
    """Set a grant's limits; returns the names of those that changed. Replies already streaming finish
    under the limits they were admitted with; the next request meets the new ones."""
    with transaction.atomic():
        locked = Grant.objects.select_for_update().get(pk=grant.pk)
        before = {name: getattr(locked, name) for name in GRANT_LIMITS}
        for name, value in limits.items():
            setattr(locked, name, value)
        changed = [name for name in GRANT_LIMITS if getattr(locked, name) != before[name]]
        if changed:
            locked.save(update_fields=changed)
            budget_only = set(changed) <= BUDGET_LIMITS
            record_event(
                actor,
                "grant.budget_changed" if budget_only else "grant.changed",
                locked,
                label=grant_label(locked),
                key=locked.credential.label,
                changed={name: [_json(before[name]), _json(getattr(locked, name))] for name in changed},
            )
            keys_changed_on_commit(_grantees([locked]))
        for name in GRANT_LIMITS:
            setattr(grant, name, getattr(locked, name))
    return changed


def do_revoke_grant(actor, grant: Grant) -> bool:
    """End a grant now: the next request on it is refused, even on a page already open. Replies already
    streaming finish and are billed to it. False if it was revoked already."""
    with transaction.atomic():
        revoked = Grant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if revoked:
            record_event(actor, "grant.revoked", grant, label=grant_label(grant), key=grant.credential.label)
            keys_changed_on_commit(_grantees([grant]))
    grant.refresh_from_db(fields=["revoked_at"])
    return bool(revoked)


def _grantees(grants) -> set[int]:
    """The people `grants` lend to: their persons, and every member of their teams (one query for those)."""
    grants = list(grants)
    people = {grant.user_id for grant in grants if grant.user_id}
    team_ids = [grant.team_id for grant in grants if grant.team_id]
    if team_ids:
        people.update(
            Team.members.through.objects.filter(team_id__in=team_ids).values_list("user_id", flat=True)
        )
    return people


def grant_label(grant: Grant) -> str:
    who = grant.user.username if grant.user_id else f"team {grant.team.name}"
    return f"{grant.credential.label} → {who}"


def _facts(grant: Grant) -> dict:
    return {name: _json(getattr(grant, name)) for name in GRANT_LIMITS}


def _json(value):
    """A limit as the audit log's JSON holds it (credits as a string, so no precision is lost)."""
    if value is None or isinstance(value, int | str | list):
        return value
    return str(value)
