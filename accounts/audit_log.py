"""Reading the audit log: which events a filter selects, and each event told in words.

The words are plain text; the template escapes them. An event shows only what `AuditEvent` holds (copies of
names and labels, and small facts), so the page cannot show a secret unless a writer stored one — and a fact
whose name says it is secret-like is shown as hidden all the same. Facts read as the pages that set them say
them ("any model", "OpenAI-compatible"), from the event alone: no query per event.
"""

import json
import re
from dataclasses import dataclass

from django import forms
from django.db.models import Q

from accounts.models import AuditEvent, User
from providers.presets import PRESETS

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
# A member added or removed is named in the sentence.
MEMBER_VERBS = {
    "team.member_added": "added {person} to the team",
    "team.member_removed": "removed {person} from the team",
}
# Fact names that would hold a secret: never shown, whoever wrote them.
SECRET_NAME = re.compile(
    r"(^|[_.])(secret|api_?key|password|passwd|ciphertext|authorization|token|hash)($|[_.])", re.I
)
# About an event that concerns a secret ("key.secret_replaced") only these facts are shown.
SAFE_WITH_SECRETS = {"label", "last4", "base_url", "preset", "auth_style"}
MAX_FACT_CHARS = 200

# How each known fact is named on the page (the grant's limits as the grant form names them). Facts not
# listed read as their name with spaces.
FACT_NAMES = {
    "preset": "provider",
    "base_url": "address",
    "last4": "ending",
    "allowed_models": "models",
    "budget_tokens": "token budget",
    "budget_credits": "credit budget",
    "budget_period": "budget period",
    "rate_per_minute": "requests per minute",
    "max_concurrent": "replies at once",
    "days": "valid for",
    "via": "by",
    "grants": "grants ended",
}
# Internal ids: the sentence already names what they point at.
UNSHOWN_FACTS = {"person_id"}
PERIOD_WORDS = {"day": "per day", "week": "per week", "month": "per month"}
VIA_WORDS = {
    "first": "being the first person",
    "invite": "an invite",
    "open": "open sign-up",
    "approval": "sign-up with approval",
}
POLICY_WORDS = {"open": "open", "approval": "approval", "invite": "invite only"}


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


def _words(name: str, value) -> str:
    """A fact's value as the page says it; "" when it says nothing (no limit, no team)."""
    if value is None or value == "":
        return ""
    if name == "allowed_models" and isinstance(value, list):
        return ", ".join(_text(model) for model in value) if value else "any model"
    if name == "preset" and isinstance(value, str) and value in PRESETS:
        return PRESETS[value].name
    if name == "budget_period":
        return _lookup(PERIOD_WORDS, value)
    if name == "via":
        return _lookup(VIA_WORDS, value)
    if name == "budget_tokens" and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if name == "days" and isinstance(value, int):
        return f"{value} day{'' if value == 1 else 's'}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _text(value)


def _lookup(words: dict, value) -> str:
    return words.get(value, _text(value)) if isinstance(value, str) else _text(value)


def _fact_name(name: str) -> str:
    return FACT_NAMES.get(name, name.replace("_", " "))[:60]


def _changes(value) -> list[Fact]:
    """A grant's {"limit": [before, after]}, one fact each: "token budget from 60 to none"."""
    facts = []
    for name, pair in value.items():
        if SECRET_NAME.search(str(name)):
            facts.append(Fact(_fact_name(str(name)), "(hidden)"))
        elif isinstance(pair, list) and len(pair) == 2:
            before, after = (_words(str(name), side) or "none" for side in pair)
            facts.append(Fact(_fact_name(str(name)), f"from {before} to {after}"))
        else:
            facts.append(Fact(_fact_name(str(name)), _text(pair)))
    return facts


def _invite_target(detail: dict) -> str:
    """An invite by what the admin knows it by: its note, else whom it is for."""
    note = detail.get("note")
    if isinstance(note, str) and note.strip():
        return note
    role = detail.get("role") if isinstance(detail.get("role"), str) else "member"
    team = detail.get("team") if isinstance(detail.get("team"), str) else ""
    return f"for a new {role}" + (f" of the team {team}" if team else "")


def describe(event: AuditEvent) -> Line:
    detail = event.detail if isinstance(event.detail, dict) else {"detail": event.detail}
    about_secret = bool(SECRET_NAME.search(event.action))
    verb, target, quoted = VERBS.get(event.action, ""), event.target_label, event.target_type != "user"
    facts = []
    change = ""
    if {"from", "to"} <= detail.keys() and not about_secret and detail["from"] != detail["to"]:
        before, after = detail["from"], detail["to"]
        if event.action == "signup_policy.changed":
            before, after = _lookup(POLICY_WORDS, before), _lookup(POLICY_WORDS, after)
        change = f"from {_text(before)} to {_text(after)}"
    shown = dict(detail)
    if event.target_type == "invite" and verb:
        target = _invite_target(detail)
        quoted = target == detail.get("note")
        # What the sentence says is not repeated below it.
        for name in ("note",) if quoted else ("note", "role", "team"):
            shown.pop(name, None)
    person = detail.get("person")
    if event.action in MEMBER_VERBS and isinstance(person, str):
        verb = MEMBER_VERBS[event.action].format(person=person)
        shown.pop("person")
    key = detail.get("key")
    if event.action.startswith("grant.") and isinstance(key, str) and target.startswith(f"{key} →"):
        shown.pop("key")  # the grant's label names the key already
    for name, value in shown.items():
        name = str(name)
        if (change and name in {"from", "to"}) or name in UNSHOWN_FACTS:
            continue
        hidden = SECRET_NAME.search(name) or (about_secret and name not in SAFE_WITH_SECRETS)
        if hidden:
            facts.append(Fact(_fact_name(name), "(hidden)"))
        elif name == "changed" and isinstance(value, dict):
            facts.extend(_changes(value))
        elif words := _words(name, value):
            facts.append(Fact(_fact_name(name), words))
    return Line(event=event, verb=verb, target=target, quoted=quoted, change=change, facts=facts)


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
