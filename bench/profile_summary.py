#!/usr/bin/env python
"""Summarise a py-spy raw (collapsed stacks) profile of daphne, as recorded by `bench/relay.py --profile-dir`.

    .venv/bin/python bench/profile_summary.py /tmp/prof/daphne-c50.txt [--top 25]

Prints the share of on-CPU samples by own time (the innermost frame) and by inclusive time, per function and
per package (NovaWeb's apps, Django, channels, daphne/twisted/autobahn, httpx/httpcore, psycopg, asyncio, …),
plus the inclusive share of a few named activities of the relay path.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^():]+?)(?::(?P<line>\d+))?\)$")

PACKAGES = [  # py-spy names files relative to their sys.path entry, e.g. "chat/relay.py", "django/db/..."
    ("novaweb app", re.compile(r"^(chat|keys|accounts|providers|novaweb)/")),
    ("django templates", re.compile(r"^(django/template|template_partials)/")),
    ("django db", re.compile(r"^django/db/")),
    ("django (other)", re.compile(r"^django/")),
    ("psycopg", re.compile(r"^psycopg")),
    ("channels", re.compile(r"^channels/")),
    ("asgiref", re.compile(r"^asgiref/")),
    ("daphne", re.compile(r"^daphne/")),
    ("twisted", re.compile(r"^twisted/")),
    ("autobahn", re.compile(r"^autobahn/")),
    ("httpx/httpcore/h11/anyio", re.compile(r"^(httpx|httpcore|h11|anyio|httpx_sse)/")),
    ("markdown/pygments/nh3", re.compile(r"^(markdown_it|mdit_py_plugins|pygments|nh3|linkify)")),
    ("asyncio", re.compile(r"^asyncio/")),
    ("selectors", re.compile(r"^selectors\.py")),
    ("threading/concurrent", re.compile(r"^(threading|concurrent/futures)")),
]

# Activities: a sample counts when any frame of its stack matches (inclusive).
ACTIVITIES = [
    ("DB: connect (new connection per call)", re.compile(r"ensure_connection \(")),
    ("DB: close", re.compile(r"close_old_connections|close_if_unusable_or_obsolete")),
    ("DB: any database_sync_to_async work", re.compile(r"thread_handler|run_in_executor|_worker \(")),
    (
        "relay: provider stream read (httpx + SSE parse)",
        re.compile(r"_read_event_stream|iter_event_data|aiter_"),
    ),
    ("relay: group_send (channel layer)", re.compile(r"group_send")),
    ("consumer: reply_delta (render + send)", re.compile(r"reply_delta")),
    ("consumer: render_to_string", re.compile(r"render_to_string")),
    ("websocket: frame send (autobahn)", re.compile(r"sendMessage|sendFrame")),
    ("consumer: message_created (bubbles + sidebar)", re.compile(r"message_created|_render_created")),
    ("consumer: message_updated (final bubble)", re.compile(r"message_updated")),
    ("markdown rendering", re.compile(r"rendering\.py")),
    ("do_send_message", re.compile(r"do_send_message")),
    ("do_finish_reply", re.compile(r"do_finish_reply")),
    ("do_save_reply_progress", re.compile(r"do_save_reply_progress")),
    ("reply_context", re.compile(r"reply_context")),
    ("crypto.decrypt", re.compile(r"decrypt")),
]


# Main-thread (event loop) samples, each counted once under the first rule its stack matches.
MAIN_RULES = [
    (
        "relay: HTTP read of the provider stream (httpx/httpcore/h11/anyio, decoders)",
        re.compile(r"Response\.aiter_|httpcore|anyio|h11"),
    ),
    (
        "relay: SSE parsing + per-event timeout + JSON (providers/client.py, sse.py)",
        re.compile(r"_read_event_stream|iter_event_data|aiter_sse"),
    ),
    ("relay: opening the upstream request (build, send, headers)", re.compile(r"open_response|_attempt")),
    ("relay: other (append, decrypt, generator layers)", re.compile(r"Relay\._stream")),
    ("channel layer (in-memory group_send / receive, expiry scans)", re.compile(r"channels/layers\.py")),
    (
        "consumer: rendering fragments (Django templates)",
        re.compile(r"render_to_string|Template\.render|template"),
    ),
    (
        "consumer → daphne/autobahn/twisted: websocket frame out",
        re.compile(r"handle_reply|sendMessage|serverSend|autobahn|twisted/internet/(tcp|abstract)"),
    ),
    (
        "consumer: dispatch and handlers (channels, chat/consumers.py)",
        re.compile(r"channels/(consumer|generic)|chat/consumers\.py"),
    ),
    ("relay: frame batching (send loop, flush loop, listen)", re.compile(r"chat/relay\.py")),
    (
        "thread hops (sync_to_async / async_to_sync futures)",
        re.compile(r"asgiref|_chain_future|concurrent/futures"),
    ),
]
# What is left is judged by the frames below the event loop's callback runner only (every stack has daphne's
# and twisted's start-up frames at its root).
LEAF_RULES = [
    ("daphne/twisted/autobahn (incoming frames, timers, logging)", re.compile(r"daphne/|twisted/|autobahn/")),
    ("asyncio event loop (select, scheduling)", re.compile(r"asyncio/|selectors\.py")),
]
DB_RULES = [  # samples in worker threads (database_sync_to_async), by the app function they serve
    (name, re.compile(pattern))
    for name, pattern in [
        ("do_send_message", r"do_send_message"),
        ("_session_still_valid (every incoming frame)", r"_session_still_valid"),
        ("message_created render (bubbles + sidebar)", r"_render_created"),
        ("message_updated (final bubble: query + markdown)", r"_messages|rendering\.py"),
        ("reply_context", r"reply_context"),
        ("do_save_reply_progress (flush)", r"do_save_reply_progress"),
        ("do_finish_reply", r"do_finish_reply"),
        ("connect / close (outside the above)", r"connect|close_old_connections|close_if_unusable"),
    ]
]


def package_of(file: str) -> str:
    for name, pattern in PACKAGES:
        if pattern.search(file):
            return name
    return "other (stdlib, C, …)"


def parse(path: Path):
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if frames and frames[0].startswith("process "):
            frames = frames[1:]
        if frames and frames[0].startswith("thread "):
            frames = frames[1:]
        yield frames, int(count)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("profile", type=Path)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args()

    own, inclusive, own_pkg, incl_pkg, activity = Counter(), Counter(), Counter(), Counter(), Counter()
    main_rules, db_rules, db_connect = Counter(), Counter(), Counter()
    total = main_total = 0
    for frames, count in parse(args.profile):
        total += count
        if not frames:
            continue
        joined = ";".join(frames)
        if frames[0].startswith("Thread._bootstrap"):
            name = next((n for n, rx in DB_RULES if rx.search(joined)), "other worker-thread work")
            db_rules[name] += count
            if "get_new_connection" in joined or "_close (" in joined:
                db_connect["opening/closing a connection"] += count
        else:
            main_total += count
            name = next((n for n, rx in MAIN_RULES if rx.search(joined)), None)
            if name is None:
                runner = max((i for i, f in enumerate(frames) if f.startswith("Handle._run")), default=-1)
                below = ";".join(frames[runner + 1 :]) if runner >= 0 else frames[-1]
                name = next((n for n, rx in LEAF_RULES if rx.search(below)), "other")
            main_rules[name] += count
        leaf = frames[-1]
        own[leaf] += count
        m = FRAME.match(leaf)
        own_pkg[package_of(m.group("file") if m else leaf)] += count
        seen_f, seen_p = set(), set()
        for frame in frames:
            if frame not in seen_f:
                inclusive[frame] += count
                seen_f.add(frame)
            m = FRAME.match(frame)
            pkg = package_of(m.group("file") if m else frame)
            if pkg not in seen_p:
                incl_pkg[pkg] += count
                seen_p.add(pkg)
        for name, pattern in ACTIVITIES:
            if pattern.search(joined):
                activity[name] += count

    def show(title, counter, top):
        print(f"\n{title}")
        for key, count in counter.most_common(top):
            print(f"  {count / total * 100:5.1f}%  {key}")

    print(
        f"{args.profile}: {total} on-CPU samples, {main_total / max(total, 1) * 100:.0f}% in the event-loop thread"
    )
    show("event-loop thread, by activity (first match)", main_rules, 30)
    show("worker threads (database_sync_to_async), by the app function served", db_rules, 20)
    show("  of which", db_connect, 3)
    show("own time by package", own_pkg, 20)
    show("inclusive time by package", incl_pkg, 20)
    show("inclusive time by activity", activity, 30)
    show("own time by function", own, args.top)
    show("inclusive time by function", inclusive, args.top)


if __name__ == "__main__":
    main()
