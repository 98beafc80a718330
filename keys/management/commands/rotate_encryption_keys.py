"""manage.py rotate_encryption_keys: re-encrypt stored provider secrets under the newest key.

The procedure (docs/deployment.md): put a new key first in NOVAWEB_ENCRYPTION_KEYS and restart, run this
command, then drop the old key. Output holds counts, key ids and labels; never a secret or a ciphertext.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from keys.rotation import Outcome, rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored provider secret under the newest (first) key of NOVAWEB_ENCRYPTION_KEYS. "
        "Idempotent, and safe to stop and run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only report what would change; exit 1 if a secret still needs rotating or cannot be read.",
        )
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Keys read per database query (default 500)."
        )

    def handle(self, *args, check=False, batch_size=500, verbosity=1, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        keys = len(settings.NOVAWEB_ENCRYPTION_KEYS)
        self.stdout.write(
            f"{keys} encryption key{'s' if keys != 1 else ''} configured; the first is the newest."
        )
        outcome = Outcome()

        def progress(done: Outcome) -> None:
            if verbosity >= 2:
                self.stdout.write(f"… {done.seen} keys looked at")

        try:
            rotate_all(outcome, batch_size=batch_size, check=check, after_batch=progress)
        except KeyboardInterrupt:
            self._report(outcome, check)
            raise CommandError(
                "Stopped. Every key is still readable; run the command again to finish.", returncode=130
            ) from None
        self._report(outcome, check)
        if outcome.unreadable:
            n = len(outcome.unreadable)
            raise CommandError(
                f"{n} key{'s' if n != 1 else ''} could not be read with any configured key "
                "(listed above); their owners must enter them again. Everything else was done."
            )
        if check and outcome.rotated:
            raise CommandError("Some keys are not yet under the newest key: run without --check.")

    def _report(self, outcome: Outcome, check: bool) -> None:
        self.stdout.write(f"{'Would rotate' if check else 'Rotated'}: {outcome.rotated}")
        self.stdout.write(f"Already under the newest key: {outcome.current}")
        if outcome.changed:
            self.stdout.write(f"Replaced or deleted while running (left as they are): {outcome.changed}")
        self.stdout.write(f"Unreadable: {len(outcome.unreadable)}")
        for row in outcome.unreadable:
            whose = f"{row.owner}'s key" if row.owner else "shared key"
            self.stdout.write(f"  id {row.id}, “{row.label}” ({whose}): no configured key opens it")
