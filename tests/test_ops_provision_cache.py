"""provision_aws --redis against moto: one small ElastiCache node, encrypted, with a password,
reachable only from the web servers, and its REDIS_URL in the secrets file."""

import json

from moto.core import DEFAULT_ACCOUNT_ID
from moto.elasticache.models import elasticache_backends

from config.secrets import Secrets
from tests import test_ops_provision
from tests.conftest import REGION
from tests.test_ops_provision import command, group_id, inbound, provision

aws = test_ops_provision.aws  # the fixture: moto's AWS in this process
CACHE = "instagram-cache"


def replication_group(aws) -> dict:
    [group] = aws.client("elasticache").describe_replication_groups(ReplicationGroupId=CACHE)[
        "ReplicationGroups"
    ]
    return group


def test_the_cache_is_one_small_encrypted_node_reachable_only_from_web_servers(aws, tmp_path):
    provisioner = provision(aws, tmp_path, redis=True)
    web, cache_group = group_id(aws, "instagram-web"), group_id(aws, CACHE)

    assert inbound(aws, CACHE) == {("tcp", 6379, 6379, web)}
    group = replication_group(aws)
    assert group["CacheNodeType"] == "cache.t4g.micro"
    assert group["Engine"] == "valkey"
    assert group["MemberClusters"] == [f"{CACHE}-001"]
    assert group["ClusterEnabled"] is False
    assert group["TransitEncryptionEnabled"] is True
    assert group["AtRestEncryptionEnabled"] is True
    assert group["AuthTokenEnabled"] is True
    # moto's describe calls do not show a group's security groups; its backend does.
    made = elasticache_backends[DEFAULT_ACCOUNT_ID][REGION].replication_groups[CACHE]
    assert made.security_group_ids == [cache_group]
    assert made.cache_subnet_group_name == CACHE
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]["Address"]
    assert provisioner.outputs["cache_endpoint"] == endpoint


def test_its_redis_url_goes_to_the_secrets_file_and_the_app_uses_it(aws, tmp_path):
    provision(aws, tmp_path, redis=True)
    endpoint = replication_group(aws)["NodeGroups"][0]["PrimaryEndpoint"]["Address"]

    written = json.loads((tmp_path / "secrets.json").read_text())

    url = written["REDIS_URL"]
    assert url.startswith("rediss://:")  # TLS, and a password
    assert url.endswith(f"@{endpoint}:6379/0")
    assert len(url.split("@")[0]) >= len("rediss://:") + 64
    app = Secrets.load(tmp_path / "secrets.json", environ={})
    assert app.caches() == {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": url}}
    assert app.session_engine() == "django.contrib.sessions.backends.cached_db"


def test_a_second_run_changes_nothing_and_puts_back_a_loosened_rule(aws, tmp_path):
    command(tmp_path, "--redis")
    secrets = (tmp_path / "secrets.json").read_text()
    second = command(tmp_path, "--redis")
    assert "+ " not in second
    assert "No changes: everything already is as it should be." in second
    aws.client("ec2").authorize_security_group_ingress(
        GroupId=group_id(aws, CACHE),
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )  # fmt: skip

    again = command(tmp_path, "--redis")

    assert "+ security group instagram-cache: remove tcp port 6379 from 0.0.0.0/0" in again
    assert "+ create ElastiCache" not in again
    assert (tmp_path / "secrets.json").read_text() == secrets
    assert ("tcp", 6379, 6379, "0.0.0.0/0") not in inbound(aws, CACHE)


def test_a_dry_run_plans_the_cache_and_makes_nothing(aws, tmp_path):
    output = command(tmp_path, "--redis", "--dry-run")

    assert "+ security group instagram-cache: allow tcp port 6379 from <instagram-web>" in output
    assert (
        "+ create ElastiCache valkey 8.0 cache instagram-cache (one cache.t4g.micro node, "
        "encrypted in transit and at rest, with a password" in output
    )
    assert "REDIS_URL" in output
    assert aws.client("elasticache").describe_replication_groups()["ReplicationGroups"] == []


def test_without_redis_no_cache_is_made(aws, tmp_path):
    provision(aws, tmp_path)

    assert aws.client("elasticache").describe_replication_groups()["ReplicationGroups"] == []
    assert "REDIS_URL" not in json.loads((tmp_path / "secrets.json").read_text())


def test_a_cache_whose_url_was_lost_is_reported_not_remade(aws, tmp_path):
    provision(aws, tmp_path, redis=True)
    path = tmp_path / "secrets.json"
    kept = json.loads(path.read_text())
    del kept["REDIS_URL"]
    path.write_text(json.dumps(kept))

    output = command(tmp_path, "--redis")

    assert f"! {path}: no REDIS_URL for cache instagram-cache, which exists" in output
    assert "+ create ElastiCache" not in output
