"""Reading the audit log: which events a filter selects, and each event told in words.

The words are plain text; the template escapes them. An event shows only what `AuditEvent` holds (copies of
names and labels, and small facts), so the page cannot show a secret unless a writer stored one — and a fact
whose name says it is secret-like is shown as hidden all the same.
"""

import json
import re
from dataclasses import dataclass

from django import forms
from django.db.models import Q

from accounts.models import AuditEvent, User

KINDS = {
    "keys": "Keys",
    "grants": "Grants",
    "people": "People and roles",
}
# Which actions each kind covers, by the prefix before the dot (see accounts.audit.record_event).
KIND_PREFIXES = {
    "keys": ("key.",),
    "grants": ("grant.",),
    "people": ("role.", "person.", "user.", "team.", "invite.", "signup_policy."),
}
# What each known action says, after the actor's name. Actions not listed read as their code.
VERBS = {
    "key.created": "added the key",
    "key.renamed": "renamed the key",
    "key.secret_replaced": "replaced the secret of key",
    "key.updated": "changed the key",
    "key.deleted": "deleted the key",
    "grant.created": "granted",
    "grant.changed": "changed the grant",
    "grant.budget_changed": "changed the budget of",
    "grant.revoked": "revoked",
    "grant.deleted": "deleted the grant",
    "role.changed": "changed the role of",
    "person.joined": "joined",
    "person.approved": "approved",
    "person.deactivated": "deactivated",
    "person.reactivated": "reactivated",
    "person.deleted": "deleted",
    "team.created": "created the team",
    "team.renamed": "renamed the team",
    "team.deleted": "deleted the team",
    "team.member_added": "added a member to the team",
    "team.member_removed": "removed a member from the team",
    "invite.created": "created an invite",
    "invite.revoked": "revoked an invite",
    "signup_policy.changed": "changed the sign-up policy",
}
# Fact names that would hold a secret: never shown, whoever wrote them.
SECRET_NAME = re.compile(
    r"(^|[_.])(secret|api_?key|password|passwd|ciphertext|authorization|token|hash)($|[_.])", re.I
)
# About an event that concerns a secret ("key.secret_replaced") only these facts are shown.
SAFE_WITH_SECRETS = {"label", "last4", "base_url", "preset", "auth_style"}
MAX_FACT_CHARS = 200


@dataclass
class Fact:
    name: str
    value: str


@dataclass
class Line:
    """One event as the page shows it."""

    event: AuditEvent
    verb: str  # "" when the action is not one we know: the page shows its code instead
    target: str
    quoted: bool  # a key, grant or team label reads in quotes; a person's name does not
    change: str  # "from member to admin", when the event says so
    facts: list[Fact]


def _text(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_FACT_CHARS else text[: MAX_FACT_CHARS - 1] + "…"


def describe(event: AuditEvent) -> Line:
    detail = event.detail if isinstance(event.detail, dict) else {"detail": event.detail}
    about_secret = bool(SECRET_NAME.search(event.action))
    facts = []
    change = ""
    if {"from", "to"} <= detail.keys() and not about_secret and detail["from"] != detail["to"]:
        change = f"from {_text(detail['from'])} to {_text(detail['to'])}"
    for name, value in detail.items():
        name = str(name)
        if change and name in {"from", "to"}:
            continue
        hidden = SECRET_NAME.search(name) or (about_secret and name not in SAFE_WITH_SECRETS)
        facts.append(Fact(name.replace("_", " ")[:60], "(hidden)" if hidden else _text(value)))
    return Line(
        event=event,
        verb=VERBS.get(event.action, ""),
        target=event.target_label,
        quoted=event.target_type != "user",
        change=change,
        facts=facts,
    )


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=[("", "Everything"), *KINDS.items()], required=False)
    person = forms.TypedChoiceField(label="Person", coerce=int, required=False, empty_value=None)

    def __init__(self, data, *, people):
        super().__init__(data)
        self.fields["person"].choices = [("", "Anyone"), *((p.pk, p.username) for p in people)]

    def problems(self) -> list[str]:
        return [f"{self.fields[name].label}: {' '.join(errors)}" for name, errors in self.errors.items()]


def filtered_events(kind: str | None, person: User | None):
    """Newest first. `person` matches what they did and what was done to them (their role, their account)."""
    events = AuditEvent.objects.order_by("-created_at", "-id")
    if kind:
        by_prefix = Q()
        for prefix in KIND_PREFIXES[kind]:
            by_prefix |= Q(action__startswith=prefix)
        events = events.filter(by_prefix)
    if person is not None:
        events = events.filter(Q(actor=person) | Q(target_type="user", target_id=person.pk))
    return events
