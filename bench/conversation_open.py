#!/usr/bin/env python
"""Opening a long conversation: the server time of the conversation page for a path of 5,000 messages.

    .venv/bin/python bench/conversation_open.py            # 5,000 messages, 100 timed opens; writes docs/benchmarks.md
    .venv/bin/python bench/conversation_open.py --quick    # 20 opens, the page untouched
    .venv/bin/python bench/conversation_open.py --messages 20000 --runs 50

What it does (docs/benchmarks.md, "Opening a long conversation", defines every figure):

1. A fresh database `novaweb_bench_conversation` on the embedded PostgreSQL the settings start, or on the
   server of DATABASE_URL (BENCH_DATABASE_URL names a database to use as is), migrated.
2. One person, one key, and one conversation whose path on screen is N messages long (default 5,000):
   questions and Markdown replies with code blocks, lists and tables, usage on every reply, and a retried
   reply (a second version) every 50 messages.
3. In this process, through Django's full request handling (middleware, session, template rendering) with
   DEBUG off: warm-up opens, then timed opens of `/c/<id>/`; then "Show earlier messages", the page opened
   at a message in the middle (`?at=`), and, for comparison, the whole path rendered as the page did before
   it showed a window.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import app_version, fresh_database, log, machine, pct, write_block  # noqa: E402

os.chdir(ROOT)

MARK_START = "<!-- bench:conversation:start -->"
MARK_END = "<!-- bench:conversation:end -->"
BENCH_DB = "novaweb_bench_conversation"
TARGET_MS = 150


# --------------------------------------------------------------------------------------------------------
# Database
# --------------------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------------------
# A long conversation with realistic content
# --------------------------------------------------------------------------------------------------------
_PROSE = "the request cache handler returns a value when every field is set and the query plan uses an index"
WORDS = (
    _PROSE + " on the table so that each page loads quickly while the worker keeps its queue short"
).split(" ")
CODE = {
    "python": "def {name}(items: list[int]) -> int:\n    total = 0\n    for item in items:\n"
    "        if item % {n} == 0:\n            total += item * {n}\n    return total\n",
    "javascript": "export function {name}(rows) {{\n  return rows\n    .filter((row) => row.score > {n})\n"
    "    .map((row) => ({{ ...row, rank: row.score * {n} }}));\n}}\n",
    "sql": "SELECT id, title, updated_at\n  FROM chat_conversation\n WHERE owner_id = {n}\n"
    " ORDER BY updated_at DESC\n LIMIT 50; -- {name}\n",
    "bash": "for f in logs/*.log; do\n  grep -c '{name}' \"$f\" | awk '{{ s += $1 }} END {{ print s / {n} }}'\ndone\n",
}


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def question(rng: random.Random, n: int) -> str:
    text = " ".join(sentence(rng, rng.randint(6, 16)) for _ in range(rng.randint(1, 3)))
    if rng.random() < 0.2:
        text += f"\n\nWhy does `step_{n}()` fail here?"
    return text


def answer(rng: random.Random, n: int) -> str:
    """A reply of about 1 to 3 KB: paragraphs with inline code and bold, a code block, a list, sometimes a table."""
    language = rng.choice(list(CODE))
    parts = [
        " ".join(sentence(rng, rng.randint(8, 20)) for _ in range(3)) + f" Use **`handler_{n}`** for this.",
        f"```{language}\n{CODE[language].format(name=f'step_{n}', n=rng.randint(2, 9))}```",
        "\n".join(f"- {sentence(rng, rng.randint(4, 9))}" for _ in range(rng.randint(2, 5))),
        " ".join(sentence(rng, rng.randint(8, 18)) for _ in range(rng.randint(1, 3))),
    ]
    if rng.random() < 0.25:
        rows = "\n".join(f"| `{rng.choice(WORDS)}` | {rng.randint(1, 999)} ms |" for _ in range(4))
        parts.insert(3, f"| step | time |\n|---|--:|\n{rows}")
    return "\n\n".join(parts)


def make_conversation(length: int):
    """One person, one key and a conversation whose current path is `length` messages long."""
    from decimal import Decimal

    from django.utils import timezone

    from accounts.actions import do_sign_up
    from chat.models import Conversation, Message
    from keys.actions import do_add_credential

    user = do_sign_up("bench", "correct horse battery staple")
    key = do_add_credential(
        user,
        preset="openai",
        label="Bench",
        base_url="http://127.0.0.1:9/v1",
        auth_style="bearer",
        auth_header="",
        secret="sk-bench-0000000000",
    )
    conversation = Conversation.objects.create(
        owner=user, title="A very long conversation", credential=key, model="bench-model"
    )
    rng = random.Random(5000)
    start = timezone.now() - dt.timedelta(days=30)
    rows, parents = [], []  # parents: index in rows of each row's parent (None for the root)
    previous = None
    for n in range(length):
        role = "user" if n % 2 == 0 else "assistant"
        fields = {"content": question(rng, n) if role == "user" else answer(rng, n)}
        if role == "assistant":
            fields |= {"model": "bench-model", "credential": key, "prompt_tokens": rng.randint(50, 4000),
                       "completion_tokens": rng.randint(100, 900), "credits": Decimal("0.0012"),
                       "usage_reported": True, "finish_reason": "stop"}  # fmt: skip
            if n % 50 == 1:  # a retried reply: an older version beside the one on the path
                rows.append(Message(conversation=conversation, role=role, **fields))
                parents.append(previous)
        rows.append(Message(conversation=conversation, role=role, **fields))
        parents.append(previous)
        previous = len(rows) - 1
    Message.objects.bulk_create(rows, batch_size=1000)
    for message, parent in zip(rows, parents, strict=True):
        message.parent_id = rows[parent].pk if parent is not None else None
    Message.objects.bulk_update(rows, ["parent"], batch_size=1000)
    for i, message in enumerate(rows):
        message.created_at = start + dt.timedelta(seconds=30 * i)
    Message.objects.bulk_update(rows, ["created_at"], batch_size=1000)
    Conversation.objects.filter(pk=conversation.pk).update(current_leaf_id=rows[-1].pk)
    conversation.refresh_from_db()
    return user, conversation, rows


# --------------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------------
def cpu_seconds() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, this process's CPU seconds) so far."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK"), time.process_time()


def others_busy(seconds: float = 2.0) -> float:
    """Cores used by other processes over the next `seconds`."""
    start, wall = cpu_seconds(), time.perf_counter()
    time.sleep(seconds)
    end = cpu_seconds()
    return max(0.0, (end[0] - start[0]) - (end[1] - start[1])) / (time.perf_counter() - wall)


def wait_idle(limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        busy = others_busy()
        if busy < 0.2:
            return
        log(f"  the machine is busy ({busy:.2f} cores used by others); waiting …")
        time.sleep(5)


def timed(client, url: str, runs: int, warm: int = 5, headers=None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warm):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
    samples, cpu = [], []
    machine_start, wall_start = cpu_seconds(), time.perf_counter()
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, headers=headers)
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    machine_end, wall = cpu_seconds(), time.perf_counter() - wall_start
    others = max(0.0, (machine_end[0] - machine_start[0]) - (machine_end[1] - machine_start[1])) / wall
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)
    html = response.content.decode()
    return {
        "p50": statistics.median(samples),
        "p95": pct(samples, 95),
        "max": max(samples),
        "cpu50": statistics.median(cpu),
        "cpu95": pct(cpu, 95),
        "runs": runs,
        "queries": len(queries),
        "articles": html.count("<article "),
        "kb": len(response.content) / 1024,
        "others": others,  # cores busy with other work meanwhile (PostgreSQL's share for these requests too)
    }


def path_walk_ms(conversation, runs: int) -> float:
    from chat.window import MessageTree

    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        MessageTree(conversation.pk).path(conversation.current_leaf_id)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def whole_path_ms(client, conversation, runs: int) -> float:
    """The page as it was before windows: every message of the path rendered (the window made the path's size)."""
    from unittest import mock

    from chat import views, window

    def everything(conversation, **_):
        return window.path_window(conversation, size=10**9)

    samples = []
    with mock.patch.object(views, "path_window", everything):
        for _ in range(runs):
            start = time.perf_counter()
            client.get(f"/c/{conversation.pk}/")
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


# --------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------
def report(args, command: str, where: str, rows: int, results: dict) -> str:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0].split()[0]
    opened = results["open"]
    busy = max(results[key]["others"] for key in ("open", "earlier", "at"))
    verdict = "**met**" if opened["p95"] < TARGET_MS else "**MISSED**"
    if busy > 0.2 and opened["p95"] >= TARGET_MS:
        # Waiting for a core is not the page's cost: judge what the request itself spent instead.
        verdict = (
            f"not judged on wall time (the machine was busy); the request's own CPU p95 was "
            f"{opened['cpu95']:.1f} ms, {'under' if opened['cpu95'] < TARGET_MS else 'over'} the target, "
            "plus the wait for its queries"
        )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"Command: `{command}`",
        "",
        f"Date: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}. Machine: {machine()}, load average {load}. "
        "Python "
        f"{platform.python_version()}, Django {django.get_version()}, PostgreSQL {pg} ({where}), DEBUG off. "
        f"App: {app_version()}.",
        "",
        f"A conversation whose path on screen is {args.messages:,} messages ({rows:,} rows with the older "
        f"versions of retried replies), replies of 1 to 3 KB of Markdown with code. Times are server time in this "
        "process (Django's full request handling, no network), in ms; CPU is this process's own (PostgreSQL's "
        "work is not in it), the figure to compare when other work shares the machine.",
        "",
        "| request | runs | p50 | p95 | max | CPU p50 / p95 | queries | messages rendered | HTML (KB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {
        "open": "open the conversation (`/c/<id>/`)",
        "earlier": "Show earlier messages (htmx)",
        "at": "open at a message in the middle (`?at=`)",
    }
    for key, name in names.items():
        r = results[key]
        lines.append(
            f"| {name} | {r['runs']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | "
            f"{r['cpu50']:.1f} / {r['cpu95']:.1f} | {r['queries']} | "
            f"{r['articles']} | {r['kb']:.0f} |"
        )
    lines += [
        "",
        f"The walk from the leaf to the root (ids and parents of {rows:,} rows): {results['walk']:.1f} ms (p50). "
        f"The whole path rendered, as the page did before it showed a window: {results['whole']:,.0f} ms "
        f"(p50 of {results['whole_runs']}).",
        "",
        f"Target: first paint under {TARGET_MS} ms of server time at {args.messages:,} messages (p95): {verdict}",
    ]
    if busy > 0.2:
        lines += [
            "",
            f"**The machine was not idle**: other processes (PostgreSQL's work for these requests among them) "
            f"used up to {busy:.2f} of its {os.cpu_count()} cores while the requests were timed; wall times are "
            "skewed upwards, CPU times much less so.",
        ]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=5000, help="length of the path on screen (default 5000)")
    p.add_argument("--runs", type=int, default=100, help="timed opens (default 100)")
    p.add_argument("--quick", action="store_true", help="20 opens, and docs/benchmarks.md is left alone")
    p.add_argument("--no-docs", dest="write_docs", action="store_false", help="print only")
    p.add_argument(
        "--wait-idle", type=float, default=0, metavar="S", help="wait up to S seconds for an idle machine"
    )
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.write_docs = 20, False
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    command = (
        "python bench/conversation_open.py"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    )
    os.environ["NOVAWEB_DEBUG"] = "0"  # as in production: no query log, no debug pages
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaweb.settings")
    _, where = fresh_database(BENCH_DB)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    log(f"migrating {BENCH_DB} …")
    call_command("migrate", interactive=False, verbosity=0)
    log(f"making a conversation of {args.messages:,} messages …")
    started = time.perf_counter()
    user, conversation, rows = make_conversation(args.messages)
    log(f"  made {len(rows):,} rows in {time.perf_counter() - started:.1f} s")
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    url = f"/c/{conversation.pk}/"
    if args.wait_idle:
        wait_idle(args.wait_idle)
    log(f"timing {args.runs} opens of {url} …")
    results = {"open": timed(client, url, args.runs)}
    from chat.window import WINDOW, MessageTree

    path = MessageTree(conversation.pk).path(conversation.current_leaf_id)
    assert len(path) == args.messages, len(path)
    results["earlier"] = timed(
        client,
        f"/c/{conversation.pk}/messages/?before={path[-WINDOW]}",
        args.runs,
        headers={"HX-Request": "true"},
    )
    results["at"] = timed(client, f"{url}?at={path[len(path) // 2]}", args.runs)
    results["walk"] = path_walk_ms(conversation, args.runs)
    results["whole_runs"] = 3
    log("rendering the whole path for comparison (slow) …")
    results["whole"] = whole_path_ms(client, conversation, results["whole_runs"])
    block = report(args, command, where, len(rows), results)
    print()
    print(block)
    if args.write_docs:
        write_block(MARK_START, MARK_END, block)
        log("\nwrote the figures into docs/benchmarks.md")
    from django.db import connections

    connections.close_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
