"""Customer-managed KMS keys for the platform's stateful resources."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from constructs import Construct

from platform_config.model import StageConfig
from platform_constructs.retention import removal_policy


def stage_key(scope: Construct, construct_id: str, *, config: StageConfig, description: str) -> kms.Key:
    """A rotating key that lives exactly as long as the data it encrypts."""
    return kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy(config),
    )
