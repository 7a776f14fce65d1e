"""Check the media storage the way the app uses it: write, read, list and delete a probe object.

A failure is explained as what to fix (a wrong bucket, a missing permission, a wrong region,
bad credentials). Where the credentials came from is named; the secret itself never is.
"""

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError, NoCredentialsError
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage

PROBE_FOLDER = "ops-check"
# What each S3 operation the storage makes needs in IAM, on objects or on the bucket itself.
PERMISSIONS = {
    "HeadBucket": ("s3:ListBucket", ""),
    "HeadObject": ("s3:GetObject", "/media/*"),
    "PutObject": ("s3:PutObject", "/media/*"),
    "GetObject": ("s3:GetObject", "/media/*"),
    "ListObjectsV2": ("s3:ListBucket", ""),
    "DeleteObject": ("s3:DeleteObject", "/media/*"),
}
REGION_ERRORS = ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraint")
CREDENTIAL_ERRORS = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken")
# botocore's names for where its default chain found credentials.
CREDENTIAL_METHODS = {
    "env": "environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    "shared-credentials-file": "the shared credentials file (~/.aws/credentials)",
    "config-file": "the AWS config file (~/.aws/config)",
    "iam-role": "the EC2 instance profile (instance metadata)",
    "container-role": "the container's task role",
    "assume-role": "a role assumed through ~/.aws/config",
    "sso": "AWS IAM Identity Center (SSO)",
}


class StorageCheckError(Exception):
    """A step failed; the message says what to fix."""


def is_s3(storage: Storage) -> bool:
    return hasattr(storage, "bucket_name")


def storage_facts(storage: Storage) -> dict[str, str]:
    """Where media go and with whose credentials, for the operator to read."""
    if not is_s3(storage):
        return {"storage": f"local files in {storage.location}"}
    client = storage.connection.meta.client
    return {
        "bucket": storage.bucket_name,
        "region": client.meta.region_name,
        "endpoint": _endpoint(storage),
        "credentials": credentials_source(storage),
    }


def credentials_source(storage: Storage) -> str:
    """Which access key signs requests and where it was found, without the secret."""
    if storage.access_key:
        return f"access key {mask(storage.access_key)} from {_setting_source('AWS_ACCESS_KEY_ID')}"
    session = boto3.Session(profile_name=storage.session_profile or None)
    credentials = session.get_credentials()
    if credentials is None:
        return "none found (no keys in the settings, and boto3's default chain found none)"
    where = CREDENTIAL_METHODS.get(credentials.method, credentials.method)
    return f"access key {mask(credentials.access_key)} from boto3's default chain: {where}"


def _setting_source(key: str) -> str:
    # Secrets names the file, secret or variable a setting came from.
    return settings.SECRETS.source(key)


def mask(access_key: str) -> str:
    """An access key id as the AWS CLI shows it: only the last four characters."""
    return "*" * 4 + access_key[-4:]


def storage_check(storage: Storage, report: Callable[[str], None] = print) -> None:
    """Run each step, reporting it; raise StorageCheckError at the first that fails."""
    name = f"{PROBE_FOLDER}/{uuid.uuid4().hex}.txt"
    payload = f"check_storage probe {name}".encode()
    saved = None

    def step(description: str, call: Callable[[], Any]) -> Any:
        try:
            result = call()
        except Exception as exc:
            report(f"FAIL {description}")
            raise StorageCheckError(explain(exc, storage)) from exc
        report(f"ok   {description}")
        return result

    if is_s3(storage):
        step(f"bucket {storage.bucket_name} is in {_region(storage)}", lambda: _bucket(storage))
    try:
        step(
            "a missing object reads as missing (as before every upload)",
            lambda: _missing(storage, name),
        )
        saved = step(f"write {name}", lambda: storage.save(name, ContentFile(payload)))
        step("read it back", lambda: _read_back(storage, saved, payload))
        step(f"list {PROBE_FOLDER}/", lambda: _listed(storage, saved))
        step("delete it", lambda: storage.delete(saved))
        saved = None
    finally:
        if saved:
            # The check has failed already and says why; don't leave the probe behind.
            with contextlib.suppress(Exception):
                storage.delete(saved)


