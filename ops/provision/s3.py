"""The media bucket: private, owner-enforced, encrypted, readable by the site's pages (CORS), and
versioned, so that a deleted photo can be brought back (``media_restore``) for a number of days.
"""

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from ops.provision.plan import ProvisionError

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
VERSIONING = {"Status": "Enabled"}
NONCURRENT_RULE_ID = "expire-noncurrent-versions"


def noncurrent_rule(keep_deleted_days: int) -> dict[str, Any]:
    """Keep what a deletion or an overwrite replaced for ``keep_deleted_days``, then expire it;
    a delete marker with nothing left behind it goes too."""
    return {
        "ID": NONCURRENT_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": keep_deleted_days},
        "Expiration": {"ExpiredObjectDeleteMarker": True},
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


class BucketSteps:
    """Provisioner steps for S3."""

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
        self._bucket_setting(
            "turn on versioning (a deleted object can be restored)",
            lambda: self.s3.get_bucket_versioning(Bucket=name).get("Status"),
            lambda current: current == VERSIONING["Status"],
            lambda: self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=VERSIONING),
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
        self._lifecycle(exists)
        self.outputs["bucket"] = name

    def _lifecycle(self, exists: bool) -> None:
        """Our lifecycle rules, put back where missing or changed; the operator's are kept."""
        name, days = self.options.bucket, self.options.keep_deleted_days
        wanted = {
            rule["ID"]: (rule, text)
            for rule, text in [
                (ABORT_MULTIPART_RULE, "abort incomplete multipart uploads after 7 days"),
                (noncurrent_rule(days), f"keep deleted or replaced versions {days} days"),
            ]
        }
        rules = []
        if exists:
            read = self.s3.get_bucket_lifecycle_configuration
            rules = self._read(lambda: read(Bucket=name)["Rules"]) or []
        missing = [text for rule, text in wanted.values() if rule not in rules]
        if missing:
            # Putting a lifecycle configuration replaces it: keep the operator's other rules.
            others = [rule for rule in rules if rule.get("ID") not in wanted]
            ours = [rule for rule, _ in wanted.values()]
            self.change(
                f"S3 bucket {name}: {'; '.join(missing)}",
                lambda: self.s3.put_bucket_lifecycle_configuration(
                    Bucket=name, LifecycleConfiguration={"Rules": [*others, *ours]}
                ),
            )

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
