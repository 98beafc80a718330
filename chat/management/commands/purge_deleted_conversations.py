from django.core.management.base import BaseCommand

from chat.organising import do_purge_deleted


class Command(BaseCommand):
    help = "Delete for good the conversations deleted longer ago than their few seconds of Undo."

    def handle(self, *args, **options):
        count = do_purge_deleted()
        if count:
            self.stdout.write(f"Deleted {count} conversation{'' if count == 1 else 's'} for good.")
