"""Security groups: HTTP(S) from anywhere, SSH from the operator, PostgreSQL and Redis from web
servers."""

from typing import Any, NamedTuple

from ops.provision.plan import ProvisionError

ANYWHERE = ("0.0.0.0/0", "::/0")
POSTGRES_PORT = 5432
REDIS_PORT = 6379


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


def cache_rules(web_group_id: str) -> set[Rule]:
    """Redis (Valkey) only from the web servers' security group."""
    return {Rule("tcp", REDIS_PORT, REDIS_PORT, web_group_id)}


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


class NetworkSteps:
    """Provisioner steps for EC2 networking."""

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
