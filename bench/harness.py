"""What every bench script needs: a fresh database, one definition of a percentile, the machine and commit
measured, and its own block of docs/benchmarks.md rewritten in place."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def server_url() -> tuple[str, str]:
    """The PostgreSQL server to make bench databases on, and where it is in words: DATABASE_URL's server, or
    the embedded one under var/ (started for this process; it stops with its last user)."""
    base = os.environ.get("DATABASE_URL")
    if base:
        return base, "the server of DATABASE_URL"
    from novaweb.embedded_pg import database_url

    return database_url(var_dir() / "pg"), "the embedded PostgreSQL (var/pg)"


def var_dir() -> Path:
    return Path(os.environ.get("NOVAWEB_VAR_DIR") or ROOT / "var")


def fresh_database(name: str) -> tuple[str, str]:
    """(URL, description) of a new, empty database `name`, dropped first if it was there; DATABASE_URL is set
    to it for Django. BENCH_DATABASE_URL names a database to use as it is instead."""
    import psycopg

    explicit = os.environ.get("BENCH_DATABASE_URL")
    if explicit:
        os.environ["DATABASE_URL"] = explicit
        return explicit, "BENCH_DATABASE_URL (used as is)"
    base, where = server_url()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(base, name)
    os.environ["DATABASE_URL"] = url
    return url, f"a fresh database `{name}` on {where}"


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0 to 100), interpolated between the two nearest ranks; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def app_version() -> str:
    """The commit measured, and whether app code had uncommitted changes (read-only git calls)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown commit"
    changed = [line[3:] for line in status if not line[3:].startswith(("bench/", "docs/", "tests/"))]
    return f"commit {head}" + (f" with uncommitted changes to {', '.join(changed)}" if changed else "")


def machine() -> str:
    """Cores, CPU model, memory and kernel, e.g. "2 cores (AMD EPYC), 23.5 GB RAM, Linux 6.1"."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        memory = f", {kb / 1024 / 1024:.1f} GB RAM"
    cpu = model or platform.processor() or "unknown CPU"
    return f"{os.cpu_count()} cores ({cpu}){memory}, Linux {platform.release()}"


def write_block(start: str, end: str, block: str, heading: str = "") -> None:
    """Put `block` between the markers `start` and `end` in docs/benchmarks.md, replacing what was there; at
    the end of the file (under `heading`, if given) the first time."""
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n\n"
    new = f"{start}\n{block}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + new + after
    else:
        title = f"## {heading}\n\n" if heading else ""
        text = text.rstrip("\n") + "\n\n" + title + new + "\n"
    DOCS.write_text(text)
