"""Usage over a period, from the ledger (`UsageEntry`): totals, and figures per day or week by one dimension.

Everything is summed by PostgreSQL (two queries per report: the totals, and one GROUP BY bucket and group),
never row by row in Python, so a year of a busy team's replies costs the same round trips as a quiet week.

Settled rows are the usage. Rows still `reserved` are replies in progress: their final figures are not known
yet, so they are counted apart ("in progress") and never added to the totals or the chart. A row counts on the
day it was made (its reservation), so a reply that ends after midnight stays with the day it started.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, DateField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDay, TruncWeek

from keys.models import UsageEntry
from keys.usage_filters import Period

SETTLED = Q(state=UsageEntry.State.SETTLED)
RESERVED = Q(state=UsageEntry.State.RESERVED)
TOKENS = F("prompt_tokens") + F("completion_tokens")


def ledger_for(viewer, *, everyone: bool):
    """The ledger rows `viewer` may see: every row on the team page (admins only), otherwise their own."""
    if everyone:
        if not getattr(viewer, "is_admin", False):
            raise PermissionDenied("Only an admin can see the team's usage.")
        return UsageEntry.objects.all()
    return UsageEntry.objects.filter(user=viewer)


def in_period(entries, period: Period):
    return entries.filter(created_at__gte=period.start, created_at__lt=period.end)


def number(value, metric: str) -> str:
    """A figure as people read it: 12,345 tokens, 0.0125 credits (at most four decimals), 12 requests."""
    if metric == "credits":
        text = f"{Decimal(value):,.4f}".rstrip("0").rstrip(".")
        return "0" if text in {"", "-0"} else text
    return f"{int(value):,}"


@dataclass
class Figures:
    """Sums over some settled rows; `est_*` are the parts whose usage the provider did not report."""

    requests: int = 0
    prompt: int = 0
    completion: int = 0
    credits: Decimal = Decimal(0)
    est_requests: int = 0
    est_tokens: int = 0
    est_credits: Decimal = Decimal(0)

    @classmethod
    def from_row(cls, row: dict) -> "Figures":
        return cls(**{name: row.get(f"sum_{name}") or 0 for name in cls.__dataclass_fields__})

    def add(self, other: "Figures") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def tokens(self) -> int:
        return self.prompt + self.completion

    def value(self, metric: str):
        return {"tokens": self.tokens, "credits": self.credits, "requests": self.requests}[metric]

    def estimated(self, metric: str) -> bool:
        """Whether part of this figure is an estimate (a count of requests never is)."""
        return {"tokens": self.est_tokens, "credits": self.est_credits, "requests": 0}[metric] > 0

    def shown(self, metric: str) -> str:
        """The figure in words, marked "≈" when part of it is an estimate."""
        return self._marked(number(self.value(metric), metric), self.estimated(metric))

    # What the tables show, each marked "≈" when part of it is an estimate.
    @property
    def requests_text(self) -> str:
        return number(self.requests, "requests")

    @property
    def prompt_text(self) -> str:
        return self._marked(number(self.prompt, "tokens"), self.est_tokens)

    @property
    def completion_text(self) -> str:
        return self._marked(number(self.completion, "tokens"), self.est_tokens)

    @property
    def tokens_text(self) -> str:
        return self.shown("tokens")

    @property
    def credits_text(self) -> str:
        return self.shown("credits")

    @staticmethod
    def _marked(text: str, estimated) -> str:
        return f"≈ {text}" if estimated else text

    @property
    def estimated_share(self) -> int:
        """Percentage of the tokens that are estimates (rounded up, so a little is never "0%")."""
        if not self.est_tokens:
            return 0
        return max(1, min(100, round(100 * self.est_tokens / self.tokens))) if self.tokens else 100


@dataclass
class InProgress:
    requests: int = 0
    tokens: int = 0
    credits: Decimal = Decimal(0)


@dataclass
class Group:
    key: tuple
    label: str
    figures: Figures = field(default_factory=Figures)


@dataclass
class Report:
    period: Period
    dimension: str
    metric: str
    totals: Figures
    in_progress: InProgress
    buckets: list[date]
    groups: list[Group]  # every group with settled rows, largest first by the metric
    cells: dict[tuple[date, tuple], Figures]

    @property
    def empty(self) -> bool:
        return not self.totals.requests


def _sums(where: Q | None = None) -> dict:
    """The aggregates behind `Figures`, over the rows matching `where` (all rows when None)."""
    estimated = Q(estimated=True) if where is None else where & Q(estimated=True)
    sums = {
        "requests": Count("id", filter=where),
        "prompt": Sum("prompt_tokens", filter=where),
        "completion": Sum("completion_tokens", filter=where),
        "credits": Sum("credits", filter=where),
        "est_requests": Count("id", filter=estimated),
        "est_tokens": Sum(TOKENS, filter=estimated),
        "est_credits": Sum("credits", filter=estimated),
    }
    # Prefixed: an alias may not be a field's own name ("credits").
    return {f"sum_{name}": aggregate for name, aggregate in sums.items()}


def _group_fields(dimension: str) -> dict:
    """What rows are grouped by for `dimension`: a key's current label when it still exists, else the label
    it had when used (so a deleted key keeps its name), and for personal keys whose key it is."""
    if dimension == "person":
        return {"g_id": F("user_id"), "g_name": F("user__username")}
    if dimension == "team":
        return {"g_id": F("team_id"), "g_name": F("team__name")}
    if dimension == "key":
        return {
            "g_id": F("credential_id"),
            "g_name": Coalesce("credential__label", "credential_label"),
            "g_shared": F("shared"),
            "g_owner": Case(
                When(shared=True, then=Value("")),
                default=Coalesce("credential__owner__username", "user__username", Value("")),
            ),
        }
    if dimension == "model":
        return {"g_name": F("model")}
    raise ValueError(f"unknown dimension {dimension!r}")


def _label(dimension: str, row: dict, *, owners: bool) -> str:
    name = row.get("g_name") or ""
    if dimension == "person":
        return name or "Deleted person"
    if dimension == "team":
        return name or "No team"
    if dimension == "model":
        return name or "Unknown model"
    parts = [name or "Unnamed key"]
    if row["g_shared"]:
        parts.append("shared")
    elif owners and row["g_owner"]:
        parts.append(row["g_owner"])
    label = " · ".join(parts)
    return f"{label} (deleted)" if row["g_id"] is None else label


def bucket_starts(period: Period) -> list[date]:
    """Every bar of the chart, empty ones included: each day, or each week (from its Monday, as PostgreSQL's
    date_trunc('week') counts them)."""
    if period.bucket == "day":
        return [period.first_day + timedelta(days=n) for n in range(period.days)]
    monday = period.first_day - timedelta(days=period.first_day.weekday())
    return [monday + timedelta(weeks=n) for n in range((period.last_day - monday).days // 7 + 1)]


def build_report(entries, period: Period, *, dimension: str, metric: str, owners: bool) -> Report:
    """Totals and per-bucket figures of `entries` (already scoped to the viewer) over `period`.

    `owners` adds whose personal key it is to key names (the team page; a member's keys are all theirs).
    """
    rows = in_period(entries, period).order_by()  # no default ordering: it would join the GROUP BY
    totals_row = rows.aggregate(
        **_sums(SETTLED),
        open_requests=Count("id", filter=RESERVED),
        open_tokens=Sum("reserved_tokens", filter=RESERVED),
        open_credits=Sum("reserved_credits", filter=RESERVED),
    )
    totals = Figures.from_row(totals_row)
    in_progress = InProgress(
        totals_row["open_requests"] or 0, totals_row["open_tokens"] or 0, totals_row["open_credits"] or 0
    )
    trunc = TruncDay if period.bucket == "day" else TruncWeek
    fields = _group_fields(dimension)
    grouped = (
        rows.filter(SETTLED)
        .values(bucket=trunc("created_at", output_field=DateField()), **fields)
        .annotate(**_sums())
    )
    groups: dict[tuple, Group] = {}
    cells: dict[tuple[date, tuple], Figures] = {}
    for row in grouped:
        key = tuple(row[name] for name in fields)
        figures = Figures.from_row(row)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(key, _label(dimension, row, owners=owners))
        group.figures.add(figures)
        cells[(row["bucket"], key)] = figures
    ordered = sorted(groups.values(), key=lambda g: (-g.figures.value(metric), -g.figures.requests, g.label))
    return Report(
        period=period,
        dimension=dimension,
        metric=metric,
        totals=totals,
        in_progress=in_progress,
        buckets=bucket_starts(period),
        groups=ordered,
        cells=cells,
    )
