"""Provision what the app needs on AWS, safe by default: S3, IAM, security groups, RDS and (with
``--redis``) ElastiCache.

Each step compares what exists with what should exist and changes only the difference, so a
second run changes nothing and says so, and a dry run prints the plan without changing anything.
Access goes through one least-privilege policy on ``<bucket>/media/*``; the database admits
PostgreSQL (and the cache, Redis) only from the web servers' security group. One module per AWS
service holds its steps; ``Provisioner.run`` is the plan that orders them.
"""

from collections.abc import Callable
from typing import Any

import boto3

from ops import ses
from ops.provision.elasticache import CacheSteps
from ops.provision.iam import IamSteps, media_policy_document
from ops.provision.network import NetworkSteps, cache_rules, db_rules, web_rules
from ops.provision.plan import Options, ProvisionError
from ops.provision.rds import DatabaseSteps
from ops.provision.s3 import BucketSteps
from ops.provision.secrets_file import SecretsFileSteps

__all__ = ["Options", "ProvisionError", "Provisioner", "media_policy_document"]


class Provisioner(BucketSteps, IamSteps, NetworkSteps, DatabaseSteps, CacheSteps, SecretsFileSteps):
    """Bring the AWS account to ``options``, reporting each change (or planned change)."""

    def __init__(
        self,
        options: Options,
        *,
        session: boto3.Session,
        dry_run: bool = False,
        report: Callable[[str], None] = print,
    ):
        self.options = options
        self.dry_run = dry_run
        self.report = report
        self.changes: list[str] = []
        # What the operator needs next: ids, the database endpoint, the master password secret.
        self.outputs: dict[str, str] = {}
        region = options.region
        self.s3 = session.client("s3", region_name=region)
        self.iam = session.client("iam", region_name=region)
        self.ec2 = session.client("ec2", region_name=region)
        self.rds = session.client("rds", region_name=region)
        self.sts = session.client("sts", region_name=region)
        self.ses = session.client("ses", region_name=region)
        self.elasticache = session.client("elasticache", region_name=region)
        self.mail: ses.MailIdentity | None = None

    def run(self) -> list[str]:
        """Provision everything; return the changes made (planned, in a dry run)."""
        account = self.sts.get_caller_identity()["Account"]
        self.bucket()
        if self.options.mail_from:
            self.mail = ses.MailIdentity(
                client=self.ses,
                region=self.options.region,
                account=account,
                mail_from=self.options.mail_from,
                kind=self.options.ses_identity,
                change=self.change,
            )
            self.outputs.update(self.mail.provision())
        policy_arn = f"arn:aws:iam::{account}:policy/{self.options.policy_name}"
        self.media_policy(policy_arn)
        self.web_role(policy_arn)
        if self.options.iam_user:
            self.media_user(policy_arn)
        vpc_id = self.default_vpc()
        web_group = self.security_group(
            self.options.web_group_name,
            "Web servers: HTTP and HTTPS from anywhere, SSH from the operator",
            vpc_id,
            web_rules(self.options.ssh_cidr),
        )
        db_group = self.security_group(
            self.options.db_name,
            "Database: PostgreSQL from the web servers only",
            vpc_id,
            db_rules(web_group),
        )
        self.outputs.update(web_security_group=web_group, db_security_group=db_group)
        self.db_subnet_group(vpc_id)
        instance = self.database(db_group)
        redis_url = None
        if self.options.redis:
            cache_group = self.security_group(
                self.options.cache_name,
                "Cache: Redis (Valkey) from the web servers only",
                vpc_id,
                cache_rules(web_group),
            )
            self.outputs["cache_security_group"] = cache_group
            self.cache_subnet_group(vpc_id)
            redis_url = self.cache(cache_group)
        self.secrets_file(instance, redis_url=redis_url)
        return self.changes

    def change(self, description: str, action: Callable[[], Any]) -> Any:
        """Record a change and make it, unless this is a dry run."""
        self.changes.append(description)
        self.report(f"+ {description}")
        return None if self.dry_run else action()
