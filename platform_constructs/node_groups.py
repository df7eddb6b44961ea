"""Managed node groups: the CPU group for system workloads and one group per GPU pool.

All groups use a launch template so that IMDSv2 is required, the volume holding container
images is encrypted gp3 and large enough for inference images (which reach 25 GB), and -- on
EFA pools -- each network card carries an EFA interface inside a cluster placement group in
one AZ.

A GPU pool's AMI type comes from the platform's own catalogue (architecture) and the pool's
``ami_family``, not from aws-cdk-lib's list of GPU instance classes, which lags EC2 (it refused
P5/P5E/P5EN and cannot parse ``p6-b200``): the node group is given its AMI type and its
instance type is set on the CloudFormation resource, where no such list applies.
"""

from __future__ import annotations

from aws_cdk import Fn
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from constructs import Construct

from platform_config.contract import (
    AMI_FAMILY_LABEL,
    EFA_LABEL,
    GPU_MODEL_LABEL,
    GPU_STARTUP_TAINT_KEY,
    GPU_STARTUP_TAINT_VALUE,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    POOL_LABEL,
)
from platform_config.gpu_catalog import Architecture
from platform_config.gpu_node_config import bottlerocket_settings, node_labels
from platform_config.model import CPU_POOL, AmiFamily, CapacityType, CpuNodeSettings, GpuPoolSettings
from platform_constructs.nag import acknowledge, managed_policy_finding

# Bottlerocket boots from a small read-only OS volume; images and pod data live on the second.
DATA_DEVICE = {AmiFamily.AL2023: "/dev/xvda", AmiFamily.BOTTLEROCKET: "/dev/xvdb"}
NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)


def node_role(scope: Construct, construct_id: str, description: str) -> iam.Role:
    """Instance role for worker nodes: join the cluster, pull images, be reachable by SSM."""
    role = iam.Role(
        scope,
        construct_id,
        description=description,
        assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in NODE_POLICIES],
    )
    acknowledge(
        role,
        "Worker nodes use the AWS managed node policies EKS documents for managed node groups "
        "(join the cluster, pull-only ECR access, SSM Session Manager instead of SSH keys).",
        *(managed_policy_finding(name) for name in NODE_POLICIES),
    )
    return role


def gpu_ami_type(ami_family: AmiFamily, architecture: Architecture) -> str:
    """The EKS managed node group AMI type of a GPU pool: the NVIDIA variant of its OS."""
    os_name = "AL2023" if ami_family is AmiFamily.AL2023 else "BOTTLEROCKET"
    arch = "X86_64" if architecture == "x86_64" else "ARM_64"
    return f"{os_name}_{arch}_NVIDIA"


def _gp3(volume_gib: int | None) -> ec2.CfnLaunchTemplate.EbsProperty:
    """Encrypted gp3; ``volume_gib`` None keeps the AMI's own size (Bottlerocket's OS volume)."""
    return ec2.CfnLaunchTemplate.EbsProperty(
        volume_size=volume_gib,
        volume_type="gp3",
        iops=3000,
        throughput=250,
        encrypted=True,
        delete_on_termination=True,
    )


def _launch_template(
    scope: Construct,
    construct_id: str,
    *,
    volume_gib: int,
    ami_family: AmiFamily = AmiFamily.AL2023,
    network_interfaces: list[ec2.CfnLaunchTemplate.NetworkInterfaceProperty] | None = None,
    placement_group: ec2.CfnPlacementGroup | None = None,
    bottlerocket_toml: str = "",
) -> ec2.CfnLaunchTemplate:
    """``bottlerocket_toml``: Bottlerocket settings as user data, which EKS merges into the
    settings it generates for the node group (a launch template without an AMI id)."""
    volumes: dict[str, int | None] = {DATA_DEVICE[ami_family]: volume_gib}
    if ami_family is AmiFamily.BOTTLEROCKET:
        volumes = {"/dev/xvda": None, **volumes}
    return ec2.CfnLaunchTemplate(
        scope,
        construct_id,
        launch_template_data=ec2.CfnLaunchTemplate.LaunchTemplateDataProperty(
            metadata_options=ec2.CfnLaunchTemplate.MetadataOptionsProperty(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                ec2.CfnLaunchTemplate.BlockDeviceMappingProperty(device_name=device, ebs=_gp3(size))
                for device, size in volumes.items()
            ],
            network_interfaces=network_interfaces,
            user_data=Fn.base64(bottlerocket_toml) if bottlerocket_toml else None,
            placement=(
                ec2.CfnLaunchTemplate.PlacementProperty(group_name=placement_group.ref)
                if placement_group
                else None
            ),
        ),
    )


