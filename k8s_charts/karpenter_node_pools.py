"""Karpenter NodePools and EC2NodeClasses for the stage's GPU pools, one pair per pool.

Everything a platform engineer tunes -- weight, GPU limit, capacity types, expiry,
consolidation, disruption budget -- is one line of stage config (seed 000's
``karpenter_g6_weight = 40`` is ``weight: 40``). Pools only launch catalogued sizes, so the
GPU count behind every node the scheduler sees is known.
"""

from __future__ import annotations

import cdk8s
from constructs import Construct

from k8s_charts.imports.karpenter_k8s_aws_ec2nodeclasses.aws.k8s import karpenter as kec2
from k8s_charts.imports.karpenter_sh_nodepools.sh import karpenter as kpool
from platform_config.model import KarpenterNodePoolSettings
from platform_config.versions import KARPENTER_AMI_ALIAS
from platform_constructs.naming import (
    EFA_LABEL,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    KARPENTER_DISCOVERY_TAG,
    POOL_LABEL,
)

ROOT_VOLUME_GIB = 300
CONSOLIDATION = {
    "WhenEmpty": kpool.NodePoolSpecDisruptionConsolidationPolicy.WHEN_EMPTY,
    "WhenEmptyOrUnderutilized": kpool.NodePoolSpecDisruptionConsolidationPolicy.WHEN_EMPTY_OR_UNDERUTILIZED,
}


class KarpenterNodePoolsChart(cdk8s.Chart):
    def __init__(
        self,
        scope: Construct,
        chart_id: str,
        *,
        pools: list[KarpenterNodePoolSettings],
        node_role_name: str,
        discovery_value: str,
        cluster_security_group_id: str,
        efa_security_group_id: str,
    ) -> None:
        super().__init__(scope, chart_id)
        for pool in pools:
            security_groups = [kec2.Ec2NodeClassSpecSecurityGroupSelectorTerms(id=cluster_security_group_id)]
            if pool.efa:
                security_groups.append(
                    kec2.Ec2NodeClassSpecSecurityGroupSelectorTerms(id=efa_security_group_id)
                )
            kec2.Ec2NodeClass(
                self,
                f"nodeclass-{pool.name}",
                metadata=cdk8s.ApiObjectMetadata(name=pool.name),
                spec=kec2.Ec2NodeClassSpec(
                    role=node_role_name,
                    ami_selector_terms=[kec2.Ec2NodeClassSpecAmiSelectorTerms(alias=KARPENTER_AMI_ALIAS)],
                    subnet_selector_terms=[
                        kec2.Ec2NodeClassSpecSubnetSelectorTerms(
                            tags={KARPENTER_DISCOVERY_TAG: discovery_value}
                        )
                    ],
                    security_group_selector_terms=security_groups,
                    metadata_options=kec2.Ec2NodeClassSpecMetadataOptions(
                        http_endpoint=kec2.Ec2NodeClassSpecMetadataOptionsHttpEndpoint.ENABLED,
                        http_tokens=kec2.Ec2NodeClassSpecMetadataOptionsHttpTokens.REQUIRED,
                        http_put_response_hop_limit=1,
                    ),
                    block_device_mappings=[
                        kec2.Ec2NodeClassSpecBlockDeviceMappings(
                            device_name="/dev/xvda",
                            root_volume=True,
                            ebs=kec2.Ec2NodeClassSpecBlockDeviceMappingsEbs(
                                volume_size=f"{ROOT_VOLUME_GIB}Gi",
                                volume_type=kec2.Ec2NodeClassSpecBlockDeviceMappingsEbsVolumeType.GP3,
                                encrypted=True,
                                delete_on_termination=True,
                                iops=3000,
                                throughput=250,
                            ),
                        )
                    ],
                    tags={KARPENTER_DISCOVERY_TAG: discovery_value, POOL_LABEL: pool.name},
                ),
            )
            kpool.NodePool(
                self,
                f"nodepool-{pool.name}",
                metadata=cdk8s.ApiObjectMetadata(name=pool.name),
                spec=kpool.NodePoolSpec(
                    weight=pool.weight,
                    limits={GPU_TAINT_KEY: kpool.NodePoolSpecLimits.from_number(pool.gpu_limit)},
                    template=kpool.NodePoolSpecTemplate(
                        metadata=kpool.NodePoolSpecTemplateMetadata(
                            labels={POOL_LABEL: pool.name, EFA_LABEL: str(pool.efa).lower()}
                        ),
                        spec=kpool.NodePoolSpecTemplateSpec(
                            node_class_ref=kpool.NodePoolSpecTemplateSpecNodeClassRef(
                                group="karpenter.k8s.aws", kind="EC2NodeClass", name=pool.name
                            ),
                            expire_after=pool.expire_after,
                            taints=[
                                kpool.NodePoolSpecTemplateSpecTaints(
                                    key=GPU_TAINT_KEY,
                                    value=GPU_TAINT_VALUE,
                                    effect=kpool.NodePoolSpecTemplateSpecTaintsEffect.NO_SCHEDULE,
                                )
                            ],
                            requirements=[
                                _requirement("node.kubernetes.io/instance-type", pool.instance_types),
                                _requirement(
                                    "karpenter.sh/capacity-type", [c.value for c in pool.capacity_types]
                                ),
                                _requirement("kubernetes.io/arch", ["amd64"]),
                                _requirement("kubernetes.io/os", ["linux"]),
                            ],
                        ),
                    ),
                    disruption=kpool.NodePoolSpecDisruption(
                        consolidation_policy=CONSOLIDATION[pool.consolidation_policy],
                        consolidate_after=pool.consolidate_after,
                        budgets=[kpool.NodePoolSpecDisruptionBudgets(nodes=pool.disruption_budget)],
                    ),
                ),
            )


def _requirement(key: str, values: list[str]) -> kpool.NodePoolSpecTemplateSpecRequirements:
    return kpool.NodePoolSpecTemplateSpecRequirements(
        key=key,
        operator=kpool.NodePoolSpecTemplateSpecRequirementsOperator.IN,
        values=sorted(values),
    )
