"""The usage ledger: reserving a reply's worst case before it is sent, and settling it when it ends.

Budgets hold under concurrency because `reserve` locks the grant's row (SELECT … FOR UPDATE) for the rest of
the send's transaction, and only then sums the grant's rows and inserts its own: two sends on one grant take
turns, and the second sees the first's reservation (PostgreSQL's READ COMMITTED gives each statement a fresh
snapshot, taken after the lock was granted). There is no counter to drift: what a grant has used is the sum
of its rows — settled rows count what was used, open rows their worst case — in the period they were
reserved in.

Invariants, kept by this module alone:
- a row is `reserved` exactly while its reply streams, and is settled exactly once (`settle` only touches
  rows still reserved; at most one open row per message, a database constraint);
- an admitted request's worst case fits its grant's budget; only a provider reporting more than was
  reserved can exceed it, by that overrun (and max_tokens is lowered to fit, which bounds it);
- a grant's usage is the sum of its rows, nothing else.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Case, Count, DecimalField, F, Min, Q, Sum, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from keys import budgets
from keys.models import Credential, Grant, UsageEntry

NOT_AVAILABLE = "That key is not available — pick another."
OPEN = UsageEntry.State.RESERVED


class Refused(Exception):
    """The request may not go upstream; the message says why and, for a budget or rate, when it resets."""


@dataclass(frozen=True)
class Reservation:
    entry: UsageEntry
    grant: Grant | None
    # The max_tokens to send: the one asked for, or lower to fit the budget (None: none asked, none needed).
    max_tokens: int | None


@dataclass(frozen=True)
class Settlement:
    prompt_tokens: int
    completion_tokens: int
    credits: Decimal
    estimated: bool


def reserve(
    user,
    credential: Credential,
    *,
    message,
    model: str,
    prompt_tokens: int,
    max_tokens: int | None,
    choices: int = 1,
    prefix_chars: int = 0,
    now: datetime | None = None,
) -> Reservation:
    """Reserve the worst case of one request on `credential` for `message`, or raise Refused.

    Precondition: inside the transaction that makes `message` streaming (the lock and the row must commit
    or roll back with it). A personal key has no limits, but its replies get a row too, so usage covers
    every reply. For a shared key the grant is resolved here, on the key and model actually used.
    """
    assert transaction.get_connection().in_atomic_block, "reserve() runs inside the send's transaction"
    now = now or timezone.now()
    choices = max(int(choices or 1), 1)
    if not credential.is_shared:
        completion = (max_tokens or 0) * choices
        entry = _open_entry(
            user, credential, None, message, model, prompt_tokens, completion, 0, prefix_chars
        )
        return Reservation(entry, None, max_tokens)
    grants = list(Grant.objects.live().to_person(user).filter(credential=credential).in_resolution_order())
    if not grants:
        raise Refused(NOT_AVAILABLE)
    fitting = [grant for grant in grants if grant.allows(model)]
    if not fitting:
        allowed = sorted({m for grant in grants for m in grant.allowed_models})
        raise Refused(
            f"“{credential.label}” cannot be used with {model or 'the default model'} — "
            f"pick one of: {', '.join(allowed)}."
        )
    refusals = []
    for candidate in dict.fromkeys(fitting):  # a team grant reached through two teams is tried once
        grant = (
            Grant.objects.select_for_update(of=("self",))
            .select_related("team")
            .filter(pk=candidate.pk, revoked_at__isnull=True)
            .first()
        )
        if grant is None:
            continue  # revoked since it was read
        settle_orphans(grant)
        usage = usage_of(grant, now)
        try:
            allowed_tokens, rate = _admit(
                grant, usage, credential, model, prompt_tokens, max_tokens, choices, now
            )
        except Refused as refusal:
            refusals.append(str(refusal))
            continue
        completion = (allowed_tokens or 0) * choices
        credits = budgets.credits_stored((prompt_tokens + completion) * rate) if rate is not None else 0
        entry = _open_entry(
            user, credential, grant, message, model, prompt_tokens, completion, credits, prefix_chars, now
        )
        return Reservation(entry, grant, allowed_tokens)
    raise Refused(refusals[0] if refusals else NOT_AVAILABLE)


def _admit(grant, usage, credential, model, prompt_tokens, max_tokens, choices, now):
    """The max_tokens this request may have on `grant` and the credits-per-token rate its worst case is
    priced at (None without a credit budget); Refused when a limit is reached."""
    # A team grant is one pool for all its members, limits included: the sentence says whose they are.
    budget = f"team budget ({grant.team.name})" if grant.team_id else "budget"
    credit_budget = f"team credit budget ({grant.team.name})" if grant.team_id else "credit budget"
    for_whom = f" for the team {grant.team.name}" if grant.team_id else ""
    if grant.max_concurrent is not None and usage.open >= grant.max_concurrent:
        at_once = f"{grant.max_concurrent} repl{'y' if grant.max_concurrent == 1 else 'ies'} at once"
        raise Refused(f"This key allows {at_once}{for_whom}; wait for one to finish.")
    if grant.rate_per_minute is not None and usage.last_minute >= grant.rate_per_minute:
        again = usage.oldest_in_minute + timedelta(minutes=1)
        seconds = max(int((again - now).total_seconds()) + 1, 1)
        requests = f"{grant.rate_per_minute} request{'' if grant.rate_per_minute == 1 else 's'} a minute"
        raise Refused(f"This key allows {requests}{for_whom}; try again in {seconds} s.")
    resets = budgets.resets_at(grant.budget_period, now)
    this = budgets.this_period(grant.budget_period)
    allowed = max_tokens
    if grant.budget_tokens is not None:
        left = grant.budget_tokens - usage.tokens
        room = (left - prompt_tokens) // choices
        if room < budgets.MIN_REPLY_TOKENS:
            if left < budgets.MIN_REPLY_TOKENS:
                raise Refused(f"This key's {budget} for {this} is used up; it resets {resets}.")
            raise Refused(
                budgets.too_long_sentence(
                    budget,
                    budgets.format_tokens(left),
                    grant.budget_period,
                    left,
                    prompt_tokens,
                    choices,
                    resets,
                )
            )
        allowed = min(allowed or settings.NOVAWEB_RESERVE_REPLY_TOKENS, room)
    rate = None
    if grant.budget_credits is not None:
        rate = credits_per_token(credential, model)
        left = grant.budget_credits - usage.credits
        affordable = int(left / rate) if left > 0 else 0
        room = (affordable - prompt_tokens) // choices
        if room < budgets.MIN_REPLY_TOKENS:
            if affordable < budgets.MIN_REPLY_TOKENS:
                raise Refused(f"This key's {credit_budget} for {this} is used up; it resets {resets}.")
            raise Refused(
                budgets.too_long_sentence(
                    credit_budget,
                    f"{budgets.format_credits(left)} credits",
                    grant.budget_period,
                    affordable,
                    prompt_tokens,
                    choices,
                    resets,
                    in_tokens=True,
                )
            )
        allowed = min(allowed or settings.NOVAWEB_RESERVE_REPLY_TOKENS, room)
    return allowed, rate


def _open_entry(user, credential, grant, message, model, prompt, completion, credits, prefix_chars, now=None):
    # A personal key has no budget: its rows are dated by calendar month, for reports.
    period = grant.budget_period if grant else budgets.MONTH
    return UsageEntry.objects.create(
        user=user,
        credential=credential,
        credential_label=credential.label,
        shared=credential.is_shared,
        grant=grant,
        team_id=grant.team_id if grant else None,
        message=message,
        model=model[:200],
        state=OPEN,
        period_start=budgets.period_start(period, now or timezone.now()),
        reserved_tokens=prompt + completion,
        reserved_credits=credits,
        prompt_tokens=prompt,  # the estimate, until the reply settles
        prefix_chars=prefix_chars,
    )


def settle(entry_id: int, settlement: Settlement) -> bool:
    """Settle one open row with what was used; False if it was settled already (never twice)."""
    return bool(
        UsageEntry.objects.filter(pk=entry_id, state=OPEN).update(
            state=UsageEntry.State.SETTLED,
            prompt_tokens=max(settlement.prompt_tokens, 0),
            completion_tokens=max(settlement.completion_tokens, 0),
            credits=max(settlement.credits, Decimal(0)),
            estimated=settlement.estimated,
            settled_at=timezone.now(),
        )
    )


def settle_orphans(grant: Grant | None = None) -> int:
    """Settle open rows whose reply was deleted while it streamed: nothing says what it used, so the worst
    case reserved is billed (marked estimated). Deleting a chat must not be a way round a budget."""
    orphans = UsageEntry.objects.filter(state=OPEN, message__isnull=True)
    if grant is not None:
        orphans = orphans.filter(grant=grant)
    return orphans.update(
        state=UsageEntry.State.SETTLED,
        completion_tokens=F("reserved_tokens") - F("prompt_tokens"),
        credits=F("reserved_credits"),
        estimated=True,
        settled_at=timezone.now(),
    )


def usage_of(grant: Grant, now: datetime | None = None) -> budgets.GrantUsage:
    """One grant's usage now, in one query."""
    return usage_of_grants([grant], now).get(grant.pk, budgets.GrantUsage())


