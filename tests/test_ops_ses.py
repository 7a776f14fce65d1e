"""provision_aws --mail-from against moto: an SES identity, its DKIM records, and leave to send
as that identity only."""

import json

import pytest
from django.core.management import CommandError

from config.secrets import Secrets
from tests import test_ops_provision
from tests.conftest import REGION

MAIL_FROM = "Hello@Example.com"
# moto's AWS in this process, and provision_aws run with the test options, as there.
aws = test_ops_provision.aws
command = test_ops_provision.command


def policy_document(aws) -> dict:
    iam = aws.client("iam")
    [attached] = iam.list_attached_role_policies(RoleName="instagram-web")["AttachedPolicies"]
    version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)[
        "PolicyVersion"
    ]["Document"]


def test_a_domain_identity_is_made_and_its_dkim_records_printed(aws, tmp_path):
    output = command(tmp_path, f"--mail-from={MAIL_FROM}")
    ses = aws.client("ses")
    assert ses.list_identities()["Identities"] == ["example.com"]
    tokens = ses.get_identity_dkim_attributes(Identities=["example.com"])["DkimAttributes"][
        "example.com"
    ]["DkimTokens"]
    assert len(tokens) == 3
    for token in tokens:
        assert f"{token}._domainkey.example.com  CNAME  {token}.dkim.amazonses.com" in output
    assert "+ create SES identity example.com (a domain, signed with Easy DKIM)" in output


def test_the_app_may_send_as_that_identity_and_nothing_else(aws, tmp_path):
    command(tmp_path, f"--mail-from={MAIL_FROM}")
    account = aws.client("sts").get_caller_identity()["Account"]
    statements = policy_document(aws)["Statement"]
    assert [s["Sid"] for s in statements] == [
        "MediaObjects",
        "ListMedia",
        "NeverDestroyVersions",
        "SendMail",
    ]
    assert statements[-1] == {
        "Sid": "SendMail",
        "Effect": "Allow",
        "Action": ["ses:SendEmail", "ses:SendRawEmail"],
        "Resource": f"arn:aws:ses:{REGION}:{account}:identity/example.com",
    }


def test_the_secrets_file_sends_through_ses(aws, tmp_path):
    command(tmp_path, f"--mail-from={MAIL_FROM}")
    written = json.loads((tmp_path / "secrets.json").read_text())
    assert written["EMAIL_BACKEND"] == "ses"
    assert written["DEFAULT_FROM_EMAIL"] == MAIL_FROM
    assert written["AWS_SES_REGION_NAME"] == REGION
    email = Secrets.load(tmp_path / "secrets.json", environ={}).email()
    assert email["EMAIL_BACKEND"] == "django_ses.SESBackend"
    assert email["AWS_SES_REGION_ENDPOINT_URL"] == f"https://email.{REGION}.amazonaws.com"


def test_a_second_run_changes_nothing_and_still_prints_the_records(aws, tmp_path):
    command(tmp_path, f"--mail-from={MAIL_FROM}")
    again = command(tmp_path, f"--mail-from={MAIL_FROM}")
    assert "No changes: everything already is as it should be." in again
    assert "+ " not in again
    assert again.count("dkim.amazonses.com") == 3
    assert "example.com (verification success)" in again


def test_an_address_identity_is_that_address_only(aws, tmp_path):
    output = command(tmp_path, f"--mail-from={MAIL_FROM}", "--ses-identity=address")
    assert aws.client("ses").list_identities()["Identities"] == ["hello@example.com"]
    assert "AWS mails it a link to follow" in output and "_domainkey" not in output
    assert policy_document(aws)["Statement"][-1]["Resource"].endswith(":identity/hello@example.com")


def test_a_dry_run_plans_the_identity_and_makes_nothing(aws, tmp_path):
    output = command(tmp_path, f"--mail-from={MAIL_FROM}", "--dry-run")
    assert "+ create SES identity example.com" in output
    assert "send mail as example.com" in output
    assert aws.client("ses").list_identities()["Identities"] == []


@pytest.mark.parametrize("mail_from", ["example.com", "hello@localhost", "a b@example.com"])
def test_a_sender_that_is_not_an_address_is_refused(aws, tmp_path, mail_from):
    with pytest.raises(CommandError, match="must be an address"):
        command(tmp_path, f"--mail-from={mail_from}")
    assert aws.client("ses").list_identities()["Identities"] == []
