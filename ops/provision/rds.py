"""RDS: a private, encrypted PostgreSQL instance with backups, admitting only web servers.

It is protected from deletion: deleting it takes turning the protection off first, and RDS then
requires a final snapshot unless told to skip it; snapshots carry the instance's tags.
"""

from typing import Any

from ops.provision.plan import ProvisionError

DB_ENGINE_VERSION = "17"
DB_STORAGE_GB = 20
DB_BACKUP_DAYS = 7
DB_MASTER_USER = "postgres"
# The app's own database and its owner role, which create_app_database makes on the instance.
APP_DATABASE = "instagram"


class DatabaseSteps:
    """Provisioner steps for RDS."""

    def db_subnet_group(self, vpc_id: str) -> None:
        name = self.options.db_name
        try:
            self.rds.describe_db_subnet_groups(DBSubnetGroupName=name)
            return
        except self.rds.exceptions.DBSubnetGroupNotFoundFault:
            pass
        subnets = self.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
        subnet_ids = [subnet["SubnetId"] for subnet in subnets["Subnets"]]
        self.change(
            f"create DB subnet group {name} from the {len(subnet_ids)} subnets of {vpc_id}",
            lambda: self.rds.create_db_subnet_group(
                DBSubnetGroupName=name,
                DBSubnetGroupDescription="The app's database, in the default VPC",
                SubnetIds=subnet_ids,
            ),
        )

    def database(self, db_group_id: str) -> dict[str, Any] | None:
        """The RDS instance (None until it exists): encrypted, backed up, private."""
        name = self.options.db_name
        try:
            instance = self.rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
        except self.rds.exceptions.DBInstanceNotFoundFault:
            zones = "Multi-AZ" if self.options.multi_az else "Single-AZ"
            return self.change(
                f"create RDS PostgreSQL {DB_ENGINE_VERSION} instance {name} "
                f"({self.options.db_instance_class}, {zones}, {DB_STORAGE_GB} GB encrypted, "
                f"backups kept {DB_BACKUP_DAYS} days, deletion protection on, not publicly "
                f"accessible, in {db_group_id})",
                lambda: self._create_database(db_group_id),
            )
        if not instance["StorageEncrypted"]:
            raise ProvisionError(
                f"RDS instance {name} is not encrypted, which cannot be changed in place: "
                f"restore an encrypted copy of a snapshot, or choose another --name."
            )
        fixes: dict[str, Any] = {}
        if instance["PubliclyAccessible"]:
            fixes["PubliclyAccessible"] = False
        if instance["BackupRetentionPeriod"] < 1:
            fixes["BackupRetentionPeriod"] = DB_BACKUP_DAYS
        if [g["VpcSecurityGroupId"] for g in instance["VpcSecurityGroups"]] != [db_group_id]:
            fixes["VpcSecurityGroupIds"] = [db_group_id]
        if not instance.get("DeletionProtection"):
            fixes["DeletionProtection"] = True
        if not instance.get("CopyTagsToSnapshot"):
            fixes["CopyTagsToSnapshot"] = True
        # --multi-az only ever adds a standby: a run without it never takes one away.
        if self.options.multi_az and not instance["MultiAZ"]:
            fixes["MultiAZ"] = True
        if fixes:
            self.change(
                f"RDS instance {name}: set {', '.join(f'{k}={v}' for k, v in fixes.items())}",
                lambda: self.rds.modify_db_instance(
                    DBInstanceIdentifier=name, ApplyImmediately=True, **fixes
                ),
            )
        if "Endpoint" not in instance and not self.dry_run:
            instance = self._wait_for_database()
        self._database_outputs(instance)
        return instance

    def _create_database(self, db_group_id: str) -> dict[str, Any]:
        self.rds.create_db_instance(
            DBInstanceIdentifier=self.options.db_name,
            DBInstanceClass=self.options.db_instance_class,
            Engine="postgres",
            EngineVersion=DB_ENGINE_VERSION,
            AllocatedStorage=DB_STORAGE_GB,
            StorageType="gp3",
            StorageEncrypted=True,
            BackupRetentionPeriod=DB_BACKUP_DAYS,
            PubliclyAccessible=False,
            MultiAZ=self.options.multi_az,
            DeletionProtection=True,
            CopyTagsToSnapshot=True,
            VpcSecurityGroupIds=[db_group_id],
            DBSubnetGroupName=self.options.db_name,
            MasterUsername=DB_MASTER_USER,
            # RDS keeps the master password in Secrets Manager: it never passes through here.
            ManageMasterUserPassword=True,
        )
        instance = self._wait_for_database()
        self._database_outputs(instance)
        return instance

    def _wait_for_database(self) -> dict[str, Any]:
        self.report(f"  waiting for RDS instance {self.options.db_name} (usually 5-15 minutes)")
        self.rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=self.options.db_name,
            WaiterConfig={"Delay": 30, "MaxAttempts": 60},
        )
        return self.rds.describe_db_instances(DBInstanceIdentifier=self.options.db_name)[
            "DBInstances"
        ][0]

    def _database_outputs(self, instance: dict[str, Any]) -> None:
        if "Endpoint" in instance:
            self.outputs["db_endpoint"] = instance["Endpoint"]["Address"]
        if "MasterUserSecret" in instance:
            self.outputs["db_master_secret"] = instance["MasterUserSecret"]["SecretArn"]
