"""Team → Usage, Settings → Usage and Team → Audit log, in Chromium: the chart read as a person reads it, the
switches, the CSV download, and each person seeing only what they may."""

import csv
import io
import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from accounts.actions import do_sign_up
from accounts.audit import record_event
from accounts.models import AuditEvent, Team, User
from tests.e2e.ui import PASSWORD, hold_first, sign_in, sign_up, wait_for_htmx
from tests.keys.ledger import add_usage, at, key, usage

LIGHT_BG = "rgb(247, 247, 249)"
DARK_BG = "rgb(15, 17, 23)"
TODAY = timezone.localdate()
MODELS = ["gpt-4o-mini", "llama-3.3-70b", "claude-haiku", "mistral-small"]


def a_month_of_usage():
    """Four people, two teams, a shared key and personal ones, four models, 30 days; bob alone uses
    "bob-secret-model", and one of alice's replies is still streaming."""
    people = {name: do_sign_up(name, PASSWORD) for name in ("alice", "bob", "carol", "dave")}
    research, support = Team.objects.create(name="Research"), Team.objects.create(name="Support")
    shared = key(None, "Team GPT")
    personal = {name: key(user, f"{name}'s key") for name, user in people.items()}
    rows = []
    for day in range(30):
        for n, (name, user) in enumerate(people.items()):
            if (day + 2 * n) % 5 == 4:
                continue
            model = MODELS[(day + n) % len(MODELS)]
            on_shared = (day + n) % 3 != 0
            rows.append(
                usage(
                    user,
                    when=at(TODAY - timedelta(days=day), hour=9 + n),
                    model=model,
                    credential=shared if on_shared else personal[name],
                    team=(research if n < 2 else support) if on_shared else None,
                    prompt=400 + 60 * n + 25 * (day % 7),
                    completion=150 + 40 * ((day * (n + 1)) % 5),
                    credits=f"0.0{(day + n) % 9 + 1}",
                    estimated=(day + n) % 11 == 0,
                )
            )
    rows.append(
        usage(people["bob"], when=at(TODAY - timedelta(days=2)), model="bob-secret-model", prompt=900)
    )
    rows.append(usage(people["alice"], when=at(TODAY), state="reserved", reserved_tokens=2048))
    add_usage(rows)
    return people


def legend(page):
    return page.get_by_role("list", name="Legend")