def usage_of_grants(grants, now: datetime | None = None) -> dict[int, budgets.GrantUsage]:
    """Each grant's usage now: one query per distinct budget period among them (at most three)."""
    now = now or timezone.now()
    minute_ago = now - timedelta(minutes=1)
    by_period: dict[str, list[int]] = {}
    for grant in grants:
        by_period.setdefault(grant.budget_period, []).append(grant.pk)
    result = {}
    for period, ids in by_period.items():
        start = budgets.period_start(period, now)
        in_period = Q(created_at__gte=start)
        rows = (
            UsageEntry.objects.filter(grant_id__in=ids)
            .filter(Q(created_at__gte=min(start, minute_ago)) | Q(state=OPEN))
            .values("grant_id")
            .annotate(
                tokens=Coalesce(Sum(_used_tokens(), filter=in_period), 0),
                credits=Coalesce(Sum(_used_credits(), filter=in_period), Decimal(0), output_field=_CREDITS),
                open=Count("pk", filter=Q(state=OPEN)),
                last_minute=Count("pk", filter=Q(created_at__gte=minute_ago)),
                oldest_in_minute=Min("created_at", filter=Q(created_at__gte=minute_ago)),
            )
        )
        for row in rows:
            result[row["grant_id"]] = budgets.GrantUsage(
                tokens=int(row["tokens"]),
                credits=Decimal(row["credits"]),
                open=row["open"],
                last_minute=row["last_minute"],
                oldest_in_minute=row["oldest_in_minute"],
            )
    return result


