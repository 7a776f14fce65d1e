"""provision_aws against moto: every resource has exactly the safe settings, and no more."""

import io
import json
import stat

import boto3
import pytest
from botocore.exceptions import ClientError
from django.core.management import CommandError, call_command
from moto import mock_aws

from config.secrets import Secrets
from ops.provision import Options, Provisioner, ProvisionError, media_policy_document
from tests.conftest import BUCKET as MEDIA_BUCKET
from tests.conftest import REGION
from tests.test_ops_check_storage import iam_enforcing_s3  # noqa: F401 (a fixture)

BUCKET = "instagram-media-provisioned"
NONCURRENT_30_DAYS = {
    "ID": "expire-noncurrent-versions",
    "Status": "Enabled",
    "Filter": {"Prefix": ""},
    "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
    "Expiration": {"ExpiredObjectDeleteMarker": True},
}
ORIGIN = "https://www.example.com"
SSH_CIDR = "203.0.113.7/32"


@pytest.fixture
def aws(monkeypatch):
    """moto's AWS in this process, with fake credentials so boto3 never finds real ones."""
    for key in ("AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


def provision(aws, tmp_path, **options) -> Provisioner:
    provisioner = Provisioner(
        Options(
            region=REGION,
            bucket=BUCKET,
            origins=(ORIGIN,),
            ssh_cidr=SSH_CIDR,
            secrets_path=tmp_path / "secrets.json",
            **options,
        ),
        session=aws,
        report=lambda line: None,
    )
    provisioner.run()
    return provisioner


def command(tmp_path, *args: str) -> str:
    out = io.StringIO()
    call_command(
        "provision_aws",
        f"--bucket={BUCKET}",
        f"--origin={ORIGIN}",
        f"--ssh-cidr={SSH_CIDR}",
        f"--secrets-file={tmp_path / 'secrets.json'}",
        *args,
        stdout=out,
    )
    return out.getvalue()


def inbound(aws, group_name: str) -> set[tuple]:
    [group] = aws.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [group_name]}]
    )["SecurityGroups"]
    return {
        (rule["IpProtocol"], rule.get("FromPort"), rule.get("ToPort"), source)
        for rule in group["IpPermissions"]
        for source in [r["CidrIp"] for r in rule["IpRanges"]]
        + [r["CidrIpv6"] for r in rule["Ipv6Ranges"]]
        + [p["GroupId"] for p in rule["UserIdGroupPairs"]]
    }


def group_id(aws, group_name: str) -> str:
    groups = aws.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [group_name]}]
    )["SecurityGroups"]
    return groups[0]["GroupId"]


def test_the_bucket_is_private_owner_enforced_encrypted_versioned_with_cors_and_a_lifecycle(
    aws, tmp_path
):
    provision(aws, tmp_path)
    s3 = aws.client("s3")

    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == REGION
    assert s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }
    [encryption] = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"][
        "Rules"
    ]
    assert encryption["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"] == [
        {"AllowedMethods": ["GET", "HEAD"], "AllowedOrigins": [ORIGIN], "MaxAgeSeconds": 3600}
    ]
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"] == [
        {
            "ID": "abort-incomplete-multipart-uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        },
        NONCURRENT_30_DAYS,
    ]


