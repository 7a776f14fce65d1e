"""Provision what the app needs on AWS, safe by default: S3, IAM, security groups and RDS.

Each step compares what exists with what should exist and changes only the difference, so a
second run changes nothing and says so, and a dry run prints the plan without changing anything.
Access goes through one least-privilege policy on ``<bucket>/media/*``; the database admits
PostgreSQL only from the web servers' security group.
"""

import ipaddress
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError

from ops import ses
from ops.secrets_file import secrets_read, secrets_write

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
OWNERSHIP_RULES = [{"ObjectOwnership": "BucketOwnerEnforced"}]
ENCRYPTION_RULE = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
# Stronger defaults an operator may have chosen are kept.
ENCRYPTION_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
ABORT_MULTIPART_RULE = {
    "ID": "abort-incomplete-multipart-uploads",
    "Status": "Enabled",
    "Filter": {"Prefix": ""},
    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
}
CORS_MAX_AGE_SECONDS = 3600
EC2_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
ANYWHERE = ("0.0.0.0/0", "::/0")
POSTGRES_PORT = 5432
DB_ENGINE_VERSION = "17"
DB_STORAGE_GB = 20
DB_BACKUP_DAYS = 7
DB_MASTER_USER = "postgres"
# The app's own database and its owner role, which create_app_database makes on the instance.
APP_DATABASE = "instagram"


class ProvisionError(Exception):
    """Something provisioning cannot or must not fix by itself."""


@dataclass(frozen=True)
class Options:
    """What to provision; resource names derive from ``name``."""

    region: str
    bucket: str
    origins: tuple[str, ...]
    ssh_cidr: str
    secrets_path: Path
    name: str = "instagram"
    db_instance_class: str = "db.t4g.micro"
    iam_user: bool = False
    # The address mail comes from, and whether SES verifies its domain or the address alone.
    mail_from: str = ""
    ses_identity: str = "domain"

    def __post_init__(self) -> None:
        try:
            network = ipaddress.ip_network(self.ssh_cidr, strict=False)
        except ValueError:
            raise ProvisionError(
                f"--ssh-cidr {self.ssh_cidr!r} is not a network such as 203.0.113.7/32."
            ) from None
        if network.prefixlen == 0:
            raise ProvisionError("SSH from anywhere is refused: give your own address, e.g. /32.")
        object.__setattr__(self, "ssh_cidr", network.with_prefixlen)
        if not self.origins:
            raise ProvisionError(
                "Give the site's origin(s), e.g. --origin https://www.example.com."
            )
        for origin in self.origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise ProvisionError(f"--origin {origin!r} must look like https://host[:port].")
        if self.mail_from:
            try:
                ses.identity_of(self.mail_from, self.ses_identity)
            except ValueError as exc:
                raise ProvisionError(str(exc)) from None

    @property
    def policy_name(self) -> str:
        return f"{self.name}-media-access"

    @property
    def role_name(self) -> str:
        """The web servers' role and instance profile."""
        return f"{self.name}-web"

    @property
    def user_name(self) -> str:
        return f"{self.name}-media"

    @property
    def web_group_name(self) -> str:
        return f"{self.name}-web"

    @property
    def db_name(self) -> str:
        """The security group, DB subnet group and RDS instance of the database."""
        return f"{self.name}-db"


def media_policy_document(bucket: str) -> dict[str, Any]:
    """Get, put and delete objects under media/, and list the bucket under media/: no more."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MediaObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": f"arn:aws:s3:::{bucket}/media/*",
            },
            {
                "Sid": "ListMedia",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": ["media/", "media/*"]}},
            },
        ],
    }


def cors_rules(origins: tuple[str, ...]) -> list[dict[str, Any]]:
    """Let the site's pages read photos from the bucket; nothing may be written that way."""
    return [
        {
            "AllowedMethods": ["GET", "HEAD"],
            "AllowedOrigins": sorted(origins),
            "MaxAgeSeconds": CORS_MAX_AGE_SECONDS,
        }
    ]


