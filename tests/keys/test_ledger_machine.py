"""The ledger under random interleavings (a Hypothesis state machine), against the real database.

Rules send replies on a budgeted grant through the real send action, end them in every way a reply ends
(done with a report, an overrun the provider made, stop, failure before and after text, cut off, a server
restart), delete one while it streams, let a period roll over, and have the admin change the budget. A
model of what should have happened is kept alongside, and after every step the invariants are checked:
- a row is open exactly while its reply streams, and every settled row is settled once: its numbers never
  change again;
- the grant's usage is the sum of its rows in the current period (settled use plus open worst cases);
- used never exceeds the budget, except by what a provider reported beyond a reservation (an overrun);
- what a settlement releases is never negative: a settled row uses no more than it reserved, overruns aside;
- and when the model says there is room, the ledger admits (no false "budget used up").
"""

import itertools
import math
from datetime import timedelta

from django.db.models import F
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from accounts.models import User
from chat.actions import ActionError, do_interrupt_stale_replies, do_save_reply_progress
from chat.models import Message
from keys import budgets, ledger
from keys.models import UsageEntry
from keys.shared_actions import do_add_shared_key, do_change_grant, do_grant
from tests.keys.sending import finish, send

_names = itertools.count()
MAX_CONCURRENT = 4


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        n = next(_names)
        self.admin = User.objects.create(username=f"machine-admin-{n}", role=User.Role.ADMIN)
        self.member = User.objects.create(username=f"machine-member-{n}")
        key = do_add_shared_key(
            self.admin,
            preset="openai",
            label=f"Machine {n}",
            base_url="http://127.0.0.1:9/v1",
            auth_style="bearer",
            auth_header="",
            secret="sk-machine-0123456789",
        )
        self.key = key
        self.budget = 2000
        self.grant = do_grant(
            self.admin, key, user=self.member, budget_tokens=self.budget, budget_period="day",
            max_concurrent=MAX_CONCURRENT,
        )  # fmt: skip
        self.open: dict[int, dict] = {}  # reply id → {"reserved", "prompt", "allowed", "current", "chars"}
        self.orphans: dict[int, int] = {}  # entry id → reserved (reply deleted while streaming)
        self.settled: dict[int, tuple] = {}  # entry id → what it was settled with (never changes)
        self.overrun_rows: set[int] = set()
        self.finished: list[int] = []  # replies already ended
        self.used_current = 0  # settled use and open worst cases reserved in the current period
        self.overrun_current = 0
        self.budget_ceiling = self.budget  # the highest budget in force this period
        self.admitted = 0

    # --- helpers -------------------------------------------------------------------------------------
    def _entry(self, reply_id) -> UsageEntry:
        return UsageEntry.objects.filter(message_id=reply_id).latest("id")

    def _settled(self, reply_id, actual: int, *, overrun: int = 0) -> None:
        state = self.open.pop(reply_id)
        self.finished.append(reply_id)
        entry = self._entry(reply_id)
        assert entry.state == "settled"
        assert entry.prompt_tokens + entry.completion_tokens == actual
        self.settled[entry.pk] = (
            entry.prompt_tokens,
            entry.completion_tokens,
            entry.credits,
            entry.settled_at,
        )
        if overrun:
            self.overrun_rows.add(entry.pk)
        if state["current"]:
            self.used_current += actual - state["reserved"]
            self.overrun_current += overrun

    def _sweep_orphans(self) -> None:
        # An admitted request (or a restart) settles them at their worst case: the amount counted is unchanged.
        for entry_id in list(self.orphans):
            entry = UsageEntry.objects.get(pk=entry_id)
            self.settled[entry_id] = (
                entry.prompt_tokens,
                entry.completion_tokens,
                entry.credits,
                entry.settled_at,
            )
            del self.orphans[entry_id]

    def _pick(self, data):
        return data.draw(st.sampled_from(sorted(self.open)))

    # --- rules ---------------------------------------------------------------------------------------
    @rule(chars=st.integers(1, 600), max_tokens=st.one_of(st.none(), st.integers(1, 900)))
    def reserve(self, chars, max_tokens):
        prompt = budgets.estimate_prompt_tokens(chars, 1)
        open_now = len(self.open)  # orphans are swept first, so they never count here
        room = self.budget - self.used_current - prompt
        params = {} if max_tokens is None else {"max_tokens": max_tokens}
        try:
            reply = send(self.member, self.key, text="a" * chars, **params)
        except ActionError as refusal:
            # A refusal rolls its transaction back, the sweep of deleted replies included: they stay open,
            # at the same worst case, until a request is admitted.
            assert open_now >= MAX_CONCURRENT or room < budgets.MIN_REPLY_TOKENS, (
                f"refused with room for {room} tokens and {open_now} open: {refusal}"
            )
            return
        self._sweep_orphans()
        assert open_now < MAX_CONCURRENT and room >= budgets.MIN_REPLY_TOKENS
        allowed = reply.params["max_tokens"]
        assert allowed <= room and (max_tokens is None or allowed <= max_tokens)
        entry = self._entry(reply.pk)
        assert entry.reserved_tokens == prompt + allowed and entry.grant_id == self.grant.pk
        self.open[reply.pk] = {
            "reserved": prompt + allowed,
            "prompt": prompt,
            "allowed": allowed,
            "current": True,
        }
        self.used_current += prompt + allowed
        self.admitted += 1
        assert self.used_current <= self.budget

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def done_with_report(self, data):
        reply_id = self._pick(data)
        state = self.open[reply_id]
        prompt = data.draw(st.integers(0, state["prompt"]))
        completion = data.draw(st.integers(0, state["allowed"]))
        finish(
            Message(pk=reply_id), text="r" * completion, prompt_tokens=prompt, completion_tokens=completion,
            usage_reported=True,
        )  # fmt: skip
        self._settled(reply_id, prompt + completion)

    @precondition(lambda self: self.open)
    @rule(data=st.data(), extra=st.integers(1, 500))
    def overrun(self, data, extra):
        """The provider ignored max_tokens and reported more than was reserved."""
        reply_id = self._pick(data)
        state = self.open[reply_id]
        completion = state["allowed"] + extra
        finish(
            Message(pk=reply_id), text="o", prompt_tokens=state["prompt"], completion_tokens=completion,
            usage_reported=True,
        )  # fmt: skip
        self._settled(reply_id, state["prompt"] + completion, overrun=extra)

    @precondition(lambda self: self.open)
    @rule(data=st.data(), ending=st.sampled_from(["stopped", "failed", "interrupted"]))
    def ends_without_report(self, data, ending):
        reply_id = self._pick(data)
        state = self.open[reply_id]
        chars = data.draw(st.integers(0, 4 * state["allowed"]))
        finish(Message(pk=reply_id), ending, text="s" * chars, error="" if ending == "stopped" else "x")
        if ending == "failed" and chars == 0:
            self._settled(reply_id, 0)  # refused upstream before any token: nothing billed
        else:
            self._settled(reply_id, state["prompt"] + budgets.estimate_tokens(chars))

    @precondition(lambda self: self.finished)
    @rule(data=st.data(), tokens=st.integers(0, 5000))
    def finish_again(self, data, tokens):
        """A late or repeated end (a relay racing the reaper) must not bill a reply twice."""
        reply_id = data.draw(st.sampled_from(self.finished))
        finish(
            Message(pk=reply_id), text="L" * 9000, prompt_tokens=tokens, completion_tokens=tokens,
            usage_reported=True,
        )  # fmt: skip

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def progress(self, data):
        """The relay saves the text so far (what a restart will bill)."""
        reply_id = self._pick(data)
        chars = data.draw(st.integers(0, 4 * self.open[reply_id]["allowed"]))
        assert do_save_reply_progress(reply_id, "p" * chars)

    @rule()
    def restart(self):
        """The server died: every streaming reply is marked interrupted and settled from its stored text."""
        do_interrupt_stale_replies(stale_after=timedelta(0))
        self._sweep_orphans()  # the start-up pass also settles replies deleted while they streamed
        for reply_id in list(self.open):
            stored = len(Message.objects.get(pk=reply_id).content)
            self._settled(reply_id, self.open[reply_id]["prompt"] + math.ceil(stored / 4))

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def delete_while_streaming(self, data):
        reply_id = self._pick(data)
        entry = self._entry(reply_id)
        Message.objects.get(pk=reply_id).conversation.delete()
        state = self.open.pop(reply_id)
        self.orphans[entry.pk] = state["reserved"]  # billed its worst case, in the period it began

    @rule()
    def rollover(self):
        """Midnight passes: every row so far belongs to the previous day."""
        now = timezone.now()
        shift = now - budgets.period_start("day", now) + timedelta(seconds=1)
        UsageEntry.objects.filter(grant=self.grant).update(created_at=F("created_at") - shift)
        for state in self.open.values():
            state["current"] = False
        self.used_current = self.overrun_current = 0
        self.budget_ceiling = self.budget

    @rule(budget=st.integers(0, 4000))
    def admin_changes_budget(self, budget):
        do_change_grant(self.admin, self.grant, budget_tokens=budget)
        self.budget = budget
        self.budget_ceiling = max(self.budget_ceiling, budget)

    # --- invariants ----------------------------------------------------------------------------------
    @invariant()
    def rows_match_the_model(self):
        rows = UsageEntry.objects.filter(grant=self.grant)
        assert rows.count() == self.admitted
        open_rows = list(rows.filter(state="reserved"))
        assert {row.message_id for row in open_rows if row.message_id} == set(self.open)
        assert {row.pk for row in open_rows if row.message_id is None} == set(self.orphans)
        for row in open_rows:
            if row.message_id is not None:
                assert Message.objects.get(pk=row.message_id).state == Message.State.STREAMING
                assert row.reserved_tokens == self.open[row.message_id]["reserved"] > 0

    @invariant()
    def settled_rows_never_change(self):
        for row in UsageEntry.objects.filter(pk__in=list(self.settled)):
            assert (row.prompt_tokens, row.completion_tokens, row.credits, row.settled_at) == self.settled[
                row.pk
            ]

    @invariant()
    def usage_is_the_sum_of_the_rows(self):
        usage = ledger.usage_of(self.grant)
        assert usage.tokens == self.used_current
        # A reply deleted while streaming stays open (at its worst case) until the next request sweeps it.
        assert usage.open == len(self.open) + len(self.orphans)

    @invariant()
    def used_stays_within_the_budget_but_for_overruns(self):
        assert self.used_current <= self.budget_ceiling + self.overrun_current

    @invariant()
    def released_remainders_are_never_negative(self):
        for row in UsageEntry.objects.filter(grant=self.grant, state="settled").exclude(
            pk__in=self.overrun_rows
        ):
            assert row.prompt_tokens + row.completion_tokens <= row.reserved_tokens


def test_the_ledger_keeps_its_invariants_in_any_order(db):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
