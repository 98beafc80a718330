"""When to try again, and how long to wait first.

Retries happen only before the first token (a retry after text was shown would duplicate it and bill twice),
and only for failures where the same request may succeed shortly: 429, 5xx and connection failures.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

_RETRY_AFTER_LIMIT = 24 * 3600.0  # anything longer is nonsense; it still exceeds every deadline


@dataclass(frozen=True)
class RetryPolicy:
    """`max_attempts` counts the first try. `deadline` (seconds from the start of the call) bounds when a
    retry may still start. Delays use exponential backoff with full jitter, so clients rate-limited together
    do not come back together; a provider's Retry-After is a floor under that delay."""

    max_attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 20.0
    deadline: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        jitter = random.uniform(0.0, ceiling)
        if retry_after is None:
            return jitter
        # Retry-After is a floor; the jitter on top still spreads clients that all got the same header.
        return retry_after + min(jitter, self.base_delay)


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds (decimals tolerated) or an HTTP date.

    None when absent or unreadable; never negative.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), _RETRY_AFTER_LIMIT)