_CREDITS = DecimalField(max_digits=14, decimal_places=6)


def _used_tokens():
    return Case(
        When(state=OPEN, then=F("reserved_tokens")), default=F("prompt_tokens") + F("completion_tokens")
    )


def _used_credits():
    return Case(When(state=OPEN, then=F("reserved_credits")), default=F("credits"), output_field=_CREDITS)


def credits_per_token(credential: Credential, model: str) -> Decimal:
    """What one token costs in credits on this key, to price a worst case: the last rate the provider
    reported for this model on this key, else for any model on it, else NOVAWEB_CREDITS_PER_TOKEN."""
    reported = UsageEntry.objects.filter(
        credential=credential, state=UsageEntry.State.SETTLED, estimated=False, credits__gt=0
    ).annotate(tokens=F("prompt_tokens") + F("completion_tokens"))
    reported = reported.filter(tokens__gt=0).order_by("-created_at").values_list("credits", "tokens")
    last = reported.filter(model=model).first() or reported.first()
    if last is None:
        return default_credits_per_token()
    credits, tokens = last
    return credits / tokens


def default_credits_per_token() -> Decimal:
    try:
        rate = Decimal(str(settings.NOVAWEB_CREDITS_PER_TOKEN).strip())
    except ArithmeticError:
        rate = Decimal(0)
    if not rate.is_finite() or rate <= 0:
        raise ImproperlyConfigured("NOVAWEB_CREDITS_PER_TOKEN must be a positive number, e.g. 0.5")
    return rate
