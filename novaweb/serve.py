"""`make run`: migrate, then serve NovaWeb with daphne, on the embedded PostgreSQL unless DATABASE_URL is set.

This process owns the embedded database: it starts it, hands its URL to daphne, and stops it when daphne
exits — on Ctrl-C and on SIGTERM alike (a signal is turned into a normal exit so atexit cleanup runs).
"""

import os
import signal
import subprocess
import sys

import django


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaweb.settings")
    django.setup()  # starts the embedded PostgreSQL when DATABASE_URL is unset
    from django.conf import settings
    from django.core.management import call_command

    os.environ["DATABASE_URL"] = settings.DATABASE_URL  # daphne reuses this server, not a second one
    call_command("migrate", interactive=False, verbosity=1)
    call_command("interrupt_stale_replies", all=True)
    call_command("purge_deleted_conversations")  # deletions whose Undo ran out while the server was down

    host = os.environ.get("NOVAWEB_HOST", "127.0.0.1")
    port = os.environ.get("NOVAWEB_PORT", "8000")
    daphne = subprocess.Popen(  # noqa: S603 — fixed argv, no shell
        [sys.executable, "-m", "daphne", "-b", host, "-p", port, "novaweb.asgi:application"]
    )

    stopping = []

    def forward(signum, _frame):
        stopping.append(signum)
        if daphne.poll() is None:
            daphne.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    print(f"NovaWeb is serving at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    code = daphne.wait()
    print("NovaWeb stopped; the embedded database stops with it.", flush=True)
    # Stopped on purpose (Ctrl-C, SIGTERM): a clean exit, whatever status the signal left daphne with.
    return 0 if stopping else code


if __name__ == "__main__":
    sys.exit(main())
