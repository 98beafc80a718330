"""Usage ledger rows for tests, written straight to the database (the reply path that writes them is tested
elsewhere): `usage(user, when=…, …)` describes one row, `add_usage([...])` stores many in three queries."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from keys.models import UsageEntry


def at(day, hour=12) -> datetime:
    """Noon (or `hour`) of a date, in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()) + timedelta(hours=hour))


def usage(
    user,
    *,
    when: datetime,
    model: str = "fake-model",
    credential=None,
    label: str | None = None,
    team=None,
    prompt: int = 100,
    completion: int = 50,
    credits: str = "0.01",
    estimated: bool = False,
    state: str = UsageEntry.State.SETTLED,
    reserved_tokens: int = 0,
) -> UsageEntry:
    settled = state == UsageEntry.State.SETTLED
    return UsageEntry(
        user=user,
        credential=credential,
        credential_label=label if label is not None else (credential.label if credential else ""),
        shared=bool(credential and credential.is_shared),
        team=team,
        model=model,
        state=state,
        prompt_tokens=prompt if settled else 0,
        completion_tokens=completion if settled else 0,
        credits=Decimal(credits) if settled else Decimal(0),
        estimated=estimated,
        reserved_tokens=reserved_tokens,
        # Carries the wanted creation time through bulk_create (created_at is auto_now_add).
        settled_at=when,
    )


def add_usage(rows: list[UsageEntry]) -> list[UsageEntry]:
    made = UsageEntry.objects.bulk_create(rows)
    ids = [row.pk for row in made]
    UsageEntry.objects.filter(pk__in=ids).update(created_at=F("settled_at"))
    UsageEntry.objects.filter(pk__in=ids, state=UsageEntry.State.RESERVED).update(settled_at=None)
    return list(UsageEntry.objects.filter(pk__in=ids).order_by("id"))


def key(owner, label: str, secret: str = "sk-test-0123456789abcdef"):
    """A key stored as the app stores one (owner None: a shared key)."""
    from keys import crypto
    from keys.models import Credential

    return Credential.objects.create(
        owner=owner,
        preset="openai",
        label=label,
        base_url="https://api.example.com/v1",
        ciphertext=crypto.encrypt(secret),
        last4=secret[-4:],
    )
