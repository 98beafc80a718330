"""Clean server shutdown under daphne.

Daphne stops its Twisted reactor on SIGTERM/SIGINT. Before it does, this hook (1) ends every reply this
process is relaying as `interrupted`, storing its text so far, and closes the connections to providers, and
(2) lets every other pending asyncio task finish. Without (1) running replies are abandoned and lose up to a flush interval of text; without (2)
coroutines still suspended at exit are garbage-collected during interpreter teardown, which crashed
CPython 3.11 with a segmentation fault in our tests.
"""

import asyncio
import sys

DRAIN_SECONDS = 3.0


async def _drain() -> None:
    from chat.relay import stop_all_relays
    from providers import aclose_shared_client

    await stop_all_relays()
    await aclose_shared_client()  # its open connections to providers, closed rather than dropped
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=DRAIN_SECONDS)


def install() -> None:
    """Register the hook with daphne's reactor; does nothing when not running under daphne."""
    if "twisted.internet.reactor" not in sys.modules:  # importing it would install a reactor
        return
    from twisted.internet import defer, reactor

    reactor.addSystemEventTrigger(
        "before", "shutdown", lambda: defer.Deferred.fromFuture(asyncio.ensure_future(_drain()))
    )
