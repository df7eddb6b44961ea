"""One stage of the platform: every stack, wired together, in one account and region."""

from __future__ import annotations

from aws_cdk import Environment, Stage, Tags
from constructs import Construct

from platform_config.model import StageConfig
from stacks.cluster_stack import ClusterStack
from stacks.job_api_stack import JobApiStack
from stacks.network_stack import NetworkStack
from stacks.nodes_stack import NodesStack
from stacks.registry_stack import RegistryStack
from stacks.reservations_stack import ReservationsStack
from stacks.storage_stack import StorageStack
from stacks.workloads_stack import WorkloadsStack


class PlatformStage(Stage):
    """Stacks are split stateful (Registry, Storage) from stateless (Network, Cluster, Nodes),
    so the stateless ones can be replaced or destroyed without touching data."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id, env=Environment(account=config.account, region=config.region))
        Tags.of(self).add("gpu-platform:stage", config.name)
        common = {"termination_protection": config.is_prod}

        self.network = NetworkStack(self, "Network", config=config, **common)
        self.registry = RegistryStack(self, "Registry", config=config, **common)
        self.storage = StorageStack(self, "Storage", config=config, vpc=self.network.vpc, **common)
        self.cluster = ClusterStack(
            self,
            "Cluster",
            config=config,
            vpc=self.network.vpc,
            file_system=self.storage.file_system,
            repositories=list(self.registry.repositories.values()),
            **common,
        )
        self.nodes = NodesStack(
            self,
            "Nodes",
            config=config,
            vpc=self.network.vpc,
            cluster=self.cluster.interface,
            efa_security_group=self.network.efa_security_group,
            **common,
        )
        # A stage with no Kubernetes layer (every workload off, no teams) gets no empty Workloads stack.
        self.workloads: WorkloadsStack | None = None
        if config.workloads.any_enabled or config.tenancy.teams:
            self.workloads = WorkloadsStack(
                self,
                "Workloads",
                config=config,
                cluster=self.cluster.interface,
                model_bucket=self.storage.model_bucket,
                backup_bucket=self.storage.backup_bucket,
                mlflow_bucket=self.storage.mlflow_bucket,
                database=self.storage.database,
                owned_namespaces=self.cluster.namespace_names,
                nodes_ready=self.nodes.cpu,
                **common,
            )
            self.workloads.add_stack_dependency(self.nodes)
        self.reservations: ReservationsStack | None = None
        if self.storage.reservations_table is not None:
            self.reservations = ReservationsStack(
                self,
                "Reservations",
                config=config,
                cluster=self.cluster.interface,
                vpc=self.network.vpc,
                table=self.storage.reservations_table,
                owned_namespaces=self.cluster.namespace_names,
                **common,
            )
            # Dev pods run on the GPU nodes: remove reservations before the nodes go.
            self.reservations.add_stack_dependency(self.nodes)

        self.job_api: JobApiStack | None = None
        if config.job_api.enabled and self.storage.database is not None and self.workloads is not None:
            self.job_api = JobApiStack(
                self,
                "JobApi",
                config=config,
                cluster=self.cluster.interface,
                database=self.storage.database,
                owned_namespaces=self.cluster.namespace_names,
                **common,
            )
            # Destroyed first: its load balancer goes before the controller's cluster, the nodes
            # its security group rules name and the VPC its network interfaces live in; and
            # after Workloads (cert-manager issues its certificate, team namespaces hold its Roles).
            for stack in (self.network, self.storage, self.cluster, self.nodes, self.workloads):
                self.job_api.add_stack_dependency(stack)

    @property
    def stacks(self):
        optional = [stack for stack in (self.workloads, self.reservations, self.job_api) if stack is not None]
        return [self.network, self.registry, self.storage, self.cluster, self.nodes, *optional]
