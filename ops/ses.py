"""Amazon SES for the app's mail: an identity to send as, and leave to send as it only.

A domain identity is signed with Easy DKIM: SES gives three tokens, and the operator adds one
CNAME record per token to the domain's DNS. An address identity is confirmed by following the
link AWS mails to it. The app's IAM policy gets ``ses:SendEmail`` and ``ses:SendRawEmail`` on
that one identity, nothing else.
"""

from collections.abc import Callable
from typing import Any

IDENTITY_KINDS = ("domain", "address")


def identity_of(mail_from: str, kind: str) -> str:
    """The SES identity that ``mail_from`` (an address) is sent as: its domain, or itself.
    ValueError says what is wrong with it."""
    local, _, domain = mail_from.rpartition("@")
    if not local or "." not in domain or " " in mail_from:
        raise ValueError(f"--mail-from {mail_from!r} must be an address, e.g. hello@example.com.")
    if kind not in IDENTITY_KINDS:
        raise ValueError(f"--ses-identity must be one of {', '.join(IDENTITY_KINDS)}.")
    return domain.lower() if kind == "domain" else mail_from.lower()


def send_statement(identity_arn: str) -> dict[str, Any]:
    """The IAM statement that lets the app send mail as one identity."""
    return {
        "Sid": "SendMail",
        "Effect": "Allow",
        "Action": ["ses:SendEmail", "ses:SendRawEmail"],
        "Resource": identity_arn,
    }


class MailIdentity:
    """The SES identity of ``mail_from`` in ``region``, made if missing, with what to tell the
    operator (its status and, for a domain, the DKIM records to add)."""

    def __init__(
        self,
        *,
        client: Any,
        region: str,
        account: str,
        mail_from: str,
        kind: str,
        change: Callable[[str, Callable[[], Any]], Any],
    ):
        self.client = client
        self.region = region
        self.mail_from = mail_from
        self.kind = kind
        self.identity = identity_of(mail_from, kind)
        self.arn = f"arn:aws:ses:{region}:{account}:identity/{self.identity}"
        self.change = change

    def statement(self) -> dict[str, Any]:
        return send_statement(self.arn)

    def secrets(self) -> dict[str, str]:
        """What secrets.json needs to send through this identity."""
        return {
            "EMAIL_BACKEND": "ses",
            "DEFAULT_FROM_EMAIL": self.mail_from,
            "AWS_SES_REGION_NAME": self.region,
        }

    def provision(self) -> dict[str, str]:
        """Make the identity if it is missing; return the outputs to print."""
        exists = self.identity in self._identities()
        outputs = {}
        if self.kind == "domain":
            if exists:
                attributes = self.client.get_identity_dkim_attributes(Identities=[self.identity])
                tokens = attributes["DkimAttributes"][self.identity].get("DkimTokens", [])
            else:
                tokens = self.change(
                    f"create SES identity {self.identity} (a domain, signed with Easy DKIM)",
                    lambda: self.client.verify_domain_dkim(Domain=self.identity)["DkimTokens"],
                )
            outputs["ses_dkim_records"] = (
                "\n".join(
                    f"    {token}._domainkey.{self.identity}  CNAME  {token}.dkim.amazonses.com"
                    for token in tokens
                )
                if tokens
                else "    (shown once the identity exists: run without --dry-run)"
            )
        elif not exists:
            self.change(
                f"create SES identity {self.identity} (an address: AWS mails it a link to follow)",
                lambda: self.client.verify_email_identity(EmailAddress=self.identity),
            )
        outputs["ses_identity"] = f"{self.identity} ({self._status() if exists else 'new'})"
        return outputs

    def _identities(self) -> set[str]:
        kind = "Domain" if self.kind == "domain" else "EmailAddress"
        pages = self.client.get_paginator("list_identities").paginate(IdentityType=kind)
        return {identity.lower() for page in pages for identity in page["Identities"]}

    def _status(self) -> str:
        attributes = self.client.get_identity_verification_attributes(Identities=[self.identity])
        status = attributes["VerificationAttributes"].get(self.identity, {})
        return f"verification {status.get('VerificationStatus', 'unknown').lower()}"
