from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from ops.storage_check import StorageCheckError, storage_check, storage_facts


class Command(BaseCommand):
    help = (
        "Write, read, list and delete a probe object in the media storage; say where it is and "
        "whose credentials are used; exit non-zero with the reason when a step fails."
    )

    def handle(self, *args, **options):
        for label, value in storage_facts(default_storage).items():
            self.stdout.write(f"{label + ':':<13}{value}")
        try:
            storage_check(default_storage, report=self.stdout.write)
        except StorageCheckError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS("The media storage works."))
