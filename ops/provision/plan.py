"""What to provision: the operator's choices, checked, and the names that derive from them."""

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ops import ses


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
    # How long a deleted photo can still be restored (media_restore).
    keep_deleted_days: int = 30
    multi_az: bool = False
    # The address mail comes from, and whether SES verifies its domain or the address alone.
    mail_from: str = ""
    ses_identity: str = "domain"
    # An ElastiCache cache for every web server (REDIS_URL), and its node's size.
    redis: bool = False
    cache_node_type: str = "cache.t4g.micro"

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
        if self.keep_deleted_days < 1:
            raise ProvisionError(
                f"--keep-deleted-days must be 1 or more (deleted photos can be restored for that "
                f"long), not {self.keep_deleted_days}."
            )
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

    @property
    def cache_name(self) -> str:
        """The security group, cache subnet group and ElastiCache replication group."""
        return f"{self.name}-cache"
