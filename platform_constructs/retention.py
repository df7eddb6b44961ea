"""One rule for what deleting a stack does to stateful resources, from the stage setting."""

from __future__ import annotations

from aws_cdk import RemovalPolicy

from platform_config.model import DataRetention, StageConfig


def removal_policy(config: StageConfig) -> RemovalPolicy:
    """RETAIN keeps data when its stack or resource is deleted; DESTROY lets dev clean up."""
    if config.storage.retention is DataRetention.RETAIN:
        return RemovalPolicy.RETAIN
    return RemovalPolicy.DESTROY


def destroys_data(config: StageConfig) -> bool:
    return config.storage.retention is DataRetention.DESTROY
