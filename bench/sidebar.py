#!/usr/bin/env python
"""Sidebar benchmark: how long the server takes to draw the sidebar for someone with 50,000 conversations.

    .venv/bin/python bench/sidebar.py                   # 50,000 conversations, 200 runs; writes docs/benchmarks.md
    .venv/bin/python bench/sidebar.py --quick           # 20 runs, docs untouched
    .venv/bin/python bench/sidebar.py --conversations 100000 --runs 500

What it does (docs/benchmarks.md, "Sidebar", says what each figure means):

1. A fresh database `novaweb_bench_sidebar` on the embedded PostgreSQL the settings start (var/pg), or on
   the server of DATABASE_URL (BENCH_DATABASE_URL names a database to use as is), migrated.
2. Rows made in a few INSERT … SELECT generate_series statements: the person measured, with N conversations
   of one message each (three at a time share an `updated_at`, as ties must page correctly), 20 of them
   pinned, one in eleven archived, one in seventeen spread over 10 folders (7 open, 3 folded), 3 deleted a
   moment ago (so they show as Undo rows); and 20 other people with N/10 conversations each, so the index
   has to tell owners apart. Then ANALYZE.
3. Each request through Django's test Client in this process, signed in, DEBUG off: middleware, session,
   view, queries, template; everything but the network. Per request: a warm-up, then the runs, timed with
   perf_counter; p50, p95 and max; the queries of one more run (CaptureQueriesContext); its response size.
4. EXPLAIN ANALYZE of the main list's query at the top and deep down, and of the same deep page read with
   OFFSET, for comparison.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import app_version, fresh_database, log, machine, pct, write_block  # noqa: E402

os.chdir(ROOT)

MARK_START = "<!-- bench:sidebar:start -->"
MARK_END = "<!-- bench:sidebar:end -->"
BENCH_DB = "novaweb_bench_sidebar"
TARGET_MS = 30.0


# --------------------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------------------
CONVERSATIONS = """
INSERT INTO chat_conversation (owner_id, title, model, params, mode, created_at, updated_at)
SELECT %(owner)s, 'Conversation ' || g, '', '{}', 'chat', ts, ts
FROM generate_series(1, %(n)s) AS g, LATERAL (SELECT now() - (g / 3) * interval '1 minute' AS ts) AS t
"""
MESSAGES = """
INSERT INTO chat_message (conversation_id, role, content, state, model, params, usage_reported, usage_extra,
                          images, choices, finish_reason, error, created_at, updated_at)
