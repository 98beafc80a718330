#!/usr/bin/env python
"""Search benchmark: 1,000 searches of mixed kinds by one person over a million messages.

    .venv/bin/python bench/search.py            # 1,000,000 messages, 1,000 searches; rewrites docs/benchmarks.md
    .venv/bin/python bench/search.py --quick    # 100,000 messages, 300 searches; docs untouched
    .venv/bin/python bench/search.py --keep     # leave the database loaded; --reuse measures it again

What it does (docs/benchmarks.md, "Search", defines every figure):

1. A fresh database `novaweb_search_bench` on the embedded PostgreSQL, or on the server of DATABASE_URL (which
   has pg_trgm, so the typo fallback is real there), migrated.
2. bench/search_corpus.py writes 100 people, 50,000 conversations and 1,000,000 messages with COPY (two
   connections; the generated tsvectors are computed as rows arrive), then the search indexes are built and,
   where pg_trgm exists, the typo vocabulary filled (the SQL of migration chat 0005).
3. Person 1 holds 100,000 of those messages. 1,000 searches of theirs, drawn from their own messages (so
   common words are as common as they are in the text): single words, rare words, phrases, prefixes as typed,
   two words, exclusions, OR, filters, identifiers, words typed without their accents, and typos. Each runs
   through `chat.search.search`, timed; then all of them again through the view (Django's test client,
   as htmx asks), for the server's time with rendering.
4. A table of p50 / p95 per kind and the index sizes, on stdout and (full runs) in docs/benchmarks.md.
   The database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import app_version, log, machine, pct, server_url, with_database, write_block  # noqa: E402

os.chdir(ROOT)

# One block of results per kind of server: the embedded one (no pg_trgm) and a server (DATABASE_URL).
MARKS = "<!-- bench:search:{}:start -->", "<!-- bench:search:{}:end -->"
BENCH_DB = "novaweb_search_bench"
TARGET_USER = 1
STOP = set(
    [
        "the",
        "and",
        "for",
        "that",
        "with",
        "this",
        "from",
        "have",
        "what",
        "about",
        "which",
        "would",
        "there",
        "their",
        "could",
        "should",
        "other",
        "than",
        "then",
        "them",
        "these",
        "those",
        "into",
        "your",
        "been",
        "were",
        "when",
        "where",
        "while",
        "also",
        "just",
        "only",
        "some",
        "very",
        "more",
        "most",
        "such",
    ]
)
KINDS = {  # kind: share of the searches
    "word": 0.15,
    "rare word": 0.10,
    "phrase": 0.10,
    "prefix (typing)": 0.15,
    "two words": 0.10,
    "exclusion": 0.07,
    "OR": 0.07,
    "filter": 0.10,
    "identifier": 0.05,
    "no accents": 0.05,
    "typo": 0.06,
}


def drop_database(base: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


# --------------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------------
def load(url: str, messages: int) -> dict:
    import importlib

    import psycopg

    from bench.search_corpus import Shape
    from bench.search_corpus import load as load_corpus

    shape = Shape(users=100, conversations=messages // 20, messages=messages, target_messages=messages // 10)
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT relname, pg_get_indexdef(oid) FROM pg_class"
            " WHERE relname IN ('message_search', 'conversation_search', 'searchterm_trigrams')"
        ).fetchall()
        for name, _ in indexes:  # built once after loading: much faster than row by row
            conn.execute(f"DROP INDEX {name}")
    log(f"loading {messages:,} messages …")
    info = load_corpus(lambda: psycopg.connect(url), shape, log=log)
    timings = {"load": time.monotonic() - started}
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        if any(name == "searchterm_trigrams" for name, _ in indexes):  # before its index is built
            log("filling the typo vocabulary …")
            conn.execute(importlib.import_module("chat.migrations.0006_search_typos").BACKFILL_SQL)
        for name, definition in indexes:
            log(f"building {name} …")
            conn.execute(definition)
        timings["index"] = time.monotonic() - started
        started = time.monotonic()
        conn.execute("VACUUM ANALYZE")
        timings["vacuum"] = time.monotonic() - started
    info["timings"] = timings
    return info


def sizes(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        out = dict(
            conn.execute(
                "SELECT relname, pg_relation_size(oid) FROM pg_class WHERE relname IN"
                " ('message_search', 'conversation_search', 'searchterm_trigrams', 'conversation_owner_live',"
                "  'chat_message', 'chat_searchterm')"
            ).fetchall()
        )
        out["message vectors"] = conn.execute(
            "SELECT sum(pg_column_size(search_vector)) FROM chat_message"
        ).fetchone()[0]
        out["message text"] = conn.execute(
            "SELECT sum(pg_column_size(content)) FROM chat_message"
        ).fetchone()[0]
        out["terms"] = conn.execute("SELECT count(*) FROM chat_searchterm").fetchone()[0]
        out["messages"] = conn.execute("SELECT count(*) FROM chat_message").fetchone()[0]
        out["server"] = conn.execute("SHOW server_version").fetchone()[0]
        out["shared_buffers"] = conn.execute("SHOW shared_buffers").fetchone()[0]
    return out


# --------------------------------------------------------------------------------------------------------
# The searches: drawn from the person's own messages
# --------------------------------------------------------------------------------------------------------
WORD = re.compile(r"[^\W\d_]{4,}")
IDENT = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|\b[a-z]+(?:\.[a-z]+)+\(\)|\b[a-z]+[A-Z][a-zA-Z]+\b")


def strip_accents(word: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("swap", "drop", "double", "replace"))
    if edit == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if edit == "drop":
        return word[:i] + word[i + 1 :]
    if edit == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeiourstln") + word[i + 1 :]


def make_searches(count: int, seed: int = 11) -> list[tuple[str, str, dict]]:
    """`count` searches (kind, text, filters) of person TARGET_USER."""
    from chat.models import Conversation, Folder, Message

    rng = random.Random(seed)
    sample = list(
        Message.objects.filter(owner_id=TARGET_USER, id__in=_random_ids(4000, rng)).values_list(
            "content", flat=True
        )
    )
    texts = [t for t in sample if t]
    words = [w for t in texts for w in WORD.findall(t) if w.lower() not in STOP]
    lower = [w.lower() for w in words]
    counts: dict[str, int] = {}
    for w in lower:
        counts[w] = counts.get(w, 0) + 1
    rare = [w for w, n in counts.items() if n == 1 and w.isascii()] or lower
    accented = [w for w in lower if not w.isascii() and strip_accents(w) != w] or lower
    idents = [m for t in texts for m in IDENT.findall(t)] or lower
    long_words = [w for w in lower if len(w) >= 6 and w.isascii()] or lower
    known = set(lower)
    folders = list(Folder.objects.filter(owner_id=TARGET_USER))
    models = sorted(set(Conversation.objects.filter(owner_id=TARGET_USER).values_list("model", flat=True)))
    today = dt.date.today()

    def phrase() -> str:
        for _ in range(50):
            sentence = rng.choice(texts).split(". ")[0].split()
            run = [w.strip(".,:;!?`*#()") for w in sentence]
            run = [w for w in run if w.isalpha()]
            if len(run) >= 3:
                at = rng.randrange(len(run) - 1)
                return '"' + " ".join(run[at : at + rng.choice((2, 3))]) + '"'
        return rng.choice(lower)

    def make(kind: str) -> tuple[str, dict]:
        if kind == "word":
            return rng.choice(lower), {}
        if kind == "rare word":
            return rng.choice(rare), {}
        if kind == "phrase":
            return phrase(), {}
        if kind == "prefix (typing)":
            word = rng.choice(long_words)
            return word[: rng.randint(3, len(word) - 1)], {}
        if kind == "two words":
            t = WORD.findall(rng.choice(texts))
            pair = [w.lower() for w in t if w.lower() not in STOP][:8]
            return " ".join(rng.sample(pair, 2)) if len(pair) >= 2 else rng.choice(lower), {}
        if kind == "exclusion":
            return f"{rng.choice(lower)} -{rng.choice(lower)}", {}
        if kind == "OR":
            return f"{rng.choice(lower)} OR {rng.choice(lower)}", {}
        if kind == "filter":
            which = rng.choice(("title", "model", "folder", "archived", "dates"))
            word = rng.choice(lower)
            if which == "title":
                return word, {"title_only": True}
            if which == "model":
                return word, {"model": rng.choice(models)}
            if which == "folder":
                return word, {"folder": rng.choice(folders)}
            if which == "archived":
                return word, {"include_archived": True}
            start = today - dt.timedelta(days=rng.randint(30, 700))
            return word, {"date_from": start, "date_to": start + dt.timedelta(days=rng.randint(7, 120))}
        if kind == "identifier":
            return rng.choice(idents), {}
        if kind == "no accents":
            return strip_accents(rng.choice(accented)), {}
        for _ in range(20):  # typo: a misspelling that is not itself a word of theirs
            wrong = typo(rng.choice(long_words), rng)
            if wrong not in known:
                return wrong, {}
        return wrong, {}

    plan = [kind for kind, share in KINDS.items() for _ in range(round(share * count))]
    plan = (plan + ["word"] * count)[:count]
    rng.shuffle(plan)
    return [(kind, *make(kind)) for kind in plan]


def _random_ids(n: int, rng: random.Random) -> list[int]:
    from chat.models import Message

    top = Message.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return [rng.randint(1, top) for _ in range(n * 12)]  # ~1 in 10 is the person's


# --------------------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------------------
def cpu_times() -> tuple[float, float]:
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def run_searches(searches, warm) -> list[dict]:
    from accounts.models import User
    from chat import search

    user = User.objects.get(pk=TARGET_USER)
    for _, text, filters in warm:  # warm the caches as a server in use has them
        search.search(user, text, search.Filters(**filters))
    out = []
    for kind, text, filters in searches:
        started = time.perf_counter()
        results = search.search(user, text, search.Filters(**filters))
        ms = (time.perf_counter() - started) * 1000
        out.append({"kind": kind, "text": text, "ms": ms, "hits": len(results.hits), "capped": results.capped,
                    "corrected": bool(results.corrected), "problem": results.problem})  # fmt: skip
    return out


def run_view(searches) -> list[float]:
    from django.conf import settings
    from django.test import Client

    from accounts.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(User.objects.get(pk=TARGET_USER))
    out = []
    for _, text, filters in searches:
        params = {"q": text}
        for key, value in filters.items():
            name = {"include_archived": "archived"}.get(key, key)
            params[name] = value.pk if hasattr(value, "pk") else ("on" if value is True else str(value))
        started = time.perf_counter()
        response = client.get("/search/", params, HTTP_HX_REQUEST="true")
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return out


# --------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------
def mb(n: int | None) -> str:
    return f"{(n or 0) / 1024 / 1024:,.0f} MB"


def report(args, info, results, view_ms, size, where, busy, command) -> str:
    trgm = size.get("searchterm_trigrams") is not None
    fallback = [r for r in results if r["corrected"]]
    full_text = [r for r in results if not r["corrected"]]
    rows = []
    for kind in KINDS:
        mine = [r for r in results if r["kind"] == kind]
        if not mine:
            continue
        ms = [r["ms"] for r in mine]
        rows.append(
            f"| {kind} | {len(mine)} | {pct(ms, 50):.1f} / {pct(ms, 95):.1f} / {max(ms):.1f} |"
            f" {statistics.mean(r['hits'] for r in mine):.1f} | {sum(r['capped'] for r in mine)} |"
            f" {sum(r['corrected'] for r in mine)} |"
        )
    ft = [r["ms"] for r in full_text]
    fb = [r["ms"] for r in fallback]
    typos = [r for r in results if r["kind"] == "typo"]
    lines = [
        f"Command: `{command}`",
        "",
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Machine: {machine()}. Python"
        f" {platform.python_version()}, PostgreSQL {size['server']} (shared_buffers {size['shared_buffers']}) — a fresh database `{BENCH_DB}` on {where}; pg_trgm"
        f" {'present: the typo fallback runs' if trgm else 'absent: the typo fallback is off'}. App: {app_version()}.",
        "",
        f"Corpus: {size['messages']:,} messages in {info['conversations']:,} conversations of 100 people, loaded in"
        f" {info['timings']['load']:.0f} s (COPY, two connections, vectors computed on the way in) + indexes"
        f"{' and typo vocabulary' if trgm else ''} {info['timings']['index']:.0f} s. Person 1 holds {args.messages // 10:,} of the messages; {len(results)}"
        f" searches of theirs (after {args.warmup} unmeasured ones to warm the caches).",
        "",
        "| kind | searches | ms p50 / p95 / max | conversations found (first page) | capped | corrected |",
        "|---|---:|---|---:|---:|---:|",
        *rows,
        "",
        f"- **Full-text path** (every search the typo fallback did not answer, {len(ft)}): p50 **{pct(ft, 50):.1f} ms**,"
        f" p95 **{pct(ft, 95):.1f} ms** (target p95 < 50 ms: **{'met' if pct(ft, 95) < 50 else 'MISSED'}**).",
    ]
    if fb:
        lines.append(
            f"- **Typo fallback** (searches that found nothing, then found results for corrected words, {len(fb)}):"
            f" p50 **{pct(fb, 50):.1f} ms**, p95 **{pct(fb, 95):.1f} ms** (target p95 < 150 ms:"
            f" **{'met' if pct(fb, 95) < 150 else 'MISSED'}**); {sum(r['corrected'] for r in typos)} of the"
            f" {len(typos)} typos were corrected (the other corrected searches are words found only in archived or"
            " deleted conversations, corrected to a near word that is not)."
        )
    else:
        lines.append(
            "- **Typo fallback**: off on this server (no pg_trgm); typos find nothing, as fast as the row above."
        )
    lines += [
        f"- **Through the view** (`GET /search/` as htmx asks, the same {len(view_ms)} searches, rendering"
        f" included): p50 **{pct(view_ms, 50):.1f} ms**, p95 **{pct(view_ms, 95):.1f} ms**.",
        f"- **Sizes**: message index (`message_search`: person and id slice, and the vector) {mb(size.get('message_search'))};"
        f" the vectors themselves {mb(size.get('message vectors'))} (the text: {mb(size.get('message text'))});"
        f" title index {mb(size.get('conversation_search'))}; live-conversations index"
        f" {mb(size.get('conversation_owner_live'))}"
        + (
            f"; typo vocabulary {size['terms']:,} words, table {mb(size.get('chat_searchterm'))}, trigram index"
            f" {mb(size.get('searchterm_trigrams'))}."
            if trgm
            else "."
        ),
        f"- Other processes used {busy:.2f} of the machine's cores during the measured searches"
        + (" — the figures are skewed upwards." if busy > 0.1 else "."),
    ]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured searches first (default 100)")
    parser.add_argument("--quick", action="store_true", help="100,000 messages, 300 searches; docs untouched")
    parser.add_argument("--keep", action="store_true", help="leave the loaded database for --reuse")
    parser.add_argument("--reuse", action="store_true", help="measure the database a --keep run left")
    parser.add_argument("--no-docs", dest="write_docs", action="store_false")
    args = parser.parse_args(argv)
    if args.quick:
        args.messages, args.searches, args.write_docs = 100_000, 300, False
    if args.messages != 1_000_000 or args.searches != 1000 or args.reuse:
        args.write_docs = args.write_docs and not args.quick and args.messages == 1_000_000
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    command = "python bench/search.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaweb.settings")
    os.environ.setdefault("NOVAWEB_DEBUG", "0")  # as in production: no query log growing with every search
    server = "server" if os.environ.get("DATABASE_URL") else "embedded"  # before it names the bench database
    base, where = server_url()
    url = with_database(base, BENCH_DB)
    try:
        if not args.reuse:
            import psycopg

            drop_database(base)
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
        os.environ["DATABASE_URL"] = url
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        if args.reuse:
            from chat.models import Conversation

            info = {"conversations": Conversation.objects.count(), "timings": {"load": 0, "index": 0}}
        else:
            log(f"migrating {BENCH_DB} …")
            call_command("migrate", interactive=False, verbosity=0)
            connections.close_all()
            info = load(url, args.messages)
        searches = make_searches(args.searches + args.warmup)
        warm, measured = searches[: args.warmup], searches[args.warmup :]
        log(f"{len(measured)} searches …")
        busy_before, total_before = cpu_times()
        results = run_searches(measured, warm)
        busy_after, total_after = cpu_times()
        log("the same through the view …")
        view_ms = run_view(measured)
        size = sizes(url)
        clk = os.sysconf("SC_CLK_TCK")
        wall = (total_after - total_before) / clk / (os.cpu_count() or 1)
        # Busy time not explained by this process or the database doing its searches: roughly, everything
        # above one core's worth (driver + PostgreSQL alternate; they never both run).
        busy = max(0.0, (busy_after - busy_before) / clk / max(wall, 1e-9) - 1.0)
        block = report(args, info, results, view_ms, size, where, busy, command)
        print()
        print(block)
        if args.write_docs:
            start, end = (mark.format(server) for mark in MARKS)
            write_block(start, end, block)
            log("\nwrote the results into docs/benchmarks.md")
        return 0
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if not args.keep:
            with contextlib.suppress(Exception):
                drop_database(base)
                log(f"dropped {BENCH_DB}")


if __name__ == "__main__":
    sys.exit(main())
