"""Karpenter NodePools and EC2NodeClasses for the stage's pools, one pair per pool.

Everything a platform engineer tunes -- weight, GPU or vCPU limit, capacity types, OS, expiry,
consolidation, disruption budget -- is one line of stage config (seed 000's
``karpenter_g6_weight = 40`` is ``weight: 40``). Pools only launch catalogued sizes that AWS
sells in the stage's region, so the GPU count behind every node the scheduler sees is known
and no requirement names a size Karpenter could never get. GPU pools are tainted so only GPU
workloads land there; CPU pools (``kind: cpu``) are not, and are limited in vCPUs.
"""

from __future__ import annotations

from typing import cast

import cdk8s
from constructs import Construct

from k8s_charts.imports.karpenter_k8s_aws_ec2nodeclasses.aws.k8s import karpenter as kec2
from k8s_charts.imports.karpenter_sh_nodepools.sh import karpenter as kpool
from platform_config.contract import (
    AMI_FAMILY_LABEL,
    EFA_LABEL,
    GPU_STARTUP_TAINT_KEY,
    GPU_STARTUP_TAINT_VALUE,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    KARPENTER_DISCOVERY_TAG,
    POOL_LABEL,
)
from platform_config.gpu_node_config import bottlerocket_settings, node_labels
from platform_config.model import AmiFamily, KarpenterNodePoolSettings
from platform_config.versions import KARPENTER_AMI_ALIAS, KARPENTER_BOTTLEROCKET_ALIAS

AMI_ALIAS = {AmiFamily.AL2023: KARPENTER_AMI_ALIAS, AmiFamily.BOTTLEROCKET: KARPENTER_BOTTLEROCKET_ALIAS}
BOTTLEROCKET_OS_VOLUME = "4Gi"  # Bottlerocket's OS volume, as Karpenter's own default
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
        region: str,
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
                    ami_selector_terms=[
                        kec2.Ec2NodeClassSpecAmiSelectorTerms(alias=AMI_ALIAS[pool.ami_family])
                    ],
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
                    block_device_mappings=_block_devices(pool),
                    # Bottlerocket settings (TOML) Karpenter merges into the node's user data.
                    user_data=(
                        bottlerocket_settings(pool) or None
                        if pool.is_gpu and pool.ami_family is AmiFamily.BOTTLEROCKET
                        else None
                    ),
                    tags={KARPENTER_DISCOVERY_TAG: discovery_value, POOL_LABEL: pool.name},
                ),
            )
            labels = {POOL_LABEL: pool.name, AMI_FAMILY_LABEL: pool.ami_family.value}
            if pool.is_gpu:
                labels[EFA_LABEL] = str(pool.efa).lower()
                labels.update(node_labels(pool))
                limit = {GPU_TAINT_KEY: kpool.NodePoolSpecLimits.from_number(pool.gpus_limit)}
                taints = [
                    kpool.NodePoolSpecTemplateSpecTaints(
                        key=GPU_TAINT_KEY,
                        value=GPU_TAINT_VALUE,
                        effect=kpool.NodePoolSpecTemplateSpecTaintsEffect.NO_SCHEDULE,
                    )
                ]
                # Karpenter counts the node initialized only once its startup taints are gone.
                startup_taints: list[kpool.NodePoolSpecTemplateSpecStartupTaints] | None = [
                    kpool.NodePoolSpecTemplateSpecStartupTaints(
                        key=GPU_STARTUP_TAINT_KEY,
                        value=GPU_STARTUP_TAINT_VALUE,
                        effect=kpool.NodePoolSpecTemplateSpecStartupTaintsEffect.NO_SCHEDULE,
                    )
                ]
            else:
                limit = {"cpu": kpool.NodePoolSpecLimits.from_number(cast(int, pool.vcpus_limit))}
                taints = None
                startup_taints = None
            kpool.NodePool(
                self,
                f"nodepool-{pool.name}",
                metadata=cdk8s.ApiObjectMetadata(name=pool.name),
                spec=kpool.NodePoolSpec(
                    weight=pool.weight,
                    limits=limit,
                    template=kpool.NodePoolSpecTemplate(
                        metadata=kpool.NodePoolSpecTemplateMetadata(labels=labels),
                        spec=kpool.NodePoolSpecTemplateSpec(
                            node_class_ref=kpool.NodePoolSpecTemplateSpecNodeClassRef(
                                group="karpenter.k8s.aws", kind="EC2NodeClass", name=pool.name
                            ),
                            expire_after=pool.expire_after,
                            taints=taints,
                            startup_taints=startup_taints,
                            requirements=[
                                _requirement(
                                    "node.kubernetes.io/instance-type", pool.instance_types_in(region)
                                ),
                                _requirement(
                                    "karpenter.sh/capacity-type", [c.value for c in pool.capacity_types]
                                ),
                                _requirement("kubernetes.io/arch", pool.architectures_in(region)),
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


def _gp3(volume: str) -> kec2.Ec2NodeClassSpecBlockDeviceMappingsEbs:
    return kec2.Ec2NodeClassSpecBlockDeviceMappingsEbs(
        volume_size=volume,
        volume_type=kec2.Ec2NodeClassSpecBlockDeviceMappingsEbsVolumeType.GP3,
        encrypted=True,
        delete_on_termination=True,
        iops=3000,
        throughput=250,
    )


def _block_devices(pool: KarpenterNodePoolSettings) -> list[kec2.Ec2NodeClassSpecBlockDeviceMappings]:
    """Encrypted gp3. AL2023 keeps everything on its root volume; Bottlerocket boots from a small
    OS volume and keeps images and pod data on /dev/xvdb, which Karpenter must count as the
    node's ephemeral storage (``rootVolume``)."""
    data = f"{pool.volume_gib}Gi"
    if pool.ami_family is AmiFamily.AL2023:
        devices = [("/dev/xvda", data, True)]
    else:
        devices = [("/dev/xvda", BOTTLEROCKET_OS_VOLUME, False), ("/dev/xvdb", data, True)]
    return [
        kec2.Ec2NodeClassSpecBlockDeviceMappings(device_name=device, root_volume=root, ebs=_gp3(size))
        for device, size, root in devices
    ]


def _requirement(key: str, values: list[str]) -> kpool.NodePoolSpecTemplateSpecRequirements:
    return kpool.NodePoolSpecTemplateSpecRequirements(
        key=key,
        operator=kpool.NodePoolSpecTemplateSpecRequirementsOperator.IN,
        values=sorted(values),
    )
