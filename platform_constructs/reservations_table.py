"""The reservations table (seed 002's schema): stateful, so it lives in the Storage stack.

Keys and indexes are the contract with ``reservations.store`` and the ``gpu-dev`` CLI:
``StatusIndex`` (the processor finds the queue and the expiry pass stale requests with it),
``UserIndex`` (a developer's list) as in the seed, and ``StatusGpuTypeIndex`` (``queued#t4``:
``gpu-dev status`` counts each queue with ``Select=COUNT``). Indexes only find records: who holds
GPUs is read from the per-type ledger items with consistent reads (``reservations.store``).
Point-in-time recovery is on; prod keeps the table when its stack goes.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from platform_config.model import StageConfig
from platform_constructs.retention import removal_policy

INDEXES = {
    "StatusIndex": "status",
    "UserIndex": "user_id",
    "StatusGpuTypeIndex": "status_gpu_type",
}


def reservations_table(
    scope: Construct, construct_id: str, *, config: StageConfig, key: kms.IKey
) -> dynamodb.Table:
    string = dynamodb.AttributeType.STRING
    table = dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name="reservation_id", type=string),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=config.is_prod,
        removal_policy=removal_policy(config),
    )
    for index, partition in INDEXES.items():
        table.add_global_secondary_index(
            index_name=index,
            partition_key=dynamodb.Attribute(name=partition, type=string),
            sort_key=dynamodb.Attribute(name="created_at", type=string),
            projection_type=dynamodb.ProjectionType.ALL,
        )
    return table