class Rule(NamedTuple):
    """One inbound rule of a security group: protocol, ports and a CIDR or a group id."""

    protocol: str
    from_port: int | None
    to_port: int | None
    source: str

    def __str__(self) -> str:
        ports = "all ports" if self.from_port is None else f"port {self.from_port}"
        if self.to_port != self.from_port:
            ports = f"ports {self.from_port}-{self.to_port}"
        protocol = "all traffic" if self.protocol == "-1" else self.protocol
        return f"{protocol} {ports} from {self.source}"

    def permission(self) -> dict[str, Any]:
        """The rule as EC2's IpPermissions want it."""
        permission: dict[str, Any] = {"IpProtocol": self.protocol}
        if self.from_port is not None:
            permission.update(FromPort=self.from_port, ToPort=self.to_port)
        if self.source.startswith("sg-"):
            permission["UserIdGroupPairs"] = [{"GroupId": self.source}]
        elif self.source.startswith("pl-"):
            permission["PrefixListIds"] = [{"PrefixListId": self.source}]
        elif ":" in self.source:
            permission["Ipv6Ranges"] = [{"CidrIpv6": self.source}]
        else:
            permission["IpRanges"] = [{"CidrIp": self.source}]
        return permission


def web_rules(ssh_cidr: str) -> set[Rule]:
    """HTTP and HTTPS from anywhere, SSH only from the operator's network."""
    web = {Rule("tcp", port, port, source) for port in (80, 443) for source in ANYWHERE}
    return web | {Rule("tcp", 22, 22, ssh_cidr)}


def db_rules(web_group_id: str) -> set[Rule]:
    """PostgreSQL only from the web servers' security group."""
    return {Rule("tcp", POSTGRES_PORT, POSTGRES_PORT, web_group_id)}


def rules_of(permissions: list[dict[str, Any]]) -> set[Rule]:
    """The rules in EC2's IpPermissions, one per source."""
    rules = set()
    for permission in permissions:
        sources = (
            [r["CidrIp"] for r in permission.get("IpRanges", [])]
            + [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])]
            + [p["GroupId"] for p in permission.get("UserIdGroupPairs", [])]
            + [p["PrefixListId"] for p in permission.get("PrefixListIds", [])]
        )
        for source in sources:
            rules.add(
                Rule(
                    permission["IpProtocol"],
                    permission.get("FromPort"),
                    permission.get("ToPort"),
                    source,
                )
            )
    return rules