SELECT id, 'user', 'Hello there', 'done', '', '{}', false, '{}', '[]', '[]', '', '', created_at, updated_at
FROM chat_conversation WHERE owner_id = %(owner)s
"""
LEAVES = """
UPDATE chat_conversation AS c SET current_leaf_id = m.id
FROM chat_message AS m WHERE m.conversation_id = c.id AND c.owner_id = %(owner)s
"""


def make_rows(n: int) -> dict:
    """The person measured and everyone else, as described at the top. Returns facts for the report."""
    from django.db import connection

    from accounts.models import User
    from chat.models import Conversation, Folder

    person = User.objects.create(username="measured", password="!")
    others = [User.objects.create(username=f"other-{i}", password="!") for i in range(20)]
    with connection.cursor() as cursor:
        for user, count in [(person, n), *((other, max(1, n // 10)) for other in others)]:
            for sql in (CONVERSATIONS, MESSAGES, LEAVES):
                cursor.execute(sql, {"owner": user.pk, "n": count})
    mine = Conversation.objects.filter(owner=person)
    folders = [Folder.objects.create(owner=person, name=f"Folder {i}", collapsed=i >= 7) for i in range(10)]
    for i, folder in enumerate(folders):
        mine.extra(where=["id %% 17 = 0", "(id / 17) %% 10 = %s"], params=[i]).update(folder=folder)
    mine.extra(where=["id %% 11 = 1"]).update(archived_at=dt.datetime.now(dt.UTC))
    pinned = list(
        mine.filter(folder=None, archived_at=None).order_by("-id").values_list("pk", flat=True)[100:120]
    )
    mine.filter(pk__in=pinned).update(pinned_at=dt.datetime.now(dt.UTC))
    deleted = list(
        mine.filter(folder=None, archived_at=None, pinned_at=None).values_list("pk", flat=True)[:3]
    )
    mine.filter(pk__in=deleted).update(deleted_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "person": person,
        "total": Conversation.objects.count(),
        "mine": mine.count(),
        "in_folders": mine.exclude(folder=None).count(),
        "archived": mine.exclude(archived_at=None).count(),
        "pinned": len(pinned),
        "deleted": len(deleted),
    }


# --------------------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------------------
def measure(client, name: str, url: str, runs: int, htmx: bool) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = {"HX-Request": "true"} if htmx else {}
    for _ in range(max(3, runs // 20)):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code)
    samples, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, headers=headers)
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers=headers)
    return figures(name, url, samples, cpu, queries, response.content.decode())


def figures(name, url, samples, cpu, queries, html: str) -> dict:
    return {
        "name": name,
        "url": url,
        "p50": statistics.median(samples),
        "p95": pct(samples, 95),
        "max": max(samples),
        "cpu": statistics.median(cpu),
        "queries": len(queries.captured_queries),
        "kb": len(html.encode()) / 1024,
        "rows": html.count('class="conv-row"') + html.count('class="archived-row"'),
    }


def explain_ms(sql: str, params) -> tuple[float, str]:
    """(execution time in ms, the plan's first node) of EXPLAIN ANALYZE, best of five."""
    from django.db import connection

    best, head = float("inf"), ""
    with connection.cursor() as cursor:
        for _ in range(5):
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
            plan = plan[0] if isinstance(plan, list) else plan
            best = min(best, plan["Execution Time"])
            node = plan["Plan"]
            while node.get("Plans") and node["Node Type"] in ("Limit", "Result"):
                node = node["Plans"][0]
            head = f"{node['Node Type']}" + (f" using {node['Index Name']}" if node.get("Index Name") else "")
    return best, head


def query_plans(person, deep_key) -> list[tuple[str, float, str]]:
    from chat import sidebar

    listed = sidebar._listed(person).filter(folder__isnull=True).order_by(*sidebar._ORDER)
    first = listed[: sidebar.PAGE_SIZE + 1]
    deep = listed.filter(sidebar._after(deep_key))[: sidebar.PAGE_SIZE + 1]
    depth = listed.filter(sidebar._after(deep_key, at_least=True)).count()
    offset = listed[depth : depth + sidebar.PAGE_SIZE + 1]
    out = []
    for label, qs in (
        ("first page (keyset)", first),
        (f"page after row {depth:,} (keyset)", deep),
        (f"page after row {depth:,} (OFFSET, for comparison)", offset),
    ):
        sql, params = qs.query.sql_with_params()
        ms, head = explain_ms(sql, params)
        out.append((label, ms, head))
    return out


# --------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------
def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of all cores together, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


def busy_between(before, after) -> float:
    """The share of the machine's CPU (all cores) that was busy between two cpu_times() readings."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


def wait_for_idle(seconds: float) -> float:
    """Wait up to `seconds` for the machine to be mostly idle (15% busy or less); returns how busy it was."""
    deadline = time.monotonic() + seconds
    while True:
        before = cpu_times()
        time.sleep(1.0)
        busy = busy_between(before, cpu_times())
        if busy <= 0.15 or time.monotonic() >= deadline:
            return busy


def report(args, facts, results, plans, db_where, pg_version, command, busy) -> str:
    first = next(r for r in results if r["name"].startswith("Home page"))
    verdict = "met" if first["p50"] < TARGET_MS else "MISSED"
    lines = [
        f"Command: `{command}`",
        "",
        f"Date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}. Machine: {machine()}. "
        f"Python {platform.python_version()}, Django {__import__('django').get_version()}, PostgreSQL "
        f"{pg_version} ({db_where}), DEBUG off. App: {app_version()}. {busy_note(busy)}",
        "",
        f"Data: {facts['total']:,} conversations in all; the person measured has {facts['mine']:,} "
        f"({facts['pinned']} pinned, {facts['archived']:,} archived, {facts['in_folders']:,} in 10 folders of "
        f"which 7 open, {facts['deleted']} deleted a moment ago), 20 others have "
        f"{(facts['total'] - facts['mine']) // 20:,} each. {args.runs} runs per request after a warm-up.",
        "",
        "| request | p50 (ms) | p95 (ms) | max (ms) | Python CPU p50 (ms) | queries | rows drawn | response (KB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} `{r['url'].split('?')[0]}` | {r['p50']:.1f} | {r['p95']:.1f} | {r['max']:.1f} | "
            f"{r['cpu']:.1f} | {r['queries']} | {r['rows']} | {r['kb']:.0f} |"
        )
    lines += ["", "The main list's query alone (EXPLAIN ANALYZE, best of five):", ""]
    lines += ["| page | execution (ms) | plan |", "|---|---:|---|"]
    lines += [f"| {label} | {ms:.2f} | {head} |" for label, ms, head in plans]
    lines += [
        "",
        f"Target: the sidebar's first page under {TARGET_MS:.0f} ms of server time (p50): **{verdict}**.",
    ]
    return "\n".join(lines)


def busy_note(busy: tuple[float, float]) -> str:
    before, during = busy
    text = f"The machine's CPU was {before:.0%} busy just before the timing and {during:.0%} during it"
    if before > 0.3 or during > 0.65:
        return (
            text + " (this process and PostgreSQL use up to half of it); **other work on the machine skews "
            "the wall-clock figures upwards; the CPU column much less so.**"
        )
    return text + " (this process and PostgreSQL use up to half of it)."


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--conversations", type=int, default=50_000, help="the measured person's (50,000)")
    p.add_argument("--runs", type=int, help="timed requests per URL (default 200; --quick 20)")
    p.add_argument("--quick", action="store_true", help="fewer runs; docs are not written")
    p.add_argument("--wait-idle", type=float, default=0,
                   help="before timing, wait up to this many seconds for the machine to be idle")  # fmt: skip
    p.add_argument("--write-docs", action=argparse.BooleanOptionalAction, default=None,
                   help="put the table in docs/benchmarks.md (default: yes, except with --quick)")  # fmt: skip
    args = p.parse_args(argv)
    if args.conversations < 1000:
        p.error("use at least 1,000 conversations")
    args.runs = args.runs or (20 if args.quick else 200)
    if args.write_docs is None:
        args.write_docs = not args.quick
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    command = (
        "python bench/sidebar.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    )
    lock = open(Path(tempfile.gettempdir()) / "novaweb-bench-sidebar.lock", "w")  # noqa: SIM115 — held until exit
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit("another bench/sidebar.py is running (it holds the lock)") from None
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaweb.settings")
    os.environ["NOVAWEB_DEBUG"] = "0"
    _, db_where = fresh_database(BENCH_DB)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from chat import sidebar

    log(f"migrating {BENCH_DB} …")
    call_command("migrate", interactive=False, verbosity=0)
    log(f"making {args.conversations:,} conversations for one person, and others' …")
    started = time.monotonic()
    facts = make_rows(args.conversations)
    log(f"  done in {time.monotonic() - started:.1f} s")
    person = facts["person"]
    # The key of the row halfway down the main list: where a deep page starts.
    listed = sidebar._listed(person).filter(folder__isnull=True).order_by(*sidebar._ORDER)
    middle = listed[listed.count() // 2]
    deep_key = sidebar.Key.of(middle)
    archived_middle = sidebar._archived(person).order_by(*sidebar._ARCHIVED_ORDER)[facts["archived"] // 2]

    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(person)
    targets = [
        ("Home page with the sidebar (folders and the list's first page)", "/", False),
        ("The list's first page alone", "/c/", True),
        (
            f"A deep page of the list (after row {listed.count() // 2:,})",
            f"/c/?after={deep_key.encode()}",
            True,
        ),
        ("Archived page", "/archived/", False),
        (
            "A deep page of Archived",
            f"/archived/?after={sidebar.Key.of(archived_middle, archived=True).encode()}",
            True,
        ),
    ]
    idle_before = wait_for_idle(args.wait_idle)
    window = cpu_times()
    results = []
    for name, url, htmx in targets:
        log(f"timing {name} …")
        results.append(measure(client, name, url, args.runs, htmx))
    # What an organising action answers with, beyond its own UPDATE: the lists drawn down to row 300.
    results.append(measure_redraw(person, sidebar.Key.of(listed[299]), args.runs))
    busy = (idle_before, busy_between(window, cpu_times()))
    plans = query_plans(person, deep_key)
    pg_version = connection.cursor().connection.info.server_version
    pg_version = f"{pg_version // 10000}.{pg_version % 10000}"
    block = report(args, facts, results, plans, db_where, pg_version, command, busy)
    print()
    print(block)
    if args.write_docs:
        write_block(MARK_START, MARK_END, block, heading="Sidebar")
        log("\nwrote the results into docs/benchmarks.md")
    connection.close()
    return 0


def measure_redraw(person, until, runs: int) -> dict:
    """The lists an organising action (pin, move, …) answers with: `sidebar_context` down to `until` and
    its template, timed without the action's own UPDATE and without the request around it."""
    from django.db import connection
    from django.template.loader import render_to_string
    from django.test.utils import CaptureQueriesContext

    from chat.sidebar import sidebar_context

    name = "The lists redrawn after an action, 300 rows deep"

    def draw() -> str:
        return render_to_string("chat/_sidebar.html#sidebar-update", sidebar_context(person, until=until))

    log(f"timing {name} …")
    for _ in range(max(3, runs // 20)):
        draw()
    samples, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        draw()
        samples.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    with CaptureQueriesContext(connection) as queries:
        html = draw()
    return figures(name, "sidebar_context + template", samples, cpu, queries, html)


if __name__ == "__main__":
    sys.exit(main())
