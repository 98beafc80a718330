"""The usage report: what is summed, over which rows, in which bars — all in the database."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.http import QueryDict
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import Team
from keys.models import UsageEntry
from keys.usage_chart import MAX_SERIES, build_chart, compact, nice_step
from keys.usage_filters import TEAM_DIMENSIONS, Period, named_period, read_filters
from keys.usage_report import build_report, ledger_for
from tests.keys.ledger import add_usage, at, key, usage

TODAY = date(2026, 5, 20)  # a Wednesday
LAST_30 = named_period("30d", TODAY)


def report_of(viewer, period=LAST_30, *, everyone=True, dimension="person", metric="tokens"):
    entries = ledger_for(viewer, everyone=everyone)
    return build_report(entries, period, dimension=dimension, metric=metric, owners=everyone)


@pytest.fixture
def admin(make_user):
    return make_user("admin")  # the first to sign up is the admin


@pytest.fixture
def members(admin, make_user):
    return make_user("alice"), make_user("bob")


def test_totals_count_settled_replies_and_keep_open_reservations_apart(admin, members):
    alice, bob = members
    day = TODAY - timedelta(days=3)
    add_usage(
        [
            usage(alice, when=at(day), prompt=100, completion=40, credits="0.25"),
            usage(alice, when=at(day), prompt=10, completion=5, credits="0.005", estimated=True),
            usage(bob, when=at(TODAY), prompt=1000, completion=600, credits="1.5"),
            usage(bob, when=at(TODAY), state=UsageEntry.State.RESERVED, reserved_tokens=4096),
        ]
    )
    report = report_of(admin)
    totals = report.totals
    assert (totals.requests, totals.prompt, totals.completion) == (3, 1110, 645)
    assert totals.credits == Decimal("1.755")
    assert (totals.est_requests, totals.est_tokens, totals.est_credits) == (1, 15, Decimal("0.005"))
    assert totals.estimated_share == 1  # 15 of 1755 tokens: a little, never shown as 0%
    assert totals.tokens_text == "≈ 1,755" and totals.requests_text == "3"
    assert totals.credits_text == "≈ 1.755"
    assert (report.in_progress.requests, report.in_progress.tokens) == (1, 4096)
    # The open reservation is in no bar and no group.
    assert sum(f.requests for f in report.cells.values()) == 3
    assert {g.label: g.figures.requests for g in report.groups} == {"bob": 1, "alice": 2}


def test_a_member_sees_only_their_own_rows_and_never_everyones(admin, members):
    alice, bob = members
    add_usage([usage(alice, when=at(TODAY)), usage(bob, when=at(TODAY), prompt=7, completion=0)])
    mine = report_of(bob, everyone=False, dimension="model")
    assert mine.totals.requests == 1 and mine.totals.tokens == 7
    with pytest.raises(PermissionDenied):
        ledger_for(bob, everyone=True)
    assert report_of(admin).totals.requests == 2


def test_a_row_counts_on_the_day_it_was_made_within_the_periods_edges(admin, members):
    alice, _ = members
    period = Period("custom", date(2026, 4, 1), date(2026, 4, 30))
    add_usage(
        [
            usage(alice, when=period.start - timedelta(microseconds=1), prompt=1),
            usage(alice, when=period.start, prompt=10),
            usage(alice, when=period.end - timedelta(microseconds=1), prompt=100),
            usage(alice, when=period.end, prompt=1000),
        ]
    )
    report = report_of(admin, period)
    assert report.totals.prompt == 110
    assert report.buckets[0] == date(2026, 4, 1) and report.buckets[-1] == date(2026, 4, 30)
    key_alice = report.groups[0].key
    assert report.cells[(date(2026, 4, 1), key_alice)].prompt == 10
    assert report.cells[(date(2026, 4, 30), key_alice)].prompt == 100


def test_every_day_is_a_bar_even_empty_ones_and_long_ranges_go_by_week(admin, members):
    alice, _ = members
    week = named_period("7d", TODAY)
    assert report_of(admin, week).buckets == [TODAY - timedelta(days=n) for n in range(6, -1, -1)]
    assert named_period("month", TODAY) == Period("month", date(2026, 5, 1), TODAY)

    long = Period("custom", date(2026, 1, 1), date(2026, 5, 20))  # 140 days: by week
    sunday, monday = date(2026, 3, 8), date(2026, 3, 9)
    add_usage([usage(alice, when=at(sunday), prompt=5), usage(alice, when=at(monday), prompt=7)])
    report = report_of(admin, long)
    assert long.bucket == "week"
    assert report.buckets[0] == date(2025, 12, 29)  # the Monday of the week 1 January falls in
    assert all(b.weekday() == 0 for b in report.buckets) and report.buckets[-1] == date(2026, 5, 18)
    key_alice = report.groups[0].key
    assert report.cells[(date(2026, 3, 2), key_alice)].prompt == 5
    assert report.cells[(monday, key_alice)].prompt == 7


def test_groups_by_person_team_key_and_model_with_names_that_survive_deletion(admin, members):
    alice, bob = members
    gone = members[0].__class__.objects.create_user("carol", password="x-unused-123")
    research = Team.objects.create(name="Research")
    shared = key(None, "Team GPT")
    alice_key = key(alice, "My key")
    bob_key = key(bob, "My key")
    old_key = key(bob, "Old key")
    add_usage(
        [
            usage(alice, when=at(TODAY), credential=shared, team=research, model="gpt-x", prompt=10),
            usage(alice, when=at(TODAY), credential=alice_key, model="gpt-x", prompt=20),
            usage(bob, when=at(TODAY), credential=bob_key, model="", prompt=40),
            usage(bob, when=at(TODAY), credential=old_key, model="llama", prompt=80),
            usage(gone, when=at(TODAY), credential=shared, team=research, model="llama", prompt=160),
        ]
    )
    old_key.delete()
    gone.delete()
    shared.label = "Team GPT (renamed)"
    shared.save()

    def tokens_by(dimension, viewer=admin, everyone=True):
        report = report_of(viewer, everyone=everyone, dimension=dimension, metric="tokens")
        return {g.label: g.figures.prompt for g in report.groups}

    assert tokens_by("person") == {"Deleted person": 160, "bob": 120, "alice": 30}
    assert tokens_by("team") == {"Research": 170, "No team": 140}
    assert tokens_by("model") == {"llama": 240, "Unknown model": 40, "gpt-x": 30}
    assert tokens_by("key") == {
        "Team GPT (renamed) · shared": 170,
        "Old key · bob (deleted)": 80,
        "My key · bob": 40,
        "My key · alice": 20,
    }
    # A member's own keys need no owner's name.
    assert tokens_by("key", viewer=bob, everyone=False) == {"Old key (deleted)": 80, "My key": 40}


def test_a_report_costs_two_queries_however_many_rows(admin, members, django_assert_num_queries):
    alice, bob = members
    keys = [key(alice, f"key {n}") for n in range(5)]
    rows = [
        usage(
            (alice, bob)[n % 2],
            when=at(TODAY - timedelta(days=n % 30), hour=n % 24),
            credential=keys[n % 5],
            model=f"model-{n % 11}",
            estimated=n % 7 == 0,
        )
        for n in range(600)
    ]
    add_usage(rows)
    for dimension in TEAM_DIMENSIONS:
        with django_assert_num_queries(2):
            report = report_of(admin, dimension=dimension)
        assert report.totals.requests == 600
        assert sum(f.requests for f in report.cells.values()) == 600


def test_the_chart_stacks_the_six_largest_groups_and_the_rest_as_other(admin, members):
    alice, _ = members
    week = named_period("7d", TODAY)
    rows = []
    for n in range(9):  # model-0 is the smallest, model-8 the largest
        rows += [
            usage(alice, when=at(TODAY - timedelta(days=d)), model=f"model-{n}", prompt=(n + 1) * 100)
            for d in range(3)
        ]
    add_usage(rows)
    chart = build_chart(report_of(admin, week, dimension="model"))
    assert [s.label for s in chart.series] == [
        *(f"model-{n}" for n in range(8, 2, -1)),
        "Other (3 more)",
    ]
    assert [s.css for s in chart.series] == [*(f"s{n}" for n in range(MAX_SERIES)), "other"]
    assert chart.series[-1].total == f"{sum((n + 1) * 100 + 50 for n in range(3)) * 3:,}"
    # Three bars of 9 stacked parts each; each bar's parts add up to its height on the value axis.
    assert len(chart.segments) == 3 * 7
    day_total = sum((n + 1) * 100 + 50 for n in range(9))
    axis_top = float(chart.y_ticks[-1].text.rstrip("k")) * 1000
    assert axis_top >= day_total and chart.y_ticks[0].text == "0"
    plot_h = chart.bottom - chart.top
    bar = [s for s in chart.segments if s.x == chart.segments[-1].x]
    assert sum(s.height for s in bar) == pytest.approx(day_total / axis_top * plot_h, abs=0.1)
    assert min(s.y for s in bar) == pytest.approx(chart.bottom - day_total / axis_top * plot_h, abs=0.1)
    # The table holds the same numbers: 7 days, empty ones blank.
    assert len(chart.rows) == 7 and chart.rows[-1].total == f"{day_total:,}"
    assert chart.rows[0].cells == [""] * 7 and chart.rows[0].total == "0"
    assert "Busiest day" in chart.desc and "model-8" in chart.desc


def test_axis_steps_and_labels_read_well():
    assert [nice_step(x) for x in (0.3, 1, 3, 7, 12, 230, 2600)] == [0.5, 1, 5, 10, 20, 250, 5000]
    assert [compact(x) for x in (0, 0.25, 250, 1500, 12_500, 2_000_000)] == [
        "0",
        "0.25",
        "250",
        "1.5k",
        "12.5k",
        "2M",
    ]


@pytest.mark.parametrize(
    ("params", "period", "problem"),
    [
        ("period=7d", ("7d", date(2026, 5, 14), TODAY), None),
        ("period=month", ("month", date(2026, 5, 1), TODAY), None),
        (
            "period=custom&from=2026-02-01&to=2026-02-10",
            ("custom", date(2026, 2, 1), date(2026, 2, 10)),
            None,
        ),
        ("period=7d&from=garbage", ("7d", date(2026, 5, 14), TODAY), None),  # hidden dates are ignored
        ("period=nonsense", ("30d", date(2026, 4, 21), TODAY), "Period:"),
        ("period=custom&from=2026-02-10&to=2026-02-01", ("30d", date(2026, 4, 21), TODAY), "after"),
        ("period=custom&from=1999-12-31&to=2026-01-01", ("30d", date(2026, 4, 21), TODAY), "between"),
        ("period=custom&from=2020-01-01&to=2026-01-01", ("30d", date(2026, 4, 21), TODAY), "two years"),
        ("period=custom&from=9999-12-31&to=9999-12-31", ("30d", date(2026, 4, 21), TODAY), "between"),
        ("period=custom&from=2026-13-45&to=x", ("30d", date(2026, 4, 21), TODAY), "valid date"),
        ("period=custom", ("30d", date(2026, 4, 21), TODAY), "both"),
    ],
)
def test_filters_fall_back_to_a_period_that_can_be_shown(params, period, problem):
    filters = read_filters(QueryDict(params), dimensions=TEAM_DIMENSIONS, today=TODAY)
    assert (filters.period.key, filters.period.first_day, filters.period.last_day) == period
    if problem is None:
        assert filters.problems == []
    else:
        assert any(problem in p for p in filters.problems), filters.problems
        assert filters.problems[-1] == "Showing the last 30 days instead."


def test_a_member_cannot_group_by_person_and_unknown_choices_fall_back():
    filters = read_filters(
        QueryDict("by=person&metric=<b>"), dimensions=("model", "key", "team"), today=TODAY
    )
    assert (filters.by, filters.metric) == ("model", "tokens")
    assert len(filters.problems) == 2


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["period", "from", "to", "by", "metric", "page"]),
        st.one_of(st.text(max_size=30), st.dates().map(date.isoformat)),
    )
)
def test_no_query_string_breaks_the_filters(params):
    query = QueryDict(mutable=True)
    query.update(params)
    filters = read_filters(query, dimensions=TEAM_DIMENSIONS, today=TODAY)
    assert filters.by in TEAM_DIMENSIONS and filters.metric in {"tokens", "credits", "requests"}
    assert 1 <= filters.period.days <= 731
    assert filters.period.start < filters.period.end