def test_the_admin_reads_the_team_usage_chart_and_a_member_sees_only_their_own(
    page, new_context, screenshots, tmp_path
):
    sign_up(page, "admin")
    a_month_of_usage()

    page.get_by_role("navigation", name="Account").get_by_role("link", name="Team").click()
    page.get_by_role("navigation", name="Team administration").get_by_role("link", name="Usage").click()
    expect(page.get_by_role("heading", name="Team usage")).to_be_visible()
    expect(page.get_by_role("link", name="Usage")).to_have_attribute("aria-current", "page")

    # The chart: bars, and a legend naming the people, largest first.
    chart = page.get_by_role("img", name="Tokens per day by person")
    expect(chart).to_be_visible()
    assert chart.locator("rect").count() >= 30 * 3
    expect(legend(page).get_by_role("listitem")).to_have_count(4)
    expect(legend(page)).to_contain_text("alice")
    expect(legend(page)).to_contain_text("dave")
    expect(page.get_by_text("In progress: 1 reply still streaming")).to_be_visible()
    expect(page.get_by_text("≈", exact=False).first).to_be_visible()  # estimated figures are marked
    # Hovering a bar names its day, person and figure.
    first_bar_title = chart.locator("rect title").first.text_content()
    assert " · " in first_bar_title and "tokens" in first_bar_title

    page.set_viewport_size({"width": 1280, "height": 1500})
    page.screenshot(path=screenshots / "usage-light.png", caret="initial")
    page.get_by_role("button", name="Switch theme").click()
    expect(page.locator("body")).to_have_css("background-color", DARK_BG)
    page.mouse.move(0, 0)
    page.screenshot(path=screenshots / "usage-dark.png", caret="initial")
    page.get_by_role("button", name="Switch theme").click()
    expect(page.locator("body")).to_have_css("background-color", LIGHT_BG)
    page.set_viewport_size({"width": 1280, "height": 800})

    # On a phone the chart shrinks to the screen and its labels stay readable.
    phone = new_context(
        storage_state=page.context.storage_state(), viewport={"width": 390, "height": 2300}, is_mobile=True
    ).new_page()
    phone.goto("/team/usage/")
    phone_chart = phone.get_by_role("img", name="Tokens per day by person")
    expect(phone_chart).to_be_visible()
    box = phone_chart.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    font_px = phone_chart.locator("text").first.evaluate(
        "t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a"
    )
    assert font_px >= 10
    phone.screenshot(path=screenshots / "usage-phone.png", caret="initial")
    phone.close()

    # By model: the chart and tables are redrawn in place, and the address follows.
    page.get_by_role("radio", name="Model").check()
    expect(page.get_by_role("img", name="Tokens per day by model")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]by=model"))
    expect(legend(page)).to_contain_text("bob-secret-model")
    expect(page.get_by_role("heading", name="By model", exact=True)).to_be_visible()
    for model in MODELS:
        expect(page.get_by_role("table").last).to_contain_text(model)

    # The last 7 days, in requests; the same figures as a table.
    page.get_by_label("Period").select_option(label="Last 7 days")
    expect(page.get_by_role("heading", name="Last 7 days")).to_be_visible()
    page.get_by_role("radio", name="Requests").check()
    expect(page.get_by_role("img", name="Requests per day by model")).to_be_visible()
    page.get_by_text("Chart data as a table").click()
    data = page.get_by_role("table", name="Requests per day by model")
    expect(data.locator("tbody tr")).to_have_count(7)

    # A custom range, typed as dates.
    page.get_by_label("Period").select_option(label="Custom range")
    first = TODAY - timedelta(days=13)
    page.get_by_label("From", exact=True).fill(first.isoformat())
    page.get_by_label("To", exact=True).fill(TODAY.isoformat())
    expect(page.get_by_role("heading", name="Custom range")).to_contain_text(f"{first.day} {first:%b %Y}")

    # The CSV has the same filters: one line per reply of the period shown.
    page.get_by_role("radio", name="Person").check()
    expect(page.get_by_role("img", name="Requests per day by person")).to_be_visible()
    shown = page.locator(".usage-totals div").first.locator("dd").inner_text()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"novaweb-team-usage-{first.isoformat()}-to-{TODAY.isoformat()}.csv"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert len(rows) == int(shown.replace(",", ""))
    assert {row["person"] for row in rows} == {"alice", "bob", "carol", "dave"}

    # A member: Settings → Usage, their own replies only, and no way into the team's.
    member = new_context().new_page()
    member.goto("/")
    sign_in(member, "bob")
    member.get_by_role("link", name="Settings").click()
    member.get_by_role("navigation", name="Settings").get_by_role("link", name="Usage").click()
    expect(member.get_by_role("heading", name="Your usage")).to_be_visible()
    expect(member.get_by_role("img", name="Tokens per day by model")).to_be_visible()
    expect(legend(member)).to_contain_text("bob-secret-model")
    expect(member.get_by_role("radio", name="Person")).to_have_count(0)
    wait_for_htmx(member)  # the filters ask htmx on change: before it has loaded, a choice asks nothing
    member.get_by_role("radio", name="Key").check()
    expect(legend(member)).to_contain_text("bob's key")
    expect(legend(member)).to_contain_text("Team GPT · shared")
    for other in ("alice", "carol", "dave"):
        expect(member.locator("main")).not_to_contain_text(other)
    expect(member.get_by_role("navigation", name="Account").get_by_role("link", name="Team")).to_have_count(0)
    response = member.goto("/team/usage/")
    assert response.status == 403