def test_web_servers_get_only_get_put_delete_and_list_under_media_through_a_role(aws, tmp_path):
    provision(aws, tmp_path)
    iam = aws.client("iam")

    [attached] = iam.list_attached_role_policies(RoleName="instagram-web")["AttachedPolicies"]
    assert attached["PolicyName"] == "instagram-media-access"
    policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
    document = iam.get_policy_version(
        PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
    )["PolicyVersion"]["Document"]
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MediaObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": f"arn:aws:s3:::{BUCKET}/media/*",
            },
            {
                "Sid": "ListMedia",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{BUCKET}",
                "Condition": {"StringLike": {"s3:prefix": ["media/", "media/*"]}},
            },
            {
                "Sid": "NeverDestroyVersions",
                "Effect": "Deny",
                "Action": [
                    "s3:DeleteObjectVersion",
                    "s3:PutBucketVersioning",
                    "s3:PutLifecycleConfiguration",
                ],
                "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            },
        ],
    }
    role = iam.get_role(RoleName="instagram-web")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    assert iam.list_role_policies(RoleName="instagram-web")["PolicyNames"] == []
    profile = iam.get_instance_profile(InstanceProfileName="instagram-web")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == ["instagram-web"]
    # No user, so no access key anywhere, unless asked for.
    assert iam.list_users()["Users"] == []


def test_the_database_is_private_encrypted_backed_up_and_admits_only_web_servers(aws, tmp_path):
    provision(aws, tmp_path)
    web, db = group_id(aws, "instagram-web"), group_id(aws, "instagram-db")

    assert inbound(aws, "instagram-web") == {
        ("tcp", 80, 80, "0.0.0.0/0"),
        ("tcp", 80, 80, "::/0"),
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 443, 443, "::/0"),
        ("tcp", 22, 22, SSH_CIDR),
    }
    assert inbound(aws, "instagram-db") == {("tcp", 5432, 5432, web)}
    [instance] = aws.client("rds").describe_db_instances(DBInstanceIdentifier="instagram-db")[
        "DBInstances"
    ]
    assert instance["Engine"] == "postgres"
    assert instance["DBInstanceClass"] == "db.t4g.micro"
    assert instance["StorageEncrypted"] is True
    assert instance["BackupRetentionPeriod"] == 7
    assert instance["PubliclyAccessible"] is False
    assert [g["VpcSecurityGroupId"] for g in instance["VpcSecurityGroups"]] == [db]
    # RDS keeps the master password in Secrets Manager; it is never written here.
    assert "SecretArn" in instance["MasterUserSecret"]
    assert instance["MultiAZ"] is False
    assert instance["CopyTagsToSnapshot"] is True


def test_the_database_cannot_be_deleted_until_its_protection_is_turned_off(aws, tmp_path):
    provision(aws, tmp_path)
    rds = aws.client("rds")

    with pytest.raises(ClientError, match="Cannot delete protected DB Instance"):
        rds.delete_db_instance(
            DBInstanceIdentifier="instagram-db", FinalDBSnapshotIdentifier="instagram-db-final"
        )

    [instance] = rds.describe_db_instances(DBInstanceIdentifier="instagram-db")["DBInstances"]
    assert instance["DeletionProtection"] is True


def test_multi_az_and_the_days_deleted_photos_are_kept_are_options(aws, tmp_path):
    output = command(tmp_path, "--multi-az", "--keep-deleted-days=7")

    assert "Multi-AZ" in output
    [instance] = aws.client("rds").describe_db_instances()["DBInstances"]
    assert instance["MultiAZ"] is True
    [_, noncurrent] = aws.client("s3").get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert noncurrent["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}

    # A run without --multi-az keeps the standby; only the days change back to the default.
    again = command(tmp_path)
    assert "+ RDS instance" not in again
    assert f"+ S3 bucket {BUCKET}: keep deleted or replaced versions 30 days" in again
    [instance] = aws.client("rds").describe_db_instances()["DBInstances"]
    assert instance["MultiAZ"] is True


def test_restorable_days_below_one_are_refused(aws, tmp_path):
    with pytest.raises(CommandError, match="--keep-deleted-days must be 1 or more"):
        command(tmp_path, "--keep-deleted-days=0")


def test_the_secrets_file_gets_bucket_and_database_and_only_its_owner_may_read_it(aws, tmp_path):
    provisioner = provision(aws, tmp_path)
    path = tmp_path / "secrets.json"

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = json.loads(path.read_text())
    assert written["AWS_STORAGE_BUCKET_NAME"] == BUCKET
    assert written["AWS_S3_REGION_NAME"] == REGION
    database = written["DATABASES"]["default"]
    assert database["HOST"] == provisioner.outputs["db_endpoint"]
    assert (database["NAME"], database["USER"]) == ("instagram", "instagram")
    assert len(database["PASSWORD"]) >= 40
    assert database["OPTIONS"] == {"sslmode": "require"}
    assert len(written["SECRET_KEY"]) >= 50
    assert written["ALLOWED_HOSTS"] == ["www.example.com"]
    assert written["CSRF_TRUSTED_ORIGINS"] == [ORIGIN]
    assert "AWS_ACCESS_KEY_ID" not in written
    # The app starts on it: production settings, PostgreSQL on RDS, media in the bucket.
    app = Secrets.load(path, environ={})
    assert app.get_bool("DEBUG", not app.from_file) is False
    assert app.database(tmp_path)["HOST"] == provisioner.outputs["db_endpoint"]
    assert app.s3_options()["bucket_name"] == BUCKET


def test_a_second_run_changes_nothing_and_says_so(aws, tmp_path):
    first = command(tmp_path)
    secrets = (tmp_path / "secrets.json").read_text()

    second = command(tmp_path)

    assert "changes made" in first
    assert "+ " not in second
    assert "No changes: everything already is as it should be." in second
    assert (tmp_path / "secrets.json").read_text() == secrets


def test_a_dry_run_prints_the_plan_and_changes_nothing(aws, tmp_path):
    output = command(tmp_path, "--dry-run", "--iam-user")

    assert f"+ create S3 bucket {BUCKET} in {REGION}" in output
    assert "+ create IAM policy instagram-media-access" in output
    assert "+ security group instagram-db: allow tcp port 5432 from <instagram-web>" in output
    assert f"+ S3 bucket {BUCKET}: turn on versioning (a deleted object can be restored)" in output
    assert "+ create RDS PostgreSQL 17 instance instagram-db" in output
    assert "deletion protection on" in output
    assert "nothing was changed (dry run)" in output
    assert aws.client("s3").list_buckets()["Buckets"] == []
    assert aws.client("iam").list_roles()["Roles"] == []
    assert aws.client("iam").list_users()["Users"] == []
    assert aws.client("rds").describe_db_instances()["DBInstances"] == []
    assert not (tmp_path / "secrets.json").exists()


def test_an_iam_user_gets_the_same_policy_and_its_key_goes_to_the_secrets_file(aws, tmp_path):
    provision(aws, tmp_path, iam_user=True)
    again = provision(aws, tmp_path, iam_user=True)
    iam = aws.client("iam")

    [attached] = iam.list_attached_user_policies(UserName="instagram-media")["AttachedPolicies"]
    assert attached["PolicyName"] == "instagram-media-access"
    [key] = iam.list_access_keys(UserName="instagram-media")["AccessKeyMetadata"]
    path = tmp_path / "secrets.json"
    written = json.loads(path.read_text())
    assert written["AWS_ACCESS_KEY_ID"] == key["AccessKeyId"]
    assert written["AWS_SECRET_ACCESS_KEY"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert again.changes == []


def test_a_run_puts_back_settings_someone_loosened(aws, tmp_path):
    provision(aws, tmp_path)
    ec2, s3, rds, iam = (aws.client(name) for name in ("ec2", "s3", "rds", "iam"))
    [policy] = iam.list_policies(Scope="Local")["Policies"]
    everything = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    iam.create_policy_version(
        PolicyArn=policy["Arn"],
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [everything]}),
        SetAsDefault=True,
    )
    anywhere = [{"CidrIp": "0.0.0.0/0"}]
    ec2.authorize_security_group_ingress(
        GroupId=group_id(aws, "instagram-db"),
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": anywhere}
        ],
    )
    ec2.authorize_security_group_ingress(
        GroupId=group_id(aws, "instagram-web"),
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": anywhere}],
    )
    s3.delete_public_access_block(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_lifecycle_configuration(
        Bucket=BUCKET,
        LifecycleConfiguration={"Rules": [{**NONCURRENT_30_DAYS, "Status": "Disabled"}]},
    )
    rds.modify_db_instance(
        DBInstanceIdentifier="instagram-db",
        PubliclyAccessible=True,
        DeletionProtection=False,
        ApplyImmediately=True,
    )

    changes = provision(aws, tmp_path).changes

    assert changes == [
        f"S3 bucket {BUCKET}: turn on Block Public Access (all four settings)",
        f"S3 bucket {BUCKET}: turn on versioning (a deleted object can be restored)",
        f"S3 bucket {BUCKET}: abort incomplete multipart uploads after 7 days; keep deleted or "
        f"replaced versions 30 days",
        f"IAM policy instagram-media-access: allow only get, put and delete on {BUCKET}/media/*, "
        f"list under media/, never destroy a version",
        "security group instagram-web: remove tcp port 22 from 0.0.0.0/0",
        "security group instagram-db: remove tcp port 5432 from 0.0.0.0/0",
        "RDS instance instagram-db: set PubliclyAccessible=False, DeletionProtection=True",
    ]
    assert ("tcp", 5432, 5432, "0.0.0.0/0") not in inbound(aws, "instagram-db")
    assert ("tcp", 22, 22, "0.0.0.0/0") not in inbound(aws, "instagram-web")
    [instance] = rds.describe_db_instances(DBInstanceIdentifier="instagram-db")["DBInstances"]
    assert instance["PubliclyAccessible"] is False
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert NONCURRENT_30_DAYS in s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert instance["DeletionProtection"] is True
    default = iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=default)
    assert document["PolicyVersion"]["Document"] == media_policy_document(BUCKET)
    assert provision(aws, tmp_path).changes == []


def test_ssh_from_anywhere_is_refused(aws, tmp_path):
    with pytest.raises(CommandError, match="SSH from anywhere is refused"):
        command(tmp_path, "--ssh-cidr=0.0.0.0/0")
    assert aws.client("s3").list_buckets()["Buckets"] == []


def test_a_bucket_of_the_same_name_in_another_region_is_reported(aws, tmp_path):
    aws.client("s3", region_name="eu-west-1").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )

    with pytest.raises(ProvisionError, match=f"exists in eu-west-1, not {REGION}"):
        provision(aws, tmp_path)


def s3_as(secrets: dict):
    """An S3 client with the credentials in ``secrets`` (a user of the IAM-enforcing server)."""
    return boto3.client(
        "s3",
        endpoint_url=secrets["AWS_S3_ENDPOINT_URL"],
        region_name=REGION,
        aws_access_key_id=secrets["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=secrets["AWS_SECRET_ACCESS_KEY"],
    )


def test_the_apps_credentials_delete_a_photo_but_can_never_destroy_it(
    iam_enforcing_s3,  # noqa: F811 (the fixture imported above)
):
    everything = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    operator = s3_as(
        iam_enforcing_s3.secrets_for({"Version": "2012-10-17", "Statement": [everything]})
    )
    app = s3_as(iam_enforcing_s3.secrets_for(media_policy_document(MEDIA_BUCKET)))
    operator.put_bucket_versioning(
        Bucket=MEDIA_BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    key = "media/posts/stolen-key.jpg"
    app.put_object(Bucket=MEDIA_BUCKET, Key=key, Body=b"the photo")

    app.delete_object(Bucket=MEDIA_BUCKET, Key=key)

    with pytest.raises(ClientError, match="NoSuchKey"):
        app.get_object(Bucket=MEDIA_BUCKET, Key=key)
    listed = operator.list_object_versions(Bucket=MEDIA_BUCKET, Prefix=key)
    [version], [marker] = listed["Versions"], listed["DeleteMarkers"]
    destroying = [
        lambda: app.delete_object(Bucket=MEDIA_BUCKET, Key=key, VersionId=version["VersionId"]),
        lambda: app.delete_object(Bucket=MEDIA_BUCKET, Key=key, VersionId=marker["VersionId"]),
        lambda: app.put_bucket_versioning(
            Bucket=MEDIA_BUCKET, VersioningConfiguration={"Status": "Suspended"}
        ),
        lambda: app.put_bucket_lifecycle_configuration(
            Bucket=MEDIA_BUCKET,
            LifecycleConfiguration={
                "Rules": [
                    {**NONCURRENT_30_DAYS, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}
                ]
            },
        ),
    ]
    for attempt in destroying:
        with pytest.raises(ClientError, match="AccessDenied"):
            attempt()
    # The operator's own credentials bring it back by removing the delete marker.
    operator.delete_object(Bucket=MEDIA_BUCKET, Key=key, VersionId=marker["VersionId"])
    assert app.get_object(Bucket=MEDIA_BUCKET, Key=key)["Body"].read() == b"the photo"
