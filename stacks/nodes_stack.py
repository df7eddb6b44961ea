"""Compute: the CPU managed node group, one managed node group per GPU pool and, when the
stage enables it, Karpenter with its NodePools. Stateless: replacing this stack never
touches data."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from constructs import Construct

from platform_config.checks import pascal
from platform_config.contract import CAPACITY_METADATA_KEY, cluster_name
from platform_config.model import StageConfig
from platform_constructs.gpu_operator import GpuNodeSoftware
from platform_constructs.karpenter import Karpenter
from platform_constructs.node_groups import CpuNodeGroup, GpuNodeGroup, node_role


def gpu_capacity(config: StageConfig) -> list[dict]:
    """GPU capacity per pool, written into the template so summaries and cost reports can
    read what was synthesized without re-running the app. What a node advertises comes from
    the model's one capacity function (``StageConfig.gpu_pool_capacity``)."""
    capacity = config.gpu_pool_capacity()
    pools = [
        {
            "pool": pool.name,
            "kind": "managed-node-group",
            "instance_type": pool.instance_type,
            "gpu_model": pool.gpu.gpu_model,
            "gpus_per_node": pool.gpu.gpus,
            "sharing": pool.sharing.mode,
            "advertised_per_node": capacity[pool.name].per_node(pool.gpu),
            "min_nodes": pool.min_size,
            "max_nodes": pool.max_size,
            "max_gpus": pool.max_gpus,
            "efa": pool.efa,
        }
        for pool in config.gpu_pools
    ]
    pools += [
        {
            "pool": pool.name,
            "kind": "karpenter-node-pool",
            "instance_types": pool.instance_types_in(config.region),
            "gpu_models": sorted({i.gpu_model for i in capacity[pool.name].instances}),
            "sharing": pool.sharing.mode,
            "advertised_per_gpu": capacity[pool.name].per_gpu,
            "advertised_per_node": {
                i.instance_type: capacity[pool.name].per_node(i) for i in capacity[pool.name].instances
            },
            "min_nodes": 0,
            "max_gpus": pool.gpus_limit,
            "weight": pool.weight,
            "efa": pool.efa,
        }
        for pool in config.karpenter.gpu_node_pools
    ]
    pools += [
        {
            "pool": pool.name,
            "kind": "karpenter-cpu-node-pool",
            "instance_types": pool.instance_types_in(config.region),
            "min_nodes": 0,
            "vcpu_limit": pool.vcpus_limit,
            "weight": pool.weight,
        }
        for pool in config.karpenter.node_pools
        if not pool.is_gpu
    ]
    return pools


class NodesStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        vpc: ec2.IVpc,
        cluster: eks.ICluster,
        efa_security_group: ec2.ISecurityGroup,
        **kwargs,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        private_subnets = vpc.private_subnets
        role = node_role(self, "NodeRole", "Managed node groups (CPU and GPU)")

        self.cpu = CpuNodeGroup(
            self, "CpuNodes", cluster=cluster, settings=config.cpu_nodes, role=role, subnets=private
        )
        self.gpu_pools: dict[str, GpuNodeGroup] = {
            pool.name: GpuNodeGroup(
                self,
                f"GpuPool{pascal(pool.name)}",
                cluster=cluster,
                pool=pool,
                role=role,
                subnets=private_subnets,
                efa_security_group=efa_security_group,
            )
            for pool in config.gpu_pools
        }

        self.template_options.metadata = {CAPACITY_METADATA_KEY: gpu_capacity(config)}

        # Installed after the CPU group and removed before it, so `cdk destroy` uninstalls the
        # releases while the cluster still has nodes to run the uninstall on.
        self.gpu_software = GpuNodeSoftware(self, "GpuNodeSoftware", cluster=cluster, config=config)
        self.gpu_software.node.add_dependency(self.cpu)

        self.karpenter: Karpenter | None = None
        if config.karpenter.enabled:
            self.karpenter = Karpenter(
                self,
                "Karpenter",
                cluster=cluster,
                cluster_name=cluster_name(config.name),
                settings=config.karpenter,
                region=config.region,
                efa_security_group=efa_security_group,
            )
            # The controller runs on the CPU group; install it once that group exists.
            self.karpenter.chart.node.add_dependency(self.cpu)
