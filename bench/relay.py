#!/usr/bin/env python
"""Relay benchmark: what NovaWeb adds to a streamed reply, and what it costs the server.

    .venv/bin/python bench/relay.py                      # C = 1, 10, 50, 200; writes docs/benchmarks.md
    .venv/bin/python bench/relay.py --quick              # a smoke run (fewer replies), docs untouched
    .venv/bin/python bench/relay.py --concurrency 1,10 --tokens 200 --interval-ms 5 --ttft-ms 50

What it does (see docs/benchmarks.md for the definitions of every figure):

1. A fresh database `novaweb_bench` (on the embedded PostgreSQL the settings start, or on the server of
   DATABASE_URL; BENCH_DATABASE_URL names another database to use as is), migrated; one user, key and
   conversation per concurrent conversation, made with the ORM and the app's actions.
2. The fake provider runs pinned to core 1 (taskset), beside this driver (also core 1). For each concurrency C:
   a. direct baseline: C concurrent streams read straight from the fake provider with httpx;
   b. a fresh daphne pinned to core 0, one warm-up reply, then the same C conversations driven through real
      websockets (session cookie, Origin header), every frame timestamped on arrival;
   c. daphne's CPU (/proc/PID/stat), its peak memory (VmHWM), rows written (pg_stat_user_tables) over the
      measured window, then daphne is stopped.
3. A table on stdout, and (full runs) the same table in docs/benchmarks.md between the result markers.

Every wait is bounded and every child process is ended on exit, Ctrl-C included (each child also gets
PR_SET_PDEATHSIG, so even a SIGKILLed bench takes its children with it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import datetime as dt
import fcntl
import html
import itertools
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.harness import app_version, fresh_database, log, machine, pct, var_dir, write_block  # noqa: E402

os.chdir(ROOT)

MARK_START = "<!-- bench:results:start -->"
MARK_END = "<!-- bench:results:end -->"
BENCH_DB = "novaweb_bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

DELTA = re.compile(r'<span hx-swap-oob="beforeend:#msg-(\d+)-stream">(.*?)</span>', re.S)
SNAPSHOT = re.compile(r'<div hx-swap-oob="innerHTML:#msg-(\d+)-stream">(.*?)</div>', re.S)
FINAL = re.compile(r'<article id="msg-(\d+)" class="[^"]*" data-state="(\w+)" hx-swap-oob="true">', re.S)
ERROR = re.compile(r'<p id="composer-error"[^>]*>(.*?)</p>', re.S)
TOKEN = re.compile(r"tok(\d+)(?=\s|$)")
TAG = re.compile(r"<[^>]+>")
SLOW_BASELINE_MS = 10


# --------------------------------------------------------------------------------------------------------
# Child processes: started in their own session, ended by their own id (group) on any exit.
# --------------------------------------------------------------------------------------------------------
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Children:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, argv: list[str], *, env: dict, log_path: Path, cpu: int | None, pin: bool):
        if pin and cpu is not None:
            argv = ["taskset", "-c", str(cpu), *argv]
        out = open(log_path, "ab")  # noqa: SIM115 — closed with the process
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the bench only; the bench ends the children in order
            preexec_fn=_die_with_parent,
        )
        out.close()
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout: float = 10.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # the child's own group: it and what it started
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            with contextlib.suppress(Exception):
                self.stop(proc, timeout=5.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float, what: str, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}; its log: {log_path}\n{tail(log_path)}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"{what} did not listen on port {port} within {timeout:.0f} s; its log: {log_path}")


def tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


# --------------------------------------------------------------------------------------------------------
# /proc readings
# --------------------------------------------------------------------------------------------------------
def proc_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds (user + system, all threads) of `pid`; with `children`, those of its reaped children."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17
    if children:
        return (int(fields[13]) + int(fields[14])) / CLK_TCK
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def cpu_busy() -> dict[str, tuple[float, float]]:
    """Per-CPU (busy, total) jiffies from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *vals = line.split()
                vals = [int(v) for v in vals[:8]]
                idle = vals[3] + vals[4]
                out[name] = (sum(vals) - idle, sum(vals))
    return out


def busy_share(before, after, cpu: str) -> float:
    if cpu not in before or cpu not in after:
        return float("nan")
    busy = after[cpu][0] - before[cpu][0]
    total = after[cpu][1] - before[cpu][1]
    return busy / total if total else float("nan")


