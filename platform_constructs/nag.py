"""Acknowledging cdk-nag AwsSolutions findings next to the code that causes them.

cdk-nag 3 reads CDK's native acknowledgements; each finding is acknowledged by the full id
synth prints (``AwsSolutions-IAM5[Resource::*]``), one at a time, with a reason written for a
security reviewer. ``tests/test_gates.py`` fails on any finding left unacknowledged.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

PREFIX = "AwsSolutions::"
MIN_REASON_WORDS = 12


def acknowledge(construct: IConstruct, reason: str, *finding_ids: str) -> None:
    """Acknowledge ``finding_ids`` (e.g. ``AwsSolutions-L1``) on ``construct`` and below."""
    if not finding_ids:
        raise ValueError("name at least one finding id")
    if len(reason.split()) < MIN_REASON_WORDS:
        raise ValueError(f"an acknowledgement needs a reason a reviewer can accept, got {reason!r}")
    # One call for all of the ids: each jsii call is a round trip to Node.js.
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=PREFIX + finding_id, reason=reason) for finding_id in finding_ids)
    )


def managed_policy_finding(policy_path: str) -> str:
    """Finding id of AwsSolutions-IAM4 for an AWS managed policy such as ``service-role/X``."""
    return f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{policy_path}]"
