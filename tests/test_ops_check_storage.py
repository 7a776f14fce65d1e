"""check_storage: the probe through the app's own storage, and what it says when S3 refuses.

Most tests run ``manage.py check_storage`` against the shared moto server. Missing permissions
need IAM to be enforced, which moto does in a server of its own (INITIAL_NO_AUTH_ACTION_COUNT);
it checks actions and resources, not conditions. A 403 for a missing object and S3's region
redirects are AWS behaviour moto does not show; their explanations are tested with ClientErrors
shaped like AWS's.
"""

import copy
import json
import socket
import subprocess
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from django.core.files.storage import default_storage

from ops.provision import media_policy_document
from ops.storage_check import explain
from tests.conftest import BUCKET, CREDENTIALS, REGION
from tests.servers import BIN, clean_environ, on_a_free_port
from tests.test_secrets import start

# How the output shows the test access key: its last four characters only.
MASKED = "****" + CREDENTIALS["AWS_ACCESS_KEY_ID"][-4:]
APP = {"SECRET_KEY": "check-storage-" + "k" * 40, "DEBUG": False, "ALLOWED_HOSTS": ["localhost"]}


def check_storage(tmp_path, s3: dict, **environ: str) -> subprocess.CompletedProcess:
    return start(tmp_path, {**APP, **s3}, "check_storage", **environ)


def test_it_probes_the_bucket_and_says_where_and_whose_without_the_secret(
    tmp_path, s3_secrets, s3_endpoint, bucket
):
    result = check_storage(tmp_path, s3_secrets)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"bucket:      {BUCKET}" in out
    assert f"region:      {REGION}" in out
    assert f"endpoint:    {s3_endpoint}" in out
    assert (
        f"credentials: access key {MASKED} from {tmp_path / 'secrets.json'}: "
        f"key 'AWS_ACCESS_KEY_ID'" in out
    )
    for step in ("ok   write ops-check/", "ok   read it back", "ok   list ops-check/"):
        assert step in out
    assert "ok   delete it" in out and "The media storage works." in out
    assert CREDENTIALS["AWS_SECRET_ACCESS_KEY"] not in out + result.stderr
    assert CREDENTIALS["AWS_ACCESS_KEY_ID"] not in out + result.stderr
    assert bucket.keys() == []  # the probe is gone


def test_credentials_from_boto3s_default_chain_are_named(tmp_path, s3_secrets, bucket):
    keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    s3 = {key: value for key, value in s3_secrets.items() if key not in keys}
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[default]\naws_access_key_id = test-file-key-1234\n"
        "aws_secret_access_key = secret-from-the-file\n"
    )

    result = check_storage(
        tmp_path, s3, AWS_SHARED_CREDENTIALS_FILE=str(credentials), AWS_CONFIG_FILE="/nonexistent"
    )

    assert result.returncode == 0, result.stderr
    assert (
        "credentials: access key ****1234 from boto3's default chain: the shared credentials "
        "file (~/.aws/credentials)" in result.stdout
    )
    assert "secret-from-the-file" not in result.stdout + result.stderr


def test_a_wrong_bucket_fails_naming_the_bucket(tmp_path, s3_secrets, s3_endpoint):
    result = check_storage(tmp_path, {**s3_secrets, "AWS_STORAGE_BUCKET_NAME": "no-such-bucket-1"})

    assert result.returncode == 1
    assert "FAIL bucket no-such-bucket-1" in result.stdout
    assert (
        f"CommandError: Bucket no-such-bucket-1 does not exist at {s3_endpoint}: check "
        f"AWS_STORAGE_BUCKET_NAME" in result.stderr
    )


def test_a_wrong_region_fails_naming_the_buckets_region(tmp_path, s3_secrets, bucket):
    result = check_storage(tmp_path, {**s3_secrets, "AWS_S3_REGION_NAME": "eu-west-1"})

    assert result.returncode == 1
    assert (
        f"Bucket {BUCKET} is in region {REGION}, not eu-west-1: set AWS_S3_REGION_NAME to "
        f"{REGION}." in result.stderr
    )
    assert "ok   write" not in result.stdout


