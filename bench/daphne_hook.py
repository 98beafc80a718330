#!/usr/bin/env python
"""Run daphne with bench-only instrumentation or what-if changes, leaving the app's code untouched.

    python bench/daphne_hook.py -b 127.0.0.1 -p 8000 novaweb.asgi:application   # same arguments as daphne
    python bench/daphne_hook.py --summarise /tmp/trace.jsonl                       # read a trace

`bench/relay.py --trace FILE` and `--what-if NAME,...` start daphne through this file. Environment:

- BENCH_TRACE=FILE: time the steps of the reply path (the send action, reply_context, the first token from
  the provider, every delta frame the consumer renders and sends, the final bubble, each new database
  connection) and write them as JSON lines to FILE when daphne exits.
- BENCH_WHATIF=name,…: bench-only changes, to measure what a proposed app change would buy; never used for
  the published figures. `persistent-db`: CONN_MAX_AGE=None (+ health checks) instead of the settings' 0.
  `no-dispatch-close`: the conversation consumer dispatches events without channels' per-event
  `aclose_old_connections()` hop to the database thread. `switch-1ms`: the GIL's switch interval at 1 ms
  instead of 5.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import signal
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _whatif(names: set[str]) -> None:
    import novaweb.settings as s  # the module Django will read; edit it before django.setup()

    if "persistent-db" in names:
        s.DATABASES["default"]["CONN_MAX_AGE"] = None
        s.DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if "switch-1ms" in names:
        # The GIL's switch interval (5 ms by default) bounds how long the event loop can keep the database
        # thread waiting for the GIL after each query's round trip.
        sys.setswitchinterval(0.001)
    if "no-dispatch-close" in names:
        # channels' AsyncConsumer.dispatch awaits sync_to_async(close_old_connections) before every handler,
        # reply.delta included: a hop to the one thread all database work shares. The consumer's database
        # work all goes through database_sync_to_async, which closes old connections itself.
        import django

        django.setup()
        from channels.consumer import get_handler_name

        from chat.consumers import ConversationConsumer

        async def dispatch(self, message):
            handler = getattr(self, get_handler_name(message), None)
            if handler is None:
                raise ValueError(f"No handler for message type {message['type']}")
            await handler(message)

        ConversationConsumer.dispatch = dispatch


_events: list = []
_lock = threading.Lock()


def _record(name: str, start: float, end: float, **extra) -> None:
    with _lock:
        _events.append({"name": name, "start": start, "end": end, **extra})


def _wrap_sync(owner, attr: str, name: str, key=None) -> None:
    """`key(args, result)` returns extra fields to record (ids that tie steps of one reply together)."""
    original = getattr(owner, attr)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        start, cpu = time.perf_counter(), time.thread_time()
        result = None
        try:
            result = original(*args, **kwargs)
            return result
        finally:
            extra = key(args, result) if key else {}
            _record(name, start, time.perf_counter(), cpu=time.thread_time() - cpu, **extra)

    setattr(owner, attr, wrapper)


def _wrap_async(owner, attr: str, name: str, key=None) -> None:
    original = getattr(owner, attr)

    @functools.wraps(original)
    async def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            _record(name, start, time.perf_counter(), **(key(args, None) if key else {}))

    setattr(owner, attr, wrapper)


def _reply_of_result(args, result):
    reply = getattr(result, "reply", None)
    return {"reply": reply.id} if reply is not None else {}


def _reply_of_arg(args, result):
    return {"reply": args[0]}


def _consumer(args, result):
    return {"consumer": id(args[0])}


def _consumer_and_reply(args, result):
    return {"consumer": id(args[0]), "reply": args[1].get("message_id")}


def _trace(path: str) -> None:
    import django

    django.setup()
    from django.db.backends.postgresql import base as pg_base

    from chat import actions, consumers, relay

    _wrap_sync(actions, "do_send_message", "do_send_message", _reply_of_result)
    _wrap_sync(actions, "do_finish_reply", "do_finish_reply", _reply_of_arg)
    _wrap_sync(actions, "do_save_reply_progress", "do_save_reply_progress")
    _wrap_sync(relay, "reply_context", "reply_context", _reply_of_arg)
    _wrap_sync(pg_base.DatabaseWrapper, "get_new_connection", "db_connect")
    _wrap_sync(pg_base.DatabaseWrapper, "_close", "db_close")
    _wrap_async(consumers.ConversationConsumer, "receive", "consumer.receive", _consumer)
    _wrap_async(consumers.ConversationConsumer, "reply_delta", "consumer.reply_delta", _consumer_and_reply)
    _wrap_async(consumers.ConversationConsumer, "message_created", "consumer.message_created", _consumer)
    _wrap_async(consumers.ConversationConsumer, "message_updated", "consumer.message_updated")
    _wrap_sync(consumers.ConversationConsumer, "_render_created", "render_created (db thread)")
    if hasattr(consumers.ConversationConsumer, "_session_still_valid"):
        _wrap_sync(
            consumers.ConversationConsumer,
            "_session_still_valid",
            "session_still_valid (db thread)",
            _consumer,
        )
    _wrap_sync(consumers.ConversationConsumer, "_messages", "messages query (db thread)")
    if hasattr(consumers.ConversationConsumer, "_begin_send"):
        _wrap_sync(consumers.ConversationConsumer, "_begin_send", "begin_send (db thread)", _consumer)
    _wrap_async(relay.Relay, "_send_pending", "relay.send_pending")

    original_append = relay.Relay._append

    def append(self, text):
        if not getattr(self, "_bench_first", False):
            self._bench_first = True
            now = time.perf_counter()
            _record("relay.first_token", now, now, reply=self.message_id)
        return original_append(self, text)

    relay.Relay._append = append

    def dump(*_):
        with open(path, "w") as f:
            for event in _events:
                f.write(json.dumps(event) + "\n")

    atexit.register(dump)
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        dump()
        if callable(previous):
            previous(signum, frame)
        else:
            raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_term)


def summarise(path: Path) -> None:
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by_name, cpu_by_name = defaultdict(list), defaultdict(list)
    for e in events:
        by_name[e["name"]].append((e["end"] - e["start"]) * 1000)
        if "cpu" in e:
            cpu_by_name[e["name"]].append(e["cpu"] * 1000)
    print(f"{path}: {len(events)} events (CPU: thread CPU time, for steps that run in one thread)")
    print(
        f"  {'step':32} {'count':>6} {'mean ms':>9} {'p50 ms':>8} {'max ms':>8} {'total s':>8}"
        f" {'CPU ms':>8} {'CPU s':>7}"
    )
    for name, values in sorted(by_name.items(), key=lambda kv: -sum(kv[1])):
        cpu = cpu_by_name.get(name)
        cpu_text = f" {statistics.mean(cpu):8.2f} {sum(cpu) / 1000:7.2f}" if cpu else ""
        print(
            f"  {name:32} {len(values):6d} {statistics.mean(values):9.2f} {statistics.median(values):8.2f} "
            f"{max(values):8.2f} {sum(values) / 1000:8.2f}{cpu_text}"
        )
    _reply_paths(events)


def _reply_paths(events: list[dict]) -> None:
    """Per reply: receive → the first database trip → the provider call → first token → first delta frame.
    A send planned before it commits (chat.actions.plan_send) calls the provider when `begin_send` returns and
    commits meanwhile; one that commits first calls it after `reply_context`."""
    by_reply, by_consumer = defaultdict(dict), defaultdict(list)
    for e in events:
        reply, consumer = e.get("reply"), e.get("consumer")
        if e["name"] == "consumer.reply_delta" and reply is not None:
            by_reply[reply].setdefault("delta", e)
            by_reply[reply].setdefault("consumer", consumer)
        elif reply is not None:
            by_reply[reply].setdefault(e["name"], e)
        if consumer is not None and e["name"] in (
            "consumer.receive",
            "consumer.message_created",
            "begin_send (db thread)",
        ):
            by_consumer[consumer].append(e)
    steps = defaultdict(list)
    blocked = planned = 0
    for parts in by_reply.values():
        send, ctx, first, delta = (parts.get(k) for k in ("do_send_message", "reply_context",
                                                            "relay.first_token", "delta"))  # fmt: skip
        if not (send and first and delta):
            continue
        mine = by_consumer.get(parts["consumer"], [])
        recv = max((e for e in mine if e["name"] == "consumer.receive" and e["start"] <= send["start"]),
                   key=lambda e: e["start"], default=None)  # fmt: skip
        if recv is None:
            continue
        begin = max((e for e in mine if e["name"] == "begin_send (db thread)"
                     and recv["start"] <= e["start"] <= send["start"]),
                    key=lambda e: e["start"], default=None)  # fmt: skip
        created = min((e for e in mine if e["name"] == "consumer.message_created" and e["start"] >= recv["start"]),
                      key=lambda e: e["start"], default=None)  # fmt: skip
        first_trip = begin or send
        steps["receive → first database trip starts (frame checks, queue)"].append(
            first_trip["start"] - recv["start"]
        )
        if begin:
            steps["begin_send: session re-check + plan (reads), or the whole send"].append(
                begin["end"] - begin["start"]
            )
        steps["do_send_message (planned sends: while the provider thinks)"].append(
            send["end"] - send["start"]
        )
        if ctx:
            steps["reply_context (sends that commit first)"].append(ctx["end"] - ctx["start"])
        called = ctx["end"] if ctx else begin["end"] if begin else send["end"]
        planned += ctx is None and begin is not None
        steps["provider called → first token"].append(first["start"] - called)
        steps["first token → consumer.reply_delta starts"].append(delta["start"] - first["start"])
        steps["receive → first delta sent (total)"].append(delta["end"] - recv["start"])
        if created and created["end"] > first["start"]:
            blocked += 1
    if not steps:
        return
    count = len(steps["receive → first delta sent (total)"])
    print(f"\n  the path of each reply to its first delta frame ({count} replies, {planned} planned), ms:")
    print(f"    {'step':66} {'n':>4} {'p50':>8} {'p90':>8} {'max':>8}")
    for name, values in steps.items():
        values = sorted(v * 1000 for v in values)
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        print(f"    {name:66} {len(values):4d} {statistics.median(values):8.1f} {p90:8.1f} {values[-1]:8.1f}")
    print(
        f"    replies whose page was still in message_created when the first token came: {blocked} of {count}"
    )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--summarise":
        summarise(Path(sys.argv[2]))
        return
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaweb.settings")
    whatif = {n.strip() for n in os.environ.get("BENCH_WHATIF", "").split(",") if n.strip()}
    if whatif:
        _whatif(whatif)
    if os.environ.get("BENCH_TRACE"):
        _trace(os.environ["BENCH_TRACE"])
    from daphne.cli import CommandLineInterface

    sys.argv = ["daphne", *sys.argv[1:]]
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
