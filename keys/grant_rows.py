"""How an admin's shared-key page describes each grant: who, which models, the limits, and the use so far."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F
from django.utils import timezone

from keys import budgets, ledger
from keys.models import Credential, Grant
from keys.team_forms import GrantLimitsForm

PERIOD_WORDS = {"day": "a day", "week": "a week", "month": "a month"}
REVOKED_SHOWN = 20


@dataclass
class GrantRow:
    grant: Grant
    usage: budgets.GrantUsage
    form: GrantLimitsForm
    now: datetime

    @property
    def who(self) -> str:
        grant = self.grant
        return grant.user.username if grant.user_id else grant.team.name

    @property
    def kind(self) -> str:
        if self.grant.user_id:
            return "Person"
        size = getattr(self.grant, "team_size", None)
        return "Team" if size is None else f"Team of {size}"

    @property
    def models_text(self) -> str:
        models = self.grant.allowed_models
        if not models:
            return "All models"
        shown = ", ".join(models[:3])
        return shown + (f" and {len(models) - 3} more" if len(models) > 3 else "")

    @property
    def budget_lines(self) -> list[dict]:
        """One line per budget: what is used this period, of how much, as a share for the meter."""
        grant, usage = self.grant, self.usage
        this = budgets.this_period(grant.budget_period)
        lines = []
        if grant.budget_tokens is not None:
            lines.append(
                {
                    "text": f"{usage.tokens:,} of {budgets.format_tokens(grant.budget_tokens)} used {this}",
                    "used": min(usage.tokens, grant.budget_tokens),
                    **_meter_bounds(grant.budget_tokens),
                }
            )
        if grant.budget_credits is not None:
            lines.append(
                {
                    "text": f"{budgets.format_credits(usage.credits)} of "
                    f"{budgets.format_credits(grant.budget_credits)} credits used {this}",
                    "used": min(usage.credits, grant.budget_credits),
                    **_meter_bounds(grant.budget_credits),
                }
            )
        return lines

    @property
    def limits_text(self) -> str:
        grant = self.grant
        parts = []
        if grant.rate_per_minute is not None:
            parts.append(
                f"{grant.rate_per_minute} request{'s' if grant.rate_per_minute != 1 else ''} a minute"
            )
        if grant.max_concurrent is not None:
            parts.append(f"{grant.max_concurrent} at once")
        return " · ".join(parts) or "No rate or concurrency limit"

    @property
    def resets(self) -> str:
        return budgets.resets_at(self.grant.budget_period, self.now)


def _meter_bounds(budget) -> dict:
    # The meter turns amber past three quarters of the budget and red past nine tenths.
    return {"max": budget, "low": budget * 3 / 4, "high": budget * 9 / 10}


def grant_rows(credential: Credential, edit_forms: dict | None = None) -> list[GrantRow]:
    """The key's live grants, people first then teams, with this period's use: a fixed number of queries."""
    now = timezone.now()
    grants = list(
        credential.grants.live()
        .select_related("user", "team")
        .annotate(team_size=Count("team__members"))
        .order_by(F("team").asc(nulls_first=True), "user__username", "team__name")
    )
    usage = ledger.usage_of_grants(grants, now)
    edit_forms = edit_forms or {}
    return [
        GrantRow(
            grant,
            usage.get(grant.pk, budgets.GrantUsage()),
            edit_forms.get(grant.pk) or limits_form(credential, grant),
            now,
        )
        for grant in grants
    ]


def limits_form(credential: Credential, grant: Grant, data=None) -> GrantLimitsForm:
    # Each row's form needs its own ids, or every label on the page would point at the first row's fields.
    return GrantLimitsForm(data, credential=credential, grant=grant, auto_id=f"id_grant_{grant.pk}_%s")


def revoked_grants(credential: Credential) -> list[Grant]:
    return list(
        credential.grants.filter(revoked_at__isnull=False)
        .select_related("user", "team")
        .order_by("-revoked_at")[:REVOKED_SHOWN]
    )