class IamEnforcingS3:
    """A moto server that enforces IAM, with a bucket and an admin who makes users."""

    def __init__(self, url: str, admin: dict):
        self.url = url
        self.iam = boto3.client("iam", endpoint_url=url, region_name=REGION, **admin)
        s3 = boto3.client("s3", endpoint_url=url, region_name=REGION, **admin)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})

    def secrets_for(self, policy: dict) -> dict:
        """The S3 settings of a new user who has ``policy`` and nothing else."""
        name = f"app-{uuid.uuid4().hex[:8]}"
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(
            UserName=name, PolicyName="media", PolicyDocument=json.dumps(policy)
        )
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return {
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_S3_ENDPOINT_URL": self.url,
            "AWS_S3_ADDRESSING_STYLE": "path",
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        }


@pytest.fixture(scope="module")
def iam_enforcing_s3(tmp_path_factory):
    log = tmp_path_factory.mktemp("moto-iam") / "moto.log"
    # The first three requests go unchecked: they make the admin who makes everything else.
    env = clean_environ(INITIAL_NO_AUTH_ACTION_COUNT="3")

    def serve(port: int) -> tuple[subprocess.Popen, int]:
        with log.open("w") as out:
            process = subprocess.Popen(
                [BIN / "moto_server", "-H", "127.0.0.1", "-p", str(port)],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            _wait_for_port(port, process, log)
        except RuntimeError:
            process.terminate()
            process.wait(timeout=30)
            raise
        return process, port

    process, port = on_a_free_port(serve)
    try:
        url = f"http://127.0.0.1:{port}"
        iam = boto3.client("iam", endpoint_url=url, region_name=REGION, **_keys(CREDENTIALS))
        iam.create_user(UserName="admin")
        everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
        iam.put_user_policy(
            UserName="admin",
            PolicyName="admin",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [everything]}),
        )
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        yield IamEnforcingS3(url, _keys(key))
    finally:
        process.terminate()
        process.wait(timeout=30)


def _keys(key: dict) -> dict:
    return {
        "aws_access_key_id": key.get("AccessKeyId", key.get("AWS_ACCESS_KEY_ID")),
        "aws_secret_access_key": key.get("SecretAccessKey", key.get("AWS_SECRET_ACCESS_KEY")),
    }


def _wait_for_port(port: int, process: subprocess.Popen, log, seconds: float = 30) -> None:
    # Not an HTTP request: moto would count it among the unchecked ones.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto_server did not listen on {port}:\n{log.read_text()}")


def test_the_least_privilege_policy_is_all_the_app_needs(tmp_path, iam_enforcing_s3):
    s3 = iam_enforcing_s3.secrets_for(media_policy_document(BUCKET))

    result = check_storage(tmp_path, s3)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "The media storage works." in result.stdout


def test_a_missing_permission_fails_naming_it(tmp_path, iam_enforcing_s3):
    policy = copy.deepcopy(media_policy_document(BUCKET))
    policy["Statement"][0]["Action"].remove("s3:DeleteObject")
    s3 = iam_enforcing_s3.secrets_for(policy)

    result = check_storage(tmp_path, s3)

    assert result.returncode == 1
    assert "ok   list ops-check/" in result.stdout
    assert "FAIL delete it" in result.stdout
    assert (
        f"Access denied to DeleteObject: the credentials (access key "
        f"****{s3['AWS_ACCESS_KEY_ID'][-4:]} from {tmp_path / 'secrets.json'}: key "
        f"'AWS_ACCESS_KEY_ID') lack s3:DeleteObject on arn:aws:s3:::{BUCKET}/media/*"
        in result.stderr
    )
    assert s3["AWS_SECRET_ACCESS_KEY"] not in result.stdout + result.stderr


def aws_error(operation: str, code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "..."}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


@pytest.mark.parametrize(
    ("error", "fragment"),
    [
        pytest.param(
            aws_error("HeadObject", "403", 403),
            f"may not list the bucket (s3:ListBucket on arn:aws:s3:::{BUCKET}), so S3 will not "
            f"say that an object is missing, and every upload fails",
            id="403 for a missing object",
        ),
        pytest.param(
            aws_error("PutObject", "PermanentRedirect", 301),
            f"is in another region than {REGION} (PermanentRedirect): set AWS_S3_REGION_NAME",
            id="region redirect",
        ),
        pytest.param(
            aws_error("ListObjectsV2", "AccessDenied", 403),
            f"lack s3:ListBucket on arn:aws:s3:::{BUCKET};",
            id="no listing",
        ),
        pytest.param(
            aws_error("PutObject", "InvalidAccessKeyId", 403),
            f"S3 rejects the credentials (access key {MASKED} from",
            id="unknown key",
        ),
    ],
)
def test_aws_refusals_are_explained_as_what_to_fix(error, fragment):
    assert fragment in explain(error, default_storage)
