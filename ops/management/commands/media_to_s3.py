from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from ops.media_copy import media_copy
from ops.storage_check import is_s3


class Command(BaseCommand):
    help = (
        "Copy every file under a local media folder (default: MEDIA_ROOT) into the S3 media "
        "storage under the same names, so existing rows keep working. Files already there with "
        "the same size and checksum are skipped, so an interrupted run can be run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", type=Path, help="The local media folder.")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be copied.")

    def handle(self, *args, path, dry_run, **options):
        root = (path or Path(settings.MEDIA_ROOT)).resolve()
        if not root.is_dir():
            raise CommandError(f"{root} is not a folder.")
        if not is_s3(default_storage):
            raise CommandError(
                "The media storage is not S3: set AWS_STORAGE_BUCKET_NAME and "
                "AWS_S3_REGION_NAME in secrets.json first."
            )
        target = f"s3://{default_storage.bucket_name}/{default_storage.location}/"
        self.stdout.write(f"{'Dry run: ' if dry_run else ''}{root} -> {target}")
        result = media_copy(
            root=root, storage=default_storage, dry_run=dry_run, report=self.stdout.write
        )
        verb = "would copy" if dry_run else "copied"
        self.stdout.write(
            f"{verb} {result.copied} files ({result.copied_bytes:,} bytes), skipped "
            f"{result.skipped} already there, {len(result.failed)} failed."
        )
        if result.failed:
            self.stderr.write("Could not copy:")
            for name, reason in result.failed:
                self.stderr.write(f"  {name}: {reason}")
        if result.interrupted:
            raise CommandError(
                "Interrupted: run the command again to copy the rest.", returncode=130
            )
        if result.failed:
            raise CommandError(f"{len(result.failed)} files could not be copied (listed above).")
