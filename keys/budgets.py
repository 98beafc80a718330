"""Budget arithmetic without the database: periods, estimates, and the sentences people read.

Periods are in UTC, whatever the viewer's clock says: a day runs from 00:00 UTC, a week from Monday 00:00 UTC,
a month from the 1st at 00:00 UTC. One fixed zone means one boundary for a whole team, and "resets at 00:00
UTC" reads the same to everyone. Usage counts against the period it was reserved in, so a reply that crosses
midnight is billed to the day it started, and nothing ever "resets": the next period simply has no rows yet.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from django.utils.timesince import timeuntil

DAY, WEEK, MONTH = "day", "week", "month"

# The prompt estimate, before the provider reports the real count: one token per 4 characters (the usual
# rule of thumb for English with BPE tokenizers), plus a few tokens of framing per message, plus a flat
# allowance per image link. Reported usage replaces it when the reply settles.
CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
TOKENS_PER_IMAGE = 1000

# A request is admitted only if the budget leaves room for the prompt and at least this long a reply.
MIN_REPLY_TOKENS = 16


def estimate_tokens(chars: int) -> int:
    return math.ceil(max(chars, 0) / CHARS_PER_TOKEN)


def estimate_prompt_tokens(chars: int, messages: int, images: int = 0) -> int:
    return estimate_tokens(chars) + TOKENS_PER_MESSAGE * messages + TOKENS_PER_IMAGE * images


def period_start(period: str, now: datetime) -> datetime:
    """The start (UTC) of the `period` that `now` falls in."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == DAY:
        return day
    if period == WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_end(period: str, now: datetime) -> datetime:
    """When the `period` that `now` falls in ends: the moment its budget is whole again."""
    start = period_start(period, now)
    if period == DAY:
        return start + timedelta(days=1)
    if period == WEEK:
        return start + timedelta(weeks=1)
    return (start + timedelta(days=32)).replace(day=1)


_THIS = {DAY: "today", WEEK: "this week", MONTH: "this month"}


def this_period(period: str) -> str:
    return _THIS.get(period, "this month")


def resets_at(period: str, now: datetime) -> str:
    """ "at 00:00 UTC (in 3 hours)", "on Monday at 00:00 UTC (in 2 days)", "on 1 December at 00:00 UTC …"."""
    end = period_end(period, now)
    when = "at 00:00 UTC"
    if period == WEEK:
        when = f"on {end:%A} at 00:00 UTC"
    elif period == MONTH:
        when = f"on {end.day} {end:%B} at 00:00 UTC"
    return f"{when} ({in_how_long(end, now)})"


def in_how_long(moment: datetime, now: datetime) -> str:
    if moment - now < timedelta(minutes=1):
        return "in under a minute"
    return "in " + timeuntil(moment, now, depth=1).replace("\xa0", " ")


def credits_stored(value: Decimal) -> Decimal:
    """Credits as stored (6 decimal places), rounded down: a worst case that fits a budget still fits."""
    return value.quantize(Decimal("0.000001"), rounding=ROUND_FLOOR)


def format_tokens(n: int) -> str:
    return f"{n:,} token{'' if n == 1 else 's'}"


def format_credits(value: Decimal) -> str:
    """Credits to at most 2 decimals, without trailing zeros: 12.5, 3, 0.25."""
    text = f"{value.quantize(Decimal('0.01')):,}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def too_long_sentence(
    budget: str,
    left: str,
    period: str,
    tokens_left: int,
    prompt_tokens: int,
    choices: int,
    resets: str,
    *,
    in_tokens: bool = False,
) -> str:
    """Why a budget with some room left refuses this conversation, with the numbers that add up, and what to do.

    `budget` names it ("budget", "team budget (Research)"), `left` is what is left as the grant counts it ("46
    tokens", "0.5 credits"), `tokens_left` that in tokens (`in_tokens`: a credit budget, so say it in tokens
    too). A reply is admitted with its max_tokens lowered to the room left, down to MIN_REPLY_TOKENS: a reply
    shorter than that is not worth sending.
    """
    head = f"This key's {budget} has {left} left {this_period(period)}"
    if in_tokens:
        head += f", about {format_tokens(tokens_left)}' worth"
    if prompt_tokens >= tokens_left:
        first = f"{head}, and sending this conversation alone takes about {prompt_tokens:,}."
    else:
        rest = tokens_left - prompt_tokens
        if choices > 1:
            after = (
                f"leaving {rest:,} for {choices} alternatives ({rest // choices:,} each), "
                f"and each needs at least {MIN_REPLY_TOKENS}"
            )
        else:
            after = f"leaving {rest:,} for the reply, and a reply needs at least {MIN_REPLY_TOKENS}"
        first = f"{head}: sending this conversation takes about {prompt_tokens:,} of them, {after}."
    fewer = "ask for fewer alternatives, " if choices > 1 else ""
    then = f"{fewer}start a new chat, ask an admin for more, or wait: it resets {resets}."
    return f"{first} {then[0].upper()}{then[1:]}"


@dataclass(frozen=True)
class GrantUsage:
    """What a grant has used: tokens and credits in its current period (settled, plus the worst case of the
    replies still open), the replies open now, and the requests made in the last minute."""

    tokens: int = 0
    credits: Decimal = Decimal(0)
    open: int = 0
    last_minute: int = 0
    oldest_in_minute: datetime | None = None

    def tokens_left(self, grant) -> int | None:
        return None if grant.budget_tokens is None else max(grant.budget_tokens - self.tokens, 0)

    def credits_left(self, grant) -> Decimal | None:
        return None if grant.budget_credits is None else max(grant.budget_credits - self.credits, Decimal(0))

    def has_room(self, grant) -> bool:
        tokens, credits = self.tokens_left(grant), self.credits_left(grant)
        return (tokens is None or tokens >= MIN_REPLY_TOKENS) and (credits is None or credits > 0)

    def remaining_text(self, grant) -> str:
        """ "41,200 tokens left today", "3.5 credits left this month", both, or "" without a budget."""
        parts = []
        tokens, credits = self.tokens_left(grant), self.credits_left(grant)
        if tokens is not None:
            parts.append(format_tokens(tokens))
        if credits is not None:
            parts.append(f"{format_credits(credits)} credits")
        if not parts:
            return ""
        return f"{' and '.join(parts)} left {this_period(grant.budget_period)}"
