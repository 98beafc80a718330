"""Settings → Usage and Team → Usage: who sees which rows, the htmx region, the CSV, and garbage filters."""

import csv
import io
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse
from django.utils import timezone

from accounts.models import Team
from keys.models import UsageEntry
from tests.keys.ledger import add_usage, at, key, usage

TODAY = timezone.localdate()


@pytest.fixture
def people(make_user):
    return make_user("admin"), make_user("alice"), make_user("bob")  # the first is the admin


@pytest.fixture
def ledger(people):
    _, alice, bob = people
    research = Team.objects.create(name="Research")
    shared = key(None, "Team GPT")
    add_usage(
        [
            usage(alice, when=at(TODAY), model="alice-model", credential=shared, team=research, prompt=300),
            usage(alice, when=at(TODAY - timedelta(days=2)), model="alice-model", prompt=30, estimated=True),
            usage(bob, when=at(TODAY - timedelta(days=1)), model="bob-model", prompt=4000, completion=5),
            usage(bob, when=at(TODAY - timedelta(days=40)), model="old-bob-model", prompt=1),
            usage(
                bob, when=at(TODAY), model="bob-model", state=UsageEntry.State.RESERVED, reserved_tokens=99
            ),
        ]
    )
    return people


def page(client, user, name, **params):
    client.force_login(user)
    return client.get(reverse(name), params)


def read_csv(response) -> list[dict]:
    """The streamed body (an async iterator, as daphne serves it), parsed."""

    async def collect():
        return "".join([chunk.decode() async for chunk in response.streaming_content])

    text = async_to_sync(collect)()
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_settings_usage_shows_only_my_own_replies(client, ledger):
    _, alice, bob = ledger
    response = page(client, bob, "keys:usage")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your usage" in html and "bob-model" in html
    assert "alice-model" not in html and "Team GPT" not in html
    assert response.context["report"].totals.requests == 1  # 40 days ago is outside the last 30 days
    assert "In progress: 1 reply still streaming, up to 99 tokens reserved" in html
    # A member's page offers no "by person" switch: every row is theirs.
    assert [value for value, _ in response.context["dimensions"]] == ["model", "key", "team"]
    assert 'aria-current="page">Usage</a>' in html

    html = page(client, alice, "keys:usage", by="key").content.decode()
    assert "Team GPT · shared" in html and "bob-model" not in html
    assert "≈ 30" in html  # the estimated reply is marked


def test_team_usage_is_for_admins_and_shows_everyone(client, ledger):
    admin, alice, _ = ledger
    for name in ("team_keys:usage", "team_keys:usage-csv"):
        assert page(client, alice, name).status_code == 403
    response = page(client, admin, "team_keys:usage")
    assert response.status_code == 200
    report = response.context["report"]
    assert {g.label: g.figures.requests for g in report.groups} == {"bob": 1, "alice": 2}
    html = response.content.decode()
    for text in ("Team usage", "alice", "bob", 'aria-current="page">Usage</a>', "Audit log"):
        assert text in html
    assert "<svg" in html and 'role="img"' in html and "<rect" in html and 'aria-label="Legend"' in html