def test_the_admin_reads_the_audit_log(page, screenshots):
    sign_up(page, "admin")
    admin = User.objects.get(username="admin")
    bob = do_sign_up("bob", PASSWORD)
    AuditEvent.objects.all().delete()  # the two sign-ups are logged too; this test counts its own events
    for n in range(55):
        record_event(admin, "key.created", None, label=f"Old key {n:02}", preset="openai")
    record_event(admin, "key.secret_replaced", None, label="Team GPT", last4="9f3a")
    record_event(admin, "grant.budget_changed", None, label="Team GPT → Research", budget_tokens=250000)
    record_event(admin, "role.changed", bob, label="bob", **{"from": "member", "to": "admin"})

    page.get_by_role("navigation", name="Account").get_by_role("link", name="Team").click()
    page.get_by_role("link", name="Audit log").click()
    events = page.get_by_role("region", name="Events")
    expect(events.get_by_role("listitem").first).to_contain_text(
        "admin changed the role of bob from member to admin"
    )
    expect(events).to_contain_text("admin replaced the secret of key “Team GPT”")
    expect(events).to_contain_text("Page 1 of 2 · 58 events")
    page.set_viewport_size({"width": 1280, "height": 1100})
    page.screenshot(path=screenshots / "audit.png", caret="initial")
    page.set_viewport_size({"width": 1280, "height": 800})

    # Older events, then only grants, then only what concerns bob.
    wait_for_htmx(page)
    events.get_by_role("link", name="Older →").click()
    expect(events).to_contain_text("Page 2 of 2")
    expect(events.get_by_role("listitem").last).to_contain_text("added the key “Old key 00”")
    page.get_by_label("Kind").select_option(label="Grants")
    expect(events.get_by_role("listitem")).to_have_count(1)
    expect(events).to_contain_text("changed the budget of “Team GPT → Research”")
    expect(events).to_contain_text("token budget 250,000")
    page.get_by_label("Kind").select_option(label="Everything")
    page.get_by_label("Person").select_option(label="bob")
    expect(events.get_by_role("listitem")).to_have_count(1)
    expect(page).to_have_url(re.compile(rf"[?&]person={bob.pk}(&|$)"))


def test_a_filter_changed_before_the_page_had_loaded_is_applied(page):
    """On a slow link the filters are there before htmx is: a period picked meanwhile is shown once it
    arrives, instead of waiting for another change."""
    sign_up(page, "alice")
    a_month_of_usage_for_alice = [
        usage(User.objects.get(username="alice"), when=at(TODAY - timedelta(days=day)), prompt=500)
        for day in (1, 20)
    ]
    add_usage(a_month_of_usage_for_alice)
    held = hold_first(page, "**/htmx-*.min.js")
    page.goto("/settings/usage/", wait_until="commit")
    page.get_by_label("Period").select_option(label="Last 7 days")
    assert len(held) == 1
    held[0].continue_()
    expect(page.get_by_role("heading", name="Last 7 days")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]period=7d"))


def test_every_filter_applies_as_it_changes_and_apply_is_there_only_without_javascript(page, new_context):
    """Period, Group by and Show each redraw the report as they change, even one changed before htmx had
    loaded (a slow link); there is no Apply button to press. Without JavaScript, Apply sends the form."""
    sign_up(page, "alice")
    alice = User.objects.get(username="alice")
    add_usage(
        [usage(alice, when=at(TODAY - timedelta(days=day)), prompt=500, credits="0.02") for day in (1, 3)]
    )
    held = hold_first(page, "**/htmx-*.min.js")
    page.goto("/settings/usage/", wait_until="commit")
    page.get_by_role("radio", name="Credits").check()
    assert len(held) == 1
    held[0].continue_()
    expect(page.get_by_role("img", name="Credits per day by model")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]metric=credits"))
    page.get_by_role("radio", name="Key").check()
    expect(page.get_by_role("img", name="Credits per day by key")).to_be_visible()
    expect(page.get_by_role("button", name="Apply")).to_have_count(0)
    page.goto("/team/audit/")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.get_by_role("button", name="Apply")).to_have_count(0)

    plain = new_context(java_script_enabled=False).new_page()
    plain.goto("/")
    sign_in(plain, "alice")
    plain.goto("/settings/usage/")
    plain.get_by_role("radio", name="Requests").check()
    expect(plain.get_by_role("img", name="Tokens per day by model")).to_be_visible()  # nothing asked yet
    plain.get_by_role("button", name="Apply").click()
    expect(plain.get_by_role("img", name="Requests per day by model")).to_be_visible()
    expect(plain).to_have_url(re.compile(r"[?&]metric=requests"))
    plain.goto("/team/audit/")
    plain.get_by_label("Kind").select_option(label="Keys")
    plain.get_by_role("button", name="Apply").click()
    expect(plain).to_have_url(re.compile(r"[?&]kind=keys"))