class Provisioner:
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
        self.secrets_file(instance)
        return self.changes

    def change(self, description: str, action: Callable[[], Any]) -> Any:
        """Record a change and make it, unless this is a dry run."""
        self.changes.append(description)
        self.report(f"+ {description}")
        return None if self.dry_run else action()

    # S3

    def bucket(self) -> None:
        name, region = self.options.bucket, self.options.region
        exists = self._bucket_exists()
        if not exists:
            # us-east-1 is the one region that must not be named as the location.
            create = (
                {} if region == "us-east-1"
                else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            )  # fmt: skip
            self.change(
                f"create S3 bucket {name} in {region}",
                lambda: self.s3.create_bucket(Bucket=name, **create),
            )
        self._bucket_setting(
            "turn on Block Public Access (all four settings)",
            lambda: self.s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"],
            lambda current: current == PUBLIC_ACCESS_BLOCK,
            lambda: self.s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK
            ),
            exists,
        )
        self._bucket_setting(
            'set object ownership to "bucket owner enforced" (ACLs disabled)',
            lambda: self.s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"],
            lambda current: current["Rules"] == OWNERSHIP_RULES,
            lambda: self.s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls={"Rules": OWNERSHIP_RULES}
            ),
            exists,
        )
        self._bucket_setting(
            "turn on default encryption (SSE-S3)",
            lambda: self.s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"],
            lambda current: any(
                rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
                in ENCRYPTION_ALGORITHMS
                for rule in current["Rules"]
            ),
            lambda: self.s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration={"Rules": [ENCRYPTION_RULE]}
            ),
            exists,
        )
        cors = cors_rules(self.options.origins)
        self._bucket_setting(
            f"allow GET and HEAD from {', '.join(sorted(self.options.origins))} (CORS)",
            lambda: self.s3.get_bucket_cors(Bucket=name)["CORSRules"],
            lambda current: current == cors,
            lambda: self.s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": cors}),
            exists,
        )
        rules = []
        if exists:
            read = self.s3.get_bucket_lifecycle_configuration
            rules = self._read(lambda: read(Bucket=name)["Rules"]) or []
        if ABORT_MULTIPART_RULE not in rules:
            # Putting a lifecycle configuration replaces it: keep the operator's other rules.
            others = [rule for rule in rules if rule.get("ID") != ABORT_MULTIPART_RULE["ID"]]
            self.change(
                f"S3 bucket {name}: abort incomplete multipart uploads after 7 days",
                lambda: self.s3.put_bucket_lifecycle_configuration(
                    Bucket=name,
                    LifecycleConfiguration={"Rules": [*others, ABORT_MULTIPART_RULE]},
                ),
            )
        self.outputs["bucket"] = name

    def _bucket_exists(self) -> bool:
        name, region = self.options.bucket, self.options.region
        try:
            self.s3.head_bucket(Bucket=name)
        except ClientError as exc:
            status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
            if status == 404:
                return False
            if status == 403:
                raise ProvisionError(
                    f"S3 bucket {name} belongs to another AWS account (bucket names are "
                    f"global): choose another name."
                ) from None
            raise
        location = self.s3.get_bucket_location(Bucket=name)["LocationConstraint"] or "us-east-1"
        if location != region:
            raise ProvisionError(
                f"S3 bucket {name} exists in {location}, not {region}: pass --region {location} "
                f"or choose another bucket name."
            )
        return True

    def _bucket_setting(
        self,
        description: str,
        read: Callable[[], Any],
        ok: Callable[[Any], bool],
        put: Callable[[], Any],
        exists: bool,
    ) -> None:
        current = self._read(read) if exists else None
        if current is None or not ok(current):
            self.change(f"S3 bucket {self.options.bucket}: {description}", put)

    @staticmethod
    def _read(read: Callable[[], Any]) -> Any:
        """What ``read`` returns, or None where S3 answers that nothing is configured (404)."""
        try:
            return read()
        except ClientError as exc:
            if exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                return None
            raise

    # IAM

    def media_policy(self, arn: str) -> None:
        name, document = self.options.policy_name, media_policy_document(self.options.bucket)
        summary = f"get, put and delete on {self.options.bucket}/media/*, list under media/"
        if self.mail:
            document["Statement"].append(self.mail.statement())
            summary += f", send mail as {self.mail.identity}"
        try:
            policy = self.iam.get_policy(PolicyArn=arn)["Policy"]
        except self.iam.exceptions.NoSuchEntityException:
            self.change(
                f"create IAM policy {name}: {summary}",
                lambda: self.iam.create_policy(
                    PolicyName=name,
                    PolicyDocument=json.dumps(document),
                    Description=f"The web app's access to its media in S3: {summary}.",
                ),
            )
            return
        current = self.iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])
        if current["PolicyVersion"]["Document"] != document:
            self.change(
                f"IAM policy {name}: allow only {summary}",
                lambda: self._policy_version(arn, document),
            )

    def _policy_version(self, arn: str, document: dict[str, Any]) -> None:
        # A policy keeps at most five versions: make room by deleting the oldest old one.
        versions = self.iam.list_policy_versions(PolicyArn=arn)["Versions"]
        if len(versions) >= 5:
            old = [version for version in versions if not version["IsDefaultVersion"]]
            oldest = min(old, key=lambda version: version["CreateDate"])
            self.iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
        self.iam.create_policy_version(
            PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True
        )

    def web_role(self, policy_arn: str) -> None:
        """A role for EC2 with the media policy, in an instance profile: no keys on disk."""
        name = self.options.role_name
        try:
            role = self.iam.get_role(RoleName=name)["Role"]
        except self.iam.exceptions.NoSuchEntityException:
            role = None
            self.change(
                f"create IAM role {name} for EC2 instances",
                lambda: self.iam.create_role(
                    RoleName=name,
                    AssumeRolePolicyDocument=json.dumps(EC2_TRUST_POLICY),
                    Description="Web servers of the app: media access, no keys on disk.",
                ),
            )
        if role and role["AssumeRolePolicyDocument"] != EC2_TRUST_POLICY:
            self.change(
                f"IAM role {name}: let only EC2 instances assume it",
                lambda: self.iam.update_assume_role_policy(
                    RoleName=name, PolicyDocument=json.dumps(EC2_TRUST_POLICY)
                ),
            )
        attached = self.iam.list_attached_role_policies(RoleName=name) if role else {}
        if policy_arn not in [p["PolicyArn"] for p in attached.get("AttachedPolicies", [])]:
            self.change(
                f"attach IAM policy {self.options.policy_name} to role {name}",
                lambda: self.iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn),
            )
        try:
            profile = self.iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        except self.iam.exceptions.NoSuchEntityException:
            profile = {"Roles": []}
            self.change(
                f"create EC2 instance profile {name}",
                lambda: self.iam.create_instance_profile(InstanceProfileName=name),
            )
        if name not in [r["RoleName"] for r in profile["Roles"]]:
            self.change(
                f"add role {name} to instance profile {name}",
                lambda: self.iam.add_role_to_instance_profile(
                    InstanceProfileName=name, RoleName=name
                ),
            )
        self.outputs["instance_profile"] = name

    def media_user(self, policy_arn: str) -> None:
        """An IAM user with the media policy, for hosts without an instance profile; its new
        access key goes straight into the secrets file, which is the only copy of the secret."""
        name = self.options.user_name
        try:
            self.iam.get_user(UserName=name)
            exists = True
        except self.iam.exceptions.NoSuchEntityException:
            exists = False
            self.change(f"create IAM user {name}", lambda: self.iam.create_user(UserName=name))
        attached = self.iam.list_attached_user_policies(UserName=name) if exists else {}
        if policy_arn not in [p["PolicyArn"] for p in attached.get("AttachedPolicies", [])]:
            self.change(
                f"attach IAM policy {self.options.policy_name} to user {name}",
                lambda: self.iam.attach_user_policy(UserName=name, PolicyArn=policy_arn),
            )
        keys = self.iam.list_access_keys(UserName=name)["AccessKeyMetadata"] if exists else []
        key_ids = [key["AccessKeyId"] for key in keys]
        if secrets_read(self.options.secrets_path).get("AWS_ACCESS_KEY_ID") in key_ids:
            return
        if len(key_ids) >= 2:
            raise ProvisionError(
                f"IAM user {name} has two access keys and neither is in "
                f"{self.options.secrets_path}: delete one (aws iam delete-access-key "
                f"--user-name {name} --access-key-id ...) and run again."
            )
        self.change(
            f"create an access key for IAM user {name} and write it to "
            f"{self.options.secrets_path} (mode 600)",
            lambda: self._write_access_key(name),
        )

    def _write_access_key(self, user: str) -> None:
        key = self.iam.create_access_key(UserName=user)["AccessKey"]
        secrets_write(
            self.options.secrets_path,
            {
                "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            },
        )

    # Network

    def default_vpc(self) -> str:
        vpcs = self.ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            raise ProvisionError(
                f"Region {self.options.region} has no default VPC: create one with "
                f"`aws ec2 create-default-vpc --region {self.options.region}`."
            )
        return vpcs[0]["VpcId"]

    def security_group(self, name: str, description: str, vpc_id: str, rules: set[Rule]) -> str:
        """The group's id (a placeholder in a dry run); its inbound rules become ``rules``."""
        found = self.ec2.describe_security_groups(
            Filters=[
                {"Name": "group-name", "Values": [name]},
                {"Name": "vpc-id", "Values": [vpc_id]},
            ]
        )["SecurityGroups"]
        if found:
            group_id, current = found[0]["GroupId"], rules_of(found[0]["IpPermissions"])
        else:
            current = set()
            group_id = (
                self.change(
                    f"create security group {name} in {vpc_id}",
                    lambda: self.ec2.create_security_group(
                        GroupName=name, Description=description, VpcId=vpc_id
                    )["GroupId"],
                )
                or f"<{name}>"
            )
        for rule in sorted(rules - current):
            self.change(
                f"security group {name}: allow {rule}",
                lambda rule=rule: self.ec2.authorize_security_group_ingress(
                    GroupId=group_id, IpPermissions=[rule.permission()]
                ),
            )
        for rule in sorted(current - rules, key=str):
            self.change(
                f"security group {name}: remove {rule}",
                lambda rule=rule: self.ec2.revoke_security_group_ingress(
                    GroupId=group_id, IpPermissions=[rule.permission()]
                ),
            )
        return group_id

    # RDS

    def db_subnet_group(self, vpc_id: str) -> None:
        name = self.options.db_name
        try:
            self.rds.describe_db_subnet_groups(DBSubnetGroupName=name)
            return
        except self.rds.exceptions.DBSubnetGroupNotFoundFault:
            pass
        subnets = self.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
        subnet_ids = [subnet["SubnetId"] for subnet in subnets["Subnets"]]
        self.change(
            f"create DB subnet group {name} from the {len(subnet_ids)} subnets of {vpc_id}",
            lambda: self.rds.create_db_subnet_group(
                DBSubnetGroupName=name,
                DBSubnetGroupDescription="The app's database, in the default VPC",
                SubnetIds=subnet_ids,
            ),
        )

    def database(self, db_group_id: str) -> dict[str, Any] | None:
        """The RDS instance (None until it exists): encrypted, backed up, private."""
        name = self.options.db_name
        try:
            instance = self.rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
        except self.rds.exceptions.DBInstanceNotFoundFault:
            return self.change(
                f"create RDS PostgreSQL {DB_ENGINE_VERSION} instance {name} "
                f"({self.options.db_instance_class}, {DB_STORAGE_GB} GB encrypted, backups kept "
                f"{DB_BACKUP_DAYS} days, not publicly accessible, in {db_group_id})",
                lambda: self._create_database(db_group_id),
            )
        if not instance["StorageEncrypted"]:
            raise ProvisionError(
                f"RDS instance {name} is not encrypted, which cannot be changed in place: "
                f"restore an encrypted copy of a snapshot, or choose another --name."
            )
        fixes: dict[str, Any] = {}
        if instance["PubliclyAccessible"]:
            fixes["PubliclyAccessible"] = False
        if instance["BackupRetentionPeriod"] < 1:
            fixes["BackupRetentionPeriod"] = DB_BACKUP_DAYS
        if [g["VpcSecurityGroupId"] for g in instance["VpcSecurityGroups"]] != [db_group_id]:
            fixes["VpcSecurityGroupIds"] = [db_group_id]
        if fixes:
            self.change(
                f"RDS instance {name}: set {', '.join(f'{k}={v}' for k, v in fixes.items())}",
                lambda: self.rds.modify_db_instance(
                    DBInstanceIdentifier=name, ApplyImmediately=True, **fixes
                ),
            )
        if "Endpoint" not in instance and not self.dry_run:
            instance = self._wait_for_database()
        self._database_outputs(instance)
        return instance

    def _create_database(self, db_group_id: str) -> dict[str, Any]:
        self.rds.create_db_instance(
            DBInstanceIdentifier=self.options.db_name,
            DBInstanceClass=self.options.db_instance_class,
            Engine="postgres",
            EngineVersion=DB_ENGINE_VERSION,
            AllocatedStorage=DB_STORAGE_GB,
            StorageType="gp3",
            StorageEncrypted=True,
            BackupRetentionPeriod=DB_BACKUP_DAYS,
            PubliclyAccessible=False,
            MultiAZ=False,
            VpcSecurityGroupIds=[db_group_id],
            DBSubnetGroupName=self.options.db_name,
            MasterUsername=DB_MASTER_USER,
            # RDS keeps the master password in Secrets Manager: it never passes through here.
            ManageMasterUserPassword=True,
        )
        instance = self._wait_for_database()
        self._database_outputs(instance)
        return instance

    def _wait_for_database(self) -> dict[str, Any]:
        self.report(f"  waiting for RDS instance {self.options.db_name} (usually 5-15 minutes)")
        self.rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=self.options.db_name,
            WaiterConfig={"Delay": 30, "MaxAttempts": 60},
        )
        return self.rds.describe_db_instances(DBInstanceIdentifier=self.options.db_name)[
            "DBInstances"
        ][0]

    def _database_outputs(self, instance: dict[str, Any]) -> None:
        if "Endpoint" in instance:
            self.outputs["db_endpoint"] = instance["Endpoint"]["Address"]
        if "MasterUserSecret" in instance:
            self.outputs["db_master_secret"] = instance["MasterUserSecret"]["SecretArn"]

    # The secrets file

    def secrets_file(self, instance: dict[str, Any] | None) -> None:
        """Write what the app needs to run here into the secrets file: a new SECRET_KEY and
        database password, the site's hosts, the bucket and the database. Never overwrite what
        the operator set there, but say where it differs."""
        path = self.options.secrets_path
        current = secrets_read(path)
        # Only a dry run gets here before the instance (and so its endpoint) exists.
        endpoint = (instance or {}).get("Endpoint")
        expected: dict[str, Any] = {
            "ALLOWED_HOSTS": sorted({urlsplit(origin).hostname for origin in self.options.origins}),
            "CSRF_TRUSTED_ORIGINS": sorted(self.options.origins),
            "AWS_STORAGE_BUCKET_NAME": self.options.bucket,
            "AWS_S3_REGION_NAME": self.options.region,
            **(self.mail.secrets() if self.mail else {}),
        }
        generated: dict[str, Any] = {
            "SECRET_KEY": secrets.token_urlsafe(50),
            # The app's own role, which create_app_database creates with this password.
            "DATABASES": {
                "default": {
                    "HOST": endpoint["Address"] if endpoint else "",
                    "PORT": endpoint["Port"] if endpoint else POSTGRES_PORT,
                    "NAME": APP_DATABASE,
                    "USER": APP_DATABASE,
                    "PASSWORD": secrets.token_urlsafe(32),
                    "OPTIONS": {"sslmode": "require"},
                }
            },
        }
        missing = {key: value for key, value in generated.items() if key not in current}
        for key, value in expected.items():
            if key not in current:
                missing[key] = value
            elif current[key] != value:
                self.report(f"! {path}: {key} is {current[key]!r}, not {value!r}: left alone")
        host = current.get("DATABASES", {}).get("default", {}).get("HOST")
        if endpoint and "DATABASES" in current and host != endpoint["Address"]:
            self.report(f"! {path}: DATABASES names {host}, not {endpoint['Address']}: left alone")
        if missing:
            self.change(
                f"write {', '.join(missing)} to {path} (mode 600)",
                lambda: secrets_write(path, missing),
            )
