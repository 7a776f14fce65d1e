"""IAM: one least-privilege policy on ``<bucket>/media/*``, for an EC2 role or an IAM user."""

import json
from typing import Any

from ops.provision.plan import ProvisionError
from ops.secrets_file import secrets_read, secrets_write

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


# What would destroy a photo for good in a versioned bucket: deleting a version, or changing the
# versioning or lifecycle that keep deleted ones. Denied outright, so that not even another
# policy attached to the app's role or user later can grant them.
VERSION_DESTROYING_ACTIONS = [
    "s3:DeleteObjectVersion",
    "s3:PutBucketVersioning",
    "s3:PutLifecycleConfiguration",
]


def media_policy_document(bucket: str) -> dict[str, Any]:
    """Get, put and delete objects under media/, and list the bucket under media/: no more.

    A deletion only adds a delete marker in the versioned bucket; the versions behind it cannot
    be destroyed with these credentials, so a stolen key or a wrong ``media_gc`` loses nothing
    that ``media_restore`` cannot bring back.
    """
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
            {
                "Sid": "NeverDestroyVersions",
                "Effect": "Deny",
                "Action": VERSION_DESTROYING_ACTIONS,
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            },
        ],
    }


class IamSteps:
    """Provisioner steps for IAM."""

    def media_policy(self, arn: str) -> None:
        name, document = self.options.policy_name, media_policy_document(self.options.bucket)
        summary = (
            f"get, put and delete on {self.options.bucket}/media/*, list under media/, never "
            f"destroy a version"
        )
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
