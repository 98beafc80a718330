"""What a person sees of the shared keys granted to them: a label, their remaining budget, their limits.

Never the secret, nor any part of it: these objects hold no last four characters and no base URL.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from keys import budgets, ledger
from keys.models import Credential, Grant


@dataclass(frozen=True)
class GrantedKey:
    credential_id: int
    label: str
    preset_name: str
    grant: Grant  # the grant a request draws on first (keys.ledger's order: the first with room)
    usage: budgets.GrantUsage
    models: tuple[str, ...]  # the models this person may use on it; empty: all
    now: datetime

    @property
    def remaining(self) -> str:
        return self.usage.remaining_text(self.grant)

    @property
    def resets(self) -> str:
        return budgets.resets_at(self.grant.budget_period, self.now)

    @property
    def choice_text(self) -> str:
        """How the composer's key picker names it: "Team GPT — 41,200 tokens left today" when it has a
        budget (what matters to the person), else "Team GPT · NovaKit" like a personal key."""
        remaining = self.remaining
        return f"{self.label} — {remaining}" if remaining else f"{self.label} · {self.preset_name}"


def granted_keys(user, credential_ids=None, now: datetime | None = None) -> dict[int, GrantedKey]:
    """The shared keys `user` may chat with, by credential id (limited to `credential_ids` if given).
    A fixed number of queries: one for the grants, one per budget period for their usage."""
    now = now or timezone.now()
    grants = (
        Grant.objects.live()
        .to_person(user)
        .filter(credential__owner__isnull=True)
        .select_related("team", "credential")
        .defer("credential__models_cache", "credential__ciphertext")
        .in_resolution_order()
    )
    if credential_ids is not None:
        grants = grants.filter(credential_id__in=list(credential_ids))
    grants = list(dict.fromkeys(grants))  # a grant reached through two of the person's teams, once
    usage = ledger.usage_of_grants(grants, now)
    by_key: dict[int, list[Grant]] = {}
    for grant in grants:
        by_key.setdefault(grant.credential_id, []).append(grant)
    result = {}
    for credential_id, key_grants in by_key.items():
        first = next(
            (g for g in key_grants if usage.get(g.pk, budgets.GrantUsage()).has_room(g)), key_grants[0]
        )
        models = () if any(not g.allowed_models for g in key_grants) else _union(key_grants)
        credential: Credential = first.credential
        result[credential_id] = GrantedKey(
            credential_id=credential_id,
            label=credential.label,
            preset_name=credential.preset_name,
            grant=first,
            usage=usage.get(first.pk, budgets.GrantUsage()),
            models=models,
            now=now,
        )
    return result


def _union(grants) -> tuple[str, ...]:
    return tuple(dict.fromkeys(model for grant in grants for model in grant.allowed_models))


def offered_models(credential: Credential | None, granted: GrantedKey | None) -> list[dict]:
    """The models a model field offers for `credential`: the list its last check found or, on a shared key
    whose grants name models, just those (with what that list knows of each)."""
    models = credential.models_cache if credential else []
    if granted is not None and granted.models:
        listed = {m.get("id"): m for m in models if isinstance(m, dict)}
        models = [listed.get(model, {"id": model}) for model in granted.models]
    return models
