from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ops.media_restore import MediaRestore, MediaRestoreError, parse_since


class Command(BaseCommand):
    help = (
        "Bring back media deleted since --since whose rows still exist (e.g. after a wrong "
        "media_gc, or after restoring the database from a snapshot), by removing the delete "
        "markers in the versioned bucket. --dry-run lists them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            required=True,
            help="When the deletions began: 2026-12-01T05:30Z (UTC unless an offset is given), "
            "or a span before now such as 90m, 6h, 2d.",
        )
        parser.add_argument("--dry-run", action="store_true", help="List only; change nothing.")
        parser.add_argument(
            "--profile",
            help="An AWS CLI profile with the rights to restore (the app's own lack them).",
        )

    def handle(self, *args, since: str, dry_run: bool, profile: str | None, **options) -> None:
        try:
            moment = parse_since(since, timezone.now())
            restore = MediaRestore(default_storage, profile=profile)
            plan = restore.plan(moment)
            for deleted in plan.restorable:
                when = f"deleted {deleted.when:%Y-%m-%d %H:%M:%S} UTC"
                self.stdout.write(f"{'Would restore' if dry_run else 'Restoring'} {deleted.key} "
                                  f"({when})")  # fmt: skip
                if not dry_run:
                    restore.restore(deleted)
        except MediaRestoreError as error:
            raise CommandError(str(error)) from None
        except (BotoCoreError, ClientError) as error:
            raise CommandError(f"S3 failed: {error}") from None
        for deleted in plan.lost:
            self.stderr.write(
                f"Cannot restore {deleted.key} (deleted {deleted.when:%Y-%m-%d %H:%M:%S} UTC): "
                f"no version is left behind its delete marker (kept --keep-deleted-days only)."
            )
        verb = "would be restored" if dry_run else "restored"
        self.stdout.write(
            f"{len(plan.restorable):,} objects named by rows {verb}; {len(plan.lost):,} cannot "
            f"be (no version left); {len(plan.earlier):,} named by rows were deleted before "
            f"{moment:%Y-%m-%d %H:%M:%S} UTC (give an earlier --since to restore them); "
            f"{plan.unreferenced:,} deleted since then are named by no row and stay deleted."
        )
        if plan.lost:
            raise CommandError(f"{len(plan.lost):,} objects named by rows are gone for good.")
