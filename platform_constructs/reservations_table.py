"""The reservations table (seed 002's schema): stateful, so it lives in the Storage stack.

Keys and indexes are the contract with ``reservations.store`` and the ``gpu-dev`` CLI:
``StatusIndex`` (the processor finds the queue, the expiry pass the open and stale records),
``UserIndex`` (the processor counts a user's open reservations) as in the seed, and
``OwnerIndex`` (the sender's AWS user id, then the reservation id): the only records a
developer may read are those under their own key (``${aws:userid}``, see the Reservations
stack's users policy). Indexes only find records: who holds GPUs is read from the per-type
ledger items with consistent reads (``reservations.store``). Point-in-time recovery is on; prod
keeps the table when its stack goes.

``StatusGpuTypeIndex`` is read and written by nothing since the CLI counts queues from the
capacity summary; it stays defined for one more deploy because DynamoDB adds or deletes only
one global secondary index per table update (``UpdateTable``), and this change adds
``OwnerIndex``. Remove it in the next change to the table.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from platform_config.model import StageConfig
from platform_constructs.retention import removal_policy
from reservations.model import INDEXES


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
    for index, (partition, sort) in INDEXES.items():
        table.add_global_secondary_index(
            index_name=index,
            partition_key=dynamodb.Attribute(name=partition, type=string),
            sort_key=dynamodb.Attribute(name=sort, type=string),
            projection_type=dynamodb.ProjectionType.ALL,
        )
    return table
