"""What a usage page shows: the period, grouping and measure picked in its filter form, read garbage-safe.

Whatever arrives in the query string, `read_filters` returns something to show: a field that does not parse
falls back to its default and the form keeps the error, so the page can say what it ignored.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

PERIODS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "month": "This month",
    "custom": "Custom range",
}
DEFAULT_PERIOD = "30d"
DIMENSIONS = {"person": "Person", "team": "Team", "key": "Key", "model": "Model"}
# A member's page only holds their own rows, so "by person" would be one bar colour.
MEMBER_DIMENSIONS = ("model", "key", "team")
TEAM_DIMENSIONS = ("person", "team", "key", "model")
METRICS = {"tokens": "Tokens", "credits": "Credits", "requests": "Requests"}
DEFAULT_METRIC = "tokens"

# Days are bars up to about three months; longer ranges are drawn by week so a bar stays wide enough to see.
MAX_DAY_BUCKETS = 92
MAX_CUSTOM_DAYS = 731
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)


@dataclass(frozen=True)
class Period:
    """Days `first_day`..`last_day` inclusive, in the site's time zone; rows count by when they were made."""

    key: str
    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first_day, time.min))

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return timezone.make_aware(datetime.combine(self.last_day + timedelta(days=1), time.min))

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def bucket(self) -> str:
        return "day" if self.days <= MAX_DAY_BUCKETS else "week"

    @property
    def name(self) -> str:
        return PERIODS[self.key]


def named_period(key: str, today: date) -> Period:
    """One of the fixed periods, ending today (today is included, so far)."""
    if key == "month":
        return Period(key, today.replace(day=1), today)
    days = {"7d": 7, "30d": 30, "90d": 90}[key]
    return Period(key, today - timedelta(days=days - 1), today)


class UsageFilterForm(forms.Form):
    """The filter bar. Field names are the query string's: ?period=custom&from=…&to=…&by=model&metric=…"""

    period = forms.ChoiceField(label="Period", choices=PERIODS.items(), required=False)
    by = forms.ChoiceField(label="Group by", required=False)
    metric = forms.ChoiceField(label="Show", choices=METRICS.items(), required=False)

    def __init__(self, data, *, dimensions):
        super().__init__(data)
        self.dimensions = dimensions
        self.fields["by"].choices = [(d, DIMENSIONS[d]) for d in dimensions]
        # "from" is a Python keyword, so these two are added by name.
        date_widget = {"type": "date", "min": EARLIEST.isoformat(), "max": LATEST.isoformat()}
        self.fields["from"] = forms.DateField(
            label="From", required=False, widget=forms.DateInput(attrs=date_widget, format="%Y-%m-%d")
        )
        self.fields["to"] = forms.DateField(
            label="To", required=False, widget=forms.DateInput(attrs=date_widget, format="%Y-%m-%d")
        )

    def clean(self):
        data = super().clean()
        if data.get("period") != "custom":
            # The date fields are hidden unless the range is custom: what they hold then is not a mistake.
            for name in ("from", "to"):
                self.errors.pop(name, None)
            return data
        first, last = data.get("from"), data.get("to")
        if "from" in self.errors or "to" in self.errors:
            return data
        if first is None or last is None:
            self.add_error(None, "A custom range needs both a From and a To date.")
        elif not (EARLIEST <= first <= LATEST and EARLIEST <= last <= LATEST):
            self.add_error(None, "Dates must be between 2000 and 2099.")
        elif first > last:
            self.add_error(None, "The From date is after the To date.")
        elif (last - first).days + 1 > MAX_CUSTOM_DAYS:
            self.add_error(None, "A custom range covers at most two years.")
        return data

    def problems(self) -> list[str]:
        """Every error in words, for the report's notice (the form itself is not re-rendered by htmx)."""
        found = list(self.non_field_errors())
        for name, errors in self.errors.items():
            if name != "__all__":
                found += [f"{self.fields[name].label}: {error}" for error in errors]
        return found


@dataclass(frozen=True)
class Filters:
    period: Period
    by: str
    metric: str
    form: UsageFilterForm
    problems: list[str] = field(default_factory=list)
    dates_rejected: bool = False  # a custom range was asked for and could not be used

    def query(self) -> dict[str, str]:
        """The query string that reproduces these filters (the CSV link and the address bar use it)."""
        params = {"period": self.period.key, "by": self.by, "metric": self.metric}
        if self.period.key == "custom":
            params["from"] = self.period.first_day.isoformat()
            params["to"] = self.period.last_day.isoformat()
        return params


def read_filters(params, *, dimensions, today: date | None = None) -> Filters:
    """The filters in `params` (a QueryDict), each invalid or missing one replaced by its default."""
    today = today or timezone.localdate()
    form = UsageFilterForm(params, dimensions=dimensions)
    form.is_valid()
    data = form.cleaned_data
    key = data.get("period") or DEFAULT_PERIOD
    if key == "custom":
        if form.non_field_errors() or "from" in form.errors or "to" in form.errors:
            period = named_period(DEFAULT_PERIOD, today)
        else:
            period = Period("custom", data["from"], data["to"])
    else:
        period = named_period(key, today)
    by = data.get("by") or dimensions[0]
    metric = data.get("metric") or DEFAULT_METRIC
    problems = form.problems()
    if period.key != (params.get("period") or DEFAULT_PERIOD):
        problems.append(f"Showing the {PERIODS[DEFAULT_PERIOD].lower()} instead.")
    return Filters(period, by, metric, form, problems, dates_rejected=key != period.key)
