"""State changes for joining NovaWeb: sign-up under the workspace's policy, invites, and the policy itself.

check_* validates, do_* writes (with its audit event, in the same transaction). Roles, approval and
deactivation are in people_actions; teams in team_actions.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.audit import record_event
from accounts.models import Invite, Team, User, Workspace

# Serialises "is this the first user?" with the insert itself, so two simultaneous first sign-ups
# cannot both become admin (a check before the transaction would be a race).
_FIRST_USER_LOCK = 0x4E4F5641  # "NOVA"

INVITE_DAYS = (1, 7, 30)
INVITE_ROLES = (User.Role.MEMBER, User.Role.ADMIN)  # an invite is an approval already: never "pending"

POLICY_SENTENCES = {
    Workspace.SignupPolicy.OPEN: "Anyone can create an account.",
    Workspace.SignupPolicy.APPROVAL: "Sign-ups need an admin's approval.",
    Workspace.SignupPolicy.INVITE: "You need an invite.",
}

_INVITE_PROBLEMS = {
    Invite.Status.EXPIRED: "This invite link has expired — ask an admin for a new one.",
    Invite.Status.REVOKED: "This invite link was revoked by an admin — ask them for a new one.",
    Invite.Status.USED: "This invite link has already been used: each link makes one account. "
    "Ask an admin for a new one.",
}
_INVITE_UNKNOWN = (
    "This invite link is not valid — check that you copied all of it, or ask an admin for a new one."
)
NEEDS_INVITE = "NovaWeb is invite-only: you need an invite link from an admin to create an account."


class ActionError(Exception):
    """A request the person can fix or should know about; the message is shown to them as it is."""


def hash_token(token: str) -> str:
    """What is stored of an invite token: its SHA-256, so the database never holds a usable link."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def find_invite(token_hash: str) -> Invite:
    """The usable invite whose token hashes to `token_hash`; ActionError saying why not otherwise (unknown,
    expired, revoked, used)."""
    invite = Invite.objects.select_related("team").filter(token_hash=token_hash).first()
    if invite is None:
        raise ActionError(_INVITE_UNKNOWN)
    if invite.status != Invite.Status.ACTIVE:
        raise ActionError(_INVITE_PROBLEMS[invite.status])
    return invite


@dataclass(frozen=True)
class SignUpTerms:
    """What signing up gives right now: the role, and the invite that decides it (None without one)."""

    role: str
    invite: Invite | None = None
    first: bool = False

    @property
    def team(self) -> Team | None:
        return self.invite.team if self.invite else None


def check_sign_up(invite_hash: str | None = None) -> SignUpTerms:
    """The terms of a sign-up now, or ActionError with the reason none is possible.

    The very first person is the admin whatever the policy (there is nobody to approve or invite them).
    A valid invite (`invite_hash`: its token's hash_token) decides the role under every policy; without one
    the policy does.
    """
    if not User.objects.exists():
        return SignUpTerms(role=User.Role.ADMIN, first=True)
    if invite_hash:
        invite = find_invite(invite_hash)
        return SignUpTerms(role=invite.role, invite=invite)
    policy = Workspace.current().signup_policy
    if policy == Workspace.SignupPolicy.INVITE:
        raise ActionError(NEEDS_INVITE)
    if policy == Workspace.SignupPolicy.APPROVAL:
        return SignUpTerms(role=User.Role.PENDING)
    return SignUpTerms(role=User.Role.MEMBER)


def do_sign_up(username: str, password: str, *, invite_hash: str | None = None) -> User:
    """Create an account under the current policy (the caller has validated the form).

    The terms are decided under an advisory lock held until commit, so "first person" cannot race. An invite
    is consumed by a conditional UPDATE in the same transaction as the insert: one link never makes two
    accounts, and a failed sign-up leaves the link usable.
    """
    user = User(username=username)
    user.set_password(password)  # hashing is slow: done before the lock is taken
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FIRST_USER_LOCK])
            terms = check_sign_up(invite_hash)
            user.role = terms.role
            user.is_staff = user.is_superuser = terms.role == User.Role.ADMIN
            user.save()
            if terms.invite is not None:
                consumed = (
                    Invite.objects.usable()
                    .filter(pk=terms.invite.pk)
                    .update(used_by=user, used_at=timezone.now())
                )
                if not consumed:  # taken a moment ago: say how it is now
                    raise ActionError(_INVITE_PROBLEMS[Invite.objects.get(pk=terms.invite.pk).status])
                if terms.team is not None:
                    terms.team.members.add(user)
            via = "first" if terms.first else "invite" if terms.invite else Workspace.current().signup_policy
            record_event(user, "person.joined", user, role=user.role, via=via)
    except IntegrityError:
        raise ActionError("A user with that username already exists.") from None
    return user


def do_create_invite(actor: User, *, role: str, team: Team | None, days: int, note: str = "") -> tuple:
    """Make an invite; returns (invite, token). The token is the link's secret part: it is returned once,
    for the admin to copy, and only its hash is stored."""
    if role not in INVITE_ROLES:
        raise ActionError("An invite makes a member or an admin.")
    if days not in INVITE_DAYS:
        raise ActionError("An invite lasts 1, 7 or 30 days.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invite = Invite.objects.create(
            token_hash=hash_token(token),
            role=role,
            team=team,
            note=" ".join(note.split())[:200],
            created_by=actor,
            expires_at=timezone.now() + timedelta(days=days),
        )
        record_event(
            actor,
            "invite.created",
            invite,
            role=role,
            team=team.name if team else "",
            days=days,
            note=invite.note,
        )
    return invite, token


def do_revoke_invite(actor: User, invite: Invite) -> Invite:
    """Revoke an invite that can still be used (a conditional UPDATE: a sign-up using it meanwhile wins)."""
    with transaction.atomic():
        revoked = Invite.objects.usable().filter(pk=invite.pk).update(revoked_at=timezone.now())
        invite.refresh_from_db()
        if not revoked:
            raise ActionError(f"This invite is {invite.status_label.lower()} already.")
        team = invite.team.name if invite.team_id else ""
        record_event(actor, "invite.revoked", invite, role=invite.role, team=team, note=invite.note)
    return invite


def do_set_signup_policy(actor: User, policy: str) -> Workspace:
    if policy not in Workspace.SignupPolicy.values:
        raise ActionError("Pick one of the sign-up policies.")
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().get(pk=Workspace.current().pk)
        old = workspace.signup_policy
        if old != policy:
            workspace.signup_policy = policy
            workspace.save(update_fields=["signup_policy", "updated_at"])
            record_event(actor, "signup_policy.changed", workspace, **{"from": old, "to": policy})
    return workspace


def policy_sentence(policy: str | None = None) -> str:
    """The sign-up policy in words, as the sign-up page says it."""
    return POLICY_SENTENCES[policy or Workspace.current().signup_policy]
