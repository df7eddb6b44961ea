"""The platform's PostgreSQL settings (``platform_database``): a neutral home at the top level
of the stage file, since the job API and MLflow both use the database; the old home is refused
naming the new one, and moving the settings replaced no stateful resource."""

from __future__ import annotations

import pytest

from platform_config.loader import load_stages, parse_stage
from platform_config.platform_database import PlatformDatabaseSettings
from tests.test_config import error_of, stage_with

STAGES = {stage.name: stage for stage in load_stages()}


def test_the_old_home_is_refused_with_one_message_naming_the_new_setting():
    message = error_of(stage_with(**{"job_api.database": {"readers": 1}}))
    assert message.count("\n  - ") == 1  # one error
    assert "job_api.database has moved" in message and "top-level platform_database" in message


def test_the_settings_apply_from_the_top_level():
    config = parse_stage(stage_with(platform_database={"readers": 1, "rotation_days": 7}), "dev.yaml")
    assert config.platform_database == PlatformDatabaseSettings(readers=1, rotation_days=7)
    assert "min_capacity 8.0 is above max_capacity 4.0" in error_of(
        stage_with(platform_database={"min_capacity": 8, "max_capacity": 4})
    )


# The database's stateful resources as synthesized while its settings were job_api.database
# (the master secret's id carries the stage's path).
STATEFUL = ["DatabaseCluster5B53A178", "DatabaseClusterSubnets5540150D", "DatabaseClusterWriterD43085C6",
            "DatabaseMlflowSecret169106CD"]  # fmt: skip
MASTER_SECRET = {
    "dev": "devStorageDatabaseClusterSecretB10A61EE3fdaad7efa858a3daf9490cf0a702aeb",
    "staging": "stagingStorageDatabaseClusterSecretD6CFF38B3fdaad7efa858a3daf9490cf0a702aeb",
    "prod": "prodStorageDatabaseClusterSecret8486F9473fdaad7efa858a3daf9490cf0a702aeb",
}
STATEFUL_TYPES = (
    "AWS::RDS::DBCluster", "AWS::RDS::DBInstance", "AWS::RDS::DBSubnetGroup", "AWS::SecretsManager::Secret",
)  # fmt: skip


@pytest.mark.parametrize("stage", ["dev", "staging", "prod"])
def test_the_databases_logical_ids_are_those_deployed_before_the_move(synth, stage):
    """Stateful: a changed logical id would replace the cluster, its writer or a login's secret."""
    resources = synth.template(stage, "Storage")["Resources"]
    expected = [*STATEFUL, MASTER_SECRET[stage]]
    expected += ["DatabaseJobApiSecretF4C5A994"] if STAGES[stage].job_api.enabled else []
    found = [k for k, r in resources.items() if k.startswith(("Database", f"{stage}StorageDatabase"))
             and r["Type"] in STATEFUL_TYPES]  # fmt: skip
    assert sorted(found) == sorted(expected)