def _endpoint(storage: Storage) -> str:
    return storage.connection.meta.client.meta.endpoint_url


def _region(storage: Storage) -> str:
    return storage.connection.meta.client.meta.region_name


def _bucket(storage: Storage) -> None:
    """The bucket exists, and in the configured region: S3 names its region in HeadBucket's
    answer, even a 403 (botocore's own region redirector relies on that)."""
    client = storage.connection.meta.client
    try:
        headers = client.head_bucket(Bucket=storage.bucket_name)["ResponseMetadata"]["HTTPHeaders"]
    except ClientError as exc:
        if exc.response["ResponseMetadata"]["HTTPStatusCode"] != 403:
            raise
        headers = exc.response["ResponseMetadata"]["HTTPHeaders"]
    actual = headers.get("x-amz-bucket-region")
    if actual and actual != _region(storage):
        raise StorageCheckError(
            f"Bucket {storage.bucket_name} is in region {actual}, not {_region(storage)}: "
            f"set AWS_S3_REGION_NAME to {actual}."
        )


def _missing(storage: Storage, name: str) -> None:
    if storage.exists(name):
        raise StorageCheckError(f"{name} exists before it was written: is the bucket shared?")


def _read_back(storage: Storage, name: str, payload: bytes) -> None:
    with storage.open(name) as probe:
        if probe.read() != payload:
            raise StorageCheckError(f"{name} reads back other bytes than were written.")


def _listed(storage: Storage, name: str) -> None:
    if name.rsplit("/", 1)[-1] not in storage.listdir(PROBE_FOLDER)[1]:
        raise StorageCheckError(f"{name} was written but is not listed in {PROBE_FOLDER}/.")


def explain(exc: BaseException, storage: Storage) -> str:
    """What a storage error means for the operator, and what to change."""
    if isinstance(exc, StorageCheckError):
        return str(exc)
    if isinstance(exc, NoCredentialsError):
        return (
            "No AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run on an "
            "EC2 instance with the instance profile provision_aws makes."
        )
    # boto3's uploads wrap the ClientError in S3UploadFailedError.
    error = exc if isinstance(exc, ClientError) else exc.__context__
    if not isinstance(error, ClientError):
        return f"{exc.__class__.__name__}: {exc}"
    operation = error.operation_name
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    bucket = getattr(storage, "bucket_name", "")
    if code == "NoSuchBucket" or (operation == "HeadBucket" and status == 404):
        return (
            f"Bucket {bucket} does not exist at {_endpoint(storage)}: check "
            f"AWS_STORAGE_BUCKET_NAME (provision_aws creates the bucket)."
        )
    if code in REGION_ERRORS or status == 301:
        return (
            f"Bucket {bucket} is in another region than {_region(storage)} ({code}): set "
            f"AWS_S3_REGION_NAME to the bucket's region."
        )
    if code in CREDENTIAL_ERRORS:
        return f"S3 rejects the credentials ({credentials_source(storage)}): {code}."
    if operation == "HeadObject" and status == 403:
        return (
            f"S3 answered 403 to HeadObject of a missing object: the credentials "
            f"({credentials_source(storage)}) may not list the bucket (s3:ListBucket on "
            f"arn:aws:s3:::{bucket}), so S3 will not say that an object is missing, and every "
            f"upload fails, because the storage first checks that its new name is free."
        )
    if code == "AccessDenied" or status == 403:
        permission, objects = PERMISSIONS.get(operation, (operation, ""))
        return (
            f"Access denied to {operation}: the credentials ({credentials_source(storage)}) "
            f"lack {permission} on arn:aws:s3:::{bucket}{objects}; attach the policy "
            f"provision_aws makes."
        )
    message = error.response.get("Error", {}).get("Message", "")
    return f"S3 refused {operation}: {code or status}: {message}"
