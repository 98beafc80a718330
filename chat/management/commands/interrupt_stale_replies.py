from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from chat.actions import do_interrupt_stale_replies


class Command(BaseCommand):
    help = "Mark replies left 'streaming' by a stopped server as interrupted (their text so far is kept)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            action="store_true",
            help="Every streaming reply, however recent: only when no NovaWeb server is running.",
        )

    def handle(self, *args, **options):
        stale_after = (
            timedelta(0) if options["all"] else timedelta(seconds=settings.NOVAWEB_STALE_REPLY_SECONDS)
        )
        count = do_interrupt_stale_replies(stale_after=stale_after)
        if count:
            self.stdout.write(f"Marked {count} unfinished repl{'y' if count == 1 else 'ies'} as interrupted.")
