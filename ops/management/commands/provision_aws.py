from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ops.provision import Options, Provisioner, ProvisionError

OUTPUT_LABELS = {
    "bucket": "S3 bucket",
    "instance_profile": "EC2 instance profile (launch web servers with it)",
    "web_security_group": "web servers' security group",
    "db_security_group": "database's security group",
    "db_endpoint": "RDS endpoint",
    "db_master_secret": "RDS master password (Secrets Manager secret)",
    "cache_security_group": "cache's security group",
    "cache_endpoint": "ElastiCache endpoint (REDIS_URL in the secrets file)",
    "ses_identity": "SES identity the app sends mail as",
    "ses_dkim_records": "DNS records to add for DKIM (then SES verifies the domain)",
}


class Command(BaseCommand):
    help = (
        "Provision S3, IAM, security groups, RDS, (with --mail-from) SES and (with --redis) "
        "ElastiCache for the app, safe by default. Idempotent: "
        "a second run changes nothing. --dry-run prints the plan."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--bucket", required=True, help="S3 bucket for media (global name).")
        parser.add_argument(
            "--origin",
            dest="origins",
            action="append",
            required=True,
            help="The site's origin for CORS, e.g. https://www.example.com (repeatable).",
        )
        parser.add_argument(
            "--ssh-cidr", required=True, help="The only network SSH is admitted from."
        )
        parser.add_argument("--region", help="AWS region (default: boto3's, e.g. AWS_REGION).")
        parser.add_argument("--name", default="instagram", help="Prefix of resource names.")
        parser.add_argument("--db-instance-class", default="db.t4g.micro")
        parser.add_argument(
            "--multi-az",
            action="store_true",
            help="Keep a standby of the database in a second availability zone (twice the "
            "price); a later run without it leaves the standby in place.",
        )
        parser.add_argument(
            "--keep-deleted-days",
            type=int,
            default=30,
            help="Days a deleted or replaced photo stays restorable with media_restore "
            "(default 30).",
        )
        parser.add_argument(
            "--iam-user",
            action="store_true",
            help="Also make an IAM user with the media policy and write its new access key to "
            "the secrets file (for hosts that cannot use the instance profile).",
        )
        parser.add_argument(
            "--secrets-file",
            type=Path,
            help="Where to write the bucket, database and keys (default: the app's).",
        )
        parser.add_argument(
            "--mail-from",
            default="",
            help="The address mail comes from, e.g. hello@example.com: adds an SES identity and "
            "lets the app send as it (and only as it).",
        )
        parser.add_argument(
            "--ses-identity",
            choices=("domain", "address"),
            default="domain",
            help="Verify the whole domain of --mail-from with DKIM (default), or the address only.",
        )
        parser.add_argument(
            "--redis",
            action="store_true",
            help="Also make an ElastiCache (Valkey) cache, reachable only from the web servers, "
            "for the cache, sessions and rate counters, and write its REDIS_URL to the secrets "
            "file.",
        )
        parser.add_argument("--cache-node-type", default="cache.t4g.micro")
        parser.add_argument("--dry-run", action="store_true", help="Print the plan only.")

    def handle(self, *args, **options):
        session = boto3.Session()
        region = options["region"] or session.region_name
        if not region:
            raise CommandError("Give --region, e.g. --region ap-northeast-2.")
        try:
            plan = Options(
                region=region,
                bucket=options["bucket"],
                origins=tuple(options["origins"]),
                ssh_cidr=options["ssh_cidr"],
                secrets_path=options["secrets_file"] or settings.SECRETS.path,
                name=options["name"],
                db_instance_class=options["db_instance_class"],
                iam_user=options["iam_user"],
                keep_deleted_days=options["keep_deleted_days"],
                multi_az=options["multi_az"],
                mail_from=options["mail_from"],
                ses_identity=options["ses_identity"],
                redis=options["redis"],
                cache_node_type=options["cache_node_type"],
            )
            provisioner = Provisioner(
                plan, session=session, dry_run=options["dry_run"], report=self.stdout.write
            )
            mode = "dry run: the plan, nothing is changed" if options["dry_run"] else "applying"
            self.stdout.write(f"Provisioning {plan.name} in {region} ({mode})")
            changes = provisioner.run()
        except ProvisionError as exc:
            raise CommandError(str(exc)) from None
        except ClientError as exc:
            error = exc.response["Error"]
            raise CommandError(
                f"AWS refused {exc.operation_name}: {error.get('Code')}: {error.get('Message')}"
            ) from None
        except BotoCoreError as exc:
            raise CommandError(f"Could not reach AWS: {exc}") from None
        if not changes:
            self.stdout.write("No changes: everything already is as it should be.")
        elif options["dry_run"]:
            self.stdout.write(f"{len(changes)} changes planned; nothing was changed (dry run).")
        else:
            self.stdout.write(self.style.SUCCESS(f"{len(changes)} changes made."))
        for key, value in provisioner.outputs.items():
            self.stdout.write(f"  {OUTPUT_LABELS[key]}: {value}")