def test_a_filter_change_over_htmx_redraws_only_the_report(client, ledger):
    admin, _, _ = ledger
    client.force_login(admin)
    response = client.get(reverse("team_keys:usage"), {"by": "model"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="usage-report"') and "<html" not in html
    assert "By model" in html and "old-bob-model" not in html
    assert "HX-Request" in response["Vary"]
    # The CSV link inside the region follows the filters.
    assert f"{reverse('team_keys:usage-csv')}?period=30d&amp;by=model&amp;metric=tokens" in html
    # A back/forward restore asks for the whole page.
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    assert b"<html" in client.get(reverse("team_keys:usage"), headers=headers).content


def test_my_csv_has_one_line_per_settled_reply_of_mine(client, ledger):
    _, alice, _ = ledger
    response = page(client, alice, "keys:usage-csv", period="7d")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    first = (TODAY - timedelta(days=6)).isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="novaweb-usage-{first}-to-{TODAY.isoformat()}.csv"'
    )
    rows = read_csv(response)
    assert [(r["person"], r["model"], r["prompt_tokens"], r["estimated"]) for r in rows] == [
        ("alice", "alice-model", "30", "yes"),
        ("alice", "alice-model", "300", "no"),
    ]
    assert rows[1]["key"] == "Team GPT" and rows[1]["shared_key"] == "yes" and rows[1]["team"] == "Research"
    assert rows[0]["key_owner"] == "alice" and rows[0]["shared_key"] == "no"
    assert rows[1]["total_tokens"] == "350" and rows[1]["created_at"].startswith(TODAY.isoformat())


def test_team_csv_sums_to_the_pages_totals(client, ledger):
    admin, _, _ = ledger
    response = page(
        client, admin, "team_keys:usage-csv", period="custom", **{"from": "2000-01-01", "to": TODAY}
    )
    first = (TODAY - timedelta(days=29)).isoformat()  # more than two years: the last 30 days instead
    assert response["Content-Disposition"].endswith(f'novaweb-team-usage-{first}-to-{TODAY.isoformat()}.csv"')
    rows = read_csv(page(client, admin, "team_keys:usage-csv"))
    totals = page(client, admin, "team_keys:usage").context["report"].totals
    assert len(rows) == totals.requests == 3
    assert sum(int(r["total_tokens"]) for r in rows) == totals.tokens
    assert {r["person"] for r in rows} == {"alice", "bob"}


def test_csv_cells_that_a_spreadsheet_would_run_are_disarmed(client, people):
    admin, alice, _ = people
    add_usage(
        [
            usage(
                alice,
                when=at(TODAY),
                model='=HYPERLINK("http://evil.example","x")',
                credential=key(alice, "+SUM(A1:A9)"),
                team=Team.objects.create(name="@cmd"),
            ),
            usage(alice, when=at(TODAY), model="-2+3", label="\tTab"),
            usage(alice, when=at(TODAY), model='plain, "quoted" model'),
        ]
    )
    rows = read_csv(page(client, admin, "team_keys:usage-csv"))
    cells = [(r["model"], r["key"], r["team"]) for r in rows]
    assert cells == [
        ('\'=HYPERLINK("http://evil.example","x")', "'+SUM(A1:A9)", "'@cmd"),
        ("'-2+3", "'\tTab", ""),
        ('plain, "quoted" model', "", ""),
    ]


GARBAGE = [
    {"period": "custom", "from": "2026-02-31", "to": "yesterday"},
    {"period": "custom", "from": "9999-12-31", "to": "9999-12-31"},
    {"period": "custom", "from": "0001-01-01", "to": "0001-01-02"},
    {"period": "custom", "from": "2026-05-10", "to": "2026-05-01"},
    {"period": "' OR 1=1 --", "by": "<script>", "metric": "%00"},
    {"period": ["7d", "90d"], "by": ["model", "person"]},
    {"from": "x" * 5000},
]


@pytest.mark.parametrize("params", GARBAGE)
def test_garbage_filters_show_a_report_and_say_what_was_ignored(client, ledger, params):
    admin, alice, _ = ledger
    for user, name in ((admin, "team_keys:usage"), (alice, "keys:usage")):
        response = page(client, user, name, **params)
        assert response.status_code == 200
        html = response.content.decode()
        assert "<script>" not in html and ("Team usage" in html or "Your usage" in html)
        csv_response = page(client, user, name + "-csv", **params)
        assert csv_response.status_code == 200 and read_csv(csv_response) is not None
    problems = page(client, admin, "team_keys:usage", **params).context["filters"].problems
    if "from" in params and params.get("period") == "custom":
        assert problems and problems[-1] == "Showing the last 30 days instead."


def test_names_in_the_chart_and_tables_are_text_never_markup(client, people):
    admin, alice, _ = people
    evil = '<img src=x onerror="alert(1)"></title><script>alert(2)</script>'
    add_usage([usage(alice, when=at(TODAY), model=evil)])
    for by in ("model", "person"):
        html = page(client, admin, "team_keys:usage", by=by).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html
    html = page(client, admin, "team_keys:usage", by="model").content.decode()
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_an_empty_period_says_so(client, people):
    admin, _, _ = people
    html = page(client, admin, "team_keys:usage").content.decode()
    assert "No usage in this period." in html and "<svg" not in html