# --------------------------------------------------------------------------------------------------------
# Database: a fresh bench database, migrated, plus row-write counters
# --------------------------------------------------------------------------------------------------------
class DbStats:
    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.version = self.conn.execute("SHOW server_version").fetchone()[0]

    def snapshot(self) -> dict:
        self.conn.execute("SELECT pg_stat_clear_snapshot()")
        rows = self.conn.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
        ).fetchall()
        tables = {name: ins + upd + dele for name, ins, upd, dele in rows}
        db = self.conn.execute(
            "SELECT xact_commit, sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
        return {"tables": tables, "commits": db[0], "sessions": db[1]}

    @staticmethod
    def delta(before: dict, after: dict) -> dict:
        tables = {k: v - before["tables"].get(k, 0) for k, v in after["tables"].items()}
        return {
            "tables": {k: v for k, v in tables.items() if v},
            "commits": after["commits"] - before["commits"],
            "sessions": after["sessions"] - before["sessions"],
        }

    def close(self) -> None:
        self.conn.close()


# --------------------------------------------------------------------------------------------------------
# Fixtures made with the ORM (before any event loop runs)
# --------------------------------------------------------------------------------------------------------
@dataclass
class Worker:
    user_id: int
    conversation_id: int
    credential_id: int
    cookie: str


def prepare_database() -> tuple[str, str, int | None]:
    """(bench database URL, description, the embedded PostgreSQL's postmaster pid, whose CPU the bench reads;
    None on another server)."""
    embedded = not os.environ.get("DATABASE_URL") and not os.environ.get("BENCH_DATABASE_URL")
    url, where = fresh_database(BENCH_DB)
    postmaster = None
    if embedded:
        with contextlib.suppress(OSError, ValueError):
            postmaster = int((var_dir() / "pg" / "postmaster.pid").read_text().split()[0])
    return url, where, postmaster


def make_workers(count: int, fake_url: str) -> list[Worker]:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import User
    from chat.actions import do_create_conversation
    from keys.actions import do_add_credential

    run = uuid.uuid4().hex[:6]
    # No password hashing: 200 PBKDF2 hashes would take minutes and measure nothing here.
    users = User.objects.bulk_create(
        [User(username=f"bench-{run}-{i}", password="!bench") for i in range(count)]  # unusable password
    )
    workers = []
    for user in users:
        key = do_add_credential(
            user,
            preset="openai",
            label="bench",
            base_url=f"{fake_url}/openai/v1",
            auth_style="bearer",
            auth_header="",
            secret="sk-bench-0123456789",
        )
        conversation = do_create_conversation(user)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
        workers.append(Worker(user.pk, conversation.pk, key.pk, cookie))
    return workers


# --------------------------------------------------------------------------------------------------------
# One reply as observed by the driver
# --------------------------------------------------------------------------------------------------------
@dataclass
class Reply:
    t_send: float
    frames: list = field(default_factory=list)  # (arrival time, ws text frame | SSE bytes chunk)
    final_state: str | None = None
    final_frame: str = ""
    error: str = ""
    timed_out: bool = False


@dataclass
class Observed:
    ttft: float | None  # seconds from send to first token
    times: dict[int, float]  # token index -> arrival time relative to send
    order: list[int]  # token indexes in arrival order
    final_state: str | None
    final_tokens: set[int] | None  # tokens in the final bubble (websocket only)
    error: str
    timed_out: bool


def _tokens_with_times(parts: list[tuple[float, str]], t0: float) -> tuple[list[int], dict[int, float]]:
    """Token indexes in order, each with the arrival time (relative to t0) of the part that completed it."""
    text = "".join(p for _, p in parts)
    ends, at = [], 0
    for _, p in parts:
        at += len(p)
        ends.append(at)
    order, times = [], {}
    for m in TOKEN.finditer(text):
        idx = int(m.group(1))
        end = m.end() + 1 if m.end() < len(text) else m.end()  # the separator completes the token
        part = min(bisect_left(ends, end), len(parts) - 1)
        order.append(idx)
        times.setdefault(idx, parts[part][0] - t0)
    return order, times


COMPLETE_TOKEN = re.compile(r"tok(\d+)\s")


def observe_ws(reply: Reply) -> Observed:
    """Apply the frames as the page does (a delta appends, a snapshot replaces the text so far); each token's
    time is the arrival of the frame in which it first appeared complete."""
    text, scanned, times = "", 0, {}
    for t, frame in reply.frames:
        if frame.startswith("<span"):
            text += "".join(html.unescape(chunk) for _mid, chunk in DELTA.findall(frame))
        else:
            snapshots = SNAPSHOT.findall(frame)
            if not snapshots:
                continue
            text, scanned = html.unescape(snapshots[-1][1]), 0
        for m in COMPLETE_TOKEN.finditer(text, scanned):
            times.setdefault(int(m.group(1)), t - reply.t_send)
            scanned = m.end()
    order = [int(m.group(1)) for m in TOKEN.finditer(text)]
    for idx in order:  # a last token with no separator after it (none with the fake provider's tokens)
        times.setdefault(idx, reply.frames[-1][0] - reply.t_send)
    final_tokens = None
    if reply.final_frame:
        body = html.unescape(TAG.sub(" ", reply.final_frame))
        final_tokens = {int(m.group(1)) for m in TOKEN.finditer(body)}
    ttft = min(times.values()) if times else None
    return Observed(ttft, times, order, reply.final_state, final_tokens, reply.error, reply.timed_out)


def observe_sse(reply: Reply) -> Observed:
    parts, buf = [], b""
    for t, chunk in reply.frames:
        buf += chunk
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            for line in event.split(b"\n"):
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    continue
                with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
                    content = json.loads(data)["choices"][0]["delta"].get("content")
                    if content:
                        parts.append((t, content))
    order, times = _tokens_with_times(parts, reply.t_send) if parts else ([], {})
    ttft = min(times.values()) if times else None
    return Observed(ttft, times, order, reply.final_state, None, reply.error, reply.timed_out)


# --------------------------------------------------------------------------------------------------------
# The two drivers
# --------------------------------------------------------------------------------------------------------
def model_name(args) -> str:
    return f"fake-model~tokens={args.tokens}~interval={args.interval_ms}~ttft={args.ttft_ms}"


def reply_timeout(args) -> float:
    return 30.0 + 3 * (args.ttft_ms + args.tokens * args.interval_ms) / 1000


async def run_direct(args, fake_url: str, concurrency: int, rounds: int) -> list[Reply]:
    import httpx

    url = f"{fake_url}/openai/v1/chat/completions"
    body = {
        "model": model_name(args),
        "messages": [{"role": "user", "content": "bench"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    headers = {"Authorization": "Bearer sk-bench-0123456789", "Accept": "text/event-stream"}
    limits = httpx.Limits(max_connections=concurrency + 8, max_keepalive_connections=concurrency + 8)
    replies: list[Reply] = []
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30.0), trust_env=False) as client:

        async def one_conversation() -> None:
            for round_ in range(rounds):
                if round_:
                    await asyncio.sleep(args.think_ms / 1000)
                reply = Reply(t_send=time.perf_counter())
                replies.append(reply)
                try:
                    async with asyncio.timeout(reply_timeout(args)):
                        async with client.stream("POST", url, json=body, headers=headers) as response:
                            if response.status_code != 200:
                                reply.error = f"HTTP {response.status_code}"
                                continue
                            async for chunk in response.aiter_raw():
                                reply.frames.append((time.perf_counter(), chunk))
                    reply.final_state = "done"
                except TimeoutError:
                    reply.timed_out = True
                except httpx.HTTPError as exc:
                    reply.error = repr(exc)

        await asyncio.gather(*(one_conversation() for _ in range(concurrency)))
    return replies


async def open_socket(port: int, worker: Worker):
    from websockets.asyncio.client import connect

    return await connect(
        f"ws://127.0.0.1:{port}/ws/conversations/{worker.conversation_id}/",
        origin=f"http://127.0.0.1:{port}",
        additional_headers={"Cookie": worker.cookie},
        open_timeout=30,
        close_timeout=5,
        ping_interval=None,  # the browser's htmx ws extension sends no pings either
        max_size=None,
    )


async def ws_reply(args, ws, worker: Worker) -> Reply:
    """Send one message and read frames until its final bubble (or an error, or the timeout)."""
    frame = json.dumps(
        {
            "action": "send",
            "client_id": str(uuid.uuid4()),
            "message": "bench",
            "credential": worker.credential_id,
            "model": model_name(args),
        }
    )
    reply = Reply(t_send=time.perf_counter())
    frames = reply.frames
    try:
        await ws.send(frame)
        async with asyncio.timeout(reply_timeout(args)):
            while True:
                text = await ws.recv()
                frames.append((time.perf_counter(), text))
                if text.startswith("<span"):
                    continue  # a delta: parsed after the run, not here
                final = FINAL.search(text)
                if final and final.group(2) != "streaming":
                    reply.final_state, reply.final_frame = final.group(2), text
                    return reply
                error = ERROR.search(text)
                if error and error.group(1).strip():
                    reply.error = html.unescape(error.group(1).strip())
                    return reply
    except TimeoutError:
        reply.timed_out = True
    except Exception as exc:  # a dropped socket: the reply counts as incomplete
        reply.error = repr(exc)
    return reply


async def run_ws(args, port: int, workers: list[Worker], rounds: int, on_open, on_done) -> list[Reply]:
    """Open one socket per worker, call on_open() (the measurement starts), drive the rounds, call on_done()."""
    sem = asyncio.Semaphore(50)

    async def opened(worker):
        async with sem:
            return await open_socket(port, worker)

    sockets = await asyncio.wait_for(asyncio.gather(*(opened(w) for w in workers)), timeout=120)
    replies: list[Reply] = []
    try:
        await on_open()

        async def one_conversation(ws, worker) -> None:
            for round_ in range(rounds):
                if round_:
                    await asyncio.sleep(args.think_ms / 1000)  # a person reads before typing again
                reply = await ws_reply(args, ws, worker)
                replies.append(reply)
                if reply.error and "ConnectionClosed" in reply.error:
                    return

        limit = rounds * (reply_timeout(args) + args.think_ms / 1000) + 60
        try:
            await asyncio.wait_for(
                asyncio.gather(*(one_conversation(ws, w) for ws, w in zip(sockets, workers, strict=True))),
                timeout=limit,
            )
        except TimeoutError:
            log(f"  level timed out after {limit:.0f} s; counting what arrived")
        await on_done()
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return replies


# --------------------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------------------
def gaps(obs: Observed) -> list[float]:
    seq = [obs.times[i] for i in sorted(obs.times)]
    return [b - a for a, b in itertools.pairwise(seq)]


def summarise(args, direct: list[Reply], ws: list[Reply]) -> dict:
    n = args.tokens
    expected = list(range(1, n + 1))
    d_obs = [observe_sse(r) for r in direct]
    w_obs = [observe_ws(r) for r in ws]

    d_ttft = [o.ttft * 1000 for o in d_obs if o.ttft is not None]
    w_ttft = [o.ttft * 1000 for o in w_obs if o.ttft is not None]
    d_gaps = [g * 1000 for o in d_obs for g in gaps(o)]
    w_gaps = [g * 1000 for o in w_obs for g in gaps(o)]
    d_span = [
        (o.times[n] - o.times[1]) * 1000 / (n - 1) for o in d_obs if n in o.times and 1 in o.times and n > 1
    ]
    w_span = [
        (o.times[n] - o.times[1]) * 1000 / (n - 1) for o in w_obs if n in o.times and 1 in o.times and n > 1
    ]

    lost = sum(sum(1 for i in expected if i not in o.times) for o in w_obs)
    out_of_order = sum(
        1 for o in w_obs if o.order and o.order != expected and all(i in o.times for i in expected)
    )
    wrongly_complete = sum(
        1
        for o in w_obs
        if o.final_state == "done"
        and (o.order != expected or (o.final_tokens is not None and o.final_tokens != set(expected)))
    )
    not_done = sum(1 for o in w_obs if o.final_state != "done")
    direct_lost = sum(sum(1 for i in expected if i not in o.times) for o in d_obs)
    return {
        "replies": len(w_obs),
        "direct_replies": len(d_obs),
        "tokens_relayed": sum(len(o.times) for o in w_obs),
        "direct_ttft": (pct(d_ttft, 50), pct(d_ttft, 99)),
        # The provider's own first token, read directly, normally lands 3-5 ms after the nominal delay; a
        # baseline much later than that ran slow, and "added" (websocket minus baseline) would flatter us.
        "baseline_slow": pct(d_ttft, 50) > args.ttft_ms + SLOW_BASELINE_MS,
        "ws_ttft": (pct(w_ttft, 50), pct(w_ttft, 99)),
        # Added = the websocket percentile minus the direct median: the provider's own time is one number,
        # so an outlier in the baseline cannot hide the relay's tail (nor a lucky baseline inflate it).
        "added_ttft": (pct(w_ttft, 50) - pct(d_ttft, 50), pct(w_ttft, 99) - pct(d_ttft, 50)),
        "direct_gap": (pct(d_gaps, 50), pct(d_gaps, 99)),
        "ws_gap": (pct(w_gaps, 50), pct(w_gaps, 99)),
        # Inter-token delay: the gap before each token after the first, as in serving benchmarks' ITL.
        "added_itd": (pct(w_gaps, 50) - pct(d_gaps, 50), pct(w_gaps, 99) - pct(d_gaps, 50)),
        "direct_tpot": statistics.mean(d_span) if d_span else float("nan"),
        "ws_tpot": statistics.mean(w_span) if w_span else float("nan"),
        "lost": lost,
        "wrongly_complete": wrongly_complete,
        "out_of_order": out_of_order,
        "not_done": not_done,
        "errors": sorted({o.error for o in w_obs if o.error})[:3],
        "timeouts": sum(1 for o in w_obs if o.timed_out),
        "direct_lost": direct_lost,
        "direct_failures": sum(1 for o in d_obs if o.error or o.timed_out),
    }


# --------------------------------------------------------------------------------------------------------
# One concurrency level
# --------------------------------------------------------------------------------------------------------
@dataclass
class Env:
    args: argparse.Namespace
    children: Children
    pin: bool
    fake_url: str
    fake_pid: int
    workers: list[Worker]
    warmup: Worker
    db: DbStats
    postmaster: int | None
    logdir: Path
    py_spy: str | None


def start_daphne(env: Env, concurrency: int) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    log_path = env.logdir / f"daphne-{port}.log"
    child_env = dict(os.environ)
    child_env["NOVAWEB_DEBUG"] = "1" if env.args.debug else "0"
    child_env.setdefault("NOVAWEB_LOG_LEVEL", "WARNING")
    launcher = ["-m", "daphne"]
    if env.args.what_if or env.args.trace:
        launcher = [str(ROOT / "bench" / "daphne_hook.py")]  # same daphne, with bench-only patches
        child_env["BENCH_WHATIF"] = ",".join(env.args.what_if)
        if env.args.trace:
            child_env["BENCH_TRACE"] = str(env.args.trace) + f".c{concurrency}"
    proc = env.children.start(
        [sys.executable, *launcher, "-b", "127.0.0.1", "-p", str(port), "novaweb.asgi:application"],
        env=child_env,
        log_path=log_path,
        cpu=0,
        pin=env.pin,
    )
    wait_for_port(port, proc, 60, "daphne", log_path)
    return proc, port, log_path


def rounds_for(args, concurrency: int) -> int:
    return max(1, min(args.max_rounds, math.ceil(args.min_replies / concurrency)))


def run_level(env: Env, concurrency: int) -> dict:
    args = env.args
    rounds = rounds_for(args, concurrency)
    workers = env.workers[:concurrency]
    log(f"C={concurrency}: {rounds} round(s), {concurrency * rounds} replies; direct baseline …")
    d_cpu0, d_t0 = proc_cpu(env.fake_pid) + proc_cpu(os.getpid()), time.perf_counter()
    direct = asyncio.run(run_direct(args, env.fake_url, concurrency, rounds))
    direct_util = (proc_cpu(env.fake_pid) + proc_cpu(os.getpid()) - d_cpu0) / (time.perf_counter() - d_t0)

    daphne, port, daphne_log = start_daphne(env, concurrency)
    pid = daphne.pid
    m: dict = {}
    spy = None

    async def warm_up() -> None:
        ws = await open_socket(port, env.warmup)
        try:
            reply = await ws_reply(args, ws, env.warmup)
            if reply.final_state != "done":
                raise SystemExit(
                    f"warm-up reply failed ({reply.error or reply.final_state or 'timeout'}); "
                    f"daphne log: {daphne_log}\n{tail(daphne_log)}"
                )
        finally:
            await ws.close()

    async def on_open() -> None:
        nonlocal spy
        await asyncio.sleep(1.2)  # connects' and warm-up's stats reach pg_stat (backends flush on exit)
        m["db0"] = env.db.snapshot()
        if env.py_spy:
            spy = start_py_spy(env, pid, concurrency)
        m["cores0"] = cpu_busy()
        m["cpu0"] = proc_cpu(pid)
        m["fake0"] = proc_cpu(env.fake_pid)
        m["self0"] = proc_cpu(os.getpid())
        m["pg0"] = proc_cpu(env.postmaster, children=True) if env.postmaster else None
        m["t0"] = time.perf_counter()

    async def on_done() -> None:
        m["t1"] = time.perf_counter()
        m["cores1"] = cpu_busy()
        m["fake1"] = proc_cpu(env.fake_pid)
        m["self1"] = proc_cpu(os.getpid())
        m["cpu_t1"] = proc_cpu(pid)
        m["pg_t1"] = proc_cpu(env.postmaster, children=True) if env.postmaster else None
        await asyncio.sleep(1.5)  # the last replies' bookkeeping writes, then the stats flush
        m["cpu1"] = proc_cpu(pid)
        m["pg1"] = proc_cpu(env.postmaster, children=True) if env.postmaster else None
        m["db1"] = env.db.snapshot()

    async def drive() -> list[Reply]:
        await warm_up()
        return await run_ws(args, port, workers, rounds, on_open, on_done)

    try:
        ws = asyncio.run(drive())
        hwm_mb = proc_status_kb(pid, "VmHWM") / 1024
        rss_mb = proc_status_kb(pid, "VmRSS") / 1024
        if daphne.poll() is not None:
            raise SystemExit(f"daphne died during the run; log: {daphne_log}\n{tail(daphne_log)}")
    finally:
        if spy is not None:
            stop_py_spy(env, spy)
        env.children.stop(daphne)

    s = summarise(args, direct, ws)
    tokens = s["tokens_relayed"]
    wall = m["t1"] - m["t0"]
    cpu = m["cpu1"] - m["cpu0"]
    db = DbStats.delta(m["db0"], m["db1"])
    replies = max(s["replies"], 1)
    s.update(
        concurrency=concurrency,
        rounds=rounds,
        wall_s=wall,
        cpu_s=cpu,
        cpu_per_1k=cpu / tokens * 1000 if tokens else float("nan"),
        daphne_util=(m["cpu_t1"] - m["cpu0"]) / wall if wall else float("nan"),
        core0_busy=busy_share(m["cores0"], m["cores1"], "cpu0"),
        core1_busy=busy_share(m["cores0"], m["cores1"], "cpu1"),
        direct_driver_util=direct_util,
        driver_util=((m["fake1"] - m["fake0"]) + (m["self1"] - m["self0"])) / wall if wall else float("nan"),
        pg_cpu_per_1k=(m["pg1"] - m["pg0"]) / tokens * 1000 if m["pg0"] is not None and tokens else None,
        # Busy CPU on both cores not explained by daphne, the fake provider, this driver or PostgreSQL's
        # backends: other people's work on this machine, in cores (0.25 = a quarter of one core).
        foreign=(
            busy_share(m["cores0"], m["cores1"], "cpu0")
            + busy_share(m["cores0"], m["cores1"], "cpu1")
            - (
                (m["cpu_t1"] - m["cpu0"])
                + (m["fake1"] - m["fake0"])
                + (m["self1"] - m["self0"])
                + ((m["pg_t1"] - m["pg0"]) if m["pg0"] is not None else 0)
            )
            / wall
        )
        if wall
        else float("nan"),
        peak_mb=hwm_mb,
        rss_mb=rss_mb,
        db_tables=db["tables"],
        msg_writes=db["tables"].get("chat_message", 0) / replies,
        all_writes=sum(db["tables"].values()) / replies,
        commits=db["commits"] / replies,
        sessions=db["sessions"] / replies,
    )
    log(
        f"  done in {wall:.1f} s: added TTFT p50 {s['added_ttft'][0]:.1f} ms, "
        f"CPU {s['cpu_per_1k']:.3f} s/1k tokens, lost {s['lost']}, peak {hwm_mb:.0f} MB"
    )
    return s


def start_py_spy(env: Env, pid: int, concurrency: int) -> subprocess.Popen:
    out = env.args.profile_dir / f"daphne-c{concurrency}.txt"
    return env.children.start(
        [env.py_spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "--gil",
         "--output", str(out)],
        env=dict(os.environ),
        log_path=env.logdir / "py-spy.log",
        cpu=1,
        pin=env.pin,
    )  # fmt: skip


def stop_py_spy(env: Env, spy: subprocess.Popen) -> None:
    if spy.poll() is None:
        os.kill(spy.pid, signal.SIGINT)  # py-spy writes its output on SIGINT
        with contextlib.suppress(subprocess.TimeoutExpired):
            spy.wait(30)
    env.children.stop(spy)


# --------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------
def f1(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1f}"


def pair(p) -> str:
    return f"{f1(p[0])} / {f1(p[1])}"


def tables(results: list[dict]) -> str:
    lines = [
        "| C | replies | added first token p50 / p99 (ms) | added inter-token delay p50 / p99 (ms) "
        "| tokens lost | wrongly complete | CPU s / 1k tokens | peak memory (MB) | DB rows written / reply "
        "(chat_message / all tables) |",
        "|---:|---:|---|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['concurrency']} | {r['replies']} | {pair(r['added_ttft'])} | {pair(r['added_itd'])} "
            f"| {r['lost']} | {r['wrongly_complete']} | {r['cpu_per_1k']:.3f} | {r['peak_mb']:.0f} "
            f"| {r['msg_writes']:.1f} / {r['all_writes']:.1f} |"
        )
    lines += [
        "",
        "Beside it, the raw figures:",
        "",
        "| C | first token p50 / p99, direct → websocket (ms) | gap between tokens p50 / p99, direct → websocket (ms) "
        "| mean ms/token after the first, direct → websocket | replies not done / timed out "
        "| daphne CPU (share of core 0) | fake provider + driver, share of core 1: direct → websocket phase "
        "| other processes on the machine (cores) "
        "| DB commits / sessions per reply | PostgreSQL CPU s / 1k tokens (whole server) |",
        "|---:|---|---|---|---|---:|---:|---:|---|---:|",
    ]
    for r in results:
        pg = "n/a" if r["pg_cpu_per_1k"] is None else f"{r['pg_cpu_per_1k']:.3f}"
        lines.append(
            f"| {r['concurrency']} | {pair(r['direct_ttft'])} → {pair(r['ws_ttft'])} "
            f"| {pair(r['direct_gap'])} → {pair(r['ws_gap'])} "
            f"| {r['direct_tpot']:.2f} → {r['ws_tpot']:.2f} | {r['not_done']} / {r['timeouts']} "
            f"| {r['daphne_util'] * 100:.0f}% | {r['direct_driver_util'] * 100:.0f}% → {r['driver_util'] * 100:.0f}% "
            f"| {max(0.0, r['foreign']):.2f} "
            f"| {r['commits']:.1f} / {r['sessions']:.1f} | {pg} |"
        )
    return "\n".join(lines)


TARGETS = [
    ("added first token p50 at C=1 under 5 ms", 1, lambda r: r["added_ttft"][0] < 5),
    ("added first token p99 at C=10 under 20 ms", 10, lambda r: r["added_ttft"][1] < 20),
    ("under 0.08 CPU-seconds per 1,000 tokens (every C)", None, lambda r: r["cpu_per_1k"] < 0.08),
    ("peak memory under 150 MB (every C)", None, lambda r: r["peak_mb"] < 150),
    (
        "no token lost, none wrongly complete at C=200",
        200,
        lambda r: r["lost"] == 0 and r["wrongly_complete"] == 0,
    ),
]


def verdicts(results: list[dict]) -> list[str]:
    by_c = {r["concurrency"]: r for r in results}
    out = []
    for text, c, ok in TARGETS:
        if c is None:
            bad = [r["concurrency"] for r in results if not ok(r)]
            verdict = "met" if not bad else "MISSED at C=" + ", ".join(map(str, bad))
        elif c in by_c and "first token" in text and by_c[c]["baseline_slow"]:
            verdict = "not measured (the direct baseline ran slow: see the notes)"
        elif c in by_c:
            verdict = "met" if ok(by_c[c]) else "MISSED"
        else:
            verdict = "not measured"
        out.append(f"- {text}: **{verdict}**")
    lost_any = [r["concurrency"] for r in results if r["lost"] or r["wrongly_complete"]]
    if lost_any:
        out.append(f"- tokens lost or replies wrongly complete at C={', '.join(map(str, lost_any))}")
    return out


def report(env: Env, results: list[dict], command: str, db_where: str, idle_note: str) -> str:
    args = env.args
    django_version = __import__("django").get_version()
    pinning = (
        "daphne pinned to core 0, the fake provider and this driver to core 1 (taskset)"
        if env.pin
        else "**unpinned** (taskset missing or fewer than 2 cores): figures are less trustworthy"
    )
    head = [
        f"Command: `{command}`",
        "",
        f"Date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}. "
        f"Machine: {machine()}. Python {platform.python_version()}, Django {django_version}, "
        f"PostgreSQL {env.db.version} ({db_where}), in-memory channel layer, "
        f"DEBUG {'on' if args.debug else 'off'}; {pinning}. App: {app_version()}.",
        "",
        f"Each reply: {args.tokens} tokens, {args.interval_ms} ms apart, {args.ttft_ms} ms to the first token "
        f"(`{model_name(args)}`). A fresh daphne per concurrency level, warmed by one reply; each of the C "
        "conversations sends its messages one after another (replies per level in the table). " + idle_note,
        "",
    ]
    warnings = []
    for r in results:
        if r["direct_lost"] or r["direct_failures"]:
            warnings.append(
                f"- C={r['concurrency']}: the direct baseline itself lost {r['direct_lost']} tokens / "
                f"{r['direct_failures']} streams."
            )
        if r["direct_driver_util"] > 0.85:
            warnings.append(
                f"- C={r['concurrency']}: during the direct baseline the fake provider and the driver used "
                f"{r['direct_driver_util'] * 100:.0f}% of core 1, so the baseline itself ran late (see its "
                "ms/token): the added figures at this level are understated."
            )
        if r["baseline_slow"] and r["direct_driver_util"] <= 0.85:  # else said just above
            warnings.append(
                f"- C={r['concurrency']}: the direct baseline's first token came at {r['direct_ttft'][0]:.1f} ms "
                f"(p50), more than {SLOW_BASELINE_MS} ms after the nominal {args.ttft_ms} ms: the baseline ran "
                "slow, so the added first-token figures at this level are understated; run the level again."
            )
        if r["driver_util"] > 0.85:
            warnings.append(
                f"- C={r['concurrency']}: the fake provider and the driver used {r['driver_util'] * 100:.0f}% of "
                "core 1: the fake provider paces late and the driver timestamps late (in the baseline too), "
                "so latency at this level is an upper bound."
            )
        if r["foreign"] > 0.1:
            warnings.append(
                f"- C={r['concurrency']}: other processes on this machine used {r['foreign']:.2f} cores during "
                "the run; latency figures are skewed upwards (CPU seconds much less so)."
            )
        if r["errors"]:
            warnings.append(f"- C={r['concurrency']}: errors seen: {'; '.join(r['errors'])}")
    if args.what_if or args.trace:
        head.insert(
            0, f"**What-if/trace run ({', '.join(args.what_if) or 'trace'}): not the app as it is.**\n"
        )
    body = [*head, tables(results), "", "Targets:", "", *verdicts(results)]
    if warnings:
        body += ["", "Notes from this run:", "", *warnings]
    return "\n".join(body)


# --------------------------------------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--concurrency", default="1,10,50,200", help="comma-separated levels (default 1,10,50,200)"
    )
    p.add_argument("--tokens", type=int, default=200)
    p.add_argument("--interval-ms", type=int, default=5)
    p.add_argument("--ttft-ms", type=int, default=50)
    p.add_argument("--think-ms", type=int, default=200, help="pause between a conversation's messages (200)")
    p.add_argument("--quick", action="store_true", help="fewer replies per level; docs are not written")
    p.add_argument("--min-replies", type=int, help="replies per level at least (default 100; --quick 10)")
    p.add_argument("--max-rounds", type=int, help="messages per conversation at most (default 30; --quick 3)")
    p.add_argument("--debug", action="store_true", help="run daphne with NOVAWEB_DEBUG=1 (default off)")
    p.add_argument("--write-docs", action=argparse.BooleanOptionalAction, default=None,
                   help="put the table in docs/benchmarks.md (default: yes, except with --quick)")  # fmt: skip
    p.add_argument("--profile-dir", type=Path,
                   help="record daphne with py-spy (PATH, $PY_SPY or /tmp/pyspy/bin) into DIR, one file per level")  # fmt: skip
    p.add_argument("--what-if", default="",
                   help="bench-only changes to daphne via bench/daphne_hook.py (persistent-db, no-dispatch-close, switch-1ms); docs untouched")  # fmt: skip
    p.add_argument("--trace", type=Path,
                   help="time the reply path's steps in daphne into TRACE.cN (see bench/daphne_hook.py)")  # fmt: skip
    p.add_argument("--wait-idle", type=float, default=0,
                   help="before each level, wait up to this many seconds for both cores to be idle")  # fmt: skip
    p.add_argument(
        "--max-seconds", type=float, default=900, help="skip remaining levels past this (default 900)"
    )
    args = p.parse_args(argv)
    args.levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if not args.levels or min(args.levels) < 1 or args.tokens < 2:
        p.error("need concurrency levels >= 1 and at least 2 tokens")
    args.min_replies = args.min_replies or (10 if args.quick else 100)
    args.max_rounds = args.max_rounds or (3 if args.quick else 30)
    args.what_if = [w.strip() for w in args.what_if.split(",") if w.strip()]
    unknown = set(args.what_if) - {"persistent-db", "no-dispatch-close", "switch-1ms"}
    if unknown:
        p.error(f"unknown --what-if: {', '.join(sorted(unknown))}")
    if args.write_docs is None:
        args.write_docs = not args.quick and not args.what_if and not args.trace
    elif args.write_docs and (args.what_if or args.trace):
        p.error("--what-if/--trace runs are not the app as it is: they never go into the docs")
    return args


def idle_check(wait: float = 0.0) -> str:
    """How busy the machine was just before (other work skews CPU-bound figures); waits up to `wait` s."""
    deadline = time.monotonic() + wait
    while True:
        a = cpu_busy()
        time.sleep(1.0)
        b = cpu_busy()
        shares = {c: busy_share(a, b, c) for c in ("cpu0", "cpu1")}
        if all(v <= 0.15 for v in shares.values() if not math.isnan(v)) or time.monotonic() >= deadline:
            break
    text = ", ".join(f"core {c[3:]} {v * 100:.0f}%" for c, v in shares.items() if not math.isnan(v))
    if any(v > 0.15 for v in shares.values() if not math.isnan(v)):
        log(f"warning: the machine is not idle before the run ({text}); figures will be skewed")
        return f"**The machine was not idle before the run ({text} busy); figures are skewed.**"
    return f"Machine idle before the run ({text} busy)."


def main(argv=None) -> int:
    args = parse_args(argv)
    command = "python bench/relay.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    started = time.monotonic()
    pin = bool(shutil.which("taskset")) and (os.cpu_count() or 1) >= 2
    if not pin:
        log("warning: taskset missing or fewer than 2 cores: running unpinned")
    else:
        os.sched_setaffinity(0, {1})  # the driver (and every thread it starts) on core 1
    py_spy = None
    if args.profile_dir:
        py_spy = shutil.which("py-spy") or os.environ.get("PY_SPY")
        if not py_spy and Path("/tmp/pyspy/bin/py-spy").exists():
            py_spy = "/tmp/pyspy/bin/py-spy"
            os.environ["PYTHONPATH"] = "/tmp/pyspy"
        if not py_spy:
            raise SystemExit("--profile-dir needs py-spy (pip install --target /tmp/pyspy py-spy)")
        args.profile_dir.mkdir(parents=True, exist_ok=True)

    children = Children()

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    # One bench at a time: a second one would drop the database under the first.
    lock = open(Path(tempfile.gettempdir()) / "novaweb-bench.lock", "w")  # noqa: SIM115 — held until exit
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit("another bench/relay.py is running (it holds /tmp/novaweb-bench.lock)") from None
    logdir = Path(tempfile.mkdtemp(prefix="novaweb-bench-"))
    try:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaweb.settings")
        db_url, db_where, postmaster = prepare_database()
        import django

        django.setup()
        from django.core.management import call_command

        log(f"migrating {BENCH_DB} …")
        call_command("migrate", interactive=False, verbosity=0)

        fake_port = free_port()
        fake_log = logdir / "fakeprovider.log"
        fake = children.start(
            [sys.executable, "-m", "tests.fakeprovider", "--host", "127.0.0.1", "--port", str(fake_port)],
            env=dict(os.environ),
            log_path=fake_log,
            cpu=1,
            pin=pin,
        )
        wait_for_port(fake_port, fake, 30, "the fake provider", fake_log)
        fake_url = f"http://127.0.0.1:{fake_port}"

        log(f"making {max(args.levels) + 1} users, keys and conversations …")
        workers = make_workers(max(args.levels) + 1, fake_url)
        from django.db import connections

        connections.close_all()
        env = Env(args, children, pin, fake_url, fake.pid, workers[1:], workers[0], DbStats(db_url),
                  postmaster, logdir, py_spy)  # fmt: skip
        idle_note = idle_check(args.wait_idle)
        results = []
        for concurrency in args.levels:
            if time.monotonic() - started > args.max_seconds:
                log(f"skipping C={concurrency}: past --max-seconds")
                continue
            if args.wait_idle:
                idle_check(args.wait_idle)
            results.append(run_level(env, concurrency))
        block = report(env, results, command, db_where, idle_note)
        print()
        print(block)
        if args.write_docs:
            write_block(MARK_START, MARK_END, block)
            log("\nwrote the table into docs/benchmarks.md")
        if args.profile_dir:
            log(f"py-spy profiles in {args.profile_dir} (summarise: python bench/profile_summary.py FILE)")
        env.db.close()
        shutil.rmtree(logdir, ignore_errors=True)
        return 0
    except KeyboardInterrupt:
        log("interrupted; stopping the children")
        return 130
    finally:
        children.stop_all()


if __name__ == "__main__":
    sys.exit(main())
