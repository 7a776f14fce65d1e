"""ElastiCache (``--redis``): one Valkey node for the cache, sessions and rate counters of every
web server, private, encrypted in transit and at rest, with a password, reachable only from the
web servers' security group.

It is a replication group of one node (cluster mode off): ElastiCache's shape that takes
encryption at rest and a password, and to which a replica can be added later without a new
endpoint. Valkey is the open-source fork of Redis that ElastiCache prices lowest; the app talks
to it as to Redis. Losing it loses nothing: sessions are kept in the database too, and the app
falls back to the database while it is away (config/cache.py).
"""

import secrets
from typing import Any

from ops.provision.network import REDIS_PORT
from ops.provision.plan import ProvisionError

CACHE_ENGINE = "valkey"
CACHE_ENGINE_VERSION = "8.0"


class CacheSteps:
    """Provisioner steps for ElastiCache."""

    def cache_subnet_group(self, vpc_id: str) -> None:
        name = self.options.cache_name
        try:
            self.elasticache.describe_cache_subnet_groups(CacheSubnetGroupName=name)
            return
        except self.elasticache.exceptions.CacheSubnetGroupNotFoundFault:
            pass
        subnets = self.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
        subnet_ids = [subnet["SubnetId"] for subnet in subnets["Subnets"]]
        self.change(
            f"create cache subnet group {name} from the {len(subnet_ids)} subnets of {vpc_id}",
            lambda: self.elasticache.create_cache_subnet_group(
                CacheSubnetGroupName=name,
                CacheSubnetGroupDescription="The app's cache, in the default VPC",
                SubnetIds=subnet_ids,
            ),
        )

    def cache(self, cache_group_id: str) -> str | None:
        """Make the cache if it is missing; the REDIS_URL of a cache made now (its password
        is known only at creation), else None."""
        name = self.options.cache_name
        try:
            [group] = self.elasticache.describe_replication_groups(ReplicationGroupId=name)[
                "ReplicationGroups"
            ]
        except self.elasticache.exceptions.ReplicationGroupNotFoundFault:
            password = secrets.token_hex(32)
            made = self.change(
                f"create ElastiCache {CACHE_ENGINE} {CACHE_ENGINE_VERSION} cache {name} (one "
                f"{self.options.cache_node_type} node, encrypted in transit and at rest, with a "
                f"password, in {cache_group_id})",
                lambda: self._create_cache(cache_group_id, password),
            )
            # A dry run plans to write the URL, which exists only once the cache does.
            return made or f"rediss://:<password>@<{name} endpoint>:{REDIS_PORT}/0"
        if not group.get("AtRestEncryptionEnabled") or not group.get("TransitEncryptionEnabled"):
            raise ProvisionError(
                f"ElastiCache cache {name} is not encrypted in transit and at rest, which this "
                f"command does not change in place: delete it (the app falls back to the "
                f"database meanwhile), or choose another --name."
            )
        self._cache_outputs(group)
        return None

    def _create_cache(self, cache_group_id: str, password: str) -> str:
        name = self.options.cache_name
        self.elasticache.create_replication_group(
            ReplicationGroupId=name,
            ReplicationGroupDescription="The app's cache, sessions and rate counters",
            Engine=CACHE_ENGINE,
            EngineVersion=CACHE_ENGINE_VERSION,
            CacheNodeType=self.options.cache_node_type,
            NumCacheClusters=1,
            Port=REDIS_PORT,
            CacheSubnetGroupName=name,
            SecurityGroupIds=[cache_group_id],
            TransitEncryptionEnabled=True,
            AtRestEncryptionEnabled=True,
            AuthToken=password,
        )
        self.report(f"  waiting for ElastiCache cache {name} (usually 5-10 minutes)")
        self.elasticache.get_waiter("replication_group_available").wait(
            ReplicationGroupId=name, WaiterConfig={"Delay": 30, "MaxAttempts": 60}
        )
        [group] = self.elasticache.describe_replication_groups(ReplicationGroupId=name)[
            "ReplicationGroups"
        ]
        endpoint = self._cache_outputs(group)
        return f"rediss://:{password}@{endpoint['Address']}:{endpoint['Port']}/0"

    def _cache_outputs(self, group: dict[str, Any]) -> dict[str, Any]:
        endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
        self.outputs["cache_endpoint"] = endpoint["Address"]
        return endpoint