def _spec(template: ec2.CfnLaunchTemplate) -> eks.LaunchTemplateSpec:
    return eks.LaunchTemplateSpec(id=template.ref, version=template.attr_latest_version_number)


class CpuNodeGroup(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        settings: CpuNodeSettings,
        role: iam.IRole,
        subnets: ec2.SubnetSelection,
    ) -> None:
        super().__init__(scope, construct_id)
        template = _launch_template(self, "LaunchTemplate", volume_gib=settings.disk_gib)
        self.nodegroup = eks.Nodegroup(
            self,
            "NodeGroup",
            cluster=cluster,
            node_role=role,
            ami_type=eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
            instance_types=[ec2.InstanceType(t) for t in settings.instance_types],
            min_size=settings.min_size,
            desired_size=settings.desired_size,
            max_size=settings.max_size,
            subnets=subnets,
            launch_template_spec=_spec(template),
            labels={POOL_LABEL: CPU_POOL},
            max_unavailable=1,
        )


class GpuNodeGroup(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: eks.ICluster,
        pool: GpuPoolSettings,
        role: iam.IRole,
        subnets: list[ec2.ISubnet],
        efa_security_group: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        gpu = pool.gpu
        self.placement_group: ec2.CfnPlacementGroup | None = None
        interfaces = None
        if pool.efa:
            # EFA needs every node in one AZ and one cluster placement group.
            subnets = subnets[:1]
            self.placement_group = ec2.CfnPlacementGroup(self, "PlacementGroup", strategy="cluster")
            groups = [cluster.cluster_security_group_id, efa_security_group.security_group_id]
            # One EFA per EFA-capable network card from the catalogue's first one. Where card 0
            # is ENA-only (first_efa_card 1, p6-b300) the primary interface is a plain ENA one
            # on card 0, device 0, as the instance needs one there to boot.
            first = gpu.first_efa_card
            cards: list[tuple[int, str | None]] = [(0, None)] if first else []
            cards += [(card, "efa") for card in range(first, first + gpu.efa_interfaces)]
            interfaces = [
                ec2.CfnLaunchTemplate.NetworkInterfaceProperty(
                    network_card_index=card,
                    device_index=0 if card == 0 else 1,
                    interface_type=kind,
                    groups=groups,
                    delete_on_termination=True,
                )
                for card, kind in cards
            ]
        template = _launch_template(
            self,
            "LaunchTemplate",
            volume_gib=pool.data_volume_gib,
            ami_family=pool.ami_family,
            network_interfaces=interfaces,
            placement_group=self.placement_group,
            bottlerocket_toml=bottlerocket_settings(pool)
            if pool.ami_family is AmiFamily.BOTTLEROCKET
            else "",
        )
        self.nodegroup = eks.Nodegroup(
            self,
            "NodeGroup",
            cluster=cluster,
            node_role=role,
            ami_type=getattr(eks.NodegroupAmiType, gpu_ami_type(pool.ami_family, gpu.architecture)),
            capacity_type=(
                eks.CapacityType.SPOT
                if pool.capacity_type is CapacityType.SPOT
                else eks.CapacityType.ON_DEMAND
            ),
            min_size=pool.min_size,
            desired_size=pool.desired_size,
            max_size=pool.max_size,
            subnets=ec2.SubnetSelection(subnets=subnets),
            launch_template_spec=_spec(template),
            labels={
                POOL_LABEL: pool.name,
                GPU_MODEL_LABEL: gpu.gpu_model,
                EFA_LABEL: str(pool.efa).lower(),
                AMI_FAMILY_LABEL: pool.ami_family.value,
                **node_labels(pool),
            },
            taints=[
                eks.TaintSpec(effect=eks.TaintEffect.NO_SCHEDULE, key=key, value=value)
                for key, value in (
                    (GPU_TAINT_KEY, GPU_TAINT_VALUE),
                    (GPU_STARTUP_TAINT_KEY, GPU_STARTUP_TAINT_VALUE),
                )
            ],
            max_unavailable=1,
        )
        # Set here, not through `instance_types`, which aws-cdk-lib checks against its own list
        # of GPU classes (see the module docstring); tests assert it on every catalogued type.
        cfn = self.nodegroup.node.default_child
        assert isinstance(cfn, eks.CfnNodegroup)
        cfn.add_property_override("InstanceTypes", [pool.instance_type])
