"""Budgets that hold: the worst case reserved before a reply is sent, settled when it ends, in periods."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.test import override_settings

from chat.actions import ActionError, do_continue_reply, do_interrupt_stale_replies
from chat.models import Conversation, Message
from keys import budgets, ledger
from keys.models import UsageEntry
from tests.keys.sending import done, entry_of, finish, send

# "hello there": 11 characters → 3 tokens, plus 4 for the message.
PROMPT = 7
RESETS_TODAY = re.compile(r"it resets at 00:00 UTC \(in (\d+ (hours?|minutes?)|under a minute)\)\.$")


@pytest.fixture
def team_key(alice, make_shared_key):
    return make_shared_key(alice, label="Team GPT")


def grant(make_grant, alice, key, **limits):
    limits.setdefault("budget_period", "day")
    return make_grant(alice, key, **limits)


# --- periods and estimates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "now", "start", "end"),
    [
        ("day", "2026-11-22T23:59:59", "2026-11-22T00:00:00", "2026-11-23T00:00:00"),
        ("week", "2026-11-22T10:00:00", "2026-11-16T00:00:00", "2026-11-23T00:00:00"),  # a Sunday
        ("week", "2026-11-23T00:00:00", "2026-11-23T00:00:00", "2026-11-30T00:00:00"),  # the Monday after
        ("month", "2026-12-31T23:00:00", "2026-12-01T00:00:00", "2027-01-01T00:00:00"),
        ("month", "2027-02-10T00:00:00", "2027-02-01T00:00:00", "2027-03-01T00:00:00"),
    ],
)
def test_periods_are_utc_days_weeks_from_monday_and_calendar_months(period, now, start, end):
    now = datetime.fromisoformat(now).replace(tzinfo=UTC)
    assert budgets.period_start(period, now) == datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert budgets.period_end(period, now) == datetime.fromisoformat(end).replace(tzinfo=UTC)


def test_reset_sentences_say_when_in_utc_and_how_long():
    now = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)  # a Sunday
    assert budgets.resets_at("day", now) == "at 00:00 UTC (in 3 hours)"
    assert budgets.resets_at("week", now) == "on Monday at 00:00 UTC (in 3 hours)"
    assert budgets.resets_at("month", now) == "on 1 December at 00:00 UTC (in 1 week)"
    assert budgets.resets_at("day", now.replace(hour=23, minute=59, second=30)) == (
        "at 00:00 UTC (in under a minute)"
    )


def test_the_prompt_estimate_is_a_quarter_token_per_character_plus_framing():
    assert budgets.estimate_prompt_tokens(11, 1) == PROMPT
    assert budgets.estimate_prompt_tokens(0, 0) == 0
    assert budgets.estimate_prompt_tokens(8, 2, images=1) == 2 + 8 + 1000


# --- reserving -----------------------------------------------------------------------------------------


def test_a_reply_reserves_its_worst_case_and_max_tokens_is_lowered_to_fit(alice, bob, team_key, make_grant):
    g = grant(make_grant, alice, team_key, user=bob, budget_tokens=1000)
    reply = send(bob, team_key, max_tokens=5000)
    entry = entry_of(reply)
    assert entry.state == "reserved" and entry.grant == g and entry.shared and entry.user == bob
    assert entry.reserved_tokens == 1000 and entry.prompt_tokens == PROMPT
    assert entry.credential_label == "Team GPT" and entry.model == "fake-model"
    reply.refresh_from_db()
    assert reply.params["max_tokens"] == 1000 - PROMPT  # what the request body will ask for
    with pytest.raises(ActionError) as refused:
        send(bob, team_key)
    assert str(refused.value).startswith("This key's budget for today is used up; ")
    assert RESETS_TODAY.search(str(refused.value))


def test_a_refused_send_stores_nothing(alice, bob, team_key, make_grant):
    grant(make_grant, alice, team_key, user=bob, budget_tokens=10)
    conversation = Conversation.objects.create(owner=bob)
    with pytest.raises(ActionError, match="used up"):
        send(bob, team_key, conversation=conversation)
    assert not Message.objects.filter(conversation=conversation).exists()
    assert not UsageEntry.objects.exists()


def test_without_max_tokens_a_budgeted_reply_gets_the_default_reservation(alice, bob, team_key, make_grant):
    grant(make_grant, alice, team_key, user=bob, budget_tokens=100_000)
    with override_settings(NOVAWEB_RESERVE_REPLY_TOKENS=300):
        reply = send(bob, team_key)
    reply.refresh_from_db()
    assert reply.params["max_tokens"] == 300
    assert entry_of(reply).reserved_tokens == PROMPT + 300


def test_a_smaller_max_tokens_is_kept_and_reserved_as_asked(alice, bob, team_key, make_grant):
    grant(make_grant, alice, team_key, user=bob, budget_tokens=100_000)
    reply = send(bob, team_key, max_tokens=50)
    assert reply.params["max_tokens"] == 50 and entry_of(reply).reserved_tokens == PROMPT + 50


def test_without_a_budget_nothing_is_lowered(alice, bob, team_key, make_grant):
    grant(make_grant, alice, team_key, user=bob, rate_per_minute=100)
    reply = send(bob, team_key)
    assert "max_tokens" not in reply.params
    assert entry_of(reply).reserved_tokens == PROMPT


def test_alternatives_reserve_each_choice(alice, bob, make_shared_key, make_grant):
    key = make_shared_key(alice, preset="novita")
    grant(make_grant, alice, key, user=bob, budget_tokens=1000)
    reply = send(bob, key, max_tokens=800, n=3)
    assert reply.params["max_tokens"] == (1000 - PROMPT) // 3
    assert entry_of(reply).reserved_tokens == PROMPT + 3 * ((1000 - PROMPT) // 3)


def test_a_long_conversation_that_no_longer_fits_says_so(alice, bob, team_key, make_grant):
    grant(make_grant, alice, team_key, user=bob, budget_tokens=200)
    with pytest.raises(ActionError) as refused:
        send(bob, team_key, text="x" * 800)
    words = str(refused.value)
    assert words.startswith(
        "This key's budget has 200 tokens left today, and sending this conversation alone takes about 204. "
        "Start a new chat, ask an admin for more, or wait: it resets at 00:00 UTC"
    )
    assert RESETS_TODAY.search(words)


def test_a_refusal_with_room_left_says_what_the_reply_would_have_and_needs(alice, bob, team_key, make_grant):
    """The walkthrough's case: 60 tokens a day, 14 used, a conversation of about 33: the 13 left for the reply
    are fewer than the shortest reply admitted. The numbers add up in the sentence."""
    grant(make_grant, alice, team_key, user=bob, budget_tokens=60)
    done(send(bob, team_key), prompt=6, completion=8)
    with pytest.raises(ActionError) as refused:
        send(bob, team_key, text="y" * 116)  # 29 tokens + 4 for the message
    words = str(refused.value)
    assert words.startswith(
        "This key's budget has 46 tokens left today: sending this conversation takes about 33 of them, "
        f"leaving 13 for the reply, and a reply needs at least {budgets.MIN_REPLY_TOKENS}. "
        "Start a new chat, ask an admin for more, or wait: it resets at 00:00 UTC"
    )
    assert RESETS_TODAY.search(words)
    send(bob, team_key, text="y" * 64)  # 20 tokens: 26 are left for the reply, and it goes


def test_alternatives_that_do_not_fit_are_counted_each_and_fewer_are_suggested(
    alice, bob, make_shared_key, make_grant
):
    key = make_shared_key(alice, preset="novita")
    grant(make_grant, alice, key, user=bob, budget_tokens=50)
    with pytest.raises(ActionError) as refused:
        send(bob, key, n=3)
    assert str(refused.value).startswith(
        f"This key's budget has 50 tokens left today: sending this conversation takes about {PROMPT} of them, "
        f"leaving {50 - PROMPT} for 3 alternatives ({(50 - PROMPT) // 3} each), and each needs at least 16. "
        "Ask for fewer alternatives, start a new chat, ask an admin for more, or wait: "
    )
    send(bob, key, n=2)


def test_a_personal_key_reply_is_in_the_ledger_without_limits(alice, make_key):
    key = make_key(alice)
    reply = send(alice, key, max_tokens=100)
    entry = entry_of(reply)
    assert entry.grant is None and not entry.shared and entry.state == "reserved"
    assert entry.reserved_tokens == PROMPT + 100
    assert done(reply).state == "settled"


# --- rate and concurrency ------------------------------------------------------------------------------


def test_the_rate_limit_counts_requests_in_the_last_minute(alice, bob, team_key, make_grant):
    grant(make_grant, alice, team_key, user=bob, rate_per_minute=2)
    done(send(bob, team_key))
    done(send(bob, team_key))
    with pytest.raises(ActionError) as refused:
        send(bob, team_key)
    seconds = int(
        re.fullmatch(r"This key allows 2 requests a minute; try again in (\d+) s\.", str(refused.value))[1]
    )
    assert 1 <= seconds <= 61
    UsageEntry.objects.update(created_at=F("created_at") - timedelta(seconds=61))
    send(bob, team_key)


def test_the_concurrency_limit_counts_replies_still_streaming(alice, bob, team_key, make_grant):
    grant(make_grant, alice, team_key, user=bob, max_concurrent=1)
    first = send(bob, team_key)
    with pytest.raises(ActionError, match=r"^This key allows 1 reply at once; wait for one to finish\.$"):
        send(bob, team_key)
    finish(first, Message.State.STOPPED, text="half")
    send(bob, team_key)


def test_limits_are_checked_before_anything_goes_upstream(alice, bob, team_key, make_grant, fake):
    grant(make_grant, alice, team_key, user=bob, budget_tokens=5)
    with pytest.raises(ActionError):
        send(bob, team_key)
    assert fake.requests == []


# --- settling, for every ending -------------------------------------------------------------------------


@pytest.fixture
def budgeted(alice, bob, team_key, make_grant):
    grant(make_grant, alice, team_key, user=bob, budget_tokens=100_000)
    return team_key


def test_done_with_reported_usage_bills_the_report(bob, budgeted):
    entry = done(send(bob, budgeted, max_tokens=500), prompt=12, completion=34)
    assert (entry.state, entry.prompt_tokens, entry.completion_tokens, entry.estimated) == (
        "settled",
        12,
        34,
        False,
    )
    assert entry.reserved_tokens == PROMPT + 500 and entry.settled_at is not None


def test_done_without_usage_bills_an_estimate_marked_estimated(bob, budgeted):
    entry = finish(send(bob, budgeted), text="y" * 40)
    assert (entry.prompt_tokens, entry.completion_tokens, entry.estimated) == (PROMPT, 10, True)


def test_a_stopped_reply_bills_what_was_generated(bob, budgeted):
    entry = finish(send(bob, budgeted, max_tokens=1000), Message.State.STOPPED, text="z" * 21)
    assert (entry.prompt_tokens, entry.completion_tokens, entry.estimated) == (PROMPT, 6, True)


def test_a_stop_before_any_text_still_bills_the_prompt(bob, budgeted):
    entry = finish(send(bob, budgeted), Message.State.STOPPED, text="")
    assert (entry.prompt_tokens, entry.completion_tokens) == (PROMPT, 0)


def test_a_failure_before_any_token_bills_nothing(bob, budgeted):
    entry = finish(send(bob, budgeted), Message.State.FAILED, text="", error="rejected")
    assert (entry.state, entry.prompt_tokens, entry.completion_tokens) == ("settled", 0, 0)


def test_a_failure_with_a_reported_prompt_bills_the_prompt(bob, budgeted):
    entry = finish(
        send(bob, budgeted),
        Message.State.FAILED,
        error="x",
        prompt_tokens=9,
        completion_tokens=0,
        usage_reported=True,
    )
    assert (entry.prompt_tokens, entry.completion_tokens, entry.estimated) == (9, 0, False)


def test_a_reply_cut_off_mid_stream_bills_what_arrived(bob, budgeted):
    entry = finish(send(bob, budgeted), Message.State.INTERRUPTED, text="w" * 8, error="cut")
    assert (entry.prompt_tokens, entry.completion_tokens, entry.estimated) == (PROMPT, 2, True)


def test_a_restart_settles_from_the_text_that_reached_the_database(bob, budgeted):
    reply = send(bob, budgeted)
    Message.objects.filter(pk=reply.pk).update(content="v" * 17)
    assert do_interrupt_stale_replies(stale_after=timedelta(0)) == 1
    entry = entry_of(reply)
    assert (entry.state, entry.prompt_tokens, entry.completion_tokens, entry.estimated) == (
        "settled",
        PROMPT,
        5,
        True,
    )


def test_a_reply_is_settled_exactly_once(bob, budgeted):
    reply = send(bob, budgeted)
    first = done(reply, prompt=5, completion=5)
    again = done(reply, prompt=500, completion=500)
    assert (again.prompt_tokens, again.completion_tokens, again.settled_at) == (5, 5, first.settled_at)
    assert ledger.settle(first.pk, ledger.Settlement(1, 1, Decimal(0), False)) is False


def test_continue_reserves_again_and_bills_only_what_it_added(bob, budgeted):
    reply = send(bob, budgeted)
    finish(reply, Message.State.STOPPED, text="a" * 40)
    do_continue_reply(reply.conversation, message_id=reply.pk)
    rows = list(UsageEntry.objects.filter(message=reply).order_by("id"))
    assert [row.state for row in rows] == ["settled", "reserved"]
    assert rows[1].prefix_chars == 40 and rows[1].prompt_tokens == PROMPT + 10 + 4
    entry = finish(reply, Message.State.STOPPED, text="a" * 40 + "b" * 12)
    assert entry.completion_tokens == 3


def test_continue_on_a_revoked_grant_is_refused(alice, bob, team_key, make_grant):
    from keys.shared_actions import do_revoke_grant

    g = grant(make_grant, alice, team_key, user=bob)
    reply = send(bob, team_key)
    finish(reply, Message.State.STOPPED, text="half")
    do_revoke_grant(alice, g)
    with pytest.raises(ActionError, match="not available"):
        do_continue_reply(reply.conversation, message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.state == Message.State.STOPPED


def test_an_overrun_is_billed_and_the_next_request_is_refused(alice, bob, team_key, make_grant):
    grant(make_grant, alice, team_key, user=bob, budget_tokens=500)
    reply = send(bob, team_key)
    reply.refresh_from_db()
    assert reply.params["max_tokens"] == 500 - PROMPT
    done(reply, prompt=50, completion=600)  # the provider ignored max_tokens
    assert ledger.usage_of(reply.usage_entries.get().grant).tokens == 650
    with pytest.raises(ActionError, match="used up"):
        send(bob, team_key)


def test_a_reply_deleted_while_it_streams_is_billed_its_worst_case(alice, bob, team_key, make_grant):
    g = grant(make_grant, alice, team_key, user=bob, budget_tokens=1000)
    reply = send(bob, team_key, max_tokens=100)
    reply.conversation.delete()
    entry = UsageEntry.objects.get()
    assert entry.state == "reserved" and entry.message is None
    send(bob, team_key, max_tokens=100)  # the orphan is settled before the budget is summed
    entry.refresh_from_db()
    assert (entry.state, entry.prompt_tokens + entry.completion_tokens, entry.estimated) == (
        "settled",
        107,
        True,
    )
    assert ledger.usage_of(g).tokens == 2 * 107


# --- periods -------------------------------------------------------------------------------------------


def age(days: float) -> None:
    """Move the whole ledger back in time, as if `days` had passed."""
    UsageEntry.objects.update(created_at=F("created_at") - timedelta(days=days))


def test_a_new_period_has_the_whole_budget_again_and_the_old_usage_stays(alice, bob, team_key, make_grant):
    g = grant(make_grant, alice, team_key, user=bob, budget_tokens=1000)
    done(send(bob, team_key), prompt=400, completion=590)
    with pytest.raises(ActionError, match="used up"):
        send(bob, team_key)
    age(1)
    assert ledger.usage_of(g).tokens == 0
    reply = send(bob, team_key, max_tokens=5000)
    assert reply.params["max_tokens"] == 1000 - PROMPT
    assert UsageEntry.objects.filter(grant=g).count() == 2  # nothing was reset or deleted


def test_a_reply_that_crosses_the_boundary_counts_in_the_period_it_began(alice, bob, team_key, make_grant):
    g = grant(make_grant, alice, team_key, user=bob, budget_tokens=1000, max_concurrent=5)
    reply = send(bob, team_key, max_tokens=100)
    age(1)  # midnight passes while it streams
    assert ledger.usage_of(g).tokens == 0 and ledger.usage_of(g).open == 1
    done(reply, prompt=30, completion=70)
    assert ledger.usage_of(g).tokens == 0  # billed to yesterday, not to today
    assert entry_of(reply).state == "settled"


def test_a_longer_period_counts_every_day_in_it(alice, bob, team_key, make_grant):
    g = grant(make_grant, alice, team_key, user=bob, budget_tokens=1000, budget_period="day")
    done(send(bob, team_key), prompt=100, completion=100)
    g.budget_period = "month"
    g.save()
    assert ledger.usage_of(g).tokens == 200


# --- which grant, and which models ---------------------------------------------------------------------


def test_a_team_budget_is_one_pool_for_its_members(alice, bob, make_user, team_key, make_grant, make_team):
    carol = make_user("carol")
    team = make_team("Engineering", bob, carol)
    g = grant(make_grant, alice, team_key, team=team, budget_tokens=600)
    done(send(bob, team_key), prompt=300, completion=290)
    with pytest.raises(ActionError) as refused:
        send(carol, team_key)
    assert str(refused.value).startswith("This key's team budget (Engineering) for today is used up;")
    assert set(UsageEntry.objects.filter(grant=g).values_list("team", flat=True)) == {team.pk}


def test_a_person_grant_comes_first_then_a_team_grant_with_room(alice, bob, team_key, make_grant, make_team):
    team = make_team("Engineering", bob)
    mine = grant(make_grant, alice, team_key, user=bob, budget_tokens=100)
    ours = grant(make_grant, alice, team_key, team=team, budget_tokens=10_000)
    assert entry_of(send(bob, team_key, max_tokens=10)).grant == mine
    done(send(bob, team_key), prompt=50, completion=40)
    assert entry_of(send(bob, team_key, max_tokens=10)).grant == ours  # mine has no room left


def test_when_no_grant_has_room_the_persons_own_refusal_is_shown(alice, bob, team_key, make_grant, make_team):
    team = make_team("Engineering", bob)
    grant(make_grant, alice, team_key, user=bob, budget_tokens=10)
    grant(make_grant, alice, team_key, team=team, rate_per_minute=1)
    done(send(bob, team_key))
    with pytest.raises(ActionError, match=r"^This key's budget for today is used up"):
        send(bob, team_key)


def test_a_grant_limited_to_some_models_refuses_others(alice, bob, team_key, make_grant):
    grant(make_grant, alice, team_key, user=bob, allowed_models=["gpt-small", "gpt-large"])
    with pytest.raises(ActionError) as refused:
        send(bob, team_key, model="gpt-huge")
    assert (
        str(refused.value) == "“Team GPT” cannot be used with gpt-huge — pick one of: gpt-large, gpt-small."
    )
    assert entry_of(send(bob, team_key, model="gpt-small")).model == "gpt-small"


def test_the_default_model_is_checked_and_named_when_none_is_typed(alice, bob, make_shared_key, make_grant):
    key = make_shared_key(alice, preset="novakit")
    grant(make_grant, alice, key, user=bob, allowed_models=["openai/gpt-4o-mini"])
    reply = send(bob, key, model="")
    assert reply.model == "openai/gpt-4o-mini" and entry_of(reply).model == "openai/gpt-4o-mini"
    grant_only_other = key.grants.get()
    grant_only_other.allowed_models = ["anthropic/claude"]
    grant_only_other.save()
    with pytest.raises(ActionError, match="cannot be used with openai/gpt-4o-mini"):
        send(bob, key, model="")


# --- credits ------------------------------------------------------------------------------------------


def test_a_credit_budget_prices_the_worst_case_at_the_default_rate_first(
    alice, bob, make_shared_key, make_grant
):
    key = make_shared_key(alice, preset="novakit")
    grant(make_grant, alice, key, user=bob, budget_credits=Decimal("100"))
    with override_settings(NOVAWEB_CREDITS_PER_TOKEN="0.5"):
        reply = send(bob, key, model="openai/gpt-4o-mini", max_tokens=1000)
    assert reply.params["max_tokens"] == 200 - PROMPT  # 100 credits buy 200 tokens at 0.5 each
    entry = entry_of(reply)
    assert entry.reserved_credits == Decimal(100)
    entry = done(reply, prompt=20, completion=40, credits="7.5")
    assert (entry.credits, entry.estimated) == (Decimal("7.5"), False)


def test_then_at_the_rate_the_provider_last_reported(alice, bob, make_shared_key, make_grant):
    key = make_shared_key(alice, preset="novakit")
    grant(make_grant, alice, key, user=bob, budget_credits=Decimal("100"))
    done(send(bob, key, model="m1", max_tokens=10), prompt=10, completion=30, credits="10")  # 0.25 a token
    assert ledger.credits_per_token(key, "m1") == Decimal("0.25")
    assert ledger.credits_per_token(key, "never-used") == Decimal("0.25")  # any model of the key
    reply = send(bob, key, model="m1", max_tokens=10_000)
    assert reply.params["max_tokens"] == 360 - PROMPT  # 90 credits left buy 360 tokens


def test_a_credit_budget_without_a_report_settles_an_estimate(alice, bob, make_shared_key, make_grant):
    key = make_shared_key(alice)
    grant(make_grant, alice, key, user=bob, budget_credits=Decimal("1000"))
    reply = send(bob, key, max_tokens=93)
    entry = done(reply, prompt=10, completion=10)  # tokens reported, no credits: priced at the default 1
    assert (entry.credits, entry.estimated) == (Decimal(20), True)


def test_a_credit_budget_that_cannot_carry_this_conversation_says_so_in_tokens(
    alice, bob, make_shared_key, make_grant
):
    key = make_shared_key(alice, preset="novakit")
    grant(make_grant, alice, key, user=bob, budget_credits=Decimal("10"), budget_period="week")
    with override_settings(NOVAWEB_CREDITS_PER_TOKEN="0.5"), pytest.raises(ActionError) as refused:
        send(bob, key, model="m1", text="z" * 40)  # 10 tokens + 4: 20 tokens' worth leave 6
    assert str(refused.value).startswith(
        "This key's credit budget has 10 credits left this week, about 20 tokens' worth: sending this "
        "conversation takes about 14 of them, leaving 6 for the reply, and a reply needs at least 16. "
        "Start a new chat, ask an admin for more, or wait: it resets on Monday at 00:00 UTC"
    )


def test_a_spent_credit_budget_is_refused_with_its_reset(alice, bob, make_shared_key, make_grant):
    key = make_shared_key(alice, preset="novakit")
    grant(make_grant, alice, key, user=bob, budget_credits=Decimal("30"), budget_period="month")
    done(send(bob, key, model="m1", max_tokens=5), prompt=10, completion=10, credits="29.99")
    with pytest.raises(ActionError) as refused:
        send(bob, key, model="m1")
    assert re.fullmatch(
        r"This key's credit budget for this month is used up; it resets on 1 \w+ at 00:00 UTC \(in .+\)\.",
        str(refused.value),
    )
